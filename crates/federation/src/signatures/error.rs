//! The one error type of the module: each variant says exactly why a
//! signature was refused, for logs and for the body of a 401.

/// Why a request could not be signed or its signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Neither `Signature`, `Signature-Input` nor `Authorization: Signature`.
    #[error("request is not signed (no Signature or Signature-Input header)")]
    Unsigned,
    /// A header (or PEM) is larger than we parse.
    #[error("{what} is too long ({len} bytes, limit {limit})")]
    TooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    /// A header that does not follow its grammar.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// The same parameter twice in one signature.
    #[error("signature parameter `{0}` appears more than once")]
    DuplicateParameter(String),
    /// A parameter every signature needs (keyId, signature, created…).
    #[error("signature parameter `{0}` is missing")]
    MissingParameter(&'static str),
    /// `signature=""` or an empty byte sequence.
    #[error("the signature is empty")]
    EmptySignature,
    /// An algorithm we do not verify (hmac, ecdsa, rsa-sha1…).
    #[error("unsupported signature algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The algorithm names a key type the key is not.
    #[error("signature algorithm `{algorithm}` does not fit a {key} key")]
    AlgorithmKeyMismatch {
        algorithm: String,
        key: &'static str,
    },
    /// A component our rules require is not covered by the signature.
    #[error("`{0}` must be signed")]
    MustBeSigned(&'static str),
    /// A header listed as signed is not in the request.
    #[error("signed header `{0}` is missing from the request")]
    MissingHeader(String),
    /// A covered component we cannot compute (`@status`, `@query-param`, `;sf`…).
    #[error("unsupported covered component `{0}`")]
    UnsupportedComponent(String),
    /// The `Date` header (or `created`/`expires`) cannot be read.
    #[error("invalid date: {0}")]
    InvalidDate(String),
    /// Signed too long ago (or past `expires`).
    #[error("signature has expired (signed at {signed_at}, now {now}, unix seconds)")]
    Expired { signed_at: i64, now: i64 },
    /// Signed in the future, beyond the allowed clock skew.
    #[error("signature is from the future (signed at {signed_at}, now {now}, unix seconds)")]
    FromTheFuture { signed_at: i64, now: i64 },
    /// A request with a body carries no `Digest`/`Content-Digest`.
    #[error("{0} header is missing on a request with a body")]
    MissingDigest(&'static str),
    /// `Digest`/`Content-Digest` names no algorithm we check.
    #[error("{header} has no supported algorithm (need {need})")]
    UnsupportedDigest {
        header: &'static str,
        need: &'static str,
    },
    /// The body does not hash to the digest in the header.
    #[error("{header} {algorithm} does not match the body")]
    DigestMismatch {
        header: &'static str,
        algorithm: &'static str,
    },
    /// A key that cannot be parsed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An RSA key outside 2048–8192 bits.
    #[error("RSA key of {0} bits refused (2048 to 8192 bits accepted)")]
    KeySize(u32),
    /// The signature does not verify with this key.
    #[error("signature does not verify with this key")]
    BadSignature,
    /// A request we were asked to sign lacks something (absolute URI…).
    #[error("cannot sign: {0}")]
    CannotSign(String),
}

impl SignatureError {
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }
}
