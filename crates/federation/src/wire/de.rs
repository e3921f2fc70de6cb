//! Lenient building blocks for the wire types.
//!
//! Real servers disagree on shapes: a field may be a string, an object or an
//! array of either; a flag may be `null`; a timestamp may lack its timezone.
//! These helpers let one odd field degrade to "absent" instead of refusing
//! the whole document, and cap how many list entries a payload can make us
//! keep. Everything goes through [`serde_json::Value`], so the recursion limit
//! of the outer `serde_json` parse still applies.

use std::cell::Cell;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

/// How many embedded objects (an activity's object, a collection's page, a
/// note's replies...) may sit inside one another. Deeper ones are kept as
/// their bare id (the caller may fetch them), never parsed: `Announce` of a
/// `Create` of a `Note` with an inline replies page is 4 levels.
pub const MAX_EMBED_DEPTH: usize = 6;

thread_local! {
    static EMBED_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Counts one level of embedding for as long as it lives.
pub(crate) struct DepthGuard(());

impl DepthGuard {
    /// `None` when the embedding limit is reached.
    pub(crate) fn enter() -> Option<Self> {
        EMBED_DEPTH.with(|d| {
            if d.get() >= MAX_EMBED_DEPTH {
                None
            } else {
                d.set(d.get() + 1);
                Some(DepthGuard(()))
            }
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        EMBED_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A value of the expected shape, or `None` (absent, `null`, or any other
/// shape). Arrays are never taken: serde would read one into a struct
/// field by field.
pub(crate) fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(_) => None,
        v => T::deserialize(v).ok(),
    })
}

/// A focal point `[x, y]` of two numbers.
pub(crate) fn point<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(v) => match v.as_slice() {
            [x, y] => x.as_f64().zip(y.as_f64()).map(|(x, y)| [x, y]),
            _ => None,
        },
        _ => None,
    })
}

/// `true`/`false`; `null`, `"true"` and other shapes count as absent (Pleroma
/// sends `sensitive: null`).
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    opt::<D, bool>(d)
}

/// One value or an array of them, as a list: entries of another shape
/// (arrays included) are skipped, and only the first `N` are kept (the rest of a hostile list is
/// dropped, not an error).
pub(crate) fn many<'de, D, T, const N: usize>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(many_from(Value::deserialize(d)?, N))
}

pub(crate) fn many_from<T: DeserializeOwned>(v: Value, max: usize) -> Vec<T> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .filter(|i| !i.is_array())
            .filter_map(|i| T::deserialize(i).ok())
            .take(max)
            .collect(),
        single => T::deserialize(single).ok().into_iter().collect(),
    }
}

/// The id in a reference: a string, or an object's `id`; for an array, the
/// first entry that has one.
pub(crate) fn id_in(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_owned),
        Value::Array(items) => items.iter().find_map(id_in),
        _ => None,
    }
}

/// A reference reduced to its id (see [`id_in`]); `None` for other shapes.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(id_in(&Value::deserialize(d)?))
}

/// A list of references reduced to their ids, at most `N` (recipients,
/// `alsoKnownAs`...).
pub(crate) fn ids<'de, D, const N: usize>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(id_in).take(N).collect(),
        other => id_in(&other).into_iter().collect(),
    })
}

/// A timestamp: RFC 3339 (any offset, any fraction), or without a timezone
/// (Pleroma's poll `closed`), read as UTC. Anything else is absent.
pub(crate) fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => parse_time(&s),
        _ => None,
    })
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// A `type`: a string, or for JSON-LD arrays the first string.
pub(crate) fn type_name(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// A language map (`contentMap`, `nameMap`, `summaryMap`): language tag to
/// text. Non-string values are skipped; at most 64 languages are kept. Keys
/// come in sorted order (the JSON object is read through a map that sorts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LangMap(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for LangMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(m) => LangMap(
                m.into_iter()
                    .filter_map(|(k, v)| match v {
                        Value::String(s) => Some((k, s)),
                        _ => None,
                    })
                    .take(64)
                    .collect(),
            ),
            _ => LangMap::default(),
        })
    }
}

impl LangMap {
    /// The text for `lang` if present, else the `und` (undetermined) entry,
    /// else the first non-empty entry.
    pub fn choose(&self, lang: Option<&str>) -> Option<&str> {
        let by = |want: &str| {
            self.0
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(want) && !v.is_empty())
                .map(|(_, v)| v.as_str())
        };
        lang.and_then(by).or_else(|| by("und")).or_else(|| {
            self.0
                .iter()
                .find(|(_, v)| !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// The languages present.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `text` unless it is absent or empty, else the language map's choice.
pub(crate) fn text_or_map<'a>(
    text: Option<&'a str>,
    map: &'a LangMap,
    lang: Option<&str>,
) -> Option<&'a str> {
    text.filter(|t| !t.is_empty()).or_else(|| map.choose(lang))
}

/// Declares a string-backed enum of ActivityStreams type names whose unknown
/// names are kept in `Other` (never an error).
macro_rules! type_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A type this server does not know, as sent.
            Other(String),
        }

        impl $name {
            pub fn from_name(s: &str) -> Self {
                match s {
                    $(stringify!($variant) => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                    Self::Other(s) => s,
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Other(String::new())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                Ok(Self::from_name($crate::wire::de::type_name(&v).unwrap_or("")))
            }
        }
    };
}
pub(crate) use type_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = |s| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2024-01-02T03:04:05Z").as_deref(),
            Some("2024-01-02T03:04:05+00:00")
        );
        assert_eq!(
            t("2024-01-02T05:04:05+02:00").as_deref(),
            Some("2024-01-02T03:04:05+00:00")
        );
        assert_eq!(
            t("2024-01-02T03:04:05.123").as_deref(),
            Some("2024-01-02T03:04:05.123+00:00")
        );
        assert_eq!(t("yesterday"), None);
    }

    #[test]
    fn language_maps() {
        let m = LangMap(vec![
            ("de".into(), "Hallo".into()),
            ("en".into(), "Hi".into()),
        ]);
        assert_eq!(m.choose(Some("EN")), Some("Hi"));
        assert_eq!(m.choose(Some("fr")), Some("Hallo"));
        let m = LangMap(vec![
            ("de".into(), String::new()),
            ("und".into(), "x".into()),
        ]);
        assert_eq!(m.choose(None), Some("x"));
        assert_eq!(LangMap::default().choose(None), None);
    }

    #[test]
    fn arrays_are_not_structs() {
        #[derive(Deserialize, Debug)]
        struct S {
            #[allow(dead_code)]
            a: Option<String>,
        }
        let v: Option<S> = opt(serde_json::json!(["x"])).ok().flatten();
        assert!(v.is_none());
        let l: Vec<String> = many_from(serde_json::json!([["x"], "y"]), 10);
        assert_eq!(l, ["y"]);
    }
}
