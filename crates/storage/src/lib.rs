//! Storage: the only crate that knows SQL and the Redis-API store.
//!
//! One set of storage functions serves SQLite and PostgreSQL. A [`Db`] holds a
//! typed sqlx pool for one of them; every query goes through the functions in
//! [`sql`] (the one dispatch point), which bind the same `$N`-placeholder SQL
//! to the right backend and, when `PREPARED_STATEMENTS=false`, send PostgreSQL
//! only unnamed statements so PgBouncer in transaction mode works. SQL that
//! has to differ per backend is rare and written as a labelled
//! [`Dialect`] match next to its twin.
//!
//! Nothing here uses session state: no `SET`, no `LISTEN`, no session advisory
//! locks (except sqlx's migrator, which only runs over the direct URL).

pub mod accounts;
pub mod conversations;
pub mod deliveries;
pub mod discovery;
pub mod domain_policy;
pub mod emojis;
pub mod feeds;
pub mod filters;
pub mod follows;
pub mod idempotency;
pub mod jobs;
pub mod keys;
pub mod lists;
pub mod marks;
pub mod media;
pub mod notification_policies;
pub mod notifications;
pub mod oauth;
pub mod polls;
pub mod preview_cards;
pub mod quotes;
pub mod redis_jobs;
pub mod relations;
pub mod remote;
pub mod scheduled;
pub mod search;
pub mod server_content;
mod sql;
pub mod statuses;
pub mod tags;
pub mod trends;
pub mod users;
pub mod visibility;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::Notify;

pub use sql::Arg;

/// How long a query waits for a pooled connection (including connecting)
/// before the request fails as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint refused the write (the caller decides what it means).
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database cannot be reached now (pool timeout, lost connection).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("unexpected redis reply: {0}")]
    RedisReply(#[from] redis::ParsingError),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value cannot be read back (corrupt row, bad JSON).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The database URL or options cannot be used.
    #[error("cannot connect: {0}")]
    Connect(String),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StorageError::Conflict(db.constraint().unwrap_or("unique").to_owned());
        }
        // The server is going away or refuses connections: SQLSTATE class 08
        // (connection exception), 57P01–57P03 (shutdown, cannot connect now),
        // 3D000 (the database does not exist, e.g. dropped under us).
        let gone = |code: &str| {
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "3D000")
        };
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StorageError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.code().is_some_and(|c| gone(&c)) => {
                StorageError::Unavailable(e)
            }
            _ => StorageError::Database(e),
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Which SQL dialect a query is for, where the two must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Connection settings for [`Db::connect`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub pool: u32,
    /// `false`: PostgreSQL gets only unnamed statements (PgBouncer < 1.21).
    pub prepared_statements: bool,
}

/// A database pool: SQLite or PostgreSQL.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    /// Woken after a commit that enqueued jobs, so an in-process worker starts at once.
    jobs_notify: Arc<Notify>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres { pool: PgPool, persistent: bool },
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.dialect())
    }
}

/// Makes sure a SQLite database at `path` is the owner's alone: its missing
/// directories are created 0700 and a new database file 0600 (SQLite gives
/// its `-wal` and `-shm` files the database file's mode); an existing file
/// readable by others is tightened to 0600, with its `-wal` and `-shm`. It
/// holds password hashes and OAuth client secrets.
fn private_database_file(path: &std::path::Path) -> Result<()> {
    let fail = |p: &std::path::Path, e: std::io::Error| {
        StorageError::Connect(format!("{}: {e}", p.display()))
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| fail(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = path.as_os_str().to_owned();
                    name.push(suffix);
                    let file = std::path::PathBuf::from(name);
                    let Ok(meta) = std::fs::metadata(&file) else {
                        continue;
                    };
                    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                        match std::fs::set_permissions(
                            &file,
                            std::fs::Permissions::from_mode(0o600),
                        ) {
                            Ok(()) => tracing::warn!(
                                file = %file.display(),
                                "the database file was readable by others; now 0600"
                            ),
                            Err(e) => tracing::warn!(
                                file = %file.display(),
                                error = %e,
                                "the database file is readable by others and cannot be made private"
                            ),
                        }
                    }
                }
            }
            Ok(())
        }
        Err(e) => Err(fail(path, e)),
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects a pool. SQLite files (and their directory) are created when missing.
    pub async fn connect(options: &DbOptions) -> Result<Db> {
        let backend = if options.url.starts_with("sqlite:") {
            let path = options
                .url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            if !path.is_empty() && !path.starts_with(':') {
                private_database_file(std::path::Path::new(path))?;
            }
            let opts = SqliteConnectOptions::from_str(&options.url)
                .map_err(|e| StorageError::Connect(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(options.pool.max(2))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await
                .map_err(|e| StorageError::Connect(e.to_string()))?;
            Backend::Sqlite(pool)
        } else {
            let mut opts = PgConnectOptions::from_str(&options.url)
                .map_err(|e| StorageError::Connect(e.to_string()))?
                // PgBouncer refuses unknown startup parameters; this one is optional.
                .extra_float_digits(None)
                .application_name("ferrodon");
            if !options.prepared_statements {
                opts = opts.statement_cache_capacity(0);
            }
            let pool = PgPoolOptions::new()
                .max_connections(options.pool)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await
                .map_err(|e| StorageError::Connect(e.to_string()))?;
            Backend::Postgres {
                pool,
                persistent: options.prepared_statements,
            }
        };
        Ok(Db {
            backend,
            jobs_notify: Arc::new(Notify::new()),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Starts a transaction. SQLite transactions take the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers wait for each other instead of
    /// failing when a read lock cannot be upgraded.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.backend {
            Backend::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres { pool, persistent } => {
                TxInner::Postgres(pool.begin().await?, *persistent)
            }
        };
        Ok(Tx {
            inner,
            enqueued_jobs: false,
            jobs_notify: self.jobs_notify.clone(),
        })
    }

    /// Notified after every commit that enqueued jobs.
    pub fn jobs_notify(&self) -> Arc<Notify> {
        self.jobs_notify.clone()
    }

    /// Applies pending migrations. Use the direct URL: on PostgreSQL the
    /// migrator holds a session advisory lock, which PgBouncer cannot keep.
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await?,
            Backend::Postgres { pool, .. } => POSTGRES_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// Versions of the migrations this binary has that the database has not applied.
    ///
    /// Plain reads only, so it is safe through PgBouncer.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let migrator = match self.backend {
            Backend::Sqlite(_) => &SQLITE_MIGRATOR,
            Backend::Postgres { .. } => &POSTGRES_MIGRATOR,
        };
        let table_exists = match self.dialect() {
            Dialect::Sqlite => {
                sql::fetch_scalar::<i64>(
                    self,
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                    vec![],
                )
                .await?
            }
            Dialect::Postgres => {
                sql::fetch_scalar::<i64>(
                    self,
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                    vec![],
                )
                .await?
            }
        } > 0;
        let applied: Vec<i64> = if table_exists {
            sql::fetch_column(
                self,
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                vec![],
            )
            .await?
        } else {
            Vec::new()
        };
        Ok(migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Whether the database answers within a few seconds (for `/health`).
    pub async fn ping(&self) -> Result<()> {
        match tokio::time::timeout(Duration::from_secs(3), self.ping_now()).await {
            Ok(result) => result,
            Err(_) => Err(StorageError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }

    async fn ping_now(&self) -> Result<()> {
        sql::fetch_scalar::<i64>(self, "SELECT CAST(1 AS BIGINT)", vec![])
            .await
            .map(|_| ())
    }

    /// Pool figures for `/metrics`: (connections open, idle).
    pub fn pool_stats(&self) -> (u32, usize) {
        match &self.backend {
            Backend::Sqlite(p) => (p.size(), p.num_idle()),
            Backend::Postgres { pool, .. } => (pool.size(), pool.num_idle()),
        }
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres { pool, .. } => pool.close().await,
        }
    }
}

/// An open transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
    enqueued_jobs: bool,
    jobs_notify: Arc<Notify>,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>, bool),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx, _) => tx.commit().await?,
        }
        if self.enqueued_jobs {
            self.jobs_notify.notify_waiters();
            self.jobs_notify.notify_one();
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(..) => Dialect::Postgres,
        }
    }

    /// Marks that this transaction enqueued jobs (set by [`jobs::insert`]).
    pub(crate) fn mark_enqueued(&mut self) {
        self.enqueued_jobs = true;
    }
}

/// Where a query runs: a pool or an open transaction, on either backend.
pub enum Target<'a> {
    SqlitePool(&'a SqlitePool),
    SqliteConn(&'a mut SqliteConnection),
    PgPool(&'a PgPool, bool),
    PgConn(&'a mut PgConnection, bool),
}

impl Target<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Target::SqlitePool(_) | Target::SqliteConn(_) => Dialect::Sqlite,
            Target::PgPool(..) | Target::PgConn(..) => Dialect::Postgres,
        }
    }
}

/// Something queries can run on: `&Db` (a pooled connection per query) or
/// `&mut Tx` (inside the transaction).
pub trait Exec<'a>: Send {
    fn target(self) -> Target<'a>;
}

impl<'a> Exec<'a> for &'a Db {
    fn target(self) -> Target<'a> {
        match &self.backend {
            Backend::Sqlite(p) => Target::SqlitePool(p),
            Backend::Postgres { pool, persistent } => Target::PgPool(pool, *persistent),
        }
    }
}

impl<'a> Exec<'a> for Target<'a> {
    fn target(self) -> Target<'a> {
        self
    }
}

impl<'a> Exec<'a> for &'a mut Tx {
    fn target(self) -> Target<'a> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Target::SqliteConn(tx),
            TxInner::Postgres(tx, persistent) => Target::PgConn(tx, *persistent),
        }
    }
}

/// The current time as stored: whole microseconds, so values written by
/// either backend compare and round-trip exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod schema_tests {
    //! The SQLite and PostgreSQL schemas must describe the same tables,
    //! columns (normalised types, nullability) and indexes.

    use std::collections::BTreeSet;

    use super::*;
    use ferrodon_testkit::Lane;

    fn normalise_type(t: &str) -> &'static str {
        match t.to_ascii_lowercase().as_str() {
            "integer" | "bigint" | "smallint" | "int" | "int8" | "int4" | "int2" => "integer",
            "text" | "character varying" | "varchar" => "text",
            "boolean" | "bool" => "boolean",
            "real" | "double precision" | "float8" | "double" => "float",
            "timestamp" | "timestamp with time zone" | "timestamptz" => "timestamp",
            _ => "unknown",
        }
    }

    async fn sqlite_schema(db: &Db) -> (BTreeSet<String>, BTreeSet<String>) {
        let tables: Vec<String> = sql::fetch_column(
            db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' AND name NOT LIKE 'search\\_%' ESCAPE '\\'",
            vec![],
        )
        .await
        .unwrap_or_default();
        let mut columns = BTreeSet::new();
        for t in &tables {
            let rows: Vec<(String, String, bool, i64)> = sql::fetch_all(
                db,
                format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{t}')"),
                vec![],
            )
            .await
            .unwrap_or_default();
            for (name, ty, notnull, pk) in rows {
                // SQLite does not imply NOT NULL for primary keys; PostgreSQL does.
                let nullable = !(notnull || pk > 0);
                columns.insert(format!(
                    "{t}.{name} {} null={nullable}",
                    normalise_type(&ty)
                ));
            }
        }
        let indexes: Vec<(String, String, bool)> = sql::fetch_all(
            db,
            "SELECT il.name, m.name, il.\"unique\" FROM sqlite_master m, pragma_index_list(m.name) il \
             WHERE m.type = 'table' AND il.origin = 'c'",
            vec![],
        )
        .await
        .unwrap_or_default();
        let indexes = indexes
            .into_iter()
            .map(|(name, table, unique)| format!("{table}:{name} unique={unique}"))
            .collect();
        (columns, indexes)
    }

    async fn postgres_schema(db: &Db) -> (BTreeSet<String>, BTreeSet<String>) {
        let rows: Vec<(String, String, String, String)> = sql::fetch_all(
            db,
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '_sqlx_migrations'",
            vec![],
        )
        .await
        .unwrap_or_default();
        let columns = rows
            .into_iter()
            .map(|(t, c, ty, nullable)| {
                format!("{t}.{c} {} null={}", normalise_type(&ty), nullable == "YES")
            })
            .collect();
        let indexes: Vec<(String, String, bool)> = sql::fetch_all(
            db,
            "SELECT i.relname::text, t.relname::text, ix.indisunique FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND NOT ix.indisprimary \
             AND t.relname <> '_sqlx_migrations' AND i.relname NOT LIKE 'search\\_%'",
            vec![],
        )
        .await
        .unwrap_or_default();
        let indexes = indexes
            .into_iter()
            .map(|(name, table, unique)| format!("{table}:{name} unique={unique}"))
            .collect();
        (columns, indexes)
    }

    #[tokio::test]
    async fn sqlite_and_postgres_schemas_match() {
        let Some((sqlite, _s)) = testing::migrated(Lane::Sqlite).await else {
            panic!("sqlite lane is always available");
        };
        let Some((pg, _p)) = testing::migrated(Lane::Postgres).await else {
            return;
        };
        let (sqlite_cols, sqlite_idx) = sqlite_schema(&sqlite).await;
        let (pg_cols, pg_idx) = postgres_schema(&pg).await;
        assert!(
            sqlite_cols.len() > 50,
            "introspection found too little: {sqlite_cols:?}"
        );
        assert!(
            !sqlite_cols.iter().any(|c| c.contains(" unknown ")),
            "{sqlite_cols:?}"
        );
        assert!(
            !pg_cols.iter().any(|c| c.contains(" unknown ")),
            "{pg_cols:?}"
        );
        let only_sqlite: Vec<_> = sqlite_cols.difference(&pg_cols).collect();
        let only_pg: Vec<_> = pg_cols.difference(&sqlite_cols).collect();
        assert!(
            only_sqlite.is_empty() && only_pg.is_empty(),
            "columns differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
        );
        let only_sqlite: Vec<_> = sqlite_idx.difference(&pg_idx).collect();
        let only_pg: Vec<_> = pg_idx.difference(&sqlite_idx).collect();
        assert!(
            only_sqlite.is_empty() && only_pg.is_empty(),
            "indexes differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
        );
    }

    #[tokio::test]
    async fn migrations_report_pending_until_applied() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite:{}", dir.path().join("p.sqlite3").display());
        let db = Db::connect(&DbOptions {
            url,
            pool: 2,
            prepared_statements: true,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let pending = db.pending_migrations().await.unwrap_or_default();
        assert!(!pending.is_empty());
        db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(db.pending_migrations().await.ok(), Some(vec![]));
    }

    /// With `PREPARED_STATEMENTS=false` no named statement may reach
    /// PostgreSQL (PgBouncer < 1.21 in transaction mode cannot route them);
    /// with it on, named statements are used (so this check can fail).
    #[tokio::test]
    async fn unnamed_statements_only_when_prepared_statements_are_off() {
        let Some((_db, guard)) = testing::migrated(Lane::Postgres).await else {
            return;
        };
        for prepared in [false, true] {
            let db = Db::connect(&DbOptions {
                url: guard.direct_url.clone(),
                pool: 1,
                prepared_statements: prepared,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let id = ferrodon_model::AccountId(42);
            let _ = accounts::get(&db, id).await;
            let _ = statuses::public(
                &db,
                statuses::Locality::All,
                &ferrodon_model::PageBounds::first(20),
            )
            .await;
            let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
            let _ = accounts::get(&mut tx, id).await;
            let named: i64 = sql::fetch_scalar(
                &mut tx,
                "SELECT COUNT(*) FROM pg_prepared_statements",
                vec![],
            )
            .await
            .unwrap_or(-1);
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
            if prepared {
                assert!(
                    named > 0,
                    "with prepared statements on, expected named statements"
                );
            } else {
                assert_eq!(named, 0, "PREPARED_STATEMENTS=false sent named statements");
            }
            db.close().await;
        }
    }
}
