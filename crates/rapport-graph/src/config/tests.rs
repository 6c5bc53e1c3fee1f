use std::path::Path;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn test_data(name: &str) -> String {
    format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Checks that `text` is refused with exactly these (field, message) problems.
fn check_problems(text: &str, expected: &[(&str, &str)]) {
    let error = GraphConfig::from_toml_str(text, &no_env).expect_err("config should be refused");
    let problems: Vec<(&str, &str)> = error
        .problems
        .iter()
        .map(|problem| (problem.field.as_str(), problem.message.as_str()))
        .collect();
    assert_eq!(problems, expected);
}

const MINIMAL: &str =
    "tenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"app-1\"\nclient_secret = \"s3cret\"\n";

#[test]
fn minimal_file_takes_the_defaults() {
    let config = GraphConfig::from_toml_str(MINIMAL, &no_env).expect("valid");
    assert_eq!(config.tenant_id, "contoso.onmicrosoft.com");
    assert_eq!(config.client_id, "app-1");
    assert_eq!(config.cloud, Cloud::Global);
    assert_eq!(config.login_endpoint, "https://login.microsoftonline.com");
    assert_eq!(config.graph_endpoint, "https://graph.microsoft.com");
    assert_eq!(config.max_concurrency_per_mailbox, 4);
    assert_eq!(config.max_concurrency, 64);
    assert_eq!(config.page_size, 100);
    match &config.credential {
        Credential::Secret(secret) => assert_eq!(secret.expose(), "s3cret"),
        other => panic!("expected a secret, got {other:?}"),
    }
    assert_eq!(
        config.token_url(),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(config.scope(), "https://graph.microsoft.com/.default");
}

#[test]
fn every_cloud_has_its_hosts() {
    let hosts: Vec<(&str, &str, &str)> = Cloud::ALL
        .iter()
        .map(|cloud| (cloud.name(), cloud.login_endpoint(), cloud.graph_endpoint()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
            ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
            ("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
            ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
        ]
    );
    for cloud in Cloud::ALL {
        let text = format!("{MINIMAL}cloud = \"{}\"\n", cloud.name());
        let config = GraphConfig::from_toml_str(&text, &no_env).expect("valid");
        assert_eq!(config.cloud, cloud);
        assert_eq!(config.login_endpoint, cloud.login_endpoint());
        assert_eq!(config.graph_endpoint, cloud.graph_endpoint());
    }
}

#[test]
fn all_problems_are_collected_at_once() {
    check_problems(
        "cloud = \"mars\"\npage_size = 0\nmax_concurrency = \"many\"\nmax_concurrency_per_mailbox = 0\ncolour = 1\n",
        &[
            ("colour", "unknown key"),
            ("tenant_id", "is required"),
            ("client_id", "is required"),
            (
                "client_secret",
                "one of client_secret, client_secret_env or certificate_path is required",
            ),
            ("cloud", "\"mars\" is not a cloud (global, usgov, usgov-dod or china)"),
            ("max_concurrency_per_mailbox", "must be between 1 and 1024, not 0"),
            ("max_concurrency", "must be an integer, not string"),
            ("page_size", "must be between 1 and 1000, not 0"),
        ],
    );
}

#[test]
fn each_field_is_checked() {
    check_problems(
        "tenant_id = \"\"\nclient_id = \"a b\"\nclient_secret = \"x\"\n",
        &[
            ("tenant_id", "must not be empty"),
            ("client_id", "may hold only letters, digits, '-', '.' and '_'"),
        ],
    );
    check_problems(
        "tenant_id = 5\nclient_id = \"c\"\nclient_secret = \"\"\n",
        &[("tenant_id", "must be a string, not integer"), ("client_secret", "must not be empty")],
    );
    check_problems(
        "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"x\"\nclient_secret_env = \"Y\"\n",
        &[("client_secret", "give only one of client_secret, client_secret_env")],
    );
    check_problems(
        "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"RAPPORT_NOT_SET\"\n",
        &[("client_secret_env", "environment variable RAPPORT_NOT_SET is not set")],
    );
    check_problems(
        &format!("{MINIMAL}page_size = 1001\nmax_concurrency = 0\n"),
        &[
            ("max_concurrency", "must be between 1 and 1024, not 0"),
            ("page_size", "must be between 1 and 1000, not 1001"),
        ],
    );
    check_problems(
        "tenant_id = \"t\"\nclient_id = \"c\"\ncertificate_path = \"/nonexistent/app.pem\"\n",
        &[(
            "certificate_path",
            "cannot read /nonexistent/app.pem: No such file or directory (os error 2)",
        )],
    );
}

#[test]
fn secret_comes_from_the_environment() {
    let env = |name: &str| (name == "GRAPH_SECRET").then(|| "from-env".to_owned());
    let text = "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"GRAPH_SECRET\"\n";
    let config = GraphConfig::from_toml_str(text, &env).expect("valid");
    match &config.credential {
        Credential::Secret(secret) => assert_eq!(secret.expose(), "from-env"),
        other => panic!("expected a secret, got {other:?}"),
    }
    let empty = |_: &str| Some(String::new());
    let error = GraphConfig::from_toml_str(text, &empty).expect_err("empty variable");
    assert_eq!(
        error.to_string(),
        "graph config: client_secret_env: environment variable GRAPH_SECRET is empty"
    );
}

#[test]
fn secret_is_redacted_everywhere() {
    let config = GraphConfig::from_toml_str(MINIMAL, &no_env).expect("valid");
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    let secret = Secret::new("hunter2".into());
    assert_eq!(format!("{secret}"), "[redacted]");
    assert_eq!(format!("{secret:?}"), "[redacted]");
    // A syntax error must not quote the line holding the secret.
    let broken = "tenant_id = \"t\"\nclient_secret = \"hunter2\nclient_id = \"c\"\n";
    let error = GraphConfig::from_toml_str(broken, &no_env).expect_err("not toml");
    let text = error.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.starts_with("graph config: syntax: not valid TOML at line 2: "), "{text}");
}

#[test]
fn endpoints_need_https_except_on_loopback() {
    let with = |key: &str, value: &str| format!("{MINIMAL}{key} = \"{value}\"\n");
    for accepted in [
        "https://graph.example.com",
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:9000",
        "http://localhost:3000",
        "http://LOCALHOST",
    ] {
        let config =
            GraphConfig::from_toml_str(&with("graph_endpoint", accepted), &no_env).expect(accepted);
        assert_eq!(config.graph_endpoint, accepted.to_ascii_lowercase().trim_end_matches('/'));
    }
    let config =
        GraphConfig::from_toml_str(&with("login_endpoint", "http://127.0.0.1:5/"), &no_env)
            .expect("valid");
    assert_eq!(config.login_endpoint, "http://127.0.0.1:5");
    assert_eq!(config.graph_endpoint, "https://graph.microsoft.com");
    check_problems(
        &with("graph_endpoint", "http://graph.example.com"),
        &[(
            "graph_endpoint",
            "\"http://graph.example.com\" must use https:// (http:// is accepted only for loopback hosts)",
        )],
    );
    check_problems(
        &with("login_endpoint", "http://10.0.0.1"),
        &[(
            "login_endpoint",
            "\"http://10.0.0.1\" must use https:// (http:// is accepted only for loopback hosts)",
        )],
    );
    check_problems(
        &with("graph_endpoint", "ftp://127.0.0.1"),
        &[("graph_endpoint", "\"ftp://127.0.0.1\" must be an https:// URL")],
    );
    check_problems(
        &with("graph_endpoint", "https://user:pw@graph.example.com"),
        &[("graph_endpoint", "must not hold a user name or password")],
    );
    check_problems(
        &with("graph_endpoint", "https://graph.example.com/?x=1"),
        &[(
            "graph_endpoint",
            "\"https://graph.example.com/?x=1\" must not hold a query or fragment",
        )],
    );
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.toml");
    std::fs::write(&path, "tenant_id = \"t\"\nclient_id = \"c\"\n").expect("write");
    let error = GraphConfig::load(&path, &no_env).expect_err("no credential");
    assert_eq!(
        error.to_string(),
        format!(
            "graph config {}: client_secret: one of client_secret, client_secret_env or certificate_path is required",
            path.display()
        )
    );
}

#[test]
fn certificate_is_read_beside_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(test_data("assertion_pkcs1.pem"), dir.path().join("app.pem")).expect("copy");
    let path = dir.path().join("graph.toml");
    std::fs::write(&path, "tenant_id = \"t\"\nclient_id = \"c\"\ncertificate_path = \"app.pem\"\n")
        .expect("write");
    let config = GraphConfig::load(&path, &no_env).expect("valid");
    match &config.credential {
        Credential::Certificate(certificate) => {
            assert_eq!(certificate.path, dir.path().join("app.pem"));
            assert!(format!("{certificate:?}").starts_with("Certificate { path: "));
        }
        other => panic!("expected a certificate, got {other:?}"),
    }
}

#[test]
fn certificate_pem_needs_a_matching_rsa_key() {
    let read = |name: &str| std::fs::read(test_data(name)).expect("test data");
    let pkcs8 = read("assertion_pkcs8.pem");
    let pkcs1 = read("assertion_pkcs1.pem");
    let from_pkcs8 = Certificate::from_pem(Path::new("a.pem"), &pkcs8).expect("pkcs8");
    let from_pkcs1 = Certificate::from_pem(Path::new("b.pem"), &pkcs1).expect("pkcs1");
    assert_eq!(from_pkcs8.certificate_der(), from_pkcs1.certificate_der());
    let text = String::from_utf8(pkcs8.clone()).expect("utf-8");
    let certificate_only: String =
        text.split("-----BEGIN PRIVATE KEY-----").next().unwrap_or_default().to_owned();
    assert_eq!(
        Certificate::from_pem(Path::new("c.pem"), certificate_only.as_bytes()).err(),
        Some("no PRIVATE KEY section can be read (no items found)".to_owned())
    );
    let key_only =
        text.get(text.find("-----BEGIN PRIVATE KEY-----").unwrap_or(0)..).unwrap_or_default();
    assert_eq!(
        Certificate::from_pem(Path::new("d.pem"), key_only.as_bytes()).err(),
        Some("no CERTIFICATE section can be read (no items found)".to_owned())
    );
    // The certificate of one file with the RSA key of another.
    let other_key = String::from_utf8(read("other_key_pkcs8.pem")).expect("utf-8");
    let mismatched = format!("{certificate_only}{other_key}");
    assert_eq!(
        Certificate::from_pem(Path::new("f.pem"), mismatched.as_bytes()).err(),
        Some("the private key does not belong to the certificate".to_owned())
    );
    // An elliptic-curve key cannot sign RS256.
    let rng = ring::rand::SystemRandom::new();
    let other_key = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .expect("ec key");
    let ec_pem = format!(
        "{certificate_only}-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, other_key.as_ref())
    );
    let error =
        Certificate::from_pem(Path::new("e.pem"), ec_pem.as_bytes()).err().unwrap_or_default();
    assert!(error.starts_with("the private key cannot be used for RS256"), "{error}");
}

#[test]
fn consent_url_names_tenant_and_client() {
    let text = "tenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"x\"\ncloud = \"usgov\"\n";
    let config = GraphConfig::from_toml_str(text, &no_env).expect("valid");
    assert_eq!(
        consent_url(&config),
        "https://login.microsoftonline.us/contoso.onmicrosoft.com/adminconsent?client_id=11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(
        consent_url_with_redirect(&config, "https://rapport.example/consent done"),
        "https://login.microsoftonline.us/contoso.onmicrosoft.com/adminconsent?client_id=11111111-2222-3333-4444-555555555555&redirect_uri=https://rapport.example/consent%20done"
    );
}
