//! `GET /api/v2/search`: accounts, hashtags and statuses in one answer.
//!
//! Statuses go through the [`SearchBackend`] (the database's own full-text
//! engine for now) and only for signed-in readers, as Mastodon: what one
//! may search is one's own posts, posts one interacted with, and public
//! posts of accounts that opted in. An address (`https://…`) finds the
//! stored status or account it names; fetching unknown ones from other
//! servers comes with federation.

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::search::{self as store, StatusQuery};

use crate::discovery::AccountSearch;
use crate::tags::{TagView, tag_key};
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, Services};

/// The kinds of results, as `type=` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    Accounts,
    Hashtags,
    Statuses,
}

impl SearchType {
    pub fn parse(s: &str) -> Option<SearchType> {
        match s {
            "accounts" => Some(SearchType::Accounts),
            "hashtags" => Some(SearchType::Hashtags),
            "statuses" => Some(SearchType::Statuses),
            _ => None,
        }
    }
}

/// What a search asks for.
#[derive(Debug, Clone)]
pub struct Search {
    pub q: String,
    /// Only one kind of result; all kinds when `None`.
    pub kind: Option<SearchType>,
    /// Accounts: only those the reader follows.
    pub following: bool,
    /// Statuses: only by this account.
    pub account_id: Option<AccountId>,
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
    /// Look up unknown addresses and `user@domain` on other servers.
    pub resolve: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub accounts: Vec<Account>,
    pub statuses: Vec<StatusView>,
    pub hashtags: Vec<TagView>,
}

impl Services {
    /// `GET /api/v2/search`.
    pub async fn search(&self, viewer: Option<AccountId>, s: &Search) -> Result<SearchResults> {
        let q = s.q.trim();
        let mut out = SearchResults::default();
        if q.is_empty() {
            return Ok(out);
        }
        let wants = |k: SearchType| s.kind.is_none_or(|w| w == k);

        // An address names one thing.
        if q.starts_with("https://") || q.starts_with("http://") {
            if s.resolve && viewer.is_some() {
                self.resolve_address(q).await;
            }
            if wants(SearchType::Statuses)
                && let Some(id) = store::status_by_url(self.db(), q).await?
                && let Ok(view) = self.status(viewer, id).await
            {
                out.statuses = self
                    .visible(viewer, vec![view], Hide::HiddenAuthors)
                    .await?;
            }
            if wants(SearchType::Accounts)
                && let Some(account) = self.account_at(q).await?
                && account.suspended_at.is_none()
            {
                out.accounts = vec![account];
            }
            return Ok(out);
        }

        if wants(SearchType::Accounts) {
            if s.resolve && viewer.is_some() {
                self.resolve_acct(q).await;
            }
            out.accounts = self
                .search_accounts(
                    viewer.unwrap_or(AccountId(0)),
                    &AccountSearch {
                        q: q.to_owned(),
                        limit: s.limit,
                        offset: s.offset,
                        following: s.following && viewer.is_some(),
                    },
                )
                .await?;
        }
        if wants(SearchType::Hashtags)
            && let Some((key, _)) = tag_key(q)
        {
            let tags = store::tags_by_prefix(self.db(), &key, s.limit, s.offset).await?;
            out.hashtags = self.tag_views(viewer, tags).await?;
        }
        // Full-text search is for signed-in readers; `#tag` and `@user`
        // queries are not text searches (unless statuses were asked for).
        let text_query = !(q.starts_with('#') || q.starts_with('@'));
        if let Some(reader) = viewer
            && wants(SearchType::Statuses)
            && (text_query || s.kind == Some(SearchType::Statuses))
        {
            out.statuses = self.search_statuses(reader, q, s).await?;
        }
        Ok(out)
    }

    /// Fetches what an address names from its server, if unknown here
    /// (failures are logged: the search then finds nothing).
    async fn resolve_address(&self, address: &str) {
        if address.starts_with(self.instance().base_url.as_str()) {
            return;
        }
        let known = match store::status_by_url(self.db(), address).await {
            Ok(Some(_)) => true,
            _ => matches!(store::account_by_url(self.db(), address).await, Ok(Some(_))),
        };
        if known {
            return;
        }
        if let Some(r) = self.resolver()
            && let Err(e) = r.resolve_url(address).await
        {
            tracing::info!(address, error = %e, "could not resolve");
        }
    }

    /// Looks up `user@domain` (or `@user@domain`) on its server when the
    /// domain is not this instance's.
    async fn resolve_acct(&self, q: &str) {
        let q = q.strip_prefix('@').unwrap_or(q);
        let Some((user, domain)) = q.split_once('@') else {
            return;
        };
        if user.is_empty()
            || domain.is_empty()
            || domain.eq_ignore_ascii_case(&self.instance().domain)
            || user.contains(char::is_whitespace)
            || domain.contains(char::is_whitespace)
        {
            return;
        }
        if let Some(r) = self.resolver()
            && let Err(e) = r.resolve_account(user, domain).await
        {
            tracing::info!(user, domain, error = %e, "could not resolve");
        }
    }

    /// The account a profile address names: a local profile (`/@name`,
    /// `/users/name`) or a stored account's URI or URL.
    async fn account_at(&self, address: &str) -> Result<Option<Account>> {
        let base = &self.instance().base_url;
        if let Some(path) = address.strip_prefix(base.as_str()) {
            let name = path
                .strip_prefix("/@")
                .or_else(|| path.strip_prefix("/users/"))
                .filter(|n| !n.is_empty() && !n.contains('/'));
            return match name {
                Some(n) => Ok(accounts::find_by_username(self.db(), n, None).await?),
                None => Ok(None),
            };
        }
        match store::account_by_url(self.db(), address).await? {
            Some(id) => Ok(accounts::get(self.db(), id).await?),
            None => Ok(None),
        }
    }

    async fn search_statuses(
        &self,
        reader: AccountId,
        q: &str,
        s: &Search,
    ) -> Result<Vec<StatusView>> {
        let ids: Vec<StatusId> = self
            .search_backend()
            .statuses(&StatusQuery {
                text: q.to_owned(),
                viewer: reader,
                account_id: s.account_id,
                min_id: s.min_id,
                max_id: s.max_id,
                limit: s.limit,
                offset: s.offset,
            })
            .await?;
        let views = self.hydrate_ids(Some(reader), &ids).await?;
        self.visible(Some(reader), views, Hide::HiddenAuthors).await
    }
}
