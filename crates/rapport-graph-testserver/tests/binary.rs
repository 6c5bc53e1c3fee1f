//! The `rapport-graph-testserver` binary: its flags, its one `listening on` line, serving, and
//! `--export`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use rapport_graph_testserver::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID};

const BINARY: &str = env!("CARGO_BIN_EXE_rapport-graph-testserver");

/// POSTs a client-secret token request to `address` (`127.0.0.1:PORT`); returns the status line
/// and the body.
fn token_request(address: &str) -> (String, String) {
    let body = format!(
        "client_id={DEFAULT_CLIENT_ID}&scope=http%3A%2F%2F{}%2F.default&grant_type=client_credentials&client_secret={}",
        address.replace(':', "%3A"),
        DEFAULT_CLIENT_SECRET.replace('~', "%7E")
    );
    let Ok(mut stream) = TcpStream::connect(address) else { panic!("cannot connect to {address}") };
    let request = format!(
        "POST /{DEFAULT_TENANT_ID}/oauth2/v2.0/token HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert!(stream.write_all(request.as_bytes()).is_ok());
    let mut response = String::new();
    assert!(stream.read_to_string(&mut response).is_ok());
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn serves_after_printing_its_address_and_exports() {
    let Ok(dir) = tempfile::tempdir() else { panic!("no temp dir") };
    let export = dir.path().join("files");
    let spawned = Command::new(BINARY)
        .args(["--mailboxes", "3", "--messages-per-mailbox", "30", "--events-per-mailbox=4"])
        .args(["--external-domains", "2", "--latency-ms", "1", "--as-of", "2026-03-01", "--export"])
        .arg(&export)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else { panic!("cannot start {BINARY}") };
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let address = line.trim().strip_prefix("listening on http://").map(str::to_owned);
    let reply = address.as_deref().map(token_request);
    // Stop the server this test started, by its handle.
    let _ = child.kill();
    let _ = child.wait();
    let Some((status, body)) = reply else { panic!("unexpected first line {line:?}") };
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("\"token_type\":\"Bearer\""));
    let users = std::fs::read_to_string(export.join("users.txt")).unwrap_or_default();
    assert_eq!(
        users,
        "user0000@contoso.example\nuser0001@contoso.example\nuser0002@contoso.example\n"
    );
    let accounts = std::fs::read_to_string(export.join("accounts.csv")).unwrap_or_default();
    assert_eq!(
        accounts,
        "AccountId,Name,Domains\nACC-0000,Customer 0000,customer0000.example\nACC-0001,Customer 0001,customer0001.example\n"
    );
    assert!(export.join("mail/user0000@contoso.example").is_dir());
    assert!(export.join("calendar/user0000@contoso.example.ics").is_file());
}

#[test]
fn help_and_bad_flags() {
    let help = Command::new(BINARY).arg("--help").output();
    let Ok(help) = help else { panic!("cannot run {BINARY}") };
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--messages-per-mailbox N"));
    for (args, message) in [
        (&["--bogus"][..], "error: unknown flag --bogus (see --help)"),
        (&["--port"][..], "error: --port needs a value"),
        (&["--mailboxes", "many"][..], "error: --mailboxes: \"many\" is not a number"),
        (
            &["--as-of", "2026-13-01"][..],
            "error: --as-of: \"2026-13-01\" is not a date (YYYY-MM-DD)",
        ),
    ] {
        let Ok(output) = Command::new(BINARY).args(args).output() else {
            panic!("cannot run {BINARY}")
        };
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), message);
    }
}
