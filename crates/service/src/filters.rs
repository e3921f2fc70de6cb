//! Content filters (Mastodon's v2 filters, and the v1 view of them): their
//! management, and matching statuses against a reader's active filters.
//!
//! As Mastodon does, every active filter that matches a status is reported
//! in the status's `filtered` list, whatever its contexts: clients decide
//! per context whether to warn, blur or hide. A reader's own statuses are
//! never filtered.
//!
//! An account has at most [`MAX_FILTERS`] filters, [`MAX_KEYWORDS`] keywords
//! and [`MAX_FILTER_STATUSES`] filtered statuses in all (Mastodon has no such
//! limits; these keep one account from making its reads expensive). Every
//! change raises the account's filter version in its transaction; each
//! process keeps the compiled filters of recently seen accounts in a bounded
//! `FilterCache` (`filter_matching`) keyed by that version, so a read costs one primary-key
//! lookup unless the filters changed (in any process). Compiling and
//! keyword matching run on the blocking pool: keywords become one
//! Aho-Corasick automaton over case-folded text (linear in the text, whatever
//! the keywords), whole-word boundaries are checked around each occurrence,
//! and the work per page is capped.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::Tx;
use ferrodon_storage::filters::{
    self as store, CustomFilter, FilterFields, FilterKeyword, FilterStatus,
};
use ferrodon_storage::statuses;

use crate::{Result, ServiceError, Services};

/// The contexts a filter may apply in.
pub const CONTEXTS: [&str; 5] = ["home", "notifications", "public", "thread", "account"];
/// The actions a filter may take.
pub const ACTIONS: [&str; 3] = ["warn", "hide", "blur"];
/// Longest filter title and keyword, in characters.
pub const TITLE_MAX: usize = 256;
pub const KEYWORD_MAX: usize = 512;
/// Most filters one account may have.
pub const MAX_FILTERS: i64 = 100;
/// Most keywords in all of one account's filters.
pub const MAX_KEYWORDS: i64 = 1000;
/// Most filtered statuses in all of one account's filters.
pub const MAX_FILTER_STATUSES: i64 = 1000;
/// A filter with its keywords and statuses.
#[derive(Debug, Clone)]
pub struct FilterView {
    pub filter: CustomFilter,
    pub keywords: Vec<FilterKeyword>,
    pub statuses: Vec<FilterStatus>,
}

/// A v1 filter: one keyword of a filter.
#[derive(Debug, Clone)]
pub struct V1FilterView {
    pub keyword: FilterKeyword,
    pub filter: CustomFilter,
}

/// Why a status matched a filter.
#[derive(Debug, Clone)]
pub struct FilterResult {
    pub filter: CustomFilter,
    pub keyword_matches: Option<Vec<String>>,
    pub status_matches: Option<Vec<String>>,
}

/// A keyword change in a filter create/update (`keywords_attributes`).
#[derive(Debug, Clone, Default)]
pub struct KeywordChange {
    pub id: Option<i64>,
    pub keyword: Option<String>,
    pub whole_word: Option<bool>,
    pub destroy: bool,
}

/// `expires_in`: absent (keep), empty (never expires) or seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Expiry {
    #[default]
    Keep,
    Never,
    In(i64),
}

/// What a filter create/update sends.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub title: Option<String>,
    pub context: Option<Vec<String>>,
    pub action: Option<String>,
    pub expires_in: Expiry,
    pub keywords: Vec<KeywordChange>,
}

/// What a v1 filter create/update sends.
#[derive(Debug, Clone, Default)]
pub struct V1FilterInput {
    pub phrase: Option<String>,
    pub context: Option<Vec<String>>,
    pub irreversible: Option<bool>,
    pub whole_word: Option<bool>,
    pub expires_in: Expiry,
}

fn expiry(e: Expiry, current: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
    match e {
        Expiry::Keep => Ok(current),
        Expiry::Never => Ok(None),
        Expiry::In(secs) if secs > 0 && secs <= 100 * 365 * 86_400 => Ok(Some(
            crate::time::after_seconds(ferrodon_storage::now(), secs, "Expires in")?,
        )),
        Expiry::In(secs) if secs > 0 => Err(ServiceError::invalid(
            "Expires in must be less than or equal to 3153600000",
        )),
        Expiry::In(_) => Err(ServiceError::invalid("Expires in must be greater than 0")),
    }
}

fn check_fields(f: &FilterFields) -> Result<()> {
    if f.title.trim().is_empty() {
        return Err(ServiceError::invalid("Title can't be blank"));
    }
    if f.title.chars().count() > TITLE_MAX {
        return Err(ServiceError::invalid(format!(
            "Title is too long (maximum is {TITLE_MAX} characters)"
        )));
    }
    if f.context.is_empty() {
        return Err(ServiceError::invalid("Context can't be blank"));
    }
    if f.context.iter().any(|c| !CONTEXTS.contains(&c.as_str())) {
        return Err(ServiceError::invalid("Context contains invalid values"));
    }
    if !ACTIONS.contains(&f.action.as_str()) {
        return Err(ServiceError::invalid(
            "Filter action is not included in the list",
        ));
    }
    Ok(())
}

fn check_keyword(keyword: &str) -> Result<String> {
    let keyword = keyword.trim();
    if keyword.is_empty() {
        return Err(ServiceError::invalid("Keywords keyword can't be blank"));
    }
    if keyword.chars().count() > KEYWORD_MAX {
        return Err(ServiceError::invalid(format!(
            "Keyword is too long (maximum is {KEYWORD_MAX} characters)"
        )));
    }
    Ok(keyword.to_owned())
}

/// Contexts as given, deduplicated in Mastodon's order of appearance.
fn normalize_contexts(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in list {
        let c = c.trim().to_owned();
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl Services {
    /// Starts a change to `viewer`'s filters: raises their version, which
    /// also holds off the account's other filter changes until commit.
    async fn begin_filter_change(&self, viewer: AccountId) -> Result<Tx> {
        let mut tx = self.db().begin().await?;
        store::bump_version(&mut tx, viewer).await?;
        Ok(tx)
    }

    /// Commits a filter change unless it took `viewer` past a limit (then
    /// it is rolled back and refused).
    async fn commit_filter_change(&self, mut tx: Tx, viewer: AccountId) -> Result<()> {
        let (filters, keywords, statuses) = store::counts(&mut tx, viewer).await?;
        if filters > MAX_FILTERS {
            return Err(ServiceError::invalid(format!(
                "You cannot have more than {MAX_FILTERS} filters"
            )));
        }
        if keywords > MAX_KEYWORDS {
            return Err(ServiceError::invalid(format!(
                "Keywords are too many (at most {MAX_KEYWORDS} in all your filters)"
            )));
        }
        if statuses > MAX_FILTER_STATUSES {
            return Err(ServiceError::invalid(format!(
                "Statuses are too many (at most {MAX_FILTER_STATUSES} in all your filters)"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn filter_views(&self, filters: Vec<CustomFilter>) -> Result<Vec<FilterView>> {
        let ids: Vec<i64> = filters.iter().map(|f| f.id).collect();
        let mut keywords: HashMap<i64, Vec<FilterKeyword>> = HashMap::new();
        for k in store::keywords_of(self.db(), &ids).await? {
            keywords.entry(k.custom_filter_id).or_default().push(k);
        }
        let mut statuses: HashMap<i64, Vec<FilterStatus>> = HashMap::new();
        for s in store::statuses_of(self.db(), &ids).await? {
            statuses.entry(s.custom_filter_id).or_default().push(s);
        }
        Ok(filters
            .into_iter()
            .map(|filter| FilterView {
                keywords: keywords.remove(&filter.id).unwrap_or_default(),
                statuses: statuses.remove(&filter.id).unwrap_or_default(),
                filter,
            })
            .collect())
    }

    async fn own_filter(&self, viewer: AccountId, id: i64) -> Result<CustomFilter> {
        store::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// `GET /api/v2/filters`.
    pub async fn filters(&self, viewer: AccountId) -> Result<Vec<FilterView>> {
        let list = store::of_account(self.db(), viewer).await?;
        self.filter_views(list).await
    }

    /// `GET /api/v2/filters/:id`.
    pub async fn filter(&self, viewer: AccountId, id: i64) -> Result<FilterView> {
        let f = self.own_filter(viewer, id).await?;
        let mut views = self.filter_views(vec![f]).await?;
        views.pop().ok_or_else(ServiceError::not_found)
    }

    /// `POST /api/v2/filters`.
    pub async fn create_filter(&self, viewer: AccountId, input: FilterInput) -> Result<FilterView> {
        let fields = FilterFields {
            title: input.title.unwrap_or_default().trim().to_owned(),
            context: normalize_contexts(input.context.unwrap_or_default()),
            action: input.action.unwrap_or_else(|| "warn".to_owned()),
            expires_at: expiry(input.expires_in, None)?,
        };
        check_fields(&fields)?;
        let mut new_keywords = Vec::new();
        for k in &input.keywords {
            if k.destroy {
                continue;
            }
            let word = check_keyword(k.keyword.as_deref().unwrap_or(""))?;
            new_keywords.push((word, k.whole_word.unwrap_or(true)));
        }
        let id = self.ids().next().0;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::create(&mut tx, id, viewer, &fields).await?;
        for (word, whole) in &new_keywords {
            store::add_keyword(&mut tx, self.ids().next().0, id, word, *whole).await?;
        }
        self.commit_filter_change(tx, viewer).await?;
        self.filter(viewer, id).await
    }

    /// `PUT /api/v2/filters/:id`: changes the given fields; `keywords_attributes`
    /// entries with an id change (or with `_destroy` remove) that keyword,
    /// those without add one.
    pub async fn update_filter(
        &self,
        viewer: AccountId,
        id: i64,
        input: FilterInput,
    ) -> Result<FilterView> {
        let current = self.own_filter(viewer, id).await?;
        let fields = FilterFields {
            title: input
                .title
                .map(|t| t.trim().to_owned())
                .unwrap_or_else(|| current.title.clone()),
            context: input
                .context
                .map(normalize_contexts)
                .unwrap_or_else(|| current.contexts()),
            action: input.action.unwrap_or_else(|| current.action.clone()),
            expires_at: expiry(input.expires_in, current.expires_at)?,
        };
        check_fields(&fields)?;
        let existing: HashMap<i64, FilterKeyword> = store::keywords_of(self.db(), &[id])
            .await?
            .into_iter()
            .map(|k| (k.id, k))
            .collect();
        enum Change {
            Add(String, bool),
            Update(i64, String, bool),
            Remove(i64),
        }
        let mut changes = Vec::new();
        for k in input.keywords {
            match k.id {
                Some(kid) => {
                    let Some(old) = existing.get(&kid) else {
                        return Err(ServiceError::not_found());
                    };
                    if k.destroy {
                        changes.push(Change::Remove(kid));
                    } else {
                        let word = match k.keyword {
                            Some(w) => check_keyword(&w)?,
                            None => old.keyword.clone(),
                        };
                        changes.push(Change::Update(
                            kid,
                            word,
                            k.whole_word.unwrap_or(old.whole_word),
                        ));
                    }
                }
                None if k.destroy => {}
                None => {
                    let word = check_keyword(k.keyword.as_deref().unwrap_or(""))?;
                    changes.push(Change::Add(word, k.whole_word.unwrap_or(true)));
                }
            }
        }
        let mut tx = self.begin_filter_change(viewer).await?;
        store::update(&mut tx, id, &fields).await?;
        for c in changes {
            match c {
                Change::Add(word, whole) => {
                    store::add_keyword(&mut tx, self.ids().next().0, id, &word, whole).await?;
                }
                Change::Update(kid, word, whole) => {
                    store::update_keyword(&mut tx, kid, &word, whole).await?;
                }
                Change::Remove(kid) => {
                    store::delete_keyword(&mut tx, kid).await?;
                }
            }
        }
        self.commit_filter_change(tx, viewer).await?;
        self.filter(viewer, id).await
    }

    /// `DELETE /api/v2/filters/:id`.
    pub async fn delete_filter(&self, viewer: AccountId, id: i64) -> Result<()> {
        self.own_filter(viewer, id).await?;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::delete(&mut tx, id).await?;
        self.commit_filter_change(tx, viewer).await
    }

    /// `GET /api/v2/filters/:filter_id/keywords`.
    pub async fn filter_keywords(
        &self,
        viewer: AccountId,
        filter: i64,
    ) -> Result<Vec<FilterKeyword>> {
        self.own_filter(viewer, filter).await?;
        Ok(store::keywords_of(self.db(), &[filter]).await?)
    }

    /// `POST /api/v2/filters/:filter_id/keywords`.
    pub async fn add_filter_keyword(
        &self,
        viewer: AccountId,
        filter: i64,
        keyword: Option<String>,
        whole_word: Option<bool>,
    ) -> Result<FilterKeyword> {
        self.own_filter(viewer, filter).await?;
        let word = check_keyword(keyword.as_deref().unwrap_or(""))?;
        let id = self.ids().next().0;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::add_keyword(&mut tx, id, filter, &word, whole_word.unwrap_or(true)).await?;
        self.commit_filter_change(tx, viewer).await?;
        self.filter_keyword(viewer, id).await
    }

    /// `GET /api/v2/filters/keywords/:id`.
    pub async fn filter_keyword(&self, viewer: AccountId, id: i64) -> Result<FilterKeyword> {
        store::get_keyword(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// `PUT /api/v2/filters/keywords/:id`.
    pub async fn update_filter_keyword(
        &self,
        viewer: AccountId,
        id: i64,
        keyword: Option<String>,
        whole_word: Option<bool>,
    ) -> Result<FilterKeyword> {
        let old = self.filter_keyword(viewer, id).await?;
        let word = match keyword {
            Some(w) => check_keyword(&w)?,
            None => old.keyword,
        };
        let mut tx = self.begin_filter_change(viewer).await?;
        store::update_keyword(&mut tx, id, &word, whole_word.unwrap_or(old.whole_word)).await?;
        self.commit_filter_change(tx, viewer).await?;
        self.filter_keyword(viewer, id).await
    }

    /// `DELETE /api/v2/filters/keywords/:id`.
    pub async fn delete_filter_keyword(&self, viewer: AccountId, id: i64) -> Result<()> {
        self.filter_keyword(viewer, id).await?;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::delete_keyword(&mut tx, id).await?;
        self.commit_filter_change(tx, viewer).await
    }

    /// `GET /api/v2/filters/:filter_id/statuses`.
    pub async fn filter_statuses(
        &self,
        viewer: AccountId,
        filter: i64,
    ) -> Result<Vec<FilterStatus>> {
        self.own_filter(viewer, filter).await?;
        Ok(store::statuses_of(self.db(), &[filter]).await?)
    }

    /// `POST /api/v2/filters/:filter_id/statuses`: a status the viewer can see.
    pub async fn add_filter_status(
        &self,
        viewer: AccountId,
        filter: i64,
        status: Option<StatusId>,
    ) -> Result<FilterStatus> {
        self.own_filter(viewer, filter).await?;
        let Some(status_id) = status else {
            return Err(ServiceError::invalid("Status can't be blank"));
        };
        let visible = match statuses::get(self.db(), status_id).await? {
            Some(s) => self.can_see(Some(viewer), &s).await?,
            None => false,
        };
        if !visible {
            return Err(ServiceError::invalid("Status is invalid"));
        }
        let id = self.ids().next().0;
        let mut tx = self.begin_filter_change(viewer).await?;
        if !store::add_status(&mut tx, id, filter, status_id).await? {
            return Err(ServiceError::invalid("Status has already been taken"));
        }
        self.commit_filter_change(tx, viewer).await?;
        self.filter_status(viewer, id).await
    }

    /// `GET /api/v2/filters/statuses/:id`.
    pub async fn filter_status(&self, viewer: AccountId, id: i64) -> Result<FilterStatus> {
        store::get_status(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// `DELETE /api/v2/filters/statuses/:id`.
    pub async fn delete_filter_status(&self, viewer: AccountId, id: i64) -> Result<()> {
        self.filter_status(viewer, id).await?;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::delete_status(&mut tx, id).await?;
        self.commit_filter_change(tx, viewer).await
    }

    /// `GET /api/v1/filters`: every keyword of the viewer's filters.
    pub async fn v1_filters(&self, viewer: AccountId) -> Result<Vec<V1FilterView>> {
        let filters: HashMap<i64, CustomFilter> = store::of_account(self.db(), viewer)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        Ok(store::keywords_of_account(self.db(), viewer)
            .await?
            .into_iter()
            .filter_map(|keyword| {
                let filter = filters.get(&keyword.custom_filter_id)?.clone();
                Some(V1FilterView { keyword, filter })
            })
            .collect())
    }

    /// `GET /api/v1/filters/:id` (a keyword id).
    pub async fn v1_filter(&self, viewer: AccountId, id: i64) -> Result<V1FilterView> {
        let keyword = self.filter_keyword(viewer, id).await?;
        let filter = self.own_filter(viewer, keyword.custom_filter_id).await?;
        Ok(V1FilterView { keyword, filter })
    }

    /// `POST /api/v1/filters`: a filter titled after its one keyword.
    pub async fn create_v1_filter(
        &self,
        viewer: AccountId,
        input: V1FilterInput,
    ) -> Result<V1FilterView> {
        let phrase = input.phrase.unwrap_or_default();
        let view = self
            .create_filter(
                viewer,
                FilterInput {
                    title: Some(phrase.clone()),
                    context: input.context,
                    action: Some(
                        if input.irreversible.unwrap_or(false) {
                            "hide"
                        } else {
                            "warn"
                        }
                        .to_owned(),
                    ),
                    expires_in: input.expires_in,
                    keywords: vec![KeywordChange {
                        keyword: Some(phrase),
                        whole_word: input.whole_word,
                        ..KeywordChange::default()
                    }],
                },
            )
            .await?;
        let keyword = view
            .keywords
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::Internal("a new filter lost its keyword".into()))?;
        Ok(V1FilterView {
            keyword,
            filter: view.filter,
        })
    }

    /// `PUT /api/v1/filters/:id`: the keyword, and the filter's settings
    /// unless the filter has other keywords (then as Mastodon: refused).
    pub async fn update_v1_filter(
        &self,
        viewer: AccountId,
        id: i64,
        input: V1FilterInput,
    ) -> Result<V1FilterView> {
        let current = self.v1_filter(viewer, id).await?;
        let changes_filter = input.context.is_some()
            || input.irreversible.is_some()
            || input.expires_in != Expiry::Keep;
        if changes_filter && store::entry_count(self.db(), current.filter.id).await? > 1 {
            return Err(ServiceError::invalid(
                "You cannot update a filter with multiple keywords through this deprecated API",
            ));
        }
        self.update_filter(
            viewer,
            current.filter.id,
            FilterInput {
                title: input.phrase.clone().filter(|_| {
                    // The title follows the phrase while they are one.
                    current.filter.title == current.keyword.keyword
                }),
                context: input.context,
                action: input
                    .irreversible
                    .map(|i| if i { "hide" } else { "warn" }.to_owned()),
                expires_in: input.expires_in,
                keywords: vec![KeywordChange {
                    id: Some(id),
                    keyword: input.phrase,
                    whole_word: input.whole_word,
                    destroy: false,
                }],
            },
        )
        .await?;
        self.v1_filter(viewer, id).await
    }

    /// `DELETE /api/v1/filters/:id`: the keyword, and its filter once it has
    /// nothing left to match.
    pub async fn delete_v1_filter(&self, viewer: AccountId, id: i64) -> Result<()> {
        let current = self.v1_filter(viewer, id).await?;
        let mut tx = self.begin_filter_change(viewer).await?;
        store::delete_keyword(&mut tx, id).await?;
        if store::entry_count(&mut tx, current.filter.id).await? == 0 {
            store::delete(&mut tx, current.filter.id).await?;
        }
        self.commit_filter_change(tx, viewer).await
    }
}
