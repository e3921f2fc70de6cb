//! Home feeds: per-account lists of status ids filled by fan-out on write.
//!
//! [`FeedStore`] has two implementations: [`SqlFeedStore`] (a table in the
//! SQL database, the embedded default) and [`RedisFeedStore`] (sorted sets
//! capped at [`HOME_FEED_MAX`] ids, as Mastodon's, when `REDIS_URL` is set).
//! A feed that was never built (or was lost) reports `exists() == false`; the
//! reader then rebuilds it from the database instead of serving it empty.

use std::fmt;

use async_trait::async_trait;
use ferrodon_model::{AccountId, PageBounds, StatusId};
use redis::aio::ConnectionManager;

use crate::sql::{self, Query, args};
use crate::{Db, Result};

/// Ids kept per home feed, as Mastodon's `FeedManager::MAX_ITEMS`.
pub const HOME_FEED_MAX: usize = 400;

/// One feed entry: a status, and for a reblog the status it reblogs (so a
/// feed shows a post once, not once more per reblog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    pub status_id: StatusId,
    pub reblog_of_id: Option<StatusId>,
}

/// Where home feeds live.
#[async_trait]
pub trait FeedStore: Send + Sync + fmt::Debug {
    /// Whether `account`'s feed has been built (a missing feed must be rebuilt).
    async fn exists(&self, account: AccountId) -> Result<bool>;
    /// Records that `account`'s feed is built.
    async fn mark_built(&self, account: AccountId) -> Result<()>;
    /// Adds `entry` to each of `accounts`' feeds. A reblog whose original (or
    /// another reblog of it) is already in a feed is skipped for that feed.
    async fn push(&self, accounts: &[AccountId], entry: FeedEntry) -> Result<()>;
    /// Adds entries to one feed (rebuilding it, or merging a newly followed account).
    async fn merge(&self, account: AccountId, entries: &[FeedEntry]) -> Result<()>;
    /// Removes statuses from one feed (e.g. after an unfollow).
    async fn remove(&self, account: AccountId, statuses: &[StatusId]) -> Result<()>;
    /// Removes one status from several feeds (e.g. after a delete).
    async fn remove_from(&self, accounts: &[AccountId], status: StatusId) -> Result<()>;
    /// A page of the feed, newest first.
    async fn page(&self, account: AccountId, bounds: &PageBounds) -> Result<Vec<StatusId>>;
}

/// Home feeds in the SQL database.
#[derive(Debug, Clone)]
pub struct SqlFeedStore {
    db: Db,
}

impl SqlFeedStore {
    pub fn new(db: Db) -> Self {
        SqlFeedStore { db }
    }
}

/// Inserts an entry unless a reblog's original is already in the feed.
const SQL_PUSH: &str = "INSERT INTO home_feed_entries (account_id, status_id, reblog_of_id) \
     SELECT $1, $2, $3 WHERE $3 IS NULL OR NOT EXISTS (SELECT 1 FROM home_feed_entries \
     WHERE account_id = $1 AND (status_id = $3 OR reblog_of_id = $3)) \
     ON CONFLICT DO NOTHING";

/// Keeps the newest [`HOME_FEED_MAX`] entries of one feed.
const SQL_TRIM: &str = "DELETE FROM home_feed_entries WHERE account_id = $1 AND status_id <= \
     (SELECT status_id FROM home_feed_entries WHERE account_id = $1 \
      ORDER BY status_id DESC LIMIT 1 OFFSET $2)";

impl SqlFeedStore {
    async fn push_entries(&self, pairs: &[(AccountId, FeedEntry)]) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let mut touched = Vec::new();
        for (account, entry) in pairs {
            let inserted = sql::execute(
                &mut tx,
                SQL_PUSH,
                args![*account, entry.status_id, entry.reblog_of_id],
            )
            .await?;
            if inserted > 0 && !touched.contains(account) {
                touched.push(*account);
            }
        }
        // Trimming costs a short index scan; doing it on about one push in
        // eight keeps feeds near the cap at an eighth of the cost.
        for account in touched {
            if rand_one_in(8) {
                sql::execute(&mut tx, SQL_TRIM, args![account, HOME_FEED_MAX as i64]).await?;
            }
        }
        tx.commit().await
    }
}

fn rand_one_in(n: u32) -> bool {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed).is_multiple_of(n)
}

#[async_trait]
impl FeedStore for SqlFeedStore {
    async fn exists(&self, account: AccountId) -> Result<bool> {
        sql::fetch_optional_scalar::<i64>(
            &self.db,
            "SELECT CAST(1 AS BIGINT) FROM home_feeds WHERE account_id = $1",
            args![account],
        )
        .await
        .map(|r| r.is_some())
    }

    async fn mark_built(&self, account: AccountId) -> Result<()> {
        sql::execute(
            &self.db,
            "INSERT INTO home_feeds (account_id, built_at) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO UPDATE SET built_at = excluded.built_at",
            args![account, crate::now()],
        )
        .await
        .map(|_| ())
    }

    async fn push(&self, accounts: &[AccountId], entry: FeedEntry) -> Result<()> {
        let pairs: Vec<_> = accounts.iter().map(|a| (*a, entry)).collect();
        self.push_entries(&pairs).await
    }

    async fn merge(&self, account: AccountId, entries: &[FeedEntry]) -> Result<()> {
        let pairs: Vec<_> = entries.iter().map(|e| (account, *e)).collect();
        self.push_entries(&pairs).await?;
        sql::execute(&self.db, SQL_TRIM, args![account, HOME_FEED_MAX as i64])
            .await
            .map(|_| ())
    }

    async fn remove(&self, account: AccountId, statuses: &[StatusId]) -> Result<()> {
        if statuses.is_empty() {
            return Ok(());
        }
        let mut q = Query::new("DELETE FROM home_feed_entries WHERE account_id = ");
        let p = q.bind(account);
        q.push(&p);
        q.push(" AND status_id IN (");
        let list: Vec<String> = statuses.iter().map(|s| q.bind(*s)).collect();
        q.push(&list.join(", "));
        q.push(")");
        sql::execute(&self.db, q.sql, q.args).await.map(|_| ())
    }

    async fn remove_from(&self, _accounts: &[AccountId], status: StatusId) -> Result<()> {
        // One indexed delete covers every feed, whoever the recipients were.
        sql::execute(
            &self.db,
            "DELETE FROM home_feed_entries WHERE status_id = $1",
            args![status],
        )
        .await
        .map(|_| ())
    }

    async fn page(&self, account: AccountId, bounds: &PageBounds) -> Result<Vec<StatusId>> {
        let mut q = Query::new("SELECT status_id FROM home_feed_entries WHERE account_id = ");
        let p = q.bind(account);
        q.push(&p);
        q.page("status_id", bounds);
        let mut ids: Vec<i64> = sql::fetch_column(&self.db, q.sql, q.args).await?;
        if bounds.ascending() {
            ids.reverse();
        }
        Ok(ids.into_iter().map(StatusId).collect())
    }
}

/// Home feeds in Redis sorted sets.
///
/// Every member has score 0 and is the id zero-padded to 20 digits, so the
/// set is ordered lexicographically by exact id (scores are doubles and
/// cannot hold a 64-bit id exactly) and pages are `ZRANGEBYLEX` ranges.
#[derive(Clone)]
pub struct RedisFeedStore {
    conn: ConnectionManager,
    prefix: String,
    push_script: redis::Script,
}

impl fmt::Debug for RedisFeedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisFeedStore(prefix={:?})", self.prefix)
    }
}

/// Adds one entry to a feed. KEYS: feed, reblog index. ARGV: member, original
/// member or "", cap. Every key it touches is declared (Dragonfly requires it).
pub(crate) const PUSH_LUA: &str = r#"
if ARGV[2] ~= "" then
  if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
    return 0
  end
  if redis.call('HLEN', KEYS[2]) >= 2 * tonumber(ARGV[3]) then
    redis.call('DEL', KEYS[2])
  end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
end
local added = redis.call('ZADD', KEYS[1], 0, ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[3])
if n > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
end
return added
"#;

fn member(id: StatusId) -> String {
    format!("{:020}", id.0)
}

impl RedisFeedStore {
    /// Connects to `url`; every key starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(5)))
            .set_response_timeout(Some(std::time::Duration::from_secs(10)))
            .set_number_of_retries(3);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisFeedStore {
            conn,
            prefix: prefix.to_owned(),
            push_script: redis::Script::new(PUSH_LUA),
        })
    }

    fn feed_key(&self, account: AccountId) -> String {
        format!("{}feed:home:{}", self.prefix, account.0)
    }
    fn reblogs_key(&self, account: AccountId) -> String {
        format!("{}feed:home:{}:reblogs", self.prefix, account.0)
    }
    fn built_key(&self, account: AccountId) -> String {
        format!("{}feed:home:{}:built", self.prefix, account.0)
    }

    async fn push_pairs(&self, pairs: &[(AccountId, FeedEntry)]) -> Result<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&self.push_script).ignore();
        for (account, entry) in pairs {
            let mut inv = self.push_script.prepare_invoke();
            inv.key(self.feed_key(*account))
                .key(self.reblogs_key(*account))
                .arg(member(entry.status_id))
                .arg(entry.reblog_of_id.map(member).unwrap_or_default())
                .arg(HOME_FEED_MAX);
            pipe.invoke_script(&inv).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }
}

#[async_trait]
impl FeedStore for RedisFeedStore {
    async fn exists(&self, account: AccountId) -> Result<bool> {
        let mut conn = self.conn.clone();
        let n: i64 = redis::cmd("EXISTS")
            .arg(self.built_key(account))
            .query_async(&mut conn)
            .await?;
        Ok(n > 0)
    }

    async fn mark_built(&self, account: AccountId) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.built_key(account))
            .arg(1)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn push(&self, accounts: &[AccountId], entry: FeedEntry) -> Result<()> {
        let pairs: Vec<_> = accounts.iter().map(|a| (*a, entry)).collect();
        self.push_pairs(&pairs).await
    }

    async fn merge(&self, account: AccountId, entries: &[FeedEntry]) -> Result<()> {
        let pairs: Vec<_> = entries.iter().map(|e| (account, *e)).collect();
        self.push_pairs(&pairs).await
    }

    async fn remove(&self, account: AccountId, statuses: &[StatusId]) -> Result<()> {
        if statuses.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.feed_key(account));
        for s in statuses {
            cmd.arg(member(*s));
        }
        cmd.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn remove_from(&self, accounts: &[AccountId], status: StatusId) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for account in accounts {
            pipe.cmd("ZREM")
                .arg(self.feed_key(*account))
                .arg(member(status))
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn page(&self, account: AccountId, bounds: &PageBounds) -> Result<Vec<StatusId>> {
        let upper = bounds
            .max_id
            .map(|m| format!("({}", member(StatusId(m))))
            .unwrap_or_else(|| "+".to_owned());
        let lower = bounds
            .lower()
            .map(|m| format!("({}", member(StatusId(m))))
            .unwrap_or_else(|| "-".to_owned());
        let mut conn = self.conn.clone();
        let members: Vec<String> = if bounds.ascending() {
            redis::cmd("ZRANGEBYLEX")
                .arg(self.feed_key(account))
                .arg(&lower)
                .arg(&upper)
                .arg("LIMIT")
                .arg(0)
                .arg(bounds.limit)
                .query_async(&mut conn)
                .await?
        } else {
            redis::cmd("ZREVRANGEBYLEX")
                .arg(self.feed_key(account))
                .arg(&upper)
                .arg(&lower)
                .arg("LIMIT")
                .arg(0)
                .arg(bounds.limit)
                .query_async(&mut conn)
                .await?
        };
        let mut ids = members
            .iter()
            .map(|m| {
                m.parse::<i64>()
                    .map(StatusId)
                    .map_err(|_| crate::StorageError::Corrupt(format!("feed member {m:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        if bounds.ascending() {
            ids.reverse();
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{local_account, storage_test};

    fn entry(id: i64) -> FeedEntry {
        FeedEntry {
            status_id: StatusId(id),
            reblog_of_id: None,
        }
    }

    /// The behaviour every store must have: ordering, paging, reblog
    /// de-duplication, the cap and removal.
    async fn exercise(store: &dyn FeedStore, account: AccountId) {
        assert!(!store.exists(account).await.unwrap_or(true));
        store
            .mark_built(account)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.exists(account).await.unwrap_or(false));

        // Ids that differ only beyond a double's precision must stay ordered.
        let base: i64 = 110_000_000_000_000_000;
        for i in [3, 1, 2] {
            store
                .push(&[account], entry(base + i))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let all = store
            .page(account, &PageBounds::first(10))
            .await
            .unwrap_or_default();
        assert_eq!(
            all,
            vec![StatusId(base + 3), StatusId(base + 2), StatusId(base + 1)]
        );
        let below = PageBounds {
            max_id: Some(base + 3),
            ..PageBounds::first(1)
        };
        assert_eq!(
            store.page(account, &below).await.unwrap_or_default(),
            vec![StatusId(base + 2)]
        );
        let after = PageBounds {
            min_id: Some(base + 1),
            ..PageBounds::first(1)
        };
        assert_eq!(
            store.page(account, &after).await.unwrap_or_default(),
            vec![StatusId(base + 2)]
        );
        let since = PageBounds {
            since_id: Some(base + 1),
            ..PageBounds::first(1)
        };
        assert_eq!(
            store.page(account, &since).await.unwrap_or_default(),
            vec![StatusId(base + 3)]
        );

        // A reblog of a status already in the feed is not added again.
        let reblog = FeedEntry {
            status_id: StatusId(base + 10),
            reblog_of_id: Some(StatusId(base + 2)),
        };
        store
            .push(&[account], reblog)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let page = store
            .page(account, &PageBounds::first(10))
            .await
            .unwrap_or_default();
        assert!(!page.contains(&StatusId(base + 10)));

        store
            .remove(account, &[StatusId(base + 3)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .remove_from(&[account], StatusId(base + 2))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let page = store
            .page(account, &PageBounds::first(10))
            .await
            .unwrap_or_default();
        assert_eq!(page, vec![StatusId(base + 1)]);

        // Merging many entries keeps the newest HOME_FEED_MAX.
        let many: Vec<FeedEntry> = (100..(100 + HOME_FEED_MAX as i64 + 50))
            .map(|i| entry(base + i))
            .collect();
        store
            .merge(account, &many)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut bounds = PageBounds::first(40);
        let mut seen = Vec::new();
        loop {
            let page = store.page(account, &bounds).await.unwrap_or_default();
            let Some(last) = page.last() else { break };
            bounds.max_id = Some(last.0);
            seen.extend(page);
        }
        assert!(
            seen.len() <= HOME_FEED_MAX + 8,
            "feed not trimmed: {}",
            seen.len()
        );
        assert_eq!(
            seen.first(),
            Some(&StatusId(base + 100 + HOME_FEED_MAX as i64 + 49))
        );
    }

    storage_test!(sql_feed_store, |db: Db| async move {
        let account = local_account(&db).await;
        exercise(&SqlFeedStore::new(db), account).await;
    });

    #[tokio::test]
    async fn redis_feed_store() {
        if !ferrodon_testkit::lane_available(ferrodon_testkit::Lane::Redis) {
            return;
        }
        let Some(url) = ferrodon_testkit::redis_url() else {
            return;
        };
        let prefix = format!("{}:", ferrodon_testkit::unique_namespace());
        let store = RedisFeedStore::connect(&url, &prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        exercise(&store, AccountId(7)).await;
    }
}
