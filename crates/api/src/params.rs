//! Request parameters as Mastodon (Rails) reads them: from the query string
//! and from a JSON, form-urlencoded or multipart body, merged into one
//! object; `key[]=` builds arrays and `key[sub]=` objects. Values are then
//! read leniently: booleans as `true`/`false`/`1`/`0`, numbers as strings,
//! empty strings as absent.
//!
//! Hostile input is bounded as Rack bounds it: a key nests at most
//! [`MAX_DEPTH`] levels (JSON bodies too), a request carries at most
//! [`MAX_PARAMS`] parameters (query pairs, form pairs and multipart fields
//! together) and [`MAX_KEY_BYTES`] bytes of keys. Anything past a limit is a
//! 400, before the handler runs. Nothing here recurses over input: keys are
//! placed and values walked with loops, so no input can exhaust the stack.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::AppState;
use crate::error::ApiError;

/// Parameters merged from the query string and the body, read as `T`.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let value = collect(req, state, state.max_body_bytes).await?;
        read(value).map(Params)
    }
}

/// Deepest nesting of a parameter key (`a[b][c]` is 3 levels) or of a JSON
/// body (`{"a": {"b": {"c": 1}}}` is 3 levels): Rack's `param_depth_limit`.
pub const MAX_DEPTH: usize = 100;
/// Most parameters in one request: Rack 3's `params_limit`.
pub const MAX_PARAMS: usize = 4096;
/// Most bytes of parameter keys (decoded) in one request: old Rack's
/// `key_space_limit`.
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// Longest error message built from parameters (paths and values are echoed).
const MAX_MESSAGE_CHARS: usize = 300;

fn too_deep() -> ApiError {
    ApiError::BadRequest(format!(
        "Parameters are nested too deeply (at most {MAX_DEPTH} levels)"
    ))
}

/// Whether any string (key or value) holds a NUL, which no text column accepts.
fn has_nul(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return true,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                if map.keys().any(|k| k.contains('\0')) {
                    return true;
                }
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    false
}

/// How many levels of arrays and objects `v` nests (a scalar is 0).
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(children.map(|c| (c, level + 1)));
    }
    deepest
}

/// `message` cut to a bounded length, on a character boundary.
fn bounded(mut message: String) -> String {
    if let Some((at, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(at);
        message.push('…');
    }
    message
}

/// Reads parameters already merged into an object.
pub fn read<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::BadRequest(bounded(if path == "." || path.is_empty() {
            format!("Invalid parameters: {inner}")
        } else {
            format!("Invalid value for `{path}`: {inner}")
        }))
    })
}

/// Gathers every parameter of the request into one JSON object, reading at
/// most `limit` bytes of body.
pub async fn collect<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<Value, ApiError> {
    let value = collect_raw(req, state, limit, None).await?;
    if has_nul(&value) {
        return Err(ApiError::BadRequest(
            "Parameters must not contain NUL characters".to_owned(),
        ));
    }
    Ok(value)
}

/// Which file fields a route accepts, where they are written and how large
/// one may be.
#[derive(Debug, Clone)]
pub struct FileRules {
    /// A directory on the media volume (so keeping a file is a rename).
    pub dir: std::path::PathBuf,
    pub fields: &'static [&'static str],
    /// Largest file; a larger one ends the request with 413.
    pub max_bytes: u64,
}

impl FileRules {
    /// The largest body these rules let through: every file at its largest plus `text_limit`.
    pub fn body_limit(&self, text_limit: usize) -> usize {
        let files = self
            .max_bytes
            .saturating_mul(self.fields.len() as u64)
            .saturating_add(64 * 1024);
        usize::try_from(files)
            .unwrap_or(usize::MAX)
            .saturating_add(text_limit)
    }
}

/// A file received in a multipart body, streamed to disk; removed when
/// dropped unless the service moved it to its place first.
#[derive(Debug)]
pub struct UploadedFile {
    pub field: String,
    pub upload: ferrodon_service::media::Upload,
}

impl Drop for UploadedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.upload.path);
    }
}

/// Parameters plus the files of a multipart body (other bodies carry none).
/// Text parameters stay within `text_limit`; each file within `rules.max_bytes`.
pub async fn collect_with_files<S: Send + Sync>(
    req: Request,
    state: &S,
    text_limit: usize,
    rules: &FileRules,
) -> Result<(Value, Vec<UploadedFile>), ApiError> {
    let mut files = Vec::new();
    let value = collect_raw(req, state, text_limit, Some((rules, &mut files))).await?;
    if has_nul(&value) {
        return Err(ApiError::BadRequest(
            "Parameters must not contain NUL characters".to_owned(),
        ));
    }
    Ok((value, files))
}

/// Streams one file field to a new file under `rules.dir`.
async fn receive_file(
    mut field: axum::extract::multipart::Field<'_>,
    name: String,
    rules: &FileRules,
) -> Result<UploadedFile, ApiError> {
    use tokio::io::AsyncWriteExt;
    let storage = |e: std::io::Error| {
        ApiError::Service(ferrodon_service::ServiceError::Internal(format!(
            "cannot store an upload: {e}"
        )))
    };
    let mut received = UploadedFile {
        field: name,
        upload: ferrodon_service::media::Upload {
            path: rules
                .dir
                .join(format!("upload-{:032x}", rand::random::<u128>())),
            size: 0,
        },
    };
    let mut file = tokio::fs::File::create(&received.upload.path)
        .await
        .map_err(storage)?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        received.upload.size += chunk.len() as u64;
        if received.upload.size > rules.max_bytes {
            return Err(ApiError::PayloadTooLarge);
        }
        file.write_all(&chunk).await.map_err(storage)?;
    }
    file.flush().await.map_err(storage)?;
    Ok(received)
}

async fn collect_raw<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
    mut files: Option<(&FileRules, &mut Vec<UploadedFile>)>,
) -> Result<Value, ApiError> {
    let body_limit = files
        .as_ref()
        .map_or(limit, |(rules, _)| rules.body_limit(limit));
    if req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > body_limit)
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut out = Builder::default();
    if let Some(query) = req.uri().query() {
        out.add_pairs(query.as_bytes())?;
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if mime == "multipart/form-data" {
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("Malformed multipart body: {e}")))?;
        let mut total = 0usize;
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e)),
            };
            let name = field.name().unwrap_or("").to_owned();
            // Every field counts, files and nameless ones too.
            out.count(&name)?;
            let is_file = field.file_name().is_some();
            if let Some((rules, received)) = files.as_mut()
                && is_file
            {
                if rules.fields.contains(&name.as_str()) {
                    let file = receive_file(field, name, rules).await?;
                    // A repeated field: the last one counts.
                    received.retain(|f| f.field != file.field);
                    received.push(file);
                } else {
                    // Not kept (a video's `thumbnail`, …), but read within the file limit.
                    let mut field = field;
                    let mut size = 0u64;
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        size += chunk.len() as u64;
                        if size > rules.max_bytes {
                            return Err(ApiError::PayloadTooLarge);
                        }
                    }
                }
                continue;
            }
            let bytes = field.bytes().await.map_err(multipart_error)?;
            total += bytes.len();
            if total > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            // Files only reach routes that take them; elsewhere they are
            // left out rather than read as text.
            if is_file || name.is_empty() {
                continue;
            }
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| ApiError::BadRequest(format!("Field `{name}` is not UTF-8")))?;
            out.place(&name, Value::String(text))?;
        }
        return Ok(Value::Object(out.map));
    }
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if is_length_limit(&e) {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(format!("Cannot read the request body: {e}"))
            }
        })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(out.map));
    }
    if mime == "application/json" || mime.ends_with("+json") {
        // serde_json itself stops at 128 levels; the parameters' own limit
        // is lower.
        let parsed: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("Malformed JSON body: {e}")))?;
        if depth(&parsed) > MAX_DEPTH {
            return Err(too_deep());
        }
        match parsed {
            Value::Object(map) => {
                for (k, v) in map {
                    out.map.insert(k, v);
                }
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "The JSON body must be an object".to_owned(),
                ));
            }
        }
    } else if mime == "application/x-www-form-urlencoded" || mime.is_empty() {
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::BadRequest(
                "Malformed form body: not UTF-8".to_owned(),
            ));
        }
        out.add_pairs(&body)?;
    } else {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(Value::Object(out.map))
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.to_string().contains("length limit") {
            return true;
        }
        source = err.source();
    }
    false
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(format!("Malformed multipart body: {}", e.body_text()))
    }
}

/// Parameters being gathered, with what counts against the limits.
#[derive(Debug, Default)]
struct Builder {
    map: Map<String, Value>,
    params: usize,
    key_bytes: usize,
}

impl Builder {
    /// Counts one parameter named `key` against [`MAX_PARAMS`] and [`MAX_KEY_BYTES`].
    fn count(&mut self, key: &str) -> Result<(), ApiError> {
        self.params += 1;
        if self.params > MAX_PARAMS {
            return Err(ApiError::BadRequest(format!(
                "Too many parameters (at most {MAX_PARAMS})"
            )));
        }
        self.key_bytes = self.key_bytes.saturating_add(key.len());
        if self.key_bytes > MAX_KEY_BYTES {
            return Err(ApiError::BadRequest(format!(
                "Parameter keys are too long (at most {MAX_KEY_BYTES} bytes in all)"
            )));
        }
        Ok(())
    }

    /// Places a value already counted.
    fn place(&mut self, key: &str, value: Value) -> Result<(), ApiError> {
        insert(&mut self.map, key, value)
    }

    /// Counts and places every pair of an `application/x-www-form-urlencoded` text.
    fn add_pairs(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            self.count(&k)?;
            self.place(&k, Value::String(v.into_owned()))?;
        }
        Ok(())
    }
}

/// Inserts `value` under a Rails-style key: `a`, `a[]`, `a[b]`, `a[0][b]`;
/// a key nesting more than [`MAX_DEPTH`] levels is refused.
fn insert(out: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), ApiError> {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Ok(());
    }
    let mut segments = Vec::new();
    let mut rest = rest;
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        if segments.len() + 1 >= MAX_DEPTH {
            return Err(too_deep());
        }
        segments.push(&stripped[..end]);
        rest = &stripped[end + 1..];
    }
    let slot = out.entry(head.to_owned()).or_insert(Value::Null);
    place(slot, &segments, value);
    Ok(())
}

/// Puts `value` at `segments` below `slot`, making arrays (`[]`) and objects
/// (`[name]`) on the way; a loop, so depth costs no stack.
fn place(slot: &mut Value, segments: &[&str], value: Value) {
    let mut slot = slot;
    let mut segments = segments;
    while let Some((first, rest)) = segments.split_first() {
        if first.is_empty() {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            let Value::Array(items) = slot else { return };
            if rest.is_empty() {
                items.push(value);
                return;
            }
            // `a[][b]=1&a[][c]=2` builds one object until a key repeats.
            let reuse = items
                .last()
                .and_then(|v| v.as_object())
                .is_some_and(|o| rest.first().is_some_and(|k| !o.contains_key(*k)));
            if !reuse {
                items.push(Value::Object(Map::new()));
            }
            let Some(last) = items.last_mut() else { return };
            slot = last;
        } else {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(map) = slot else { return };
            slot = map.entry((*first).to_owned()).or_insert(Value::Null);
        }
        segments = rest;
    }
    *slot = value;
}

/// Lenient readers for `#[serde(deserialize_with = "…")]`.
pub mod de {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde_json::Value;

    /// `true`/`false`/`1`/`0`/`on`/`off` (also as strings); empty is absent.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            Value::Number(n) => Ok(Some(n.as_f64().unwrap_or(0.0) != 0.0)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" | "on" | "t" | "yes" => Ok(Some(true)),
                "false" | "0" | "off" | "f" | "no" => Ok(Some(false)),
                other => Err(D::Error::custom(format!(
                    "expected a boolean, got {other:?}"
                ))),
            },
            _ => Err(D::Error::custom("expected a boolean")),
        }
    }

    /// A string (numbers and booleans are written out); empty stays empty.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            _ => Err(D::Error::custom("expected a string")),
        }
    }

    /// A whole number; empty or unparseable text is absent (as Rails' `to_i` paging is forgiving).
    pub fn opt_i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(n.as_i64()),
            Value::String(s) => Ok(s.trim().parse().ok()),
            _ => Ok(None),
        }
    }

    /// An id: digits as a string or a number; empty is absent; anything else is an error.
    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom("expected an id")),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected an id, got {s:?}"))),
            _ => Err(D::Error::custom("expected an id")),
        }
    }

    /// A list of strings from an array, a single string, a space/newline
    /// separated string (`split`), or an object keyed by index.
    pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        fn one(v: Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        }
        match Value::deserialize(d)? {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => Ok(items.into_iter().filter_map(one).collect()),
            Value::Object(map) => Ok(map.into_iter().filter_map(|(_, v)| one(v)).collect()),
            other => Ok(one(other).into_iter().collect()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(pairs: &[(&str, &str)]) -> Value {
        let mut out = Map::new();
        for (k, v) in pairs {
            insert(&mut out, k, Value::String((*v).to_owned())).unwrap();
        }
        Value::Object(out)
    }

    #[test]
    fn rails_style_keys() {
        assert_eq!(
            parse(&[
                ("id[]", "1"),
                ("id[]", "2"),
                ("source[privacy]", "private"),
                ("a", "b")
            ]),
            json!({"id": ["1", "2"], "source": {"privacy": "private"}, "a": "b"})
        );
        assert_eq!(
            parse(&[
                ("fields_attributes[0][name]", "n0"),
                ("fields_attributes[0][value]", "v0"),
                ("fields_attributes[1][name]", "n1"),
            ]),
            json!({"fields_attributes": {"0": {"name": "n0", "value": "v0"}, "1": {"name": "n1"}}})
        );
        assert_eq!(
            parse(&[("f[][name]", "a"), ("f[][value]", "1"), ("f[][name]", "b")]),
            json!({"f": [{"name": "a", "value": "1"}, {"name": "b"}]})
        );
        // Odd keys never panic.
        let _ = parse(&[("[x]", "1"), ("a[", "2"), ("b]]", "3"), ("c[][]", "4")]);
    }

    fn request(
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<axum::body::Body>,
    ) -> Request {
        let mut builder = Request::builder().method("POST").uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(body.into()).unwrap()
    }

    async fn gather(req: Request) -> Result<Value, ApiError> {
        collect(req, &(), 1024 * 1024).await
    }

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn nested_key(levels: usize) -> String {
        format!("a{}", "[b]".repeat(levels - 1))
    }

    #[tokio::test]
    async fn depth_is_capped_at_100_levels() {
        let ok = gather(request(&format!("/?{}=1", nested_key(MAX_DEPTH)), None, "")).await;
        let mut v = &ok.unwrap()["a"];
        let mut levels = 1;
        while let Some(child) = v.get("b") {
            v = child;
            levels += 1;
        }
        assert_eq!((levels, v), (MAX_DEPTH, &json!("1")));
        for levels in [MAX_DEPTH + 1, 5_000] {
            let key = nested_key(levels);
            let e = gather(request(&format!("/?{key}=1"), None, "")).await;
            assert!(message(e.unwrap_err()).contains("nested too deeply"));
            let e = gather(request("/", Some(FORM), format!("{key}=1&name=x"))).await;
            assert!(message(e.unwrap_err()).contains("nested too deeply"));
        }
        // `[]` levels count the same.
        let key = format!("a{}", "[]".repeat(MAX_DEPTH));
        assert!(
            gather(request(&format!("/?{key}=1"), None, ""))
                .await
                .is_err()
        );
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[tokio::test]
    async fn deep_json_is_refused() {
        let deep = |levels: usize| {
            format!(
                "{{\"a\":{}1{}}}",
                "[".repeat(levels - 1),
                "]".repeat(levels - 1)
            )
        };
        assert!(
            gather(request("/", Some("application/json"), deep(MAX_DEPTH)))
                .await
                .is_ok()
        );
        for levels in [MAX_DEPTH + 1, 127, 129, 5_000] {
            let e = gather(request("/", Some("application/json"), deep(levels))).await;
            assert!(matches!(e, Err(ApiError::BadRequest(_))), "{levels}: {e:?}");
        }
    }

    #[tokio::test]
    async fn parameter_count_is_capped() {
        let pairs = |n: usize| vec!["a[]=1"; n].join("&");
        let ok = gather(request("/", Some(FORM), pairs(MAX_PARAMS)))
            .await
            .unwrap();
        assert_eq!(ok["a"].as_array().map(Vec::len), Some(MAX_PARAMS));
        let e = gather(request("/", Some(FORM), pairs(MAX_PARAMS + 1))).await;
        assert!(message(e.unwrap_err()).contains("Too many parameters"));
        // Query and body count together.
        let e = gather(request(
            &format!("/?{}", pairs(10)),
            Some(FORM),
            pairs(MAX_PARAMS - 9),
        ))
        .await;
        assert!(message(e.unwrap_err()).contains("Too many parameters"));
        // So do multipart fields.
        let boundary = "XyZ";
        let mut body = String::new();
        for _ in 0..=MAX_PARAMS {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"a[]\"\r\n\r\n1\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let ct = format!("multipart/form-data; boundary={boundary}");
        let e = gather(request("/", Some(&ct), body)).await;
        assert!(message(e.unwrap_err()).contains("Too many parameters"));
    }

    #[tokio::test]
    async fn key_bytes_are_capped() {
        let long = "k".repeat(MAX_KEY_BYTES / 2);
        let body = format!("{long}a=1&{long}b=2");
        let e = gather(request("/", Some(FORM), body)).await;
        assert!(message(e.unwrap_err()).contains("keys are too long"));
        let body = format!("{long}=1");
        assert!(gather(request("/", Some(FORM), body)).await.is_ok());
    }

    #[test]
    fn echoed_values_are_bounded() {
        #[derive(Debug, serde::Deserialize)]
        struct P {
            #[serde(default, deserialize_with = "de::opt_id")]
            #[allow(dead_code)]
            id: Option<i64>,
        }
        let e = read::<P>(json!({"id": "x".repeat(100_000)})).unwrap_err();
        assert!(message(e).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn reading_the_deepest_allowed_values_fits_a_small_stack() {
        // What `read` does with values at the depth limit recurses (serde),
        // so it must fit well inside a runtime worker's 2 MiB stack: here a
        // quarter of it, in a debug build.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            #[serde(default, deserialize_with = "de::opt_bool")]
            flag: Option<bool>,
            #[serde(default, deserialize_with = "de::string_list")]
            list: Vec<String>,
            #[serde(default, deserialize_with = "de::opt_string")]
            text: Option<String>,
            #[serde(default, deserialize_with = "de::opt_id")]
            id: Option<i64>,
            #[serde(default)]
            raw: Option<Value>,
        }
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(|| {
                let mut deep = json!(1);
                for i in 0..MAX_DEPTH - 1 {
                    deep = if i % 2 == 0 {
                        json!([deep])
                    } else {
                        json!({ "k": deep })
                    };
                }
                for field in ["flag", "list", "text", "id", "raw"] {
                    let mut body = Map::new();
                    body.insert(field.to_owned(), deep.clone());
                    let v = Value::Object(body);
                    assert_eq!(depth(&v), MAX_DEPTH);
                    let _ = read::<P>(v);
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn deep_values_cost_no_stack() {
        // Walking and dropping run on a small stack: nothing recurses.
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                let mut out = Map::new();
                let key = nested_key(MAX_DEPTH);
                for _ in 0..50 {
                    insert(&mut out, &key, Value::String("x".into())).unwrap();
                }
                let v = Value::Object(out);
                assert!(!has_nul(&v));
                assert_eq!(depth(&v), MAX_DEPTH);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
