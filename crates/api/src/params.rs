//! Request parameters as Mastodon (Rails) reads them: from the query string
//! and from a JSON, form-urlencoded or multipart body, merged into one
//! object; `key[]=` builds arrays and `key[sub]=` objects. Values are then
//! read leniently: booleans as `true`/`false`/`1`/`0`, numbers as strings,
//! empty strings as absent.

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

/// Whether any string (key or value) holds a NUL, which no text column accepts.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Reads parameters already merged into an object.
pub fn read<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::BadRequest(format!("Invalid parameters: {inner}"))
        } else {
            ApiError::BadRequest(format!("Invalid value for `{path}`: {inner}"))
        }
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
    let mut out = Map::new();
    if let Some(query) = req.uri().query() {
        for (k, v) in form_pairs(query.as_bytes()) {
            insert(&mut out, &k, Value::String(v));
        }
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
            insert(&mut out, &name, Value::String(text));
        }
        return Ok(Value::Object(out));
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
        return Ok(Value::Object(out));
    }
    if mime == "application/json" || mime.ends_with("+json") {
        let parsed: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("Malformed JSON body: {e}")))?;
        match parsed {
            Value::Object(map) => {
                for (k, v) in map {
                    out.insert(k, v);
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
        for (k, v) in form_pairs(&body) {
            insert(&mut out, &k, Value::String(v));
        }
    } else {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(Value::Object(out))
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

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Inserts `value` under a Rails-style key: `a`, `a[]`, `a[b]`, `a[0][b]`.
fn insert(out: &mut Map<String, Value>, key: &str, value: Value) {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return;
    }
    let mut segments = Vec::new();
    let mut rest = rest;
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        segments.push(&stripped[..end]);
        rest = &stripped[end + 1..];
    }
    let slot = out.entry(head.to_owned()).or_insert(Value::Null);
    place(slot, &segments, value);
}

fn place(slot: &mut Value, segments: &[&str], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        *slot = value;
        return;
    };
    if first.is_empty() {
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(items) = slot {
            if rest.is_empty() {
                items.push(value);
            } else {
                // `a[][b]=1&a[][c]=2` builds one object until a key repeats.
                let reuse = items
                    .last()
                    .and_then(|v| v.as_object())
                    .is_some_and(|o| rest.first().is_some_and(|k| !o.contains_key(*k)));
                if !reuse {
                    items.push(Value::Object(Map::new()));
                }
                if let Some(last) = items.last_mut() {
                    place(last, rest, value);
                }
            }
        }
        return;
    }
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(map) = slot {
        let child = map.entry((*first).to_owned()).or_insert(Value::Null);
        place(child, rest, value);
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(pairs: &[(&str, &str)]) -> Value {
        let mut out = Map::new();
        for (k, v) in pairs {
            insert(&mut out, k, Value::String((*v).to_owned()));
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
}
