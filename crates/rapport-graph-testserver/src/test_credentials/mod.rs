//! Key material for client-assertion tests (made with OpenSSL; see `test_data/README.md`). It
//! protects nothing: a test configures the server with [`CLIENT_PUBLIC_KEY_SPKI_DER`] and signs
//! assertions with [`CLIENT_PRIVATE_KEY_PKCS8_DER`].

/// The client's RSA 2048 private key, PKCS#8 DER (what `ring::signature::RsaKeyPair::from_pkcs8`
/// takes).
pub const CLIENT_PRIVATE_KEY_PKCS8_DER: &[u8] = include_bytes!("../../test_data/client.key.pk8");

/// The client's self-signed certificate, DER (its SHA-256 is the assertion's `x5t#S256`).
pub const CLIENT_CERTIFICATE_DER: &[u8] = include_bytes!("../../test_data/client.cert.der");

/// The client's public key as a SubjectPublicKeyInfo, DER: a value for
/// `ServerConfig::assertion_public_key`.
pub const CLIENT_PUBLIC_KEY_SPKI_DER: &[u8] = include_bytes!("../../test_data/client.spki.der");

/// The client's public key as a PKCS#1 RSAPublicKey, DER: the other accepted form.
pub const CLIENT_PUBLIC_KEY_PKCS1_DER: &[u8] = include_bytes!("../../test_data/client.pkcs1.der");

/// Another RSA 2048 private key (PKCS#8 DER), unknown to the server: assertions it signs are
/// rejected.
pub const OTHER_PRIVATE_KEY_PKCS8_DER: &[u8] = include_bytes!("../../test_data/other.key.pk8");
