//! The activities we send, as Mastodon shapes them (ids on the actor's URI
//! with a fragment where Mastodon uses one, so an `Undo` can name what it
//! undoes).

use serde_json::{Value, json};

use super::PUBLIC;

/// `Follow`, with the id stored on our follow request.
pub fn follow(id: &str, actor: &str, object: &str) -> Value {
    json!({"id": id, "type": "Follow", "actor": actor, "object": object})
}

/// `Undo` of an activity we sent (embedded, as Mastodon sends it).
pub fn undo(actor: &str, inner: Value) -> Value {
    let id = format!(
        "{}/undo",
        inner["id"].as_str().unwrap_or(actor).trim_end_matches('/')
    );
    json!({"id": id, "type": "Undo", "actor": actor, "object": inner})
}

/// `Accept` or `Reject` of a remote `Follow`.
pub fn answer_follow(accept: bool, actor: &str, follower: &str, follow_uri: &str) -> Value {
    let kind = if accept { "Accept" } else { "Reject" };
    json!({
        "id": format!("{actor}#{}s/follows/{}", kind.to_ascii_lowercase(), short_hash(follow_uri)),
        "type": kind,
        "actor": actor,
        "object": {"id": follow_uri, "type": "Follow", "actor": follower, "object": actor},
    })
}

/// The answer to a `QuoteRequest`: `Accept` with the `QuoteAuthorization`
/// of quote `quote_id` as its `result`, or `Reject` (`quote_id` `None`).
pub fn answer_quote(actor: &str, requester: &str, request: &str, quote_id: Option<i64>) -> Value {
    match quote_id {
        Some(id) => json!({
            "id": format!("{actor}#accepts/quote_requests/{}", short_hash(request)),
            "type": "Accept",
            "actor": actor,
            "to": [requester],
            "object": request,
            "result": super::note::quote_authorization_uri(actor, id),
        }),
        None => json!({
            "id": format!("{actor}#rejects/quote_requests/{}", short_hash(request)),
            "type": "Reject",
            "actor": actor,
            "to": [requester],
            "object": request,
        }),
    }
}

/// `Like` of a status.
pub fn like(actor: &str, status: &str, status_id: i64) -> Value {
    json!({"id": format!("{actor}#likes/{status_id}"), "type": "Like", "actor": actor, "object": status})
}

/// `Block` of an account.
pub fn block(actor: &str, target: &str, target_id: i64) -> Value {
    json!({"id": format!("{actor}#blocks/{target_id}"), "type": "Block", "actor": actor, "object": target})
}

/// `Add` of a pinned status to the actor's featured collection, or its
/// `Remove` (Mastodon's shape: object and target by id). The id carries
/// the time, so a pin after an unpin is a new activity.
pub fn featured(add: bool, actor: &str, status: &str, status_id: i64, at: i64) -> Value {
    let kind = if add { "Add" } else { "Remove" };
    json!({
        "id": format!("{actor}#{}/{status_id}/{at}", if add { "pins" } else { "unpins" }),
        "type": kind,
        "actor": actor,
        "object": status,
        "target": format!("{actor}/collections/featured"),
    })
}

/// `Move` of the actor to `target` (which lists it in `alsoKnownAs`).
pub fn moved(actor: &str, target: &str, target_id: i64) -> Value {
    json!({
        "id": format!("{actor}#moves/{target_id}"),
        "type": "Move",
        "actor": actor,
        "object": actor,
        "target": target,
    })
}

/// `Update` of an actor (its whole document embedded).
pub fn update_actor(actor: &str, document: Value, at: i64) -> Value {
    json!({
        "id": format!("{actor}#updates/{at}"),
        "type": "Update",
        "actor": actor,
        "to": [PUBLIC],
        "object": document,
    })
}

/// `Delete` of a status, as a `Tombstone`.
pub fn delete_status(actor: &str, uri: &str, to: Vec<String>) -> Value {
    json!({
        "id": format!("{uri}#delete"),
        "type": "Delete",
        "actor": actor,
        "to": to,
        "object": {"id": uri, "type": "Tombstone", "atomUri": uri},
    })
}

/// A short, stable hash of a string for activity ids (FNV-1a, hex).
fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
