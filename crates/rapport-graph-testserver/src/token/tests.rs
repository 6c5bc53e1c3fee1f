//! Tests of the token endpoint's logic with an injected clock: secrets, client assertions signed
//! with the test keys, and access token checks.

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;

use super::*;
use crate::odata::parse_form;
use crate::test_credentials::{
    CLIENT_CERTIFICATE_DER, CLIENT_PRIVATE_KEY_PKCS8_DER, CLIENT_PUBLIC_KEY_PKCS1_DER,
    CLIENT_PUBLIC_KEY_SPKI_DER, OTHER_PRIVATE_KEY_PKCS8_DER,
};

const TENANT: &str = "tenant-1";
const CLIENT: &str = "client-1";
const SECRET: &str = "s3cret";
const GRAPH: &str = "http://127.0.0.1:9";
const ENDPOINT: &str = "http://127.0.0.1:9/tenant-1/oauth2/v2.0/token";
const NOW: i64 = 1_772_323_200;

fn authority(public_key: Option<&[u8]>) -> Authority {
    let roles = vec!["Mail.ReadBasic.All".to_owned(), "User.Read.All".to_owned()];
    Authority::new(TENANT, CLIENT, SECRET, public_key, &roles, Duration::from_secs(3599))
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn secret_form(secret: &str) -> Vec<(String, String)> {
    form(&[
        ("client_id", CLIENT),
        ("scope", "http://127.0.0.1:9/.default"),
        ("grant_type", "client_credentials"),
        ("client_secret", secret),
    ])
}

fn issue(
    authority: &Authority,
    tenant: &str,
    form: &[(String, String)],
) -> Result<String, TokenError> {
    authority.issue(tenant, form, NOW, &[ENDPOINT.to_owned()], GRAPH)
}

/// The (status, error, AADSTS code) of a refused request.
fn refusal(result: Result<String, TokenError>) -> Option<(u16, &'static str, u32)> {
    result.err().map(|error| (error.status, error.error, error.code))
}

fn access_token(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_default();
    value["access_token"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn form_bodies_are_decoded() {
    assert_eq!(
        parse_form(
            b"client_id=a%2Fb&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&x=1+2&flag"
        ),
        form(&[
            ("client_id", "a/b"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("x", "1 2"),
            ("flag", "")
        ])
    );
}

#[test]
fn secret_flow_issues_a_token_the_graph_side_accepts() {
    let authority = authority(None);
    let Ok(body) = issue(&authority, TENANT, &secret_form(SECRET)) else { panic!("refused") };
    let value: Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(value["token_type"], "Bearer");
    assert_eq!(value["expires_in"], 3599);
    let token = access_token(&body);
    let Some(payload) = token.split('.').nth(1).and_then(decode_part) else { panic!("not a JWT") };
    let claims: Value = serde_json::from_slice(&payload).unwrap_or_default();
    assert_eq!(claims["aud"], GRAPH);
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["exp"], NOW + 3599);
    assert_eq!(claims["roles"], json!(["Mail.ReadBasic.All", "User.Read.All"]));
    let header = format!("Bearer {token}");
    let grant = authority.validate(Some(&header), NOW + 3598, GRAPH);
    assert_eq!(
        grant.map(|grant| grant.roles),
        Ok(vec!["Mail.ReadBasic.All".to_owned(), "User.Read.All".to_owned()])
    );
    assert_eq!(authority.validate(Some(&header), NOW + 3599, GRAPH), Err(TokenProblem::Expired));
    assert!(authority.validate(Some(&format!("bearer  {token} ")), NOW, GRAPH).is_ok());

    // Tenant case and the national clouds' Graph resources are accepted.
    let mut global = secret_form(SECRET);
    global[1].1 = "https://graph.microsoft.com/.default".into();
    assert!(issue(&authority, "TENANT-1", &global).is_ok());
    let second = access_token(&issue(&authority, TENANT, &secret_form(SECRET)).unwrap_or_default());
    assert_ne!(second, token);
}

#[test]
fn refused_token_requests() {
    let authority = authority(None);
    assert_eq!(
        refusal(issue(&authority, TENANT, &secret_form("wrong"))),
        Some((401, "invalid_client", 7000215))
    );
    assert_eq!(
        refusal(issue(&authority, "other-tenant", &secret_form(SECRET))),
        Some((400, "invalid_request", 90002))
    );
    let mut unknown_client = secret_form(SECRET);
    unknown_client[0].1 = "someone-else".into();
    assert_eq!(
        refusal(issue(&authority, TENANT, &unknown_client)),
        Some((400, "unauthorized_client", 700016))
    );
    for scope in [
        "http://127.0.0.1:9",
        "https://outlook.office.com/.default",
        "openid http://127.0.0.1:9/.default",
        "",
    ] {
        let mut bad_scope = secret_form(SECRET);
        bad_scope[1].1 = scope.into();
        assert_eq!(
            refusal(issue(&authority, TENANT, &bad_scope)),
            Some((400, "invalid_scope", 1002012)),
            "{scope}"
        );
    }
    let mut password_grant = secret_form(SECRET);
    password_grant[2].1 = "password".into();
    assert_eq!(
        refusal(issue(&authority, TENANT, &password_grant)),
        Some((400, "unsupported_grant_type", 70003))
    );
    let no_credential = form(&[
        ("client_id", CLIENT),
        ("scope", "http://127.0.0.1:9/.default"),
        ("grant_type", "client_credentials"),
    ]);
    assert_eq!(
        refusal(issue(&authority, TENANT, &no_credential)),
        Some((400, "invalid_request", 900144))
    );
    let mut both = secret_form(SECRET);
    both.push(("client_assertion".into(), "x.y.z".into()));
    assert_eq!(refusal(issue(&authority, TENANT, &both)), Some((400, "invalid_request", 900144)));
    let body: Value = serde_json::from_str(
        &issue(&authority, TENANT, &secret_form("wrong"))
            .err()
            .map(|error| error.body())
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(body["error_codes"], json!([7000215]));
}

/// A client assertion: `header` and `claims` signed with the PKCS#8 key `key_der`.
pub(crate) fn sign(key_der: &[u8], header: &Value, claims: &Value) -> String {
    let Ok(key) = RsaKeyPair::from_pkcs8(key_der) else { panic!("test key rejected") };
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
    let mut signature = vec![0; key.public().modulus_len()];
    assert!(
        key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), token.as_bytes(), &mut signature).is_ok()
    );
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    token
}

fn thumbprint() -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, CLIENT_CERTIFICATE_DER))
}

/// The header of an assertion of the test client certificate.
pub(crate) fn good_header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint()})
}

fn good_claims() -> Value {
    json!({"aud": ENDPOINT, "iss": CLIENT, "sub": CLIENT, "jti": "0b1c", "nbf": NOW - 10, "exp": NOW + 600})
}

fn assertion_form(assertion: &str) -> Vec<(String, String)> {
    form(&[
        ("client_id", CLIENT),
        ("scope", "http://127.0.0.1:9/.default"),
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ])
}

#[test]
fn certificate_flow_verifies_the_assertion() {
    assert_eq!(rsa_public_key(CLIENT_PUBLIC_KEY_SPKI_DER), CLIENT_PUBLIC_KEY_PKCS1_DER);
    assert_eq!(rsa_public_key(CLIENT_PUBLIC_KEY_PKCS1_DER), CLIENT_PUBLIC_KEY_PKCS1_DER);
    assert_eq!(rsa_public_key(b"\x30\x03\x02\x01"), b"\x30\x03\x02\x01");

    let good = sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &good_header(), &good_claims());
    for key in [CLIENT_PUBLIC_KEY_SPKI_DER, CLIENT_PUBLIC_KEY_PKCS1_DER] {
        let authority = authority(Some(key));
        let Ok(body) = issue(&authority, TENANT, &assertion_form(&good)) else { panic!("refused") };
        let token = access_token(&body);
        assert!(authority.validate(Some(&format!("Bearer {token}")), NOW, GRAPH).is_ok());
    }
    let authority = authority(Some(CLIENT_PUBLIC_KEY_SPKI_DER));
    let check = |assertion: &str, expect: Option<(u16, &'static str, u32)>| {
        assert_eq!(
            refusal(issue(&authority, TENANT, &assertion_form(assertion))),
            expect,
            "{assertion}"
        );
    };
    // The older SHA-1 thumbprint header is accepted too.
    let sha1 = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        CLIENT_CERTIFICATE_DER,
    ));
    check(
        &sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &json!({"alg": "RS256", "x5t": sha1}), &good_claims()),
        None,
    );

    let mut tampered = good.clone().into_bytes();
    if let Some(last) = tampered.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    check(&String::from_utf8(tampered).unwrap_or_default(), Some((401, "invalid_client", 700027)));
    check(
        &sign(OTHER_PRIVATE_KEY_PKCS8_DER, &good_header(), &good_claims()),
        Some((401, "invalid_client", 700027)),
    );
    check(
        &sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &json!({"alg": "RS256"}), &good_claims()),
        Some((401, "invalid_client", 700027)),
    );
    check(
        &sign(
            CLIENT_PRIVATE_KEY_PKCS8_DER,
            &json!({"alg": "PS256", "x5t#S256": thumbprint()}),
            &good_claims(),
        ),
        Some((401, "invalid_client", 5002738)),
    );
    let with = |name: &str, value: Value| {
        let mut claims = good_claims();
        claims[name] = value;
        sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &good_header(), &claims)
    };
    check(&with("exp", json!(NOW)), Some((401, "invalid_client", 700024)));
    check(&with("nbf", json!(NOW + 301)), Some((401, "invalid_client", 700024)));
    check(&with("nbf", json!(NOW + 300)), None);
    check(
        &with("aud", json!("https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token")),
        Some((401, "invalid_client", 50027)),
    );
    check(&with("iss", json!("someone-else")), Some((401, "invalid_client", 700021)));
    check(&with("sub", json!("someone-else")), Some((401, "invalid_client", 700021)));
    check(&with("jti", json!("")), Some((401, "invalid_client", 50027)));
    let mut no_expiry = good_claims();
    if let Some(claims) = no_expiry.as_object_mut() {
        claims.remove("exp");
    }
    check(
        &sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &good_header(), &no_expiry),
        Some((401, "invalid_client", 700024)),
    );
    check("not-a-jwt", Some((400, "invalid_request", 50027)));
    check("e30.e30", Some((400, "invalid_request", 50027)));

    let mut wrong_type = assertion_form(&good);
    wrong_type[3].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
    assert_eq!(
        refusal(issue(&authority, TENANT, &wrong_type)),
        Some((400, "invalid_request", 700018))
    );
    let without_key = self::authority(None);
    assert_eq!(
        refusal(issue(&without_key, TENANT, &assertion_form(&good))),
        Some((401, "invalid_client", 700027))
    );
}

#[test]
fn access_tokens_are_checked() {
    let authority = authority(None);
    let token = access_token(&issue(&authority, TENANT, &secret_form(SECRET)).unwrap_or_default());
    assert_eq!(authority.validate(None, NOW, GRAPH), Err(TokenProblem::Missing));
    assert_eq!(authority.validate(Some("Bearer "), NOW, GRAPH), Err(TokenProblem::Missing));
    assert_eq!(
        authority.validate(Some(&format!("Basic {token}")), NOW, GRAPH),
        Err(TokenProblem::Missing)
    );
    assert_eq!(
        authority.validate(Some("Bearer abc.def.ghi"), NOW, GRAPH),
        Err(TokenProblem::Invalid)
    );
    assert_eq!(authority.validate(Some("Bearer nodots"), NOW, GRAPH), Err(TokenProblem::Invalid));
    // Another server's token (another signing key) is unknown here.
    let other = self::authority(None);
    let foreign = access_token(&issue(&other, TENANT, &secret_form(SECRET)).unwrap_or_default());
    assert_eq!(
        authority.validate(Some(&format!("Bearer {foreign}")), NOW, GRAPH),
        Err(TokenProblem::Invalid)
    );
    // A token whose payload was swapped keeps its old signature: refused.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD
        .encode(json!({"exp": NOW + 99_999, "aud": GRAPH, "tid": TENANT}).to_string());
    parts[1] = &forged_payload;
    assert_eq!(
        authority.validate(Some(&format!("Bearer {}", parts.join("."))), NOW, GRAPH),
        Err(TokenProblem::Invalid)
    );
    // A token for a Graph resource of another server is refused.
    assert_eq!(
        authority.validate(Some(&format!("Bearer {token}")), NOW, "http://127.0.0.1:10"),
        Err(TokenProblem::WrongAudience)
    );
}
