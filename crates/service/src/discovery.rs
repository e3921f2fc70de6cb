//! Finding people: account search, the profile directory, familiar
//! followers, follow suggestions; and the signed-in user's preferences.

use std::collections::HashSet;

use ferrodon_model::AccountId;
use ferrodon_storage::accounts::Account;
use ferrodon_storage::discovery::{self, AccountQuery, DirectoryOrder};
use ferrodon_storage::users;

use crate::{Result, ServiceError, Services};

/// Options of `GET /api/v1/accounts/search`.
#[derive(Debug, Clone, Default)]
pub struct AccountSearch {
    pub q: String,
    pub limit: i64,
    pub offset: i64,
    pub following: bool,
}

/// Why an account is suggested (Mastodon 4.3's `sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionSource {
    FriendsOfFriends,
    MostFollowed,
}

impl SuggestionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionSource::FriendsOfFriends => "friends_of_friends",
            SuggestionSource::MostFollowed => "most_followed",
        }
    }

    /// The older single `source` value it maps to.
    pub fn legacy(self) -> &'static str {
        match self {
            SuggestionSource::FriendsOfFriends => "past_interactions",
            SuggestionSource::MostFollowed => "global",
        }
    }
}

/// `GET /api/v1/preferences`.
#[derive(Debug, Clone)]
pub struct Preferences {
    pub visibility: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub quote_policy: String,
}

impl Services {
    /// `GET /api/v1/accounts/search`: by the start of a username or display
    /// name; `user@domain` narrows to a domain. Stored accounts only (remote
    /// lookups come with federation).
    pub async fn search_accounts(
        &self,
        viewer: AccountId,
        search: &AccountSearch,
    ) -> Result<Vec<Account>> {
        let q = search.q.trim().trim_start_matches('@');
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let (term, domain) = match q.split_once('@') {
            Some((user, domain)) => {
                let local = domain.eq_ignore_ascii_case(&self.instance().domain);
                (user, Some(if local { "" } else { domain }))
            }
            None => (q, None),
        };
        if term.is_empty() {
            return Ok(Vec::new());
        }
        discovery::search_accounts(
            self.db(),
            &AccountQuery {
                term: term.to_lowercase(),
                domain: domain.map(str::to_owned),
                viewer,
                only_following: search.following,
                limit: search.limit,
                offset: search.offset,
            },
        )
        .await
        .map_err(Into::into)
    }

    /// `GET /api/v1/directory`.
    pub async fn directory(
        &self,
        order: DirectoryOrder,
        local_only: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Account>> {
        Ok(discovery::directory(self.db(), order, local_only, limit, offset).await?)
    }

    /// `GET /api/v1/accounts/familiar_followers`: for each account (in the
    /// order asked), who among the viewer's follows follows it too.
    pub async fn familiar_followers(
        &self,
        viewer: AccountId,
        ids: &[AccountId],
    ) -> Result<Vec<(AccountId, Vec<Account>)>> {
        let db = self.db();
        let targets = ferrodon_storage::accounts::get_many(db, ids).await?;
        let rows = discovery::familiar_followers(db, viewer, ids).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let hidden = targets
                    .iter()
                    .find(|a| a.id == *id)
                    .is_none_or(|a| a.hide_collections || a.suspended_at.is_some());
                let accounts = if hidden {
                    Vec::new()
                } else {
                    rows.iter()
                        .filter(|r| r.target_id == id.0)
                        .map(|r| r.account.clone())
                        .collect()
                };
                (*id, accounts)
            })
            .collect())
    }

    /// `GET /api/v2/suggestions`: accounts followed by those the viewer
    /// follows, then the most followed local accounts; only discoverable
    /// accounts the viewer has no relation with.
    pub async fn suggestions(
        &self,
        viewer: AccountId,
        limit: i64,
    ) -> Result<Vec<(Account, Vec<SuggestionSource>)>> {
        let db = self.db();
        let mut out: Vec<(Account, Vec<SuggestionSource>)> = Vec::new();
        let mut seen = HashSet::new();
        for (source, found) in [
            (
                SuggestionSource::FriendsOfFriends,
                discovery::friends_of_friends(db, viewer, limit).await?,
            ),
            (
                SuggestionSource::MostFollowed,
                discovery::most_followed(db, viewer, limit).await?,
            ),
        ] {
            for account in found {
                if seen.insert(account.id) {
                    out.push((account, vec![source]));
                } else if let Some((_, sources)) = out.iter_mut().find(|(a, _)| a.id == account.id)
                {
                    sources.push(source);
                }
            }
        }
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }

    /// `DELETE /api/v1/suggestions/:account_id`.
    pub async fn dismiss_suggestion(&self, viewer: AccountId, target: AccountId) -> Result<()> {
        self.account(target).await?;
        discovery::dismiss_suggestion(self.db(), self.ids().next().0, viewer, target).await?;
        Ok(())
    }

    /// `GET /api/v1/preferences`: the posting defaults (reading preferences
    /// are web settings this server does not keep; Mastodon's defaults).
    pub async fn preferences(&self, viewer: AccountId) -> Result<Preferences> {
        let user = users::by_account(self.db(), viewer)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        Ok(Preferences {
            visibility: user.default_privacy,
            sensitive: user.default_sensitive,
            language: user.default_language,
            quote_policy: user.default_quote_policy,
        })
    }
}
