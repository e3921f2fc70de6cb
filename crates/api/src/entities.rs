//! Mastodon's JSON entities, built from service views. Every field the
//! spec lists is present (null or empty when unknown), ids are strings and
//! times are ISO 8601 with milliseconds, as Mastodon writes them.

use chrono::{DateTime, Utc};
use ferrodon_model::Role;
use ferrodon_service::Instance;
use ferrodon_service::accounts::profile_fields;
use ferrodon_service::auth::IssuedToken;
use ferrodon_service::edits::EditView;
use ferrodon_service::polls::PollView;
use ferrodon_service::views::{
    CredentialAccountView, QuoteView, QuotedRef, RelationshipView, StatusView,
};
use ferrodon_storage::accounts::Account;
use ferrodon_storage::oauth::App;
use serde::Serialize;
use serde_json::{Value, json};

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[derive(Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub verified_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub avatar_description: String,
    pub header: String,
    pub header_static: String,
    pub header_description: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<String>,
    pub hide_collections: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noindex: Option<bool>,
    pub emojis: Vec<Value>,
    pub roles: Vec<Value>,
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Silenced by a moderator (Mastodon sends it only then).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub limited: bool,
}

/// An Account entity.
pub fn account(i: &Instance, a: &Account) -> AccountJson {
    let acct = match &a.domain {
        None => a.username.clone(),
        Some(d) => format!("{}@{d}", a.username),
    };
    let suspended = a.suspended_at.is_some();
    let missing = |kind: &str| format!("{}/{kind}/original/missing.png", i.base_url);
    // A local file, else the remote URL, else the default image. The static
    // version is the same file (animated GIFs are not converted).
    let image = |file: &Option<String>, remote: &Option<String>, kind: &str| {
        file.as_deref()
            .map(|f| i.media_url(f))
            .or_else(|| remote.clone())
            .filter(|_| !suspended)
            .unwrap_or_else(|| missing(kind))
    };
    let avatar = image(&a.avatar_file, &a.avatar_remote_url, "avatars");
    let header = image(&a.header_file, &a.header_remote_url, "headers");
    let url = i.url_of(a);
    let fields = if suspended {
        Vec::new()
    } else {
        profile_fields(a)
            .into_iter()
            .map(|f| Field {
                name: f.name,
                value: if f.value_html.is_empty() {
                    ferrodon_service::text::escape(&f.value)
                } else {
                    f.value_html
                },
                verified_at: None,
            })
            .collect()
    };
    AccountJson {
        id: a.id.to_string(),
        username: a.username.clone(),
        acct,
        display_name: if suspended {
            String::new()
        } else {
            a.display_name.clone()
        },
        locked: a.locked && !suspended,
        bot: a.bot && !suspended,
        discoverable: a.discoverable && !suspended,
        indexable: a.indexable && !suspended,
        group: false,
        created_at: a.created_at.format("%Y-%m-%dT00:00:00.000Z").to_string(),
        note: if suspended {
            String::new()
        } else {
            a.note.clone()
        },
        url,
        uri: i.uri_of(a),
        avatar_static: avatar.clone(),
        avatar,
        avatar_description: String::new(),
        header_static: header.clone(),
        header,
        header_description: String::new(),
        followers_count: a.followers_count,
        following_count: a.following_count,
        statuses_count: a.statuses_count,
        last_status_at: a.last_status_at.map(|t| t.format("%Y-%m-%d").to_string()),
        hide_collections: a.hide_collections,
        noindex: a.is_local().then_some(false),
        emojis: if a.is_local() && !suspended {
            let mut texts = vec![a.display_name.as_str(), a.note.as_str()];
            texts.extend(
                fields
                    .iter()
                    .flat_map(|f| [f.name.as_str(), f.value.as_str()]),
            );
            emojis_json(i, &texts)
        } else {
            Vec::new()
        },
        roles: Vec::new(),
        fields,
        suspended,
        limited: a.silenced_at.is_some() && !suspended,
    }
}

/// The Role entity of a local user.
pub fn role(role: Role) -> Value {
    json!({
        "id": role.mastodon_id().to_string(),
        "name": role.display_name(),
        "permissions": role.permissions(),
        "color": "",
        "highlighted": false,
    })
}

/// A CredentialAccount entity: the account plus `source` and `role`.
pub fn credential_account(i: &Instance, v: &CredentialAccountView) -> Value {
    let mut base = serde_json::to_value(account(i, &v.account)).unwrap_or_else(|_| json!({}));
    let fields: Vec<Value> = profile_fields(&v.account)
        .into_iter()
        .map(|f| json!({"name": f.name, "value": f.value, "verified_at": null}))
        .collect();
    base["source"] = json!({
        "privacy": v.user.default_privacy,
        "sensitive": v.user.default_sensitive,
        "language": v.user.default_language,
        "note": v.account.note_source,
        "fields": fields,
        "follow_requests_count": v.follow_requests_count,
        "hide_collections": v.account.hide_collections,
        "discoverable": v.account.discoverable,
        "indexable": v.account.indexable,
        "attribution_domains": [],
        "quote_policy": v.user.default_quote_policy,
    });
    base["role"] = role(v.user.role.parse().unwrap_or_default());
    base
}

/// A Status entity.
pub fn status(i: &Instance, v: &StatusView) -> Value {
    let s = &v.status;
    let mentions: Vec<Value> = v
        .mentions
        .iter()
        .map(|m| {
            let a = account(i, m);
            json!({"id": a.id, "username": a.username, "url": a.url, "acct": a.acct})
        })
        .collect();
    let tags: Vec<Value> = v
        .tags
        .iter()
        .map(|t| json!({"name": t.name, "url": i.tag_url(&t.name)}))
        .collect();
    let mut out = json!({
        "id": s.id.to_string(),
        "created_at": time(s.created_at),
        "in_reply_to_id": s.in_reply_to_id.map(|x| x.to_string()),
        "in_reply_to_account_id": s.in_reply_to_account_id.map(|x| x.to_string()),
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "visibility": s.visibility().as_str(),
        "language": s.language,
        "uri": s.uri,
        "url": s.url,
        "replies_count": s.replies_count,
        "reblogs_count": s.reblogs_count,
        "favourites_count": s.favourites_count,
        "quotes_count": s.quotes_count,
        "edited_at": s.edited_at.map(time),
        "reblog": v.reblog.as_ref().map(|r| status(i, r)),
        "account": account(i, &v.account),
        "media_attachments": v.media.iter().map(|m| media_attachment(i, m)).collect::<Vec<_>>(),
        "mentions": mentions,
        "tags": tags,
        "emojis": if v.account.is_local() {
            let mut texts = vec![s.spoiler_text.as_str(), s.content.as_str()];
            if let Some(p) = &v.poll {
                texts.extend(p.options.iter().map(String::as_str));
            }
            emojis_json(i, &texts)
        } else {
            v.remote_emojis.iter().map(|e| custom_emoji(i, e)).collect()
        },
        "card": v.card.as_ref().map(|c| preview_card(&c.card, c.shared_url.as_deref())),
        "poll": v.poll.as_ref().map(|p| poll(i, p)),
        "quote": v.quote.as_ref().map(|q| quote(i, q, v.source_requested)),
        "quote_approval": {
            "automatic": v.quote_approval.automatic,
            "manual": v.quote_approval.manual,
            "current_user": v.quote_approval.current_user,
        },
    });
    if v.source_requested {
        out["text"] = json!(s.text);
    } else {
        out["content"] = json!(s.content);
    }
    if let Some(app) = &v.application {
        out["application"] = json!({"name": app.name, "website": app.website});
    }
    if let Some(flags) = v.viewer {
        out["favourited"] = json!(flags.favourited);
        out["reblogged"] = json!(flags.reblogged);
        out["muted"] = json!(flags.muted);
        out["bookmarked"] = json!(flags.bookmarked);
        out["filtered"] = Value::Array(v.filtered.iter().map(filter_result).collect());
        if s.reblog_of_id.is_none() {
            out["pinned"] = json!(flags.pinned);
        }
    }
    out
}

/// A Quote entity (the quoted status in full) or, inside a quoted status, a
/// ShallowQuote (its id only). The quoted status is shown for accepted
/// quotes the reader may see, and in a deleted status's source.
fn quote(i: &Instance, q: &QuoteView, source_requested: bool) -> Value {
    let shown = q.shown || source_requested;
    match &q.quoted {
        QuotedRef::Full(view) => json!({
            "state": q.state,
            "quoted_status": view.as_ref().filter(|_| shown).map(|v| status(i, v)),
        }),
        QuotedRef::Shallow(id) => json!({
            "state": q.state,
            "quoted_status_id": id.filter(|_| shown).map(|id| id.to_string()),
        }),
    }
}

/// A PreviewCard entity. `shared_url` is the link as a status wrote it (the
/// card's own `url` may be the canonical page it led to); Mastodon shows
/// that one. `image` is the remote image as the page names it (not
/// downloaded, so no `blurhash`); one author, from the page's author fields.
pub fn preview_card(
    c: &ferrodon_storage::preview_cards::PreviewCard,
    shared_url: Option<&str>,
) -> Value {
    json!({
        "url": shared_url.filter(|u| !u.is_empty()).unwrap_or(&c.url),
        "title": c.title,
        "description": c.description,
        "language": c.language,
        "type": c.card_type().as_str(),
        "author_name": c.author_name,
        "author_url": c.author_url,
        "provider_name": c.provider_name,
        "provider_url": c.provider_url,
        "html": c.html,
        "width": c.width,
        "height": c.height,
        "image": c.image_url,
        "image_description": c.image_description,
        "embed_url": c.embed_url,
        "blurhash": c.blurhash,
        "published_at": c.published_at.map(time),
        "authors": [{"name": c.author_name, "url": c.author_url, "account": null}],
    })
}

/// A Poll entity; `voted` and `own_votes` only for a signed-in viewer.
/// Per-option counts are null while `hide_totals` hides them.
pub fn poll(i: &Instance, p: &PollView) -> Value {
    let show = p.show_totals();
    let options: Vec<Value> = p
        .options
        .iter()
        .zip(p.tallies.iter())
        .map(|(title, count)| json!({"title": title, "votes_count": show.then_some(*count)}))
        .collect();
    let mut out = json!({
        "id": p.poll.id.to_string(),
        "expires_at": p.poll.expires_at.map(time),
        "expired": p.expired,
        "multiple": p.poll.multiple,
        "votes_count": p.poll.votes_count,
        "voters_count": p.poll.voters_count,
        "options": options,
        "emojis": emojis_json(i, &p.options.iter().map(String::as_str).collect::<Vec<_>>()),
    });
    if let (Some(voted), Some(own)) = (p.voted, &p.own_votes) {
        out["voted"] = json!(voted);
        out["own_votes"] = json!(own);
    }
    out
}

/// A StatusEdit entity (one revision in a status's history).
pub fn status_edit(i: &Instance, e: &EditView) -> Value {
    let mut out = json!({
        "content": e.edit.content,
        "spoiler_text": e.edit.spoiler_text,
        "sensitive": e.edit.sensitive,
        "created_at": time(e.edit.created_at),
        "account": account(i, &e.account),
        "media_attachments": [],
        "emojis": if e.account.is_local() {
            let mut texts = vec![e.edit.spoiler_text.as_str(), e.edit.content.as_str()];
            if let Some(options) = &e.poll_options {
                texts.extend(options.iter().map(String::as_str));
            }
            emojis_json(i, &texts)
        } else {
            Vec::new()
        },
    });
    if let Some(options) = &e.poll_options {
        out["poll"] = json!({
            "options": options.iter().map(|t| json!({"title": t})).collect::<Vec<_>>(),
        });
    }
    if let Some(q) = &e.quote {
        out["quote"] = quote(i, q, false);
    }
    out
}

/// A MediaAttachment entity. Nothing is processed yet: the preview is the
/// file itself and `blurhash` is null; `meta` has `original` and `small`
/// (the same) when the image's size is known, and `focus` when set.
pub fn media_attachment(i: &Instance, m: &ferrodon_storage::media::MediaAttachment) -> Value {
    // A remote attachment not downloaded is shown from its server.
    let url = match &m.remote_url {
        Some(remote) if m.file_path.is_empty() => remote.clone(),
        _ => i.media_url(&m.file_path),
    };
    let mut meta = serde_json::Map::new();
    if let (Some(w), Some(h)) = (m.width, m.height)
        && w > 0
        && h > 0
    {
        let size = json!({
            "width": w,
            "height": h,
            "size": format!("{w}x{h}"),
            "aspect": f64::from(w) / f64::from(h),
        });
        meta.insert("original".into(), size.clone());
        meta.insert("small".into(), size);
    }
    if let Some((x, y)) = m
        .focus
        .as_deref()
        .and_then(ferrodon_service::media::focus_point)
    {
        meta.insert("focus".into(), json!({"x": x, "y": y}));
    }
    json!({
        "id": m.id.to_string(),
        "type": m.kind,
        "url": url,
        "preview_url": url,
        "remote_url": m.remote_url,
        "preview_remote_url": null,
        "text_url": null,
        "meta": Value::Object(meta),
        "description": m.description,
        "blurhash": m.blurhash,
    })
}

pub fn relationship(r: &RelationshipView) -> Value {
    json!({
        "id": r.id.to_string(),
        "following": r.following,
        "showing_reblogs": r.showing_reblogs,
        "notifying": r.notifying,
        "languages": r.languages,
        "followed_by": r.followed_by,
        "blocking": r.blocking,
        "blocked_by": r.blocked_by,
        "muting": r.muting,
        "muting_notifications": r.muting_notifications,
        "muting_expires_at": r.muting_expires_at.map(time),
        "requested": r.requested,
        "requested_by": r.requested_by,
        "domain_blocking": r.domain_blocking,
        "endorsed": r.endorsed,
        "note": r.note,
    })
}

/// An Application entity; with `credentials`, a CredentialApplication.
pub fn application(app: &App, credentials: bool) -> Value {
    let uris = app.redirect_uri_list();
    let scopes: Vec<&str> = app.scopes.split_whitespace().collect();
    let mut out = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": scopes,
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "vapid_key": "",
    });
    if credentials {
        out["client_id"] = json!(app.client_id);
        out["client_secret"] = json!(app.client_secret);
        out["client_secret_expires_at"] = json!(0);
    }
    out
}

pub fn token(t: &IssuedToken) -> Value {
    json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "scope": t.scopes.to_string(),
        "created_at": t.created_at.timestamp(),
    })
}

/// A stored emoji image: a path under the media directory (local emojis)
/// or a remote URL.
fn emoji_image_url(i: &Instance, stored: &str) -> String {
    if stored.starts_with("https://") || stored.starts_with("http://") {
        stored.to_owned()
    } else {
        i.media_url(stored)
    }
}

/// The CustomEmoji entities of the local emojis named in `texts`.
pub fn emojis_json(i: &Instance, texts: &[&str]) -> Vec<Value> {
    i.emojis
        .in_texts(texts.iter().copied())
        .iter()
        .map(|e| custom_emoji(i, e))
        .collect()
}

pub fn custom_emoji(i: &Instance, e: &ferrodon_storage::emojis::CustomEmoji) -> Value {
    json!({
        "shortcode": e.shortcode,
        "url": emoji_image_url(i, &e.image_url),
        "static_url": emoji_image_url(i, &e.static_image_url),
        "visible_in_picker": e.visible_in_picker,
        "category": e.category,
    })
}

/// Daily uses and accounts, newest day first (a Tag's or a TrendsLink's `history`).
pub fn history(days: &[ferrodon_service::tags::DayUses]) -> Value {
    Value::Array(
        days.iter()
            .map(|d| {
                json!({
                    "day": d.day.to_string(),
                    "uses": d.uses.to_string(),
                    "accounts": d.accounts.to_string(),
                })
            })
            .collect(),
    )
}

/// A Tag entity (`following`/`featuring` only for a signed-in viewer).
pub fn tag(i: &Instance, t: &ferrodon_service::tags::TagView) -> Value {
    let history = history(&t.history);
    let mut out = json!({
        "id": t.id.map(|id| id.to_string()).unwrap_or_default(),
        "name": t.name,
        "url": i.tag_url(&t.name),
        "history": history,
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(f) = t.following {
            obj.insert("following".into(), Value::Bool(f));
        }
        if let Some(f) = t.featuring {
            obj.insert("featuring".into(), Value::Bool(f));
        }
    }
    out
}

/// A FeaturedTag entity of `owner`'s profile.
pub fn featured_tag(
    i: &Instance,
    owner: &Account,
    f: &ferrodon_service::tags::FeaturedTagView,
) -> Value {
    let encoded: String = url::form_urlencoded::byte_serialize(f.name.as_bytes()).collect();
    json!({
        "id": f.id.to_string(),
        "name": f.name,
        "url": format!("{}/tagged/{}", i.url_of(owner), encoded.replace('+', "%20")),
        "statuses_count": f.statuses_count.to_string(),
        "last_status_at": f.last_status_at.map(|t| t.format("%Y-%m-%d").to_string()),
    })
}

/// A Filter entity; `rules` adds its keywords and statuses (left out inside a FilterResult).
pub fn filter(
    f: &ferrodon_storage::filters::CustomFilter,
    rules: Option<(
        &[ferrodon_storage::filters::FilterKeyword],
        &[ferrodon_storage::filters::FilterStatus],
    )>,
) -> Value {
    let mut out = json!({
        "id": f.id.to_string(),
        "title": f.title,
        "context": f.contexts(),
        "expires_at": f.expires_at.map(time),
        "filter_action": f.action,
    });
    if let Some((keywords, statuses)) = rules {
        out["keywords"] = Value::Array(keywords.iter().map(filter_keyword).collect());
        out["statuses"] = Value::Array(statuses.iter().map(filter_status).collect());
    }
    out
}

pub fn filter_view(v: &ferrodon_service::filters::FilterView) -> Value {
    filter(&v.filter, Some((&v.keywords, &v.statuses)))
}

pub fn filter_keyword(k: &ferrodon_storage::filters::FilterKeyword) -> Value {
    json!({"id": k.id.to_string(), "keyword": k.keyword, "whole_word": k.whole_word})
}

pub fn filter_status(s: &ferrodon_storage::filters::FilterStatus) -> Value {
    json!({"id": s.id.to_string(), "status_id": s.status_id.to_string()})
}

fn filter_result(r: &ferrodon_service::filters::FilterResult) -> Value {
    json!({
        "filter": filter(&r.filter, None),
        "keyword_matches": r.keyword_matches,
        "status_matches": r.status_matches,
    })
}

/// A V1_Filter entity: one keyword of a filter.
pub fn v1_filter(v: &ferrodon_service::filters::V1FilterView) -> Value {
    json!({
        "id": v.keyword.id.to_string(),
        "phrase": v.keyword.keyword,
        "context": v.filter.contexts(),
        "whole_word": v.keyword.whole_word,
        "expires_at": v.filter.expires_at.map(time),
        "irreversible": v.filter.action == "hide",
    })
}
