use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

fn jwt_with_payload(payload: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn roles_are_read_from_the_payload() {
    let token = jwt_with_payload(
        r#"{"aud":"https://graph.microsoft.com","tid":"t1","roles":["Mail.ReadBasic.All","User.Read.All"],"exp":1}"#,
    );
    assert_eq!(granted_roles(&token).expect("reads"), ["Mail.ReadBasic.All", "User.Read.All"]);
    // A payload encoded with padding reads too.
    let padded =
        format!("x.{}.y", base64::engine::general_purpose::URL_SAFE.encode(r#"{"roles":["A"]}"#));
    assert_eq!(granted_roles(&padded).expect("reads"), ["A"]);
    assert_eq!(
        granted_roles(&jwt_with_payload(r#"{"tid":"t"}"#)).expect("reads"),
        Vec::<String>::new()
    );
    assert_eq!(
        granted_roles(&jwt_with_payload(r#"{"roles":"Mail.Read"}"#)).expect("reads"),
        Vec::<String>::new()
    );
    let error = |token: &str| granted_roles(token).err().map(|error| error.to_string());
    assert_eq!(
        error("opaque"),
        Some("token request failed (http 0): unreadable_token: the access token is not a readable JWT: it has no payload part".into())
    );
    assert_eq!(
        error("a.!!!.b"),
        Some("token request failed (http 0): unreadable_token: the access token is not a readable JWT: its payload is not base64url".into())
    );
    assert_eq!(
        error(&format!("a.{}.b", URL_SAFE_NO_PAD.encode("[1,"))),
        Some("token request failed (http 0): unreadable_token: the access token is not a readable JWT: its payload is not JSON".into())
    );
}

fn check_roles_case(granted: &[&str], missing: &[&str], body_exposing: &[&str]) {
    let granted: Vec<String> = granted.iter().map(|role| (*role).to_owned()).collect();
    let report = check_roles(&granted);
    assert_eq!(report.missing, missing, "granted {granted:?}");
    assert_eq!(report.body_exposing, body_exposing, "granted {granted:?}");
    assert_eq!(report.passed(), missing.is_empty());
    assert_eq!(report.granted, granted);
}

#[test]
fn needed_permissions_and_warnings() {
    let all =
        ["Mail.ReadBasic.All", "Calendars.ReadBasic.All", "User.Read.All", "GroupMember.Read.All"];
    check_roles_case(&all, &[], &[]);
    check_roles_case(&[], &all, &[]);
    check_roles_case(
        &["Mail.ReadBasic.All", "User.ReadBasic.All"],
        &["Calendars.ReadBasic.All", "GroupMember.Read.All"],
        &[],
    );
    // Directory.Read.All covers users and groups; Group.Read.All covers groups.
    check_roles_case(
        &["Mail.ReadBasic.All", "Calendars.ReadBasic.All", "Directory.Read.All"],
        &[],
        &[],
    );
    check_roles_case(
        &["Group.Read.All"],
        &["Mail.ReadBasic.All", "Calendars.ReadBasic.All", "User.Read.All"],
        &[],
    );
    // GroupMember.ReadBasic.All cannot list groups by mail or name.
    check_roles_case(
        &[
            "Mail.ReadBasic.All",
            "Calendars.ReadBasic.All",
            "User.Read.All",
            "GroupMember.ReadBasic.All",
        ],
        &["GroupMember.Read.All"],
        &[],
    );
    // Broader roles satisfy the need and are reported.
    check_roles_case(
        &[
            "Mail.Read",
            "Calendars.ReadWrite",
            "User.Read.All",
            "GroupMember.Read.All",
            "Mail.ReadBasic.All",
        ],
        &[],
        &["Mail.Read", "Calendars.ReadWrite"],
    );
    // Names compare exactly.
    check_roles_case(
        &["mail.readbasic.all", "Calendars.ReadBasic.All", "User.Read.All", "GroupMember.Read.All"],
        &["Mail.ReadBasic.All"],
        &[],
    );
}

fn test_certificate(name: &str) -> Certificate {
    let path = format!("{}/test_data/{name}", env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read(&path).expect("test data");
    Certificate::from_pem(Path::new(&path), &pem).expect("certificate")
}

#[test]
fn client_assertion_is_a_signed_jwt() {
    let certificate = test_certificate("assertion_pkcs8.pem");
    let audience = "https://login.microsoftonline.com/t1/oauth2/v2.0/token";
    let assertion = client_assertion(&certificate, "client-1", audience, 1_700_000_000, "jti-1")
        .expect("signs");
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |part: &str| {
        String::from_utf8(URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("utf-8")
    };
    assert_eq!(
        decode(parts[0]),
        r#"{"alg":"RS256","typ":"JWT","x5t#S256":"5zvwQh8n8n5XsX3hbqcm8P3kYlchIk7hP_41Mjr0Lys","x5t":"OmzgBVz7SWehLWs0sfXo79lBxzw"}"#
    );
    assert_eq!(
        decode(parts[1]),
        r#"{"aud":"https://login.microsoftonline.com/t1/oauth2/v2.0/token","iss":"client-1","sub":"client-1","jti":"jti-1","nbf":1700000000,"iat":1700000000,"exp":1700000600}"#
    );
    let public_key = std::fs::read(format!(
        "{}/test_data/assertion_public_pkcs1.der",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("public key");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
    let signed = format!("{}.{}", parts[0], parts[1]);
    let verifier = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &public_key,
    );
    assert!(verifier.verify(signed.as_bytes(), &signature).is_ok());
    assert!(verifier.verify(b"something else", &signature).is_err());
    // The PKCS#1 key of the same certificate signs identically (RS256 is deterministic).
    let pkcs1 = test_certificate("assertion_pkcs1.pem");
    let again =
        client_assertion(&pkcs1, "client-1", audience, 1_700_000_000, "jti-1").expect("signs");
    assert_eq!(again, assertion);
}

#[test]
fn tokens_are_renewed_ahead_of_expiry() {
    assert_eq!(renew_after(Duration::from_secs(3599)), Duration::from_secs(3299));
    assert_eq!(renew_after(Duration::from_secs(600)), Duration::from_secs(300));
    assert_eq!(renew_after(Duration::from_secs(10)), Duration::from_secs(5));
    assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
}

#[test]
fn token_answers() {
    let read = |status, body: &str| {
        read_token_answer(status, body.as_bytes()).map_err(|error| error.to_string())
    };
    assert_eq!(
        read(200, r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ.x.y"}"#),
        Ok(("eyJ.x.y".to_owned(), Duration::from_secs(3599)))
    );
    assert_eq!(
        read(
            200,
            r#"{"token_type":"Bearer","expires_in":"120","ext_expires_in":"120","access_token":"t"}"#
        ),
        Ok(("t".to_owned(), Duration::from_secs(120)))
    );
    assert_eq!(
        read(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#),
        Err("token request failed (http 401): invalid_client: AADSTS7000215: Invalid client secret provided.".into())
    );
    assert_eq!(
        read(200, r#"{"token_type":"Bearer"}"#),
        Err("token request failed (http 200): no_access_token: the answer holds no access token"
            .into())
    );
    assert_eq!(
        read(502, "Bad Gateway"),
        Err("token request failed (http 502): no_access_token: the answer holds no access token"
            .into())
    );
}
