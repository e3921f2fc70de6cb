//! How a job travels through Redis: one JSON string per job, the member of
//! the queue's lists and sorted sets.

use serde::{Deserialize, Serialize};

/// A job in Redis. Short field names keep the members small.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Message {
    pub id: i64,
    #[serde(rename = "q")]
    pub queue: String,
    #[serde(rename = "k")]
    pub kind: String,
    #[serde(rename = "p")]
    pub payload: String,
    /// Failed runs so far.
    #[serde(rename = "a")]
    pub failures: i32,
    #[serde(rename = "m")]
    pub max_attempts: i32,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<String>,
    /// When it was first enqueued (ms since the epoch).
    #[serde(rename = "t")]
    pub enqueued_ms: i64,
    /// The last failure.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Message {
    pub fn encode(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(member: &str) -> Option<Message> {
        serde_json::from_str(member).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = Message {
            id: 7,
            queue: "push".into(),
            kind: "deliver".into(),
            payload: "{\"x\":1}".into(),
            failures: 2,
            max_attempts: 16,
            unique_key: Some("deliver:1".into()),
            enqueued_ms: 1_700_000_000_000,
            error: None,
        };
        assert_eq!(Message::decode(&m.encode()), Some(m));
        assert_eq!(Message::decode("not json"), None);
    }
}
