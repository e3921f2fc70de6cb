//! Keys: RSA key pairs as Mastodon stores and publishes them, and the public
//! keys we accept from peers.
//!
//! * generated keys are RSA-2048; the private key is written as PKCS#8 PEM
//!   ("BEGIN PRIVATE KEY"), the public key as SPKI PEM ("BEGIN PUBLIC KEY",
//!   the form of an actor's `publicKey.publicKeyPem`);
//! * private keys are read from PKCS#8 or PKCS#1 ("BEGIN RSA PRIVATE KEY",
//!   what Mastodon's database holds);
//! * public keys are read from SPKI or PKCS#1 ("BEGIN RSA PUBLIC KEY"); an
//!   Ed25519 SPKI key is read too (RFC 9421 `ed25519`). Whitespace and CRLF
//!   inside the PEM are ignored; PEM text is limited to 16 KiB.
//! * RSA keys outside 2048–8192 bits are refused: 1024-bit keys are factorable
//!   in practice, and larger ones only cost CPU on every verification.
//!
//! All RSA goes through aws-lc-rs (never the `rsa` crate, RUSTSEC-2023-0071).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, KeyPair as _, RsaKeyPair, RsaSubjectPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SignatureError;

/// The largest PEM text we parse.
pub const MAX_PEM_LEN: usize = 16 * 1024;
const MIN_RSA_BITS: u32 = 2048;
const MAX_RSA_BITS: u32 = 8192;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A freshly generated key pair, as PEM text.
#[derive(Clone)]
pub struct GeneratedKeyPair {
    /// PKCS#8 PEM ("BEGIN PRIVATE KEY").
    pub private_key_pem: String,
    /// SPKI PEM ("BEGIN PUBLIC KEY"), Mastodon's `publicKeyPem`.
    pub public_key_pem: String,
}

impl std::fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("public_key_pem", &self.public_key_pem)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key pair.
pub fn generate_rsa_2048() -> Result<GeneratedKeyPair, SignatureError> {
    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|e| SignatureError::InvalidKey(format!("key generation failed: {e}")))?;
    let private = pair
        .as_der()
        .map_err(|e| SignatureError::InvalidKey(format!("cannot encode private key: {e}")))?;
    let public = pair
        .public_key()
        .as_der()
        .map_err(|e| SignatureError::InvalidKey(format!("cannot encode public key: {e}")))?;
    Ok(GeneratedKeyPair {
        private_key_pem: to_pem("PRIVATE KEY", private.as_ref()),
        public_key_pem: to_pem("PUBLIC KEY", public.as_ref()),
    })
}

/// An RSA private key that signs RSASSA-PKCS1-v1_5 SHA-256.
pub struct PrivateKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(RSA, redacted)")
    }
}

impl PrivateKey {
    /// Reads a PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA PRIVATE
    /// KEY") PEM RSA key of 2048 to 8192 bits.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let (label, der) = decode_pem(pem)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => {
                return Err(SignatureError::InvalidKey(format!(
                    "PEM label `{other}` is not an RSA private key"
                )));
            }
        }
        .map_err(|e| SignatureError::InvalidKey(format!("RSA private key rejected: {e}")))?;
        Ok(Self { pair })
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, SignatureError> {
        PublicKey::from_rsa_der(self.pair.public_key().as_ref())
    }

    /// The matching public key as SPKI PEM ("BEGIN PUBLIC KEY").
    pub fn public_key_pem(&self) -> Result<String, SignatureError> {
        let der =
            self.pair.public_key().as_der().map_err(|e| {
                SignatureError::InvalidKey(format!("cannot encode public key: {e}"))
            })?;
        Ok(to_pem("PUBLIC KEY", der.as_ref()))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign_rsa_sha256(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &sig::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut out,
            )
            .map_err(|e| SignatureError::CannotSign(format!("RSA signing failed: {e}")))?;
        Ok(out)
    }
}

/// The kinds of public key we verify with.
#[derive(Clone, PartialEq, Eq)]
enum KeyKind {
    /// PKCS#1 `RSAPublicKey` DER and its size.
    Rsa { der: Vec<u8>, bits: u32 },
    /// The raw 32 bytes.
    Ed25519([u8; 32]),
}

/// A peer's public key (RSA 2048–8192 bits, or Ed25519).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            KeyKind::Rsa { bits, .. } => write!(f, "PublicKey(RSA {bits} bits)"),
            KeyKind::Ed25519(_) => f.write_str("PublicKey(Ed25519)"),
        }
    }
}

/// How a signature is computed, once the header and the key agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `hs2019`, `rsa-v1_5-sha256`).
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-byte salt (`rsa-pss-sha512`).
    RsaPssSha512,
    /// Ed25519 (`ed25519`).
    Ed25519,
}

impl PublicKey {
    /// Reads an SPKI ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY")
    /// PEM key. RSA keys must have 2048 to 8192 bits.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let key = Self::from_pem_any_size(pem)?;
        if let KeyKind::Rsa { bits, .. } = key.kind
            && !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits)
        {
            return Err(SignatureError::KeySize(bits));
        }
        Ok(key)
    }

    /// Reads a key of any RSA size: only for the draft's 1024-bit test vectors.
    #[cfg(test)]
    pub(crate) fn from_pem_legacy(pem: &str) -> Result<Self, SignatureError> {
        Self::from_pem_any_size(pem)
    }

    fn from_pem_any_size(pem: &str) -> Result<Self, SignatureError> {
        let (label, der) = decode_pem(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => {
                if der.len() == ED25519_SPKI_PREFIX.len() + 32
                    && der.starts_with(&ED25519_SPKI_PREFIX)
                {
                    let mut raw = [0; 32];
                    raw.copy_from_slice(&der[ED25519_SPKI_PREFIX.len()..]);
                    return Ok(Self {
                        kind: KeyKind::Ed25519(raw),
                    });
                }
                Self::from_rsa_der(&der)
            }
            "RSA PUBLIC KEY" => Self::from_rsa_der(&der),
            other => Err(SignatureError::InvalidKey(format!(
                "PEM label `{other}` is not a public key"
            ))),
        }
    }

    /// An RSA key from PKCS#1 or SPKI DER, without a size check.
    fn from_rsa_der(der: &[u8]) -> Result<Self, SignatureError> {
        let key = RsaSubjectPublicKey::from_der(der)
            .map_err(|e| SignatureError::InvalidKey(format!("RSA public key rejected: {e}")))?;
        let pkcs1 = key.as_ref().to_vec();
        let bits = sig::RsaParameters::public_modulus_len(&pkcs1)
            .map_err(|e| SignatureError::InvalidKey(format!("RSA public key rejected: {e}")))?;
        Ok(Self {
            kind: KeyKind::Rsa { der: pkcs1, bits },
        })
    }

    /// `"RSA"` or `"Ed25519"`, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            KeyKind::Rsa { .. } => "RSA",
            KeyKind::Ed25519(_) => "Ed25519",
        }
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(&self) -> bool {
        matches!(self.kind, KeyKind::Rsa { .. })
    }

    /// Verifies `signature` over `message` with `algorithm`.
    pub fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let mismatch = || SignatureError::AlgorithmKeyMismatch {
            algorithm: format!("{algorithm:?}"),
            key: self.kind_name(),
        };
        let result = match (&self.kind, algorithm) {
            (KeyKind::Rsa { der, bits }, Algorithm::RsaPkcs1Sha256) => {
                let params = rsa_pkcs1_params(*bits)?;
                sig::UnparsedPublicKey::new(params, der).verify(message, signature)
            }
            (KeyKind::Rsa { der, bits }, Algorithm::RsaPssSha512) => {
                if *bits < MIN_RSA_BITS {
                    return Err(SignatureError::KeySize(*bits));
                }
                sig::UnparsedPublicKey::new(&sig::RSA_PSS_2048_8192_SHA512, der)
                    .verify(message, signature)
            }
            (KeyKind::Ed25519(raw), Algorithm::Ed25519) => {
                sig::UnparsedPublicKey::new(&sig::ED25519, raw).verify(message, signature)
            }
            _ => return Err(mismatch()),
        };
        result.map_err(|_| SignatureError::BadSignature)
    }
}

#[cfg(not(test))]
fn rsa_pkcs1_params(bits: u32) -> Result<&'static sig::RsaParameters, SignatureError> {
    if bits < MIN_RSA_BITS {
        return Err(SignatureError::KeySize(bits));
    }
    Ok(&sig::RSA_PKCS1_2048_8192_SHA256)
}

/// Tests also verify the draft's 1024-bit vectors (keys only reach here
/// below 2048 bits through [`PublicKey::from_pem_legacy`]).
#[cfg(test)]
fn rsa_pkcs1_params(bits: u32) -> Result<&'static sig::RsaParameters, SignatureError> {
    if bits < MIN_RSA_BITS {
        return Ok(&sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY);
    }
    Ok(&sig::RSA_PKCS1_2048_8192_SHA256)
}

/// The label and DER bytes of the first PEM block in `pem`.
fn decode_pem(pem: &str) -> Result<(String, Vec<u8>), SignatureError> {
    if pem.len() > MAX_PEM_LEN {
        return Err(SignatureError::TooLong {
            what: "PEM key",
            len: pem.len(),
            limit: MAX_PEM_LEN,
        });
    }
    let bad = |reason: &str| SignatureError::InvalidKey(format!("PEM: {reason}"));
    let begin = pem
        .find("-----BEGIN ")
        .ok_or_else(|| bad("no BEGIN line"))?;
    let rest = &pem[begin + "-----BEGIN ".len()..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| bad("unterminated BEGIN line"))?;
    let label = rest[..label_end].trim();
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body
        .find(&end_marker)
        .ok_or_else(|| bad("no matching END line"))?;
    let b64: Vec<u8> = body[..end]
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(&b64)
        .map_err(|e| bad(&format!("bad base64 ({e})")))?;
    if der.is_empty() {
        return Err(bad("empty body"));
    }
    Ok((label.to_owned(), der))
}

/// PEM text with 64-character lines and a final newline.
fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so each chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
