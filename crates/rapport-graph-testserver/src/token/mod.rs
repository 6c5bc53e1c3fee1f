//! The Microsoft identity platform's client credentials flow, as far as a test needs it:
//! `POST /{tenant}/oauth2/v2.0/token` with a client secret or an RS256 client assertion, access
//! tokens that the Graph endpoints check, and the `AADSTS` errors a client must handle.
//!
//! Issued access tokens are JWTs with the claims Entra puts in app-only tokens (`aud`, `iss`,
//! `iat`, `nbf`, `exp`, `appid`, `roles`, `tid`, `uti`, ...). Their header says RS256, as Entra's
//! do, but the signature is an HMAC-SHA256 under a key drawn when the server starts: a client
//! never verifies its access token, and the server only needs to recognise its own tokens.
//!
//! Client assertions are verified for real: RS256 signature (ring) against the configured public
//! key, `x5t#S256` or `x5t` header, `aud` = this token endpoint, `iss` = `sub` = client id, a
//! `jti`, and `exp`/`nbf` around the current time (five minutes of clock skew allowed).

// The server tests sign client assertions with the helpers of these tests.
#[cfg(test)]
pub(crate) mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::{hmac, signature};
use serde_json::Value;

use crate::json::{oauth_error_body, push_string};

/// The Graph resources a `scope` may name besides the server itself: the national clouds'
/// Graph hosts and Graph's application id.
const GRAPH_RESOURCES: [&str; 5] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "00000003-0000-0000-c000-000000000000",
];

/// Clock skew allowed on an assertion's `nbf`.
const CLOCK_SKEW_SECS: i64 = 300;

/// The client assertion type of the certificate flow.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the token endpoint accepts and what it issues.
pub(crate) struct Authority {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// The assertion key as a PKCS#1 RSAPublicKey (what ring verifies with).
    pub(crate) public_key: Option<Vec<u8>>,
    pub(crate) roles: Vec<String>,
    pub(crate) lifetime: Duration,
    signing_key: hmac::Key,
    next_token: AtomicU64,
    token_prefix: u64,
}

/// A refused token request: HTTP status, OAuth error, AADSTS code and description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) description: String,
}

impl TokenError {
    fn new(
        status: u16,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> TokenError {
        TokenError { status, error, code, description: description.into() }
    }

    /// The JSON body Entra sends with such an error.
    pub(crate) fn body(&self) -> String {
        oauth_error_body(self.error, self.code, &self.description)
    }
}

/// Why an access token is refused (all 401 `InvalidAuthenticationToken`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a JWT, or not one this server issued.
    Invalid,
    /// Past its `exp`.
    Expired,
    /// Issued for another tenant or resource.
    WrongAudience,
}

impl TokenProblem {
    /// The error message Graph sends.
    pub(crate) fn message(self) -> &'static str {
        match self {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Invalid => "Access token validation failure. Invalid signature.",
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
        }
    }
}

/// What a valid access token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The token's unique id (`uti`), by which it can be revoked.
    pub(crate) token_id: String,
    /// The application roles.
    pub(crate) roles: Vec<String>,
}

fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn decode_part(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

impl Authority {
    /// An authority for these credentials; `public_key` is SubjectPublicKeyInfo or PKCS#1 DER.
    pub(crate) fn new(
        tenant_id: &str,
        client_id: &str,
        client_secret: &str,
        public_key: Option<&[u8]>,
        roles: &[String],
        lifetime: Duration,
    ) -> Authority {
        let random = ring::rand::SystemRandom::new();
        let signing_key = hmac::Key::generate(hmac::HMAC_SHA256, &random)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, b"rapport-graph-testserver"));
        let mut prefix = [0_u8; 8];
        let _ = ring::rand::SecureRandom::fill(&random, &mut prefix);
        Authority {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            public_key: public_key.map(|key| rsa_public_key(key).to_vec()),
            roles: roles.to_vec(),
            lifetime,
            signing_key,
            next_token: AtomicU64::new(1),
            token_prefix: u64::from_le_bytes(prefix),
        }
    }

    /// Answers a token request for `tenant` with form `form` at unix time `now`.
    /// `token_endpoints` are the URLs this endpoint is known by (assertion audiences) and
    /// `graph_resource` the server's own Graph resource (`http://127.0.0.1:PORT`).
    pub(crate) fn issue(
        &self,
        tenant: &str,
        form: &[(String, String)],
        now: i64,
        token_endpoints: &[String],
        graph_resource: &str,
    ) -> Result<String, TokenError> {
        if !tenant.eq_ignore_ascii_case(&self.tenant_id) {
            return Err(TokenError::new(
                400,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ));
        }
        match form_value(form, "grant_type") {
            Some("client_credentials") => {}
            Some(other) => {
                return Err(TokenError::new(
                    400,
                    "unsupported_grant_type",
                    70003,
                    format!("The app requested an unsupported grant type '{other}'."),
                ));
            }
            None => {
                return Err(TokenError::new(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'grant_type'.",
                ));
            }
        }
        let client_id = form_value(form, "client_id").unwrap_or_default();
        if client_id.is_empty() {
            return Err(TokenError::new(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            ));
        }
        if client_id != self.client_id {
            return Err(TokenError::new(
                400,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
                ),
            ));
        }
        let resource = self.scope_resource(form_value(form, "scope"), graph_resource)?;
        let secret = form_value(form, "client_secret");
        let assertion = form_value(form, "client_assertion");
        let method = match (secret, assertion) {
            (Some(secret), None) => {
                if secret != self.client_secret {
                    return Err(TokenError::new(
                        401,
                        "invalid_client",
                        7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
                    ));
                }
                "1"
            }
            (None, Some(assertion)) => {
                if form_value(form, "client_assertion_type") != Some(JWT_BEARER) {
                    return Err(TokenError::new(
                        400,
                        "invalid_request",
                        700018,
                        "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                    ));
                }
                self.verify_assertion(assertion, now, token_endpoints)?;
                "2"
            }
            _ => {
                return Err(TokenError::new(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
        };
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 4);
        let access_token = self.access_token(&resource, method, now, lifetime);
        let mut body = String::with_capacity(access_token.len() + 80);
        body.push_str("{\"token_type\":\"Bearer\",\"expires_in\":");
        body.push_str(&lifetime.to_string());
        body.push_str(",\"ext_expires_in\":");
        body.push_str(&lifetime.to_string());
        body.push_str(",\"access_token\":");
        push_string(&mut body, &access_token);
        body.push('}');
        Ok(body)
    }

    /// The resource of a client-credentials `scope` (`{resource}/.default`).
    fn scope_resource(
        &self,
        scope: Option<&str>,
        graph_resource: &str,
    ) -> Result<String, TokenError> {
        let scope = scope.unwrap_or_default().trim();
        let invalid = || {
            TokenError::new(
                400,
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            )
        };
        let resource = scope.strip_suffix("/.default").ok_or_else(invalid)?;
        let known = resource.eq_ignore_ascii_case(graph_resource)
            || GRAPH_RESOURCES.iter().any(|known| resource.eq_ignore_ascii_case(known));
        if !known || scope.contains(' ') {
            return Err(invalid());
        }
        Ok(resource.to_owned())
    }

    fn verify_assertion(
        &self,
        assertion: &str,
        now: i64,
        token_endpoints: &[String],
    ) -> Result<(), TokenError> {
        let malformed =
            || TokenError::new(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
        let mut parts = assertion.split('.');
        let (Some(header_part), Some(payload_part), Some(signature_part), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let header: Value = decode_part(header_part)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(malformed)?;
        let claims: Value = decode_part(payload_part)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(malformed)?;
        let signature_bytes = decode_part(signature_part).ok_or_else(malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(TokenError::new(
                401,
                "invalid_client",
                5002738,
                "Invalid JWT token. The signature algorithm is not supported; use RS256.",
            ));
        }
        if header.get("x5t#S256").and_then(Value::as_str).is_none()
            && header.get("x5t").and_then(Value::as_str).is_none()
        {
            return Err(TokenError::new(
                401,
                "invalid_client",
                700027,
                "The client assertion names no certificate (no x5t#S256 or x5t header).",
            ));
        }
        let Some(public_key) = &self.public_key else {
            return Err(TokenError::new(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application.",
            ));
        };
        let signed =
            assertion.get(..header_part.len() + 1 + payload_part.len()).unwrap_or_default();
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_key)
            .verify(signed.as_bytes(), &signature_bytes)
            .map_err(|_| {
                TokenError::new(
                    401,
                    "invalid_client",
                    700027,
                    "Client assertion failed signature validation.",
                )
            })?;
        let audience = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
        if !token_endpoints.iter().any(|endpoint| endpoint.eq_ignore_ascii_case(audience)) {
            return Err(TokenError::new(
                401,
                "invalid_client",
                50027,
                format!(
                    "JWT token is invalid: the audience '{audience}' is not this token endpoint."
                ),
            ));
        }
        let issuer = claims.get("iss").and_then(Value::as_str);
        let subject = claims.get("sub").and_then(Value::as_str);
        if issuer != Some(self.client_id.as_str()) || subject != Some(self.client_id.as_str()) {
            return Err(TokenError::new(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            ));
        }
        if claims.get("jti").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(TokenError::new(
                401,
                "invalid_client",
                50027,
                "JWT token is invalid: the jti claim is missing.",
            ));
        }
        let expires = claims.get("exp").and_then(Value::as_i64);
        let not_before = claims.get("nbf").and_then(Value::as_i64).unwrap_or(i64::MIN);
        if expires.is_none_or(|expires| expires <= now) || not_before > now + CLOCK_SKEW_SECS {
            return Err(TokenError::new(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ));
        }
        Ok(())
    }

    /// A new access token for `resource`.
    fn access_token(&self, resource: &str, method: &str, now: i64, lifetime: i64) -> String {
        let number = self.next_token.fetch_add(1, Ordering::Relaxed);
        let token_id = format!("{:016x}{number:08x}", self.token_prefix);
        let mut payload = String::with_capacity(512);
        payload.push_str("{\"aud\":");
        push_string(&mut payload, resource);
        payload.push_str(",\"iss\":");
        push_string(&mut payload, &format!("https://sts.windows.net/{}/", self.tenant_id));
        payload.push_str(&format!(
            ",\"iat\":{now},\"nbf\":{now},\"exp\":{},\"app_displayname\":\"rapport\",\"appid\":",
            now.saturating_add(lifetime)
        ));
        push_string(&mut payload, &self.client_id);
        payload.push_str(",\"appidacr\":");
        push_string(&mut payload, method);
        payload.push_str(
            ",\"idtyp\":\"app\",\"oid\":\"6d5e4f3a-2b1c-4d0e-9f8a-7b6c5d4e3f2a\",\"roles\":[",
        );
        for (position, role) in self.roles.iter().enumerate() {
            if position > 0 {
                payload.push(',');
            }
            push_string(&mut payload, role);
        }
        payload.push_str("],\"sub\":\"6d5e4f3a-2b1c-4d0e-9f8a-7b6c5d4e3f2a\",\"tid\":");
        push_string(&mut payload, &self.tenant_id);
        payload.push_str(",\"uti\":");
        push_string(&mut payload, &token_id);
        payload.push_str(",\"ver\":\"1.0\"}");
        let mut token = URL_SAFE_NO_PAD
            .encode(br#"{"typ":"JWT","alg":"RS256","kid":"rapport-graph-testserver"}"#);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut token);
        let tag = hmac::sign(&self.signing_key, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        token
    }

    /// Checks the `Authorization` header of a Graph request at unix time `now`; `graph_resource`
    /// is the server's own resource.
    pub(crate) fn validate(
        &self,
        authorization: Option<&str>,
        now: i64,
        graph_resource: &str,
    ) -> Result<Grant, TokenProblem> {
        let value = authorization.map(str::trim).ok_or(TokenProblem::Missing)?;
        let (scheme, token) = value.split_once(' ').ok_or(TokenProblem::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(TokenProblem::Missing);
        }
        let token = token.trim();
        let (signed, tag_part) = token.rsplit_once('.').ok_or(TokenProblem::Invalid)?;
        let tag = decode_part(tag_part).ok_or(TokenProblem::Invalid)?;
        hmac::verify(&self.signing_key, signed.as_bytes(), &tag)
            .map_err(|_| TokenProblem::Invalid)?;
        let payload_part = signed.split('.').nth(1).ok_or(TokenProblem::Invalid)?;
        let claims: Value = decode_part(payload_part)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenProblem::Invalid)?;
        let expires = claims.get("exp").and_then(Value::as_i64).ok_or(TokenProblem::Invalid)?;
        if expires <= now {
            return Err(TokenProblem::Expired);
        }
        let audience = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
        let tenant = claims.get("tid").and_then(Value::as_str).unwrap_or_default();
        let audience_known = audience.eq_ignore_ascii_case(graph_resource)
            || GRAPH_RESOURCES.iter().any(|known| audience.eq_ignore_ascii_case(known));
        if !audience_known || tenant != self.tenant_id {
            return Err(TokenProblem::WrongAudience);
        }
        let token_id = claims.get("uti").and_then(Value::as_str).unwrap_or_default().to_owned();
        let roles = claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|roles| roles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Grant { token_id, roles })
    }
}

/// The PKCS#1 RSAPublicKey inside a SubjectPublicKeyInfo; a key that is not an SPKI (a PKCS#1 key
/// already, or garbage that will fail verification) is returned as it is.
pub(crate) fn rsa_public_key(der: &[u8]) -> &[u8] {
    spki_subject_key(der).unwrap_or(der)
}

/// `SEQUENCE { SEQUENCE { OID, params }, BIT STRING { 0x00, key } }` → key.
fn spki_subject_key(der: &[u8]) -> Option<&[u8]> {
    let (tag, outer, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (algorithm_tag, _, rest) = der_element(outer)?;
    // A PKCS#1 key starts with an INTEGER (the modulus); an SPKI with the algorithm SEQUENCE.
    if algorithm_tag != 0x30 {
        return None;
    }
    let (bit_string_tag, bits, _) = der_element(rest)?;
    if bit_string_tag != 0x03 {
        return None;
    }
    let (&unused_bits, key) = bits.split_first()?;
    (unused_bits == 0).then_some(key)
}

/// One DER element: (tag, content, the bytes after it).
fn der_element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first_length, rest) = rest.split_first()?;
    let (length, rest) = if first_length < 0x80 {
        (usize::from(first_length), rest)
    } else {
        let n_bytes = usize::from(first_length & 0x7f);
        if n_bytes == 0 || n_bytes > 4 {
            return None;
        }
        let (length_bytes, rest) = rest.split_at_checked(n_bytes)?;
        let length =
            length_bytes.iter().fold(0_usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, rest)
    };
    let (content, after) = rest.split_at_checked(length)?;
    Some((tag, content, after))
}
