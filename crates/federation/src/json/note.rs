//! Statuses as `Note` (`Question` for polls), and the activities around
//! them (`Create`, `Announce`), addressed as Mastodon addresses them.

use std::collections::HashMap;

use ferrodon_model::{StatusId, Visibility};
use ferrodon_service::Instance;
use ferrodon_service::views::{QuotedRef, StatusView};
use serde_json::{Map, Value, json};

use super::actor::emoji_tag;
use super::{PUBLIC, context, time};

/// Who an activity or object is addressed to: `(to, cc)`.
pub fn audience(i: &Instance, v: &StatusView) -> (Vec<String>, Vec<String>) {
    let followers = format!("{}/followers", i.uri_of(&v.account));
    let mentions: Vec<String> = v.mentions.iter().map(|m| i.uri_of(m)).collect();
    match v.status.visibility() {
        Visibility::Public => (
            vec![PUBLIC.to_owned()],
            [vec![followers], mentions].concat(),
        ),
        Visibility::Unlisted => (
            vec![followers],
            [vec![PUBLIC.to_owned()], mentions].concat(),
        ),
        Visibility::Private => (vec![followers], mentions),
        Visibility::Direct => (mentions, Vec::new()),
    }
}

/// The object of a status (not a reblog). `parents` maps the ids of
/// replied-to statuses to their URIs.
pub fn object(i: &Instance, v: &StatusView, parents: &HashMap<StatusId, String>) -> Value {
    let s = &v.status;
    let uri = uri_of(i, v);
    let author = i.uri_of(&v.account);
    let (to, cc) = audience(i, v);
    let mut doc = Map::new();
    doc.insert("id".into(), json!(uri));
    doc.insert(
        "type".into(),
        json!(if v.poll.is_some() { "Question" } else { "Note" }),
    );
    doc.insert(
        "summary".into(),
        if s.spoiler_text.is_empty() {
            Value::Null
        } else {
            json!(s.spoiler_text)
        },
    );
    let in_reply_to = s
        .in_reply_to()
        .and_then(|p| parents.get(&p))
        .map_or(Value::Null, |u| json!(u));
    doc.insert("inReplyTo".into(), in_reply_to);
    doc.insert("published".into(), json!(time(s.created_at)));
    if let Some(edited) = s.edited_at {
        doc.insert("updated".into(), json!(time(edited)));
    }
    doc.insert(
        "url".into(),
        json!(
            s.url
                .clone()
                .unwrap_or_else(|| i.status_url(&v.account.username, s.id.0))
        ),
    );
    doc.insert("attributedTo".into(), json!(author));
    doc.insert("to".into(), json!(to));
    doc.insert("cc".into(), json!(cc));
    doc.insert("sensitive".into(), json!(s.sensitive));
    doc.insert("content".into(), json!(s.content));
    if let Some(lang) = s.language.as_deref().filter(|l| !l.is_empty()) {
        doc.insert("contentMap".into(), json!({ lang: s.content }));
    }
    doc.insert(
        "attachment".into(),
        Value::Array(
            v.media
                .iter()
                .map(|m| {
                    let mut a = json!({
                        "type": "Document",
                        "mediaType": m.content_type,
                        "url": i.media_url(&m.file_path),
                        "name": m.description,
                        "blurhash": m.blurhash,
                    });
                    if let (Some(w), Some(h)) = (m.width, m.height) {
                        a["width"] = json!(w);
                        a["height"] = json!(h);
                    }
                    if let Some((x, y)) = m.focus.as_deref().and_then(|f| f.split_once(',')) {
                        let (x, y) = (x.trim().parse::<f64>(), y.trim().parse::<f64>());
                        if let (Ok(x), Ok(y)) = (x, y) {
                            a["focalPoint"] = json!([x, y]);
                        }
                    }
                    a
                })
                .collect(),
        ),
    );
    let mut tags: Vec<Value> = v
        .mentions
        .iter()
        .map(|m| {
            let acct = match &m.domain {
                None => format!("@{}@{}", m.username, i.domain),
                Some(d) => format!("@{}@{d}", m.username),
            };
            json!({"type": "Mention", "href": i.uri_of(m), "name": acct})
        })
        .collect();
    tags.extend(v.tags.iter().map(|t| {
        json!({"type": "Hashtag", "href": i.tag_url(&t.name), "name": format!("#{}", t.display_name)})
    }));
    tags.extend(
        i.emojis
            .in_texts([s.text.as_str(), s.spoiler_text.as_str()])
            .iter()
            .map(|e| emoji_tag(i, e)),
    );
    doc.insert("tag".into(), Value::Array(tags));
    doc.insert(
        "replies".into(),
        json!({
            "id": format!("{uri}/replies"),
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": format!("{uri}/replies?only_other_accounts=true&page=true"),
                "partOf": format!("{uri}/replies"),
                "items": [],
            }
        }),
    );
    doc.insert(
        "likes".into(),
        json!({"id": format!("{uri}/likes"), "type": "Collection", "totalItems": s.favourites_count}),
    );
    doc.insert(
        "shares".into(),
        json!({"id": format!("{uri}/shares"), "type": "Collection", "totalItems": s.reblogs_count}),
    );
    let followers = format!("{author}/followers");
    let policy = |list: &[&str]| -> Vec<String> {
        list.iter()
            .filter_map(|who| match *who {
                "public" => Some(PUBLIC.to_owned()),
                "followers" => Some(followers.clone()),
                "following" => Some(format!("{author}/following")),
                _ => None,
            })
            .collect()
    };
    let mut automatic = policy(&v.quote_approval.automatic);
    if automatic.is_empty() || !automatic.contains(&author) {
        automatic.push(author.clone());
    }
    doc.insert(
        "interactionPolicy".into(),
        json!({"canQuote": {
            "automaticApproval": automatic,
            "manualApproval": policy(&v.quote_approval.manual),
        }}),
    );
    if let Some(q) = &v.quote
        && let QuotedRef::Full(Some(quoted)) = &q.quoted
        && q.state == "accepted"
    {
        let quoted_uri = uri_of(i, quoted);
        let stamp = if quoted.account.is_local() {
            q.quote_id
                .map(|id| quote_authorization_uri(&i.uri_of(&quoted.account), id))
        } else {
            q.approval_uri.clone()
        };
        if let Some(stamp) = stamp {
            doc.insert("quoteAuthorization".into(), json!(stamp));
        }
        doc.insert("quote".into(), json!(quoted_uri));
        doc.insert("_misskey_quote".into(), json!(quoted_uri));
        doc.insert("quoteUri".into(), json!(quoted_uri));
    }
    if let Some(p) = &v.poll {
        let options: Vec<Value> = p
            .options
            .iter()
            .zip(p.tallies.iter().chain(std::iter::repeat(&0)))
            .map(|(name, votes)| {
                json!({"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": votes}})
            })
            .collect();
        doc.insert(
            if p.poll.multiple { "anyOf" } else { "oneOf" }.into(),
            Value::Array(options),
        );
        if let Some(end) = p.poll.expires_at {
            doc.insert("endTime".into(), json!(time(end)));
            if p.expired {
                doc.insert("closed".into(), json!(time(end)));
            }
        }
        doc.insert("votersCount".into(), json!(p.poll.voters_count));
    }
    Value::Object(doc)
}

/// A status's ActivityPub id.
pub fn uri_of(i: &Instance, v: &StatusView) -> String {
    if v.status.local {
        i.status_uri(&v.account.username, v.status.id.0)
    } else {
        v.status.uri.clone()
    }
}

/// A document with the `@context` in front.
pub fn with_context(body: Value) -> Value {
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    if let Value::Object(fields) = body {
        doc.extend(fields);
    }
    Value::Object(doc)
}

/// The `Create` activity of a status (at `<status uri>/activity`).
pub fn create(i: &Instance, v: &StatusView, parents: &HashMap<StatusId, String>) -> Value {
    let object = object(i, v, parents);
    let uri = uri_of(i, v);
    json!({
        "id": format!("{uri}/activity"),
        "type": "Create",
        "actor": i.uri_of(&v.account),
        "published": time(v.status.created_at),
        "to": object["to"],
        "cc": object["cc"],
        "object": object,
    })
}

/// The `Announce` activity of a reblog.
pub fn announce(i: &Instance, reblog: &StatusView, original: &StatusView) -> Value {
    let uri = uri_of(i, reblog);
    let (to, cc) = audience(i, reblog);
    let mut cc = cc;
    let original_author = i.uri_of(&original.account);
    if !cc.contains(&original_author) {
        cc.push(original_author);
    }
    json!({
        "id": format!("{uri}/activity"),
        "type": "Announce",
        "actor": i.uri_of(&reblog.account),
        "published": time(reblog.status.created_at),
        "to": to,
        "cc": cc,
        "object": uri_of(i, original),
    })
}

/// Where a local author's approval of quote `quote_id` is served.
pub fn quote_authorization_uri(author_uri: &str, quote_id: i64) -> String {
    format!("{author_uri}/quote_authorizations/{quote_id}")
}

/// The `QuoteAuthorization` (FEP-044f) of an accepted quote of a local
/// status.
pub fn quote_authorization(author_uri: &str, quote_id: i64, quoting: &str, quoted: &str) -> Value {
    json!({
        "@context": super::context(),
        "id": quote_authorization_uri(author_uri, quote_id),
        "type": "QuoteAuthorization",
        "attributedTo": author_uri,
        "interactingObject": quoting,
        "interactionTarget": quoted,
    })
}
