//! The one dispatch point: runs a `$N`-placeholder query on whichever backend
//! a [`Target`] is, binding [`Arg`]s and choosing named or unnamed statements.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite};

use crate::{Exec, Result, Target};

/// One bound parameter. `None` binds a typed NULL (PostgreSQL needs the type).
#[derive(Debug, Clone)]
pub enum Arg {
    I64(Option<i64>),
    I32(Option<i32>),
    I16(Option<i16>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
}

macro_rules! arg_from {
    ($($t:ty => $variant:ident $(via $conv:expr)?),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg { Arg::$variant(Some(arg_from!(@conv v $(, $conv)?))) }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Arg { Arg::$variant(v.map(|v| arg_from!(@conv v $(, $conv)?))) }
        }
    )*};
    (@conv $v:ident) => { $v };
    (@conv $v:ident, $conv:expr) => { ($conv)($v) };
}

arg_from! {
    i64 => I64,
    i32 => I32,
    i16 => I16,
    f64 => F64,
    bool => Bool,
    String => Text,
    &str => Text via |s: &str| s.to_owned(),
    &String => Text via |s: &String| s.clone(),
    DateTime<Utc> => Time,
    ferrodon_model::AccountId => I64 via |v: ferrodon_model::AccountId| v.0,
    ferrodon_model::UserId => I64 via |v: ferrodon_model::UserId| v.0,
    ferrodon_model::StatusId => I64 via |v: ferrodon_model::StatusId| v.0,
    ferrodon_model::AppId => I64 via |v: ferrodon_model::AppId| v.0,
    ferrodon_model::TokenId => I64 via |v: ferrodon_model::TokenId| v.0,
    ferrodon_model::GrantId => I64 via |v: ferrodon_model::GrantId| v.0,
    ferrodon_model::FollowId => I64 via |v: ferrodon_model::FollowId| v.0,
    ferrodon_model::TagId => I64 via |v: ferrodon_model::TagId| v.0,
    ferrodon_model::JobId => I64 via |v: ferrodon_model::JobId| v.0,
}

/// `args![a, b, c]`: a parameter list for the functions below.
macro_rules! args {
    ($($a:expr),* $(,)?) => { vec![$($crate::sql::Arg::from($a)),*] };
}
pub(crate) use args;

/// SQL text: a literal, or text built at run time from trusted fragments only
/// (placeholder lists, column names), never from input.
pub(crate) struct Sql(Cow<'static, str>);

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Sql {
        Sql(Cow::Borrowed(s))
    }
}

impl From<String> for Sql {
    fn from(s: String) -> Sql {
        Sql(Cow::Owned(s))
    }
}

/// SQL assembled at run time with numbered parameters.
pub(crate) struct Query {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
}

impl Query {
    pub(crate) fn new(sql: impl Into<String>) -> Query {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Adds a parameter and returns its placeholder (`$n`).
    pub(crate) fn bind(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    pub(crate) fn push(&mut self, fragment: &str) {
        self.sql.push_str(fragment);
    }

    /// Adds `AND col < max AND col > lower` for the bounds, then the order and
    /// limit; rows come newest first unless `min_id` asks for ascending order
    /// (the caller reverses those).
    pub(crate) fn page(&mut self, column: &str, bounds: &ferrodon_model::PageBounds) {
        if let Some(max) = bounds.max_id {
            let p = self.bind(max);
            self.push(&format!(" AND {column} < {p}"));
        }
        if let Some(lower) = bounds.lower() {
            let p = self.bind(lower);
            self.push(&format!(" AND {column} > {p}"));
        }
        let order = if bounds.ascending() { "ASC" } else { "DESC" };
        let limit = self.bind(i64::from(bounds.limit));
        self.push(&format!(" ORDER BY {column} {order} LIMIT {limit}"));
    }
}

/// `$start, $start+1, …` for `n` values, for `IN (…)` lists.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::I32(v) => q.bind(v),
                Arg::I16(v) => q.bind(v),
                Arg::F64(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Runs `$method` of a query built by `$make` (query/query_as/query_scalar)
/// on the target, once per backend arm, then `$map` on the result (the
/// result types differ per backend; what `$map` returns must not).
macro_rules! dispatch {
    ($target:expr, $sql:expr, $args:expr, |$q:ident| $make:expr, $method:ident) => {
        dispatch!($target, $sql, $args, |$q| $make, $method => |r| r)
    };
    ($target:expr, $sql:expr, $args:expr, |$q:ident| $make:expr, $method:ident => $map:expr) => {{
        let text = AssertSqlSafe($sql.0);
        match $target {
            Target::SqlitePool(p) => {
                let $q = text;
                bind_all!($make.persistent(true), $args).$method(p).await.map($map)
            }
            Target::SqliteConn(c) => {
                let $q = text;
                bind_all!($make.persistent(true), $args).$method(&mut *c).await.map($map)
            }
            Target::PgPool(p, true) => {
                let $q = text;
                bind_all!($make.persistent(true), $args).$method(p).await.map($map)
            }
            // Unnamed statements take two round trips (Parse/Describe/Sync,
            // then Bind/Execute/Sync); PgBouncer in transaction mode may hand
            // the second to another server connection unless a transaction
            // holds it. So without prepared statements every query on the
            // pool runs in its own transaction.
            Target::PgPool(p, false) => {
                let $q = text;
                async {
                    let mut tx = p.begin().await?;
                    let value = bind_all!($make.persistent(false), $args).$method(&mut *tx).await.map($map)?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(value)
                }
                .await
            }
            Target::PgConn(c, persistent) => {
                let $q = text;
                bind_all!($make.persistent(persistent), $args).$method(&mut *c).await.map($map)
            }
        }
    }};
}

/// A row type readable from both backends.
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A single-column value readable from both backends.
pub(crate) trait Scalar:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

pub(crate) async fn fetch_all<'a, T: Row>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<Vec<T>> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_as(q),
        fetch_all
    )?)
}

pub(crate) async fn fetch_optional<'a, T: Row>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<Option<T>> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_as(q),
        fetch_optional
    )?)
}

pub(crate) async fn fetch_one<'a, T: Row>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<T> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_as(q),
        fetch_one
    )?)
}

pub(crate) async fn fetch_scalar<'a, T: Scalar>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<T> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_scalar(q),
        fetch_one
    )?)
}

pub(crate) async fn fetch_optional_scalar<'a, T: Scalar>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<Option<T>> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_scalar(q),
        fetch_optional
    )?)
}

pub(crate) async fn fetch_column<'a, T: Scalar>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<Vec<T>> {
    let sql = sql.into();
    Ok(dispatch!(
        ex.target(),
        sql,
        args,
        |q| sqlx::query_scalar(q),
        fetch_all
    )?)
}

/// Runs a statement; returns the number of rows it touched.
pub(crate) async fn execute<'a>(
    ex: impl Exec<'a>,
    sql: impl Into<Sql>,
    args: Vec<Arg>,
) -> Result<u64> {
    let sql = sql.into();
    Ok(dispatch!(ex.target(), sql, args, |q| sqlx::query(q), execute => |r| r.rows_affected())?)
}
