//! Property tests of the parameter parser (`params::collect`): random
//! Rails-style keys, arrays, percent-encodings, invalid UTF-8 and NUL in
//! query strings and form bodies, random and truncated JSON, and random,
//! truncated and malformed multipart bodies (with and without file fields).
//! Whatever the input: no panic, no stack overflow (keys and JSON thousands
//! of levels deep), an answer that is either an object within the limits or
//! a 400/413/415, and output bounded by the input's size.
//!
//! Case counts are small so the whole file runs in seconds; raise
//! `PROPTEST_CASES` to search longer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::Request;
use ferrodon_api::error::ApiError;
use ferrodon_api::params::{self, FileRules, MAX_DEPTH, MAX_KEY_BYTES, MAX_PARAMS};
use proptest::prelude::*;
use serde_json::Value;

const LIMIT: usize = 1024 * 1024;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request(query: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> Request {
    let uri = match query {
        Some(q) => format!("/x?{q}"),
        None => "/x".to_owned(),
    };
    let mut builder = Request::builder().method("POST");
    // Some generated queries are not valid URIs; those never reach a handler.
    builder = builder.uri(
        uri.parse::<axum::http::Uri>()
            .unwrap_or_else(|_| "/x".parse().unwrap()),
    );
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::from(body)).unwrap()
}

/// Levels of arrays and objects in `v`, counted without recursion.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, level)) = stack.pop() {
        match v {
            Value::Array(a) => {
                deepest = deepest.max(level + 1);
                stack.extend(a.iter().map(|c| (c, level + 1)));
            }
            Value::Object(m) => {
                deepest = deepest.max(level + 1);
                stack.extend(m.values().map(|c| (c, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// What `collect` may answer: an object within the limits, or a client error.
fn check(result: Result<Value, ApiError>, input_len: usize) -> Result<(), TestCaseError> {
    match result {
        Ok(v) => {
            prop_assert!(v.is_object(), "not an object: {v}");
            // The root object is one level more than a key's levels.
            prop_assert!(depth(&v) <= MAX_DEPTH + 1, "too deep: {}", depth(&v));
            let size = v.to_string().len();
            // Linear in the input: a control byte becomes `\u00XX` (6 bytes)
            // and `{"":""}` adds 7, so one byte of form body may be 13.
            prop_assert!(
                size <= 8 * input_len + 16,
                "{size} bytes out of {input_len} in"
            );
        }
        Err(ApiError::BadRequest(m)) => prop_assert!(!m.is_empty()),
        Err(ApiError::PayloadTooLarge | ApiError::UnsupportedMediaType) => {}
        Err(other) => prop_assert!(false, "unexpected error: {other:?}"),
    }
    Ok(())
}

/// Pieces keys and values are made of: brackets (raw and encoded), separators,
/// escapes valid and not, invalid UTF-8 and NUL encoded, multi-byte text.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("id".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("[]".to_owned()),
        Just("[b]".to_owned()),
        Just("[0]".to_owned()),
        Just("%5B".to_owned()),
        Just("%5D".to_owned()),
        Just("%5Bb%5D".to_owned()),
        Just("=".to_owned()),
        Just("&".to_owned()),
        Just(";".to_owned()),
        Just("+".to_owned()),
        Just("%".to_owned()),
        Just("%0".to_owned()),
        Just("%00".to_owned()),
        Just("%FF".to_owned()),
        Just("%C0%80".to_owned()),
        Just("%E2%82".to_owned()),
        Just("%F0%9F%98%80".to_owned()),
        Just("é".to_owned()),
        Just("1".to_owned()),
        "[a-z0-9]{1,6}",
    ]
}

fn query_text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|parts| parts.concat())
}

/// A Rails key nested `levels` deep, with a mix of `[]` and `[name]`.
fn nested_key(levels: usize, arrays: &[bool]) -> String {
    let mut key = "a".to_owned();
    for i in 1..levels {
        key.push_str(
            if arrays
                .get(i % arrays.len().max(1))
                .copied()
                .unwrap_or(false)
            {
                "[]"
            } else {
                "[b]"
            },
        );
    }
    key
}

/// A multipart body: parts with odd names, headers and values, perhaps
/// truncated, perhaps with a wrong boundary or no closing delimiter.
#[derive(Debug, Clone)]
struct Part {
    name: Vec<u8>,
    file_name: Option<Vec<u8>>,
    extra_header: Vec<u8>,
    value: Vec<u8>,
}

fn part() -> impl Strategy<Value = Part> {
    let name = prop_oneof![
        Just(b"status".to_vec()),
        Just(b"a[]".to_vec()),
        Just(b"a[b][c]".to_vec()),
        Just(b"file".to_vec()),
        Just(Vec::new()),
        Just(b"q\"uote".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"nul\0".to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ];
    let file_name = prop::option::of(prop_oneof![
        Just(b"a.png".to_vec()),
        Just(b"../../etc/passwd".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]);
    let extra_header = prop_oneof![
        Just(Vec::new()),
        Just(b"Content-Type: text/plain\r\n".to_vec()),
        Just(b"Content-Type: \xff\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"X: y".to_vec()),
        prop::collection::vec(any::<u8>(), 0..20),
    ];
    let value = prop_oneof![
        Just(b"hello".to_vec()),
        Just(b"\xff\xfe\x00".to_vec()),
        Just(b"--bound".to_vec()),
        Just(b"\r\n--bound--\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    (name, file_name, extra_header, value).prop_map(|(name, file_name, extra_header, value)| Part {
        name,
        file_name,
        extra_header,
        value,
    })
}

fn multipart_body(parts: &[Part], boundary: &str, close: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Disposition: form-data; name=\"");
        body.extend_from_slice(&p.name);
        body.push(b'"');
        if let Some(f) = &p.file_name {
            body.extend_from_slice(b"; filename=\"");
            body.extend_from_slice(f);
            body.push(b'"');
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.extra_header);
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.value);
        body.extend_from_slice(b"\r\n");
    }
    if close {
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    body
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random query strings and form bodies.
    #[test]
    fn query_and_form(query in query_text(), body in query_text(), in_body in any::<bool>()) {
        let rt = runtime();
        let (q, b) = if in_body { (None, body.clone()) } else { (Some(query.as_str()), String::new()) };
        let len = q.map_or(0, str::len) + b.len();
        let req = request(q, Some("application/x-www-form-urlencoded"), b.into_bytes());
        check(rt.block_on(params::collect(req, &(), LIMIT)), len)?;
    }

    /// Raw bytes as a form body: invalid UTF-8 is a 400, never a panic.
    #[test]
    fn form_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let rt = runtime();
        let len = body.len();
        let req = request(None, Some("application/x-www-form-urlencoded"), body);
        check(rt.block_on(params::collect(req, &(), LIMIT)), len)?;
    }

    /// Keys nested up to far past the limit (and far past what a recursive
    /// parser's stack survives), in the query or the body.
    #[test]
    fn deep_keys(levels in 1usize..6_000, arrays in prop::collection::vec(any::<bool>(), 1..4), in_body in any::<bool>()) {
        let rt = runtime();
        let pair = format!("{}=1", nested_key(levels, &arrays));
        let len = pair.len();
        let req = if in_body {
            request(None, Some("application/x-www-form-urlencoded"), pair.into_bytes())
        } else {
            request(Some(&pair), None, Vec::new())
        };
        let result = rt.block_on(params::collect(req, &(), LIMIT));
        if levels > MAX_DEPTH {
            prop_assert!(matches!(result, Err(ApiError::BadRequest(_))), "{levels} levels: {result:?}");
        } else {
            prop_assert!(result.is_ok(), "{levels} levels: {result:?}");
        }
        check(result, len)?;
    }

    /// Many parameters and long keys: past the limits, a 400.
    #[test]
    fn many_and_long_keys(count in 1usize..6_000, key_len in 1usize..40) {
        let rt = runtime();
        let key = "k".repeat(key_len);
        let body = vec![format!("{key}[]=1"); count].join("&");
        let len = body.len();
        let over = count > MAX_PARAMS || count * (key_len + 2) > MAX_KEY_BYTES;
        let req = request(None, Some("application/x-www-form-urlencoded"), body.into_bytes());
        let result = rt.block_on(params::collect(req, &(), LIMIT));
        prop_assert_eq!(result.is_err(), over, "{} × {}: {:?}", count, key_len, result.as_ref().err());
        check(result, len)?;
    }

    /// JSON bodies: random nesting of arrays and objects (also truncated),
    /// and random bytes.
    #[test]
    fn json_bodies(levels in 0usize..3_000, object_every in 1usize..5, cut in any::<prop::sample::Index>(), noise in prop::collection::vec(any::<u8>(), 0..64), use_noise in any::<bool>()) {
        let rt = runtime();
        let body = if use_noise {
            noise
        } else {
            let mut open = String::from("{\"a\":");
            let mut close = String::new();
            for i in 0..levels {
                if i % object_every == 0 {
                    open.push_str("{\"k\":");
                    close.insert(0, '}');
                } else {
                    open.push('[');
                    close.insert(0, ']');
                }
            }
            let full = format!("{open}\"\\u0000x\"{close}}}");
            let mut bytes = full.into_bytes();
            if levels % 3 == 0 {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        };
        let len = body.len();
        let req = request(None, Some("application/json"), body);
        check(rt.block_on(params::collect(req, &(), LIMIT)), len)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random, malformed and truncated multipart bodies, read as a route
    /// without files reads them and as an upload route does.
    #[test]
    fn multipart_bodies(
        parts in prop::collection::vec(part(), 0..12),
        close in any::<bool>(),
        wrong_boundary in any::<bool>(),
        cut in prop::option::of(any::<prop::sample::Index>()),
        with_files in any::<bool>(),
    ) {
        let rt = runtime();
        let mut body = multipart_body(&parts, if wrong_boundary { "other" } else { "bound" }, close);
        if let Some(cut) = cut {
            body.truncate(cut.index(body.len() + 1));
        }
        let len = body.len();
        let req = request(None, Some("multipart/form-data; boundary=bound"), body);
        if with_files {
            let dir = tempfile::tempdir().unwrap();
            let rules = FileRules {
                dir: dir.path().to_owned(),
                fields: &["file"],
                max_bytes: 32,
            };
            let result = rt.block_on(params::collect_with_files(req, &(), LIMIT, &rules));
            match result {
                Ok((value, files)) => {
                    prop_assert!(files.len() <= 1);
                    for f in &files {
                        prop_assert!(f.upload.size <= 32);
                        prop_assert!(f.upload.path.starts_with(dir.path()));
                    }
                    check(Ok(value), len)?;
                    drop(files);
                    // Received files are removed when dropped.
                    prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
                }
                Err(e) => check(Err(e), len)?,
            }
        } else {
            check(rt.block_on(params::collect(req, &(), LIMIT)), len)?;
        }
    }
}

/// Thousands of multipart fields: past the count limit, a 400.
#[test]
fn multipart_field_count() {
    let rt = runtime();
    let parts: Vec<Part> = (0..MAX_PARAMS + 10)
        .map(|_| Part {
            name: b"a[]".to_vec(),
            file_name: None,
            extra_header: Vec::new(),
            value: b"1".to_vec(),
        })
        .collect();
    let body = multipart_body(&parts, "bound", true);
    let req = request(None, Some("multipart/form-data; boundary=bound"), body);
    let result = rt.block_on(params::collect(req, &(), LIMIT));
    assert!(
        matches!(&result, Err(ApiError::BadRequest(m)) if m.contains("Too many parameters")),
        "{result:?}"
    );
}
