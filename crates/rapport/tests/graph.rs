//! `rapport enrich --graph-config` and `rapport graph ...` against the Graph-compatible test
//! server (in-process, on loopback): the tables from Graph equal those from the same activity
//! exported as files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rapport_graph_testserver::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Dataset, ExportedFiles, Fault,
    ServerConfig, TestServer,
};

/// A test server on its own runtime, alive as long as this value.
struct Server {
    runtime: tokio::runtime::Runtime,
    server: Option<TestServer>,
}

impl Server {
    fn start(config: ServerConfig) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime.block_on(TestServer::start(config)).expect("server");
        Server { runtime, server: Some(server) }
    }

    fn get(&self) -> &TestServer {
        self.server.as_ref().expect("running")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

fn rapport(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rapport"))
        .current_dir(dir)
        .args(args)
        .env("RAPPORT_TEST_GRAPH_SECRET", DEFAULT_CLIENT_SECRET)
        .output()
        .expect("run rapport")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_graph_config(dir: &Path, base_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("graph.toml");
    std::fs::write(
        &path,
        format!(
            "tenant_id = \"{DEFAULT_TENANT_ID}\"\nclient_id = \"{DEFAULT_CLIENT_ID}\"\n\
             client_secret_env = \"RAPPORT_TEST_GRAPH_SECRET\"\n\
             login_endpoint = \"{base_url}\"\ngraph_endpoint = \"{base_url}\"\n{extra}"
        ),
    )
    .expect("graph config");
    path
}

fn as_of_text(instant: i64) -> String {
    chrono::DateTime::from_timestamp(instant, 0)
        .expect("instant")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn enrich_args<'a>(files: &'a ExportedFiles, as_of: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "enrich",
        "--users",
        files.users.to_str().expect("utf-8"),
        "--contacts",
        files.contacts.to_str().expect("utf-8"),
        "--accounts",
        files.accounts.to_str().expect("utf-8"),
        "--account-domains-column",
        "Domains",
        "--as-of",
        as_of,
        "--out",
        out,
        "--explain",
        "--quiet",
    ]
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn graph_tables_equal_the_tables_of_the_same_activity_exported_as_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dataset = Dataset::small();
    let window = Dataset::SMALL_WINDOW;
    let files = dataset.export_files(&dir.path().join("export"), window).expect("export");
    let server = Server::start(ServerConfig::new(dataset));
    let config = write_graph_config(dir.path(), &server.get().base_url(), "");
    let as_of = as_of_text(window.1);

    let mut from_graph = enrich_args(&files, &as_of, "graph-out");
    from_graph.extend_from_slice(&["--graph-config", config.to_str().expect("utf-8")]);
    let output = rapport(dir.path(), &from_graph);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let mut from_files = enrich_args(&files, &as_of, "file-out");
    let mail = files.mail_dir.to_str().expect("utf-8").to_owned();
    let calendars = files.calendar_dir.to_str().expect("utf-8").to_owned();
    from_files.extend_from_slice(&["--source", &mail, "--source", &calendars]);
    let output = rapport(dir.path(), &from_files);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let graph_out = dir.path().join("graph-out");
    let file_out = dir.path().join("file-out");
    let office = read(&graph_out, "Office.csv");
    assert!(office.lines().count() > 3, "some accounts are enriched:\n{office}");
    assert_eq!(office, read(&file_out, "Office.csv"));
    assert_eq!(
        read(&graph_out, "Office_ScoreExplanation.csv"),
        read(&file_out, "Office_ScoreExplanation.csv")
    );
    let summary = |folder: &Path| -> serde_json::Value {
        serde_json::from_str(&read(folder, "summary.json")).expect("summary")
    };
    let (graph_summary, file_summary) = (summary(&graph_out), summary(&file_out));
    for key in [
        "accounts_enriched",
        "accounts_total",
        "users_selected",
        "users_processed",
        "emails_processed",
        "meetings_processed",
        "emails_counted",
        "meetings_counted",
        "days_covered",
    ] {
        assert_eq!(graph_summary[key], file_summary[key], "{key}");
    }
    let graph = &graph_summary["graph"];
    assert_eq!(
        graph["mailboxes_selected"],
        graph["mailboxes_read"].as_u64().expect("read")
            + graph["mailboxes_failed"].as_u64().expect("failed")
    );
    assert!(graph["pages"].as_u64().expect("pages") > 0);
    // The user table carries the users' Entra object ids.
    let users = read(&graph_out, "Office_UserEntity.csv");
    assert!(
        users.lines().skip(1).all(|line| line.split(',').nth(1).is_some_and(|id| !id.is_empty())),
        "{users}"
    );
    // No request asked for a body or a subject.
    for request in server.get().requests() {
        let query = request.path_and_query.to_ascii_lowercase();
        assert!(!query.contains("body") && !query.contains("subject"), "{query}");
    }
}

#[test]
fn a_mailbox_that_cannot_be_read_is_reported_and_the_others_go_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dataset = Dataset::small();
    let window = Dataset::SMALL_WINDOW;
    let files = dataset.export_files(&dir.path().join("export"), window).expect("export");
    let users = std::fs::read_to_string(&files.users).expect("users");
    let denied = users.lines().next().expect("a user").to_owned();
    let mut config = ServerConfig::new(dataset);
    config.faults.push(Fault::AccessDenied { user: denied.clone() });
    let server = Server::start(config);
    let graph_config = write_graph_config(dir.path(), &server.get().base_url(), "");
    let as_of = as_of_text(window.1);
    let mut args = enrich_args(&files, &as_of, "out");
    args.retain(|arg| *arg != "--quiet");
    args.extend_from_slice(&["--graph-config", graph_config.to_str().expect("utf-8")]);
    let output = rapport(dir.path(), &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("could not be read (access_denied)"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("out"), "summary.json")).expect("summary");
    // The small tenant has a user without a mailbox too.
    assert_eq!(summary["graph"]["mailboxes_failed"], 2);
    assert_eq!(
        summary["graph"]["mailboxes_failed_by_reason"],
        serde_json::json!({"no_mailbox": 1, "access_denied": 1})
    );
    assert_eq!(
        summary["graph"]["mailboxes_read"].as_u64().expect("read") + 2,
        summary["graph"]["mailboxes_selected"].as_u64().expect("selected")
    );
    // Counts only: no mailbox is named in the summary.
    assert!(!read(&dir.path().join("out"), "summary.json").contains(&denied));
}

#[test]
fn check_names_the_missing_permissions_and_consent_url_is_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::new(Dataset::small());
    config.roles = vec!["Mail.ReadBasic.All".into(), "User.Read.All".into(), "Mail.Read".into()];
    let server = Server::start(config);
    let graph_config = write_graph_config(dir.path(), &server.get().base_url(), "");
    let graph_config = graph_config.to_str().expect("utf-8");

    let output = rapport(dir.path(), &["graph", "check", "--graph-config", graph_config]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("ok       Mail.ReadBasic.All"), "{stdout}");
    assert!(stdout.contains("MISSING  Calendars.ReadBasic.All"), "{stdout}");
    assert!(stdout.contains("MISSING  GroupMember.Read.All"), "{stdout}");
    assert!(stdout.contains("warning  Mail.Read is granted"), "{stdout}");
    assert!(
        text(&output.stderr)
            .contains("the app lacks Calendars.ReadBasic.All, GroupMember.Read.All")
    );

    let output = rapport(dir.path(), &["graph", "consent-url", "--graph-config", graph_config]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "{}/{DEFAULT_TENANT_ID}/adminconsent?client_id={DEFAULT_CLIENT_ID}\n",
            server.get().base_url()
        )
    );
}

#[test]
fn a_bad_graph_configuration_stops_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("users.txt"), "a@org.example\nb@org.example\n").expect("users");
    std::fs::write(dir.path().join("contacts.csv"), "Email,AccountId\nx@c.example,A\n")
        .expect("contacts");
    std::fs::write(
        dir.path().join("graph.toml"),
        "tenant_id = \"t\"\ncloud = \"moon\"\ngraph_endpoint = \"http://graph.example.com\"\n",
    )
    .expect("config");
    let output = rapport(
        dir.path(),
        &[
            "enrich",
            "--users",
            "users.txt",
            "--contacts",
            "contacts.csv",
            "--graph-config",
            "graph.toml",
            "--out",
            "out",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for field in ["client_id", "cloud", "graph_endpoint"] {
        assert!(stderr.contains(field), "{field} in {stderr}");
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn consent_to_a_graph_enrichment_checks_the_permissions_and_records_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dataset = Dataset::small();
    let window = Dataset::SMALL_WINDOW;
    let files = dataset.export_files(&dir.path().join("export"), window).expect("export");
    let mut config = ServerConfig::new(dataset);
    config.roles = vec!["Mail.ReadBasic.All".into(), "User.Read.All".into()];
    let server = Server::start(config);
    let graph_config = write_graph_config(dir.path(), &server.get().base_url(), "");
    let users = std::fs::read_to_string(&files.users).expect("users");
    let mut create = vec![
        "enrichment".to_owned(),
        "create".into(),
        "Tenant".into(),
        "--contacts".into(),
        files.contacts.display().to_string(),
        "--accounts".into(),
        files.accounts.display().to_string(),
        "--account-domains-column".into(),
        "Domains".into(),
        "--graph-config".into(),
        graph_config.display().to_string(),
    ];
    for user in users.lines() {
        create.extend(["--user".to_owned(), user.to_owned()]);
    }
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    let output = rapport(dir.path(), &create);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // Two roles are missing: consent is refused and nothing runs.
    let consent = ["enrichment", "consent", "Tenant", "--by", "it-admin", "--run-now"];
    let output = rapport(dir.path(), &consent);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the app lacks Calendars.ReadBasic.All, GroupMember.Read.All"),
        "{stderr}"
    );
    let shown = text(&rapport(dir.path(), &["enrichment", "show", "Tenant"]).stdout);
    assert!(shown.contains("awaiting an administrator"), "{shown}");
    drop(server);

    // Granted: the check passes, is recorded, and the run reads Graph.
    let server = Server::start(ServerConfig::new(Dataset::small()));
    write_graph_config(dir.path(), &server.get().base_url(), "");
    let output = rapport(dir.path(), &consent);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("Microsoft Graph check passed"),
        "{}",
        text(&output.stdout)
    );
    let shown = text(&rapport(dir.path(), &["enrichment", "show", "Tenant"]).stdout);
    assert!(shown.contains("Graph check:    Microsoft Graph check passed"), "{shown}");
    let as_of = as_of_text(window.1);
    let output = rapport(dir.path(), &["enrichment", "run", "Tenant", "--as-of", &as_of]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Successful"), "{}", text(&output.stdout));
}
