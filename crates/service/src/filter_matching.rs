//! Matching statuses against a reader's active filters: the compiled form
//! of an account's filters (one Aho-Corasick automaton over case-folded
//! keywords, whole-word boundaries checked around each occurrence), the
//! per-process cache of compiled filters keyed by the account's filter
//! version, and the bounded scan of a page's texts on the blocking pool.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};
use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::filters::{self as store, CustomFilter, FilterKeyword, FilterStatus};
use ferrodon_storage::statuses::Status;

use crate::filters::FilterResult;
use crate::{Result, ServiceError, Services, text};

/// Keyword occurrences (times the filters sharing them) one page of statuses
/// may examine; past it, further keyword matches on that page are not
/// looked for. Ordinary filters stay far below it: it only bounds
/// pathological keyword sets (every suffix of a long word, as many times as
/// there are filters) against text made to match them everywhere.
const SCAN_BUDGET: usize = 2_000_000;
/// Accounts whose compiled filters a process keeps, and their total size.
const CACHE_ENTRIES: usize = 1024;
const CACHE_BYTES: usize = 64 << 20;

/// Who uses one distinct keyword: a filter, the keyword's place in it (the
/// first keyword wins a tie, as Ruby's `Regexp.union`), and whether a word
/// boundary is required where it starts and where it ends.
#[derive(Debug, Clone, Copy)]
struct Owner {
    filter: usize,
    order: usize,
    start_boundary: bool,
    end_boundary: bool,
}

/// An account's filters, compiled for matching (every filter, expired ones
/// too: expiry is checked when reading, so the version alone says whether
/// this is current).
pub struct CompiledFilters {
    filters: Vec<CustomFilter>,
    statuses: Vec<HashSet<i64>>,
    /// One automaton over the distinct case-folded keywords, and who uses each.
    keywords: Option<(AhoCorasick, Vec<Vec<Owner>>)>,
    /// Roughly the memory it holds, for the cache's bound.
    weight: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Appends `c` case-folded: lowercase, with the Greek final sigma and the
/// long s folded as regex's simple case folding does.
fn fold_char(c: char, out: &mut String) {
    for l in c.to_lowercase() {
        out.push(match l {
            'ς' => 'σ',
            'ſ' => 's',
            other => other,
        });
    }
}

fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// `text` case-folded, with the byte offset in `text` of the character each
/// folded byte comes from.
fn fold_mapped(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let before = out.len();
        fold_char(c, &mut out);
        origin.resize(origin.len() + (out.len() - before), at);
    }
    (out, origin)
}

/// Compiles an account's filters (CPU-bound: run it on the blocking pool).
fn compile(
    filters: Vec<CustomFilter>,
    keywords: Vec<FilterKeyword>,
    statuses: Vec<FilterStatus>,
) -> CompiledFilters {
    let index: HashMap<i64, usize> = filters.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    let mut status_sets: Vec<HashSet<i64>> = vec![HashSet::new(); filters.len()];
    for st in &statuses {
        if let Some(i) = index.get(&st.custom_filter_id) {
            status_sets[*i].insert(st.status_id);
        }
    }
    let mut patterns: Vec<String> = Vec::new();
    let mut owners: Vec<Vec<Owner>> = Vec::new();
    let mut by_pattern: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<usize> = vec![0; filters.len()];
    let mut pattern_bytes = 0;
    for k in &keywords {
        let Some(&filter) = index.get(&k.custom_filter_id) else {
            continue;
        };
        let folded = fold(&k.keyword);
        let (Some(first), Some(last)) = (folded.chars().next(), folded.chars().next_back()) else {
            continue;
        };
        let owner = Owner {
            filter,
            order: order[filter],
            start_boundary: k.whole_word && is_word(first),
            end_boundary: k.whole_word && is_word(last),
        };
        order[filter] += 1;
        let slot = match by_pattern.get(&folded) {
            Some(slot) => *slot,
            None => {
                pattern_bytes += folded.len();
                by_pattern.insert(folded.clone(), patterns.len());
                patterns.push(folded);
                owners.push(Vec::new());
                patterns.len() - 1
            }
        };
        owners[slot].push(owner);
    }
    let automaton = if patterns.is_empty() {
        None
    } else {
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
        {
            Ok(ac) => Some((ac, owners)),
            Err(e) => {
                tracing::warn!(error = %e, "filter keywords do not compile");
                None
            }
        }
    };
    let weight = 4096
        + filters.len() * 512
        + statuses.len() * 32
        + keywords.len() * 64
        + pattern_bytes
        + automaton.as_ref().map_or(0, |(ac, _)| ac.memory_usage());
    CompiledFilters {
        filters,
        statuses: status_sets,
        keywords: automaton,
        weight,
    }
}

impl CompiledFilters {
    fn empty() -> CompiledFilters {
        CompiledFilters {
            filters: Vec::new(),
            statuses: Vec::new(),
            keywords: None,
            weight: 0,
        }
    }

    /// For each active filter whose keywords occur in `text`: its index and
    /// the leftmost occurrence (the filter's first keyword on a tie), as
    /// `text` has it. Each occurrence examined spends `budget`.
    fn scan(&self, text: &str, active: &[bool], budget: &mut usize) -> Vec<(usize, String)> {
        let Some((ac, owners)) = &self.keywords else {
            return Vec::new();
        };
        if *budget == 0 {
            return Vec::new();
        }
        let (folded, origin) = fold_mapped(text);
        // Per filter: (start, keyword order, end) of the best occurrence.
        let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; self.filters.len()];
        'occurrences: for m in ac.find_overlapping_iter(folded.as_str()) {
            let users = owners
                .get(m.pattern().as_usize())
                .map_or(&[][..], Vec::as_slice);
            for o in users {
                if *budget == 0 {
                    tracing::warn!("filter keyword matching stopped at its budget");
                    break 'occurrences;
                }
                *budget -= 1;
                if !active.get(o.filter).copied().unwrap_or(false) {
                    continue;
                }
                if best[o.filter].is_some_and(|(s, ord, _)| (s, ord) <= (m.start(), o.order)) {
                    continue;
                }
                if o.start_boundary && folded[..m.start()].chars().next_back().is_some_and(is_word)
                {
                    continue;
                }
                if o.end_boundary && folded[m.end()..].chars().next().is_some_and(is_word) {
                    continue;
                }
                best[o.filter] = Some((m.start(), o.order, m.end()));
            }
        }
        best.iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let (start, _, end) = (*b)?;
                let from = *origin.get(start)?;
                let last = *origin.get(end.checked_sub(1)?)?;
                let to = last + text.get(last..)?.chars().next()?.len_utf8();
                Some((i, text.get(from..to)?.to_owned()))
            })
            .collect()
    }
}

/// Each process's compiled filters of recently seen accounts, by filter
/// version: bounded in entries and in (estimated) bytes, least recently used
/// out first. A version read from the database says whether an entry is
/// current, so a change made through another process is never missed.
#[derive(Default)]
pub struct FilterCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<AccountId, CacheEntry>,
    bytes: usize,
    clock: u64,
}

struct CacheEntry {
    version: i64,
    compiled: Arc<CompiledFilters>,
    used: u64,
}

impl FilterCache {
    fn get(&self, account: AccountId, version: i64) -> Option<Arc<CompiledFilters>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&account)?;
        if entry.version != version {
            return None;
        }
        entry.used = now;
        Some(entry.compiled.clone())
    }

    fn put(&self, account: AccountId, version: i64, compiled: Arc<CompiledFilters>) {
        if compiled.weight > CACHE_BYTES {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner
            .entries
            .get(&account)
            .is_some_and(|e| e.version > version)
        {
            // A slower compile of older filters: keep the newer entry.
            return;
        }
        inner.clock += 1;
        let used = inner.clock;
        let weight = compiled.weight;
        if let Some(old) = inner.entries.insert(
            account,
            CacheEntry {
                version,
                compiled,
                used,
            },
        ) {
            inner.bytes -= old.compiled.weight;
        }
        inner.bytes += weight;
        while inner.entries.len() > CACHE_ENTRIES || inner.bytes > CACHE_BYTES {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(a, _)| *a)
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.compiled.weight;
            }
        }
    }
}

/// A reader's active filters, ready to match statuses.
pub struct FilterMatcher {
    viewer: AccountId,
    compiled: Arc<CompiledFilters>,
    active: Vec<bool>,
    /// Keyword matches of the statuses scanned when it was made, by status id.
    hits: HashMap<StatusId, Vec<(usize, String)>>,
}

/// The text a filter's keywords are matched against: content warning,
/// then the text (the source of local statuses, the HTML made plain otherwise).
fn searchable_text(s: &Status) -> String {
    let body = if s.text.is_empty() {
        text::plain_text(&s.content)
    } else {
        s.text.clone()
    };
    if s.spoiler_text.is_empty() {
        body
    } else {
        format!("{}\n\n{body}", s.spoiler_text)
    }
}

impl FilterMatcher {
    /// Whether no filter is active (matching is then free).
    pub fn is_empty(&self) -> bool {
        !self.active.iter().any(|a| *a)
    }

    /// The filters `status` matches; `original` is what a reblog shares,
    /// whose text is matched and whose id counts too.
    pub fn matches(&self, status: &Status, original: Option<&Status>) -> Vec<FilterResult> {
        let proper = original.unwrap_or(status);
        if self.is_empty() || proper.account_id == self.viewer {
            return Vec::new();
        }
        let scanned;
        let keyword_hits = match self.hits.get(&proper.id) {
            Some(h) => h.as_slice(),
            None if self.compiled.keywords.is_some() => {
                // Not among the statuses scanned up front: one text, bounded.
                let mut budget = SCAN_BUDGET / 100;
                scanned = self
                    .compiled
                    .scan(&searchable_text(proper), &self.active, &mut budget);
                scanned.as_slice()
            }
            None => &[],
        };
        let ids = [status.id.0, proper.id.0];
        let mut out = Vec::new();
        for (i, filter) in self.compiled.filters.iter().enumerate() {
            if !self.active[i] {
                continue;
            }
            let keyword_matches = keyword_hits
                .iter()
                .find(|(f, _)| *f == i)
                .map(|(_, m)| vec![m.clone()]);
            let mut matched_ids: Vec<String> = Vec::new();
            for id in ids {
                if self.compiled.statuses[i].contains(&id) && !matched_ids.contains(&id.to_string())
                {
                    matched_ids.push(id.to_string());
                }
            }
            let status_matches = (!matched_ids.is_empty()).then_some(matched_ids);
            if keyword_matches.is_some() || status_matches.is_some() {
                out.push(FilterResult {
                    filter: filter.clone(),
                    keyword_matches,
                    status_matches,
                });
            }
        }
        out
    }
}

impl Services {
    /// `viewer`'s active filters, compiled (from the cache while the
    /// account's filter version is unchanged), with the keywords already
    /// looked for in `statuses` (off the async workers).
    pub async fn filter_matcher(
        &self,
        viewer: AccountId,
        statuses: &[&Status],
    ) -> Result<FilterMatcher> {
        let db = self.db();
        let version = store::version(db, viewer).await?;
        let compiled = if version == 0 {
            Arc::new(CompiledFilters::empty())
        } else if let Some(c) = self.filter_cache().get(viewer, version) {
            c
        } else {
            // The version is read first: filters read after it are at least
            // that new, so the entry can only be newer than its key says.
            let filters = store::of_account(db, viewer).await?;
            let ids: Vec<i64> = filters.iter().map(|f| f.id).collect();
            let keywords = store::keywords_of(db, &ids).await?;
            let filter_statuses = store::statuses_of(db, &ids).await?;
            let compiled =
                tokio::task::spawn_blocking(move || compile(filters, keywords, filter_statuses))
                    .await
                    .map_err(|e| ServiceError::Internal(format!("compiling filters: {e}")))?;
            let compiled = Arc::new(compiled);
            self.filter_cache().put(viewer, version, compiled.clone());
            compiled
        };
        let now = ferrodon_storage::now();
        let active: Vec<bool> = compiled.filters.iter().map(|f| f.is_active(now)).collect();
        let mut matcher = FilterMatcher {
            viewer,
            compiled,
            active,
            hits: HashMap::new(),
        };
        if matcher.is_empty() || matcher.compiled.keywords.is_none() {
            return Ok(matcher);
        }
        let mut seen = HashSet::new();
        let texts: Vec<(StatusId, String)> = statuses
            .iter()
            .filter(|s| s.reblog_of_id.is_none() && s.account_id != viewer && seen.insert(s.id))
            .map(|s| (s.id, searchable_text(s)))
            .collect();
        if texts.is_empty() {
            return Ok(matcher);
        }
        let compiled = matcher.compiled.clone();
        let active = matcher.active.clone();
        matcher.hits = tokio::task::spawn_blocking(move || {
            let mut budget = SCAN_BUDGET;
            texts
                .into_iter()
                .map(|(id, text)| (id, compiled.scan(&text, &active, &mut budget)))
                .collect()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("matching filters: {e}")))?;
        Ok(matcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(id: i64) -> CustomFilter {
        CustomFilter {
            id,
            account_id: 1,
            title: format!("f{id}"),
            context: "home".into(),
            action: "warn".into(),
            expires_at: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn kw(filter: i64, keyword: &str, whole_word: bool) -> FilterKeyword {
        FilterKeyword {
            id: 1,
            custom_filter_id: filter,
            keyword: keyword.to_owned(),
            whole_word,
        }
    }

    /// What the first of filters 1 and 2 (holding `keywords`) finds in `text`.
    fn finds(keywords: &[FilterKeyword], text: &str) -> Option<String> {
        let c = compile(vec![filter(1), filter(2)], keywords.to_vec(), Vec::new());
        let mut budget = SCAN_BUDGET;
        c.scan(text, &[true, true], &mut budget)
            .into_iter()
            .next()
            .map(|(_, m)| m)
    }

    #[test]
    fn keywords_match_case_insensitively_and_by_word() {
        assert_eq!(
            finds(&[kw(1, "cat", true)], "A CAT sat"),
            Some("CAT".into())
        );
        assert_eq!(finds(&[kw(1, "cat", true)], "concatenate"), None);
        assert_eq!(
            finds(&[kw(1, "cat", false)], "concatenate"),
            Some("cat".into())
        );
        // A keyword starting with punctuation has no boundary there.
        assert_eq!(
            finds(&[kw(1, "#tag", true)], "see #tag!"),
            Some("#tag".into())
        );
        assert_eq!(finds(&[kw(1, "a.b", true)], "axb"), None, "literal");
        assert_eq!(
            finds(&[kw(1, "über", true)], "Das ist ÜBER alles"),
            Some("ÜBER".into())
        );
        assert_eq!(
            finds(&[kw(1, "x", true), kw(1, "dog", true)], "hot dog"),
            Some("dog".into())
        );
        // A rejected occurrence does not hide a later one.
        assert_eq!(
            finds(&[kw(1, "cat", true)], "concatenate, then a cat"),
            Some("cat".into())
        );
        // Leftmost wins; on a tie, the filter's first keyword.
        assert_eq!(
            finds(&[kw(1, "dog", false), kw(1, "hot", false)], "hot dog"),
            Some("hot".into())
        );
        assert_eq!(
            finds(&[kw(1, "hot", false), kw(1, "hot dog", false)], "a hot dog"),
            Some("hot".into())
        );
        assert_eq!(
            finds(&[kw(1, "ΣΟΦΟΣ", true)], "ὁ σοφός σοφος"),
            Some("σοφος".into())
        );
        assert_eq!(
            finds(&[kw(1, "straße", true)], "STRAẞE"),
            Some("STRAẞE".into())
        );
        assert_eq!(
            finds(&[kw(1, "i̇stanbul", true)], "İSTANBUL"),
            Some("İSTANBUL".into())
        );
    }

    #[test]
    fn filters_share_keywords_and_report_separately() {
        let c = compile(
            vec![filter(1), filter(2), filter(3)],
            vec![kw(1, "cat", true), kw(2, "CAT", false), kw(3, "dog", true)],
            Vec::new(),
        );
        let mut budget = SCAN_BUDGET;
        let hits = c.scan("concatenate a Cat", &[true, true, true], &mut budget);
        assert_eq!(hits, vec![(0, "Cat".into()), (1, "cat".into())]);
        let hits = c.scan("a cat", &[false, true, true], &mut budget);
        assert_eq!(
            hits,
            vec![(1, "cat".into())],
            "inactive filters are skipped"
        );
    }

    #[test]
    fn matching_work_is_bounded() {
        // Every suffix of a long word, in every filter, against text made of it.
        let filters: Vec<CustomFilter> = (1..=100).map(filter).collect();
        let keywords: Vec<FilterKeyword> = (0..1000)
            .map(|i| kw(1 + i % 100, &"a".repeat(1 + (i as usize) % 512), true))
            .collect();
        let c = compile(filters, keywords, Vec::new());
        let text = "a".repeat(5000);
        let active = vec![true; 100];
        let mut budget = SCAN_BUDGET;
        let started = std::time::Instant::now();
        for _ in 0..40 {
            c.scan(&text, &active, &mut budget);
        }
        assert_eq!(budget, 0, "the budget ran out");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // Whole words at both ends still match.
        let mut budget = SCAN_BUDGET;
        assert_eq!(c.scan("b aaa b", &active, &mut budget).len(), 2);
    }

    #[test]
    fn the_cache_keeps_current_versions_within_its_bounds() {
        let cache = FilterCache::default();
        let a = AccountId(1);
        let compiled = |n: usize| {
            Arc::new(CompiledFilters {
                weight: n,
                ..CompiledFilters::empty()
            })
        };
        cache.put(a, 2, compiled(10));
        assert!(cache.get(a, 2).is_some());
        assert!(cache.get(a, 3).is_none(), "another version is a miss");
        cache.put(a, 1, compiled(10));
        assert!(
            cache.get(a, 2).is_some(),
            "an older compile does not replace a newer one"
        );
        for i in 0..(CACHE_ENTRIES as i64 + 10) {
            cache.put(AccountId(100 + i), 1, compiled(10));
        }
        let inner = cache.inner.lock().unwrap_or_else(|e| e.into_inner());
        assert!(inner.entries.len() <= CACHE_ENTRIES);
        drop(inner);
        cache.put(AccountId(5), 1, compiled(CACHE_BYTES / 2 + 1));
        cache.put(AccountId(6), 1, compiled(CACHE_BYTES / 2 + 1));
        let inner = cache.inner.lock().unwrap_or_else(|e| e.into_inner());
        assert!(inner.bytes <= CACHE_BYTES);
        assert!(inner.entries.contains_key(&AccountId(6)));
        assert!(!inner.entries.contains_key(&AccountId(5)));
    }
}
