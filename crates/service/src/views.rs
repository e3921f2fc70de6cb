//! Views: records together with what a reader needs to show them, loaded in
//! batches (one query per kind of thing, never one per status).

use std::collections::{HashMap, HashSet};

use ferrodon_model::{AccountId, AppId, StatusId};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::marks::{self, Mark};
use ferrodon_storage::media::{self, MediaAttachment};
use ferrodon_storage::oauth;
use ferrodon_storage::oauth::App;
use ferrodon_storage::quotes::{self, QuoteRow};
use ferrodon_storage::statuses::{self, Status};
use ferrodon_storage::tags::{self, Tag};
use ferrodon_storage::users::User;

use crate::filter_matching::FilterMatcher;
use crate::filters::FilterResult;
use crate::quote_policy::{QuoteApproval, Ties};
use crate::{Result, Services};

/// A status as a reader sees it.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub status: Status,
    pub account: Account,
    pub reblog: Option<Box<StatusView>>,
    pub mentions: Vec<Account>,
    pub tags: Vec<Tag>,
    /// Media attachments, in the order they were attached.
    pub media: Vec<MediaAttachment>,
    pub application: Option<App>,
    pub poll: Option<crate::polls::PollView>,
    /// The preview card of its first link, once fetched.
    pub card: Option<ferrodon_storage::preview_cards::StatusCard>,
    /// Viewer-relative flags; `None` for anonymous readers.
    pub viewer: Option<ViewerFlags>,
    /// Send the source text instead of HTML (a deleted status, for redrafting).
    pub source_requested: bool,
    /// The viewer's active filters this status matches (empty for anonymous readers).
    pub filtered: Vec<FilterResult>,
    /// The status it quotes, if it quotes one.
    pub quote: Option<QuoteView>,
    /// Who may quote it, and how the viewer may.
    pub quote_approval: QuoteApproval,
    /// A remote status's custom emojis (its server's, as stored when it
    /// arrived); local statuses use the instance's emoji snapshot.
    pub remote_emojis: Vec<ferrodon_storage::emojis::CustomEmoji>,
}

/// A quote as one reader sees it.
#[derive(Debug, Clone)]
pub struct QuoteView {
    /// `accepted`, `pending`, `rejected`, `revoked`, `deleted`,
    /// `unauthorized`, `blocked_account`, `blocked_domain` or `muted_account`.
    pub state: &'static str,
    /// Whether the quoted status is shown (an accepted quote of a status the
    /// reader may see; a deleted status's source shows it whatever the state).
    pub shown: bool,
    pub quoted: QuotedRef,
    /// The quote's id (its `QuoteAuthorization` is served under it when
    /// the quoted status is local); `None` for a shallow quote.
    pub quote_id: Option<i64>,
    /// The remote quoted author's `QuoteAuthorization`, when one was given.
    pub approval_uri: Option<String>,
}

/// What a quote carries of the quoted status.
#[derive(Debug, Clone)]
pub enum QuotedRef {
    /// A Quote entity: the quoted status, when it exists and the reader may see it.
    Full(Option<Box<StatusView>>),
    /// A ShallowQuote entity (a quote inside a quoted status): its id, when shown.
    Shallow(Option<StatusId>),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ViewerFlags {
    pub favourited: bool,
    pub reblogged: bool,
    pub bookmarked: bool,
    pub pinned: bool,
    /// The viewer muted the status's thread.
    pub muted: bool,
}

/// The signed-in user's own account, with settings only they see.
#[derive(Debug, Clone)]
pub struct CredentialAccountView {
    pub account: Account,
    pub user: User,
    pub follow_requests_count: i64,
}

/// How a viewer relates to another account.
#[derive(Debug, Clone)]
pub struct RelationshipView {
    pub id: AccountId,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub muting_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

/// The custom emojis of remote statuses, by status: the shortcodes in
/// each one's spoiler and content, looked up among its server's emojis
/// (one query for the page).
async fn remote_emojis_of(
    db: &ferrodon_storage::Db,
    all: &[&Status],
    accounts: &HashMap<AccountId, Account>,
) -> Result<HashMap<StatusId, Vec<ferrodon_storage::emojis::CustomEmoji>>> {
    let mut wanted: Vec<(StatusId, &str, Vec<&str>)> = Vec::new();
    for s in all.iter().filter(|s| !s.local) {
        let Some(domain) = accounts
            .get(&s.account_id)
            .and_then(|a| a.domain.as_deref())
        else {
            continue;
        };
        let mut codes = crate::text::shortcodes(&s.spoiler_text);
        codes.extend(crate::text::shortcodes(&s.content));
        codes.sort_unstable();
        codes.dedup();
        if !codes.is_empty() {
            wanted.push((s.id, domain, codes));
        }
    }
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let mut domains: Vec<String> = wanted.iter().map(|(_, d, _)| (*d).to_owned()).collect();
    domains.sort_unstable();
    domains.dedup();
    let mut codes: Vec<String> = wanted
        .iter()
        .flat_map(|(_, _, c)| c.iter().map(|c| (*c).to_owned()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let found: HashMap<(String, String), ferrodon_storage::emojis::CustomEmoji> =
        ferrodon_storage::emojis::remote_named(db, &domains, &codes)
            .await?
            .into_iter()
            .map(|r| ((r.domain, r.emoji.shortcode.clone()), r.emoji))
            .collect();
    Ok(wanted
        .into_iter()
        .map(|(id, domain, codes)| {
            let emojis = codes
                .into_iter()
                .filter_map(|c| found.get(&(domain.to_owned(), c.to_owned())).cloned())
                .collect();
            (id, emojis)
        })
        .collect())
}

impl Services {
    /// Builds views of `list` (in its order) for `viewer`. Reblogged
    /// originals and quoted statuses are loaded and hydrated in the same
    /// batches; quotes add at most three queries per page.
    pub async fn hydrate(
        &self,
        viewer: Option<AccountId>,
        list: Vec<Status>,
    ) -> Result<Vec<StatusView>> {
        let db = self.db();
        let reblog_ids: Vec<StatusId> = list.iter().filter_map(Status::reblog_of).collect();
        let originals = statuses::get_many(db, &reblog_ids).await?;

        // What the statuses shown quote, and what those quote in turn.
        let quoting_ids: Vec<StatusId> = list
            .iter()
            .chain(originals.iter())
            .filter(|s| s.reblog_of_id.is_none())
            .map(|s| s.id)
            .collect();
        let quote_rows = quotes::of_statuses(db, &quoting_ids).await?;
        let quote_of: HashMap<StatusId, &QuoteRow> =
            quote_rows.iter().map(|r| (r.quote.status_id, r)).collect();
        let mut known: HashSet<StatusId> =
            list.iter().chain(originals.iter()).map(|s| s.id).collect();
        let quoted_ids: Vec<StatusId> = quote_rows
            .iter()
            .filter_map(|r| r.quote.quoted_status())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let missing: Vec<StatusId> = quoted_ids
            .iter()
            .filter(|id| known.insert(**id))
            .copied()
            .collect();
        let quoted = statuses::get_many(db, &missing).await?;
        let access_ids: Vec<StatusId> = quoted_ids
            .iter()
            .copied()
            .chain(
                quote_rows
                    .iter()
                    .filter_map(|r| r.nested().and_then(|(id, _)| id)),
            )
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let access: HashMap<StatusId, (AccountId, i64)> =
            ferrodon_storage::visibility::access(db, viewer, &access_ids, ferrodon_storage::now())
                .await?
                .into_iter()
                .map(|a| (a.status_id, (a.account_id, a.flags)))
                .collect();

        let all: Vec<&Status> = list
            .iter()
            .chain(originals.iter())
            .chain(quoted.iter())
            .collect();
        let by_id: HashMap<StatusId, &Status> = all.iter().map(|s| (s.id, *s)).collect();
        let all_ids: Vec<StatusId> = all.iter().map(|s| s.id).collect();

        let mention_rows = statuses::mentions_of(db, &all_ids).await?;
        let mut account_ids: HashSet<AccountId> = all.iter().map(|s| s.account_id).collect();
        account_ids.extend(mention_rows.iter().map(|(_, a)| AccountId(*a)));
        let account_ids: Vec<AccountId> = account_ids.into_iter().collect();
        let accounts: HashMap<AccountId, Account> = accounts::get_many(db, &account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();

        let mut mentions: HashMap<i64, Vec<Account>> = HashMap::new();
        for (status, account) in mention_rows {
            if let Some(a) = accounts.get(&AccountId(account)) {
                mentions.entry(status).or_default().push(a.clone());
            }
        }
        let mut tag_map: HashMap<i64, Vec<Tag>> = HashMap::new();
        for row in tags::of_statuses(db, &all_ids).await? {
            tag_map.entry(row.status_id).or_default().push(row.tag);
        }
        let mut media_map: HashMap<i64, Vec<MediaAttachment>> = HashMap::new();
        for m in media::of_statuses(db, &all_ids).await? {
            if let Some(status) = m.status_id {
                media_map.entry(status).or_default().push(m);
            }
        }
        let mut apps: HashMap<i64, App> = HashMap::new();
        for app_id in all.iter().filter_map(|s| s.application_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = apps.entry(app_id)
                && let Some(app) = oauth::get_app(db, AppId(app_id)).await?
            {
                e.insert(app);
            }
        }
        let mut marked: [HashSet<i64>; 5] = Default::default();
        if let Some(v) = viewer {
            marked[0] = marks::among(db, Mark::Favourite, v, &all_ids)
                .await?
                .into_iter()
                .collect();
            marked[1] = statuses::reblogged_among(db, v, &all_ids)
                .await?
                .into_iter()
                .collect();
            marked[2] = marks::among(db, Mark::Bookmark, v, &all_ids)
                .await?
                .into_iter()
                .collect();
            marked[3] = marks::among(db, Mark::Pin, v, &all_ids)
                .await?
                .into_iter()
                .collect();
            marked[4] = ferrodon_storage::conversations::muted_among(db, v, &all_ids)
                .await?
                .into_iter()
                .collect();
        }
        let [favourited, reblogged, bookmarked, pinned, muted] = &marked;
        let poll_views = self.poll_views(viewer, &all_ids).await?;
        let cards: HashMap<i64, ferrodon_storage::preview_cards::StatusCard> =
            ferrodon_storage::preview_cards::of_statuses(db, &all_ids)
                .await?
                .into_iter()
                .map(|c| (c.status_id, c))
                .collect();
        let matcher: Option<FilterMatcher> = match viewer {
            Some(v) => Some(self.filter_matcher(v, &all).await?),
            None => None,
        };
        let ties = self.quote_ties(viewer, &all).await?;
        let remote_emojis = remote_emojis_of(db, &all, &accounts).await?;

        let build = |s: &Status| -> Option<StatusView> {
            let account = accounts.get(&s.account_id)?.clone();
            Some(StatusView {
                status: s.clone(),
                account,
                reblog: None,
                mentions: mentions.get(&s.id.0).cloned().unwrap_or_default(),
                tags: tag_map.get(&s.id.0).cloned().unwrap_or_default(),
                media: media_map.get(&s.id.0).cloned().unwrap_or_default(),
                // Mastodon shows the posting app only on local statuses.
                application: if s.local {
                    s.application_id.and_then(|a| apps.get(&a).cloned())
                } else {
                    None
                },
                poll: poll_views.get(&s.id).cloned(),
                card: cards.get(&s.id.0).cloned(),
                viewer: viewer.map(|_| ViewerFlags {
                    favourited: favourited.contains(&s.id.0),
                    reblogged: reblogged.contains(&s.id.0),
                    bookmarked: bookmarked.contains(&s.id.0),
                    pinned: pinned.contains(&s.id.0),
                    muted: muted.contains(&s.id.0),
                }),
                source_requested: false,
                filtered: Vec::new(),
                quote: None,
                quote_approval: crate::quote_policy::approval(
                    s,
                    viewer,
                    ties.get(&s.account_id).copied().unwrap_or(Ties::default()),
                ),
                remote_emojis: remote_emojis.get(&s.id).cloned().unwrap_or_default(),
            })
        };
        // A quoted status, shown inside a quote: its own quote is shallow.
        let build_quoted = |row: &QuoteRow| -> Option<StatusView> {
            let quoted = by_id.get(&row.quote.quoted_status()?)?;
            // A reblog is never shown as quoted (Mastodon).
            if quoted.reblog_of_id.is_some() {
                return None;
            }
            let mut view = build(quoted)?;
            if let Some(m) = &matcher {
                view.filtered = m.matches(quoted, None);
            }
            view.quote = row.nested().map(|(nested, state)| {
                let (state, shown) = crate::quote_policy::shown_state(
                    state,
                    nested.and_then(|id| access.get(&id).copied()),
                    viewer,
                );
                QuoteView {
                    state,
                    shown,
                    quoted: QuotedRef::Shallow(nested.filter(|_| shown)),
                    quote_id: None,
                    approval_uri: None,
                }
            });
            Some(view)
        };
        // The quote a status makes, with the quoted status in full.
        let quote_for = |s: &Status| -> Option<QuoteView> {
            let row = quote_of.get(&s.id)?;
            let (state, shown) = crate::quote_policy::shown_state(
                row.quote.state(),
                row.quote
                    .quoted_status()
                    .and_then(|id| access.get(&id).copied()),
                viewer,
            );
            let visible = row
                .quote
                .quoted_status()
                .and_then(|id| access.get(&id))
                .is_some_and(|(author, flags)| {
                    crate::quote_policy::filter_state(viewer, *author, *flags)
                        != Some("unauthorized")
                });
            Some(QuoteView {
                state,
                shown,
                quoted: QuotedRef::Full(visible.then(|| build_quoted(row)).flatten().map(Box::new)),
                quote_id: Some(row.quote.id),
                approval_uri: row.quote.approval_uri.clone(),
            })
        };
        let originals: HashMap<StatusId, StatusView> = originals
            .iter()
            .filter_map(|s| {
                build(s).map(|mut v| {
                    v.quote = quote_for(s);
                    (s.id, v)
                })
            })
            .collect();
        Ok(list
            .iter()
            .filter_map(|s| {
                let mut view = build(s)?;
                if let Some(of) = s.reblog_of() {
                    // A reblog whose original is gone is not shown.
                    let mut original = originals.get(&of)?.clone();
                    if let Some(m) = &matcher {
                        // Both the reblog and what it shares carry the matches.
                        view.filtered = m.matches(s, Some(&original.status));
                        original.filtered = view.filtered.clone();
                    }
                    view.reblog = Some(Box::new(original));
                } else {
                    view.quote = quote_for(s);
                    if let Some(m) = &matcher {
                        view.filtered = m.matches(s, None);
                    }
                }
                Some(view)
            })
            .collect())
    }

    /// One status's view.
    pub(crate) async fn hydrate_one(
        &self,
        viewer: Option<AccountId>,
        status: Status,
    ) -> Result<StatusView> {
        self.hydrate(viewer, vec![status])
            .await?
            .pop()
            .ok_or_else(crate::ServiceError::not_found)
    }

    /// Statuses by id, in the order of `ids`, as views.
    pub(crate) async fn hydrate_ids(
        &self,
        viewer: Option<AccountId>,
        ids: &[StatusId],
    ) -> Result<Vec<StatusView>> {
        let mut found: HashMap<StatusId, Status> = statuses::get_many(self.db(), ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let ordered = ids.iter().filter_map(|id| found.remove(id)).collect();
        self.hydrate(viewer, ordered).await
    }
}
