//! RFC 9421 HTTP Message Signatures: `Signature-Input` and `Signature`, two
//! structured-field dictionaries keyed by a label (`sig1`).
//!
//! `Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=…;keyid="…";alg="rsa-v1_5-sha256"`
//! `Signature: sig1=:<base64>:`
//!
//! The signature base is one `"name": value` line per covered component and
//! a last `"@signature-params": <the inner list re-serialised>` line, joined
//! by `\n`. Derived components: `@method`, `@target-uri`, `@authority`,
//! `@scheme`, `@request-target`, `@path`, `@query`; any other (`@status`,
//! `@query-param`) and any component parameter (`;sf`, `;key`, `;bs`, `;req`)
//! is refused as unsupported.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, Uri};

use super::keys::{Algorithm, PrivateKey};
use super::sfv::{self, BareItem, Member, Params};
use super::{
    DeclaredAlgorithm, PendingVerification, Scheme, SignatureError, authority, check_clock, digest,
    header_value, request_has_body, unix_seconds,
};

/// The largest `Signature-Input` or `Signature` header we parse.
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// The label we sign with.
pub const LABEL: &str = "sig1";

/// One covered component: its name and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub params: Params,
}

/// One labelled signature from `Signature-Input` + `Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Signature {
    pub label: String,
    pub components: Vec<Component>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub key_id: Option<String>,
    pub alg: Option<String>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    pub signature: Vec<u8>,
    /// The `@signature-params` value: the inner list and its parameters.
    pub signature_params: String,
}

impl Rfc9421Signature {
    fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c.name == name)
    }
}

fn check_len(what: &'static str, value: &[u8]) -> Result<(), SignatureError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(SignatureError::TooLong {
            what,
            len: value.len(),
            limit: MAX_HEADER_LEN,
        });
    }
    Ok(())
}

/// Parses `Signature-Input` and `Signature` into labelled signatures, in the
/// order of `Signature-Input`.
pub fn parse(
    signature_input: &[u8],
    signature: &[u8],
) -> Result<Vec<Rfc9421Signature>, SignatureError> {
    const INPUT: &str = "Signature-Input header";
    const SIG: &str = "Signature header";
    check_len(INPUT, signature_input)?;
    check_len(SIG, signature)?;
    let inputs =
        sfv::parse_dictionary(signature_input).map_err(|e| SignatureError::malformed(INPUT, e))?;
    let sigs = sfv::parse_dictionary(signature).map_err(|e| SignatureError::malformed(SIG, e))?;
    if inputs.is_empty() {
        return Err(SignatureError::malformed(INPUT, "no signature"));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (label, member) in inputs {
        let Member::InnerList(items, params) = member else {
            return Err(SignatureError::malformed(
                INPUT,
                format!("`{label}` is not an inner list"),
            ));
        };
        let mut components: Vec<Component> = Vec::with_capacity(items.len());
        for (item, item_params) in items {
            let BareItem::String(name) = item else {
                return Err(SignatureError::malformed(
                    INPUT,
                    format!("`{label}` lists a component that is not a string"),
                ));
            };
            if components
                .iter()
                .any(|c| c.name == name && c.params == item_params)
            {
                return Err(SignatureError::malformed(
                    INPUT,
                    format!("`{label}` covers `{name}` twice"),
                ));
            }
            components.push(Component {
                name,
                params: item_params,
            });
        }
        let signature_params = sfv::serialize_inner_list(
            &components
                .iter()
                .map(|c| (BareItem::String(c.name.clone()), c.params.clone()))
                .collect::<Vec<_>>(),
            &params,
        );
        let mut parsed = Rfc9421Signature {
            label: label.clone(),
            components,
            created: None,
            expires: None,
            key_id: None,
            alg: None,
            nonce: None,
            tag: None,
            signature: Vec::new(),
            signature_params,
        };
        for (key, value) in params {
            let wrong = || SignatureError::malformed(INPUT, format!("`{label}`: bad `{key}`"));
            match (key.as_str(), value) {
                ("created", BareItem::Integer(i)) => parsed.created = Some(i),
                ("expires", BareItem::Integer(i)) => parsed.expires = Some(i),
                ("keyid", BareItem::String(s)) => parsed.key_id = Some(s),
                ("alg", BareItem::String(s)) => parsed.alg = Some(s),
                ("nonce", BareItem::String(s)) => parsed.nonce = Some(s),
                ("tag", BareItem::String(s)) => parsed.tag = Some(s),
                ("created" | "expires" | "keyid" | "alg" | "nonce" | "tag", _) => {
                    return Err(wrong());
                }
                _ => {}
            }
        }
        match sigs.iter().find(|(l, _)| *l == label) {
            Some((_, Member::Item(BareItem::ByteSeq(bytes), _))) => {
                parsed.signature.clone_from(bytes);
            }
            Some(_) => {
                return Err(SignatureError::malformed(
                    SIG,
                    format!("`{label}` is not a byte sequence"),
                ));
            }
            None => {
                return Err(SignatureError::malformed(
                    SIG,
                    format!("no signature for label `{label}`"),
                ));
            }
        }
        out.push(parsed);
    }
    Ok(out)
}

fn not_absolute() -> SignatureError {
    SignatureError::malformed(
        "request URI",
        "not absolute (the caller must pass scheme and host)",
    )
}

/// The value of one covered component.
fn component_value(
    component: &Component,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Vec<u8>, SignatureError> {
    if !component.params.is_empty() {
        let mut shown = format!("\"{}\"", component.name);
        sfv::serialize_params(&component.params, &mut shown);
        return Err(SignatureError::UnsupportedComponent(shown));
    }
    let path = || {
        let p = uri.path();
        if p.is_empty() { "/" } else { p }.to_owned()
    };
    let value = match component.name.as_str() {
        "@method" => method.as_str().to_owned(),
        "@target-uri" => {
            if uri.scheme().is_none() || uri.authority().is_none() {
                return Err(not_absolute());
            }
            uri.to_string()
        }
        "@authority" => authority(uri)
            .or_else(|| {
                header_value(headers, "host")
                    .and_then(|h| String::from_utf8(h).ok())
                    .map(|h| h.to_ascii_lowercase())
            })
            .ok_or_else(not_absolute)?,
        "@scheme" => uri
            .scheme_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(not_absolute)?,
        "@request-target" => uri.path_and_query().map_or_else(path, |pq| pq.to_string()),
        "@path" => path(),
        "@query" => format!("?{}", uri.query().unwrap_or_default()),
        derived if derived.starts_with('@') => {
            return Err(SignatureError::UnsupportedComponent(derived.to_owned()));
        }
        field => {
            if field.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(SignatureError::UnsupportedComponent(field.to_owned()));
            }
            return header_value(headers, field)
                .or_else(|| {
                    (field == "host")
                        .then(|| authority(uri))
                        .flatten()
                        .map(String::into_bytes)
                })
                .ok_or_else(|| SignatureError::MissingHeader(field.to_owned()));
        }
    };
    Ok(value.into_bytes())
}

/// The signature base of `sig` over this request.
pub fn signature_base(
    sig: &Rfc9421Signature,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Vec<u8>, SignatureError> {
    let mut out = Vec::new();
    for component in &sig.components {
        let value = component_value(component, method, uri, headers)?;
        out.push(b'"');
        out.extend_from_slice(component.name.as_bytes());
        out.extend_from_slice(b"\": ");
        out.extend_from_slice(&value);
        out.push(b'\n');
    }
    out.extend_from_slice(b"\"@signature-params\": ");
    out.extend_from_slice(sig.signature_params.as_bytes());
    Ok(out)
}

/// What `alg` asks for; absent means "whatever the key is".
fn declared_algorithm(alg: Option<&str>) -> Result<DeclaredAlgorithm, SignatureError> {
    Ok(match alg {
        None => DeclaredAlgorithm::FromKey,
        Some("rsa-v1_5-sha256") => DeclaredAlgorithm::Known(Algorithm::RsaPkcs1Sha256),
        Some("rsa-pss-sha512") => DeclaredAlgorithm::Known(Algorithm::RsaPssSha512),
        Some("ed25519") => DeclaredAlgorithm::Known(Algorithm::Ed25519),
        Some(other) => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    })
}

/// Checks one signature against Mastodon's rules.
fn prepare_one(
    sig: Rfc9421Signature,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<PendingVerification, SignatureError> {
    let declared = declared_algorithm(sig.alg.as_deref())?;
    let key_id = sig
        .key_id
        .clone()
        .ok_or(SignatureError::MissingParameter("keyid"))?;
    let created = sig
        .created
        .ok_or(SignatureError::MissingParameter("created"))?;
    if !sig.covers("@method") {
        return Err(SignatureError::MustBeSigned("@method"));
    }
    let covers_target =
        sig.covers("@target-uri") || (sig.covers("@authority") && sig.covers("@path"));
    if !covers_target {
        return Err(SignatureError::MustBeSigned("@target-uri"));
    }
    if request_has_body(method, body) && !sig.covers("content-digest") {
        if headers.contains_key("content-digest") {
            return Err(SignatureError::MustBeSigned("content-digest"));
        }
        return Err(SignatureError::MissingDigest("Content-Digest"));
    }
    check_clock(created, sig.expires, unix_seconds(now))?;
    if sig.covers("content-digest") {
        let value = header_value(headers, "content-digest")
            .ok_or_else(|| SignatureError::MissingHeader("content-digest".to_owned()))?;
        digest::check_content_digest(&value, body.unwrap_or_default())?;
    }
    if sig.signature.is_empty() {
        return Err(SignatureError::EmptySignature);
    }
    let base = signature_base(&sig, method, uri, headers)?;
    Ok(PendingVerification {
        key_id,
        scheme: Scheme::Rfc9421,
        signed_at: created,
        label: Some(sig.label),
        declared,
        base,
        alternate_base: None,
        signature: sig.signature,
    })
}

/// Parses both headers and returns the first signature that passes the
/// checks; if none does, the reason the first one failed.
pub(crate) fn prepare(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<PendingVerification, SignatureError> {
    let input = header_value(headers, "signature-input").ok_or(SignatureError::Unsigned)?;
    let signature = header_value(headers, "signature")
        .ok_or_else(|| SignatureError::MissingHeader("signature".to_owned()))?;
    let mut first_error = None;
    for sig in parse(&input, &signature)? {
        match prepare_one(sig, method, uri, headers, body, now) {
            Ok(pending) => return Ok(pending),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(SignatureError::Unsigned))
}

/// Signs a request with RFC 9421 (the second knock, for peers that refuse
/// draft-cavage): sets `Date`, `Content-Digest` (when there is a body),
/// `Signature-Input` (`sig1`, covering `@method @target-uri @authority date`
/// and `content-digest` with a body; parameters `created`, `keyid`, `alg`)
/// and `Signature`. Removes a draft-cavage `Signature` header if present.
/// `parts.uri` must be absolute.
pub fn sign_rfc9421(
    parts: &mut http::request::Parts,
    body: Option<&[u8]>,
    key_id: &str,
    key: &PrivateKey,
    now: SystemTime,
) -> Result<(), SignatureError> {
    if parts.uri.scheme().is_none() || parts.uri.authority().is_none() {
        return Err(SignatureError::CannotSign(
            "the URI is not absolute".to_owned(),
        ));
    }
    if key_id.contains(['"', '\\']) || !key_id.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(SignatureError::CannotSign(
            "keyid is not printable ASCII without quotes".to_owned(),
        ));
    }
    parts.headers.remove("signature");
    super::set_header(&mut parts.headers, "date", &httpdate::fmt_http_date(now))?;
    let mut names = vec!["@method", "@target-uri", "@authority", "date"];
    if let Some(body) = body {
        super::set_header(
            &mut parts.headers,
            "content-digest",
            &digest::content_digest_header_value(body),
        )?;
        names.push("content-digest");
    }
    let components: Vec<Component> = names
        .iter()
        .map(|n| Component {
            name: (*n).to_owned(),
            params: Vec::new(),
        })
        .collect();
    let created = unix_seconds(now);
    let params: Params = vec![
        ("created".to_owned(), BareItem::Integer(created)),
        ("keyid".to_owned(), BareItem::String(key_id.to_owned())),
        (
            "alg".to_owned(),
            BareItem::String("rsa-v1_5-sha256".to_owned()),
        ),
    ];
    let signature_params = sfv::serialize_inner_list(
        &components
            .iter()
            .map(|c| (BareItem::String(c.name.clone()), Vec::new()))
            .collect::<Vec<_>>(),
        &params,
    );
    let sig = Rfc9421Signature {
        label: LABEL.to_owned(),
        components,
        created: Some(created),
        expires: None,
        key_id: Some(key_id.to_owned()),
        alg: Some("rsa-v1_5-sha256".to_owned()),
        nonce: None,
        tag: None,
        signature: Vec::new(),
        signature_params,
    };
    let base = signature_base(&sig, &parts.method, &parts.uri, &parts.headers)?;
    let signature = STANDARD.encode(key.sign_rsa_sha256(&base)?);
    super::set_header(
        &mut parts.headers,
        "signature-input",
        &format!("{LABEL}={}", sig.signature_params),
    )?;
    super::set_header(
        &mut parts.headers,
        "signature",
        &format!("{LABEL}=:{signature}:"),
    )
}
