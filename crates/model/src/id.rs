//! Mastodon-style 64-bit, time-ordered ids.
//!
//! An id is `unix_millis << 16 | low16`. The low 16 bits come from a per-process
//! counter that starts at a random value, so ids made by one process are unique
//! and increasing, and ids made in different processes in the same millisecond
//! differ with high probability (a clash is a unique-key error, never silent
//! overwrite). Ids are `i64` in storage and strings in the API, as in Mastodon.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A raw 64-bit time-ordered id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Snowflake(pub i64);

impl Snowflake {
    /// The smallest id that can have been made at `at` (useful as a paging bound).
    pub fn lower_bound_at(at: DateTime<Utc>) -> Self {
        Snowflake(at.timestamp_millis().max(0) << 16)
    }

    /// The millisecond timestamp an id was made at.
    pub fn timestamp(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0 >> 16)
    }
}

/// Makes [`Snowflake`]s; one per process is enough.
#[derive(Debug)]
pub struct IdGenerator {
    /// Last issued value, so ids stay strictly increasing within the process.
    last: AtomicU64,
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGenerator {
    pub fn new() -> Self {
        let seed: u16 = rand::random();
        IdGenerator {
            last: AtomicU64::new(u64::from(seed)),
        }
    }

    /// A new id for something happening now: unique and increasing within
    /// the process (past the 65,536th id of a millisecond, ids borrow from
    /// the following milliseconds).
    pub fn next(&self) -> Snowflake {
        self.monotonic(Utc::now())
    }

    /// A new id whose time part is `at` (e.g. a remote status's publication
    /// time). Within a second of the ids this process issues it is simply
    /// the next id; for an older time (a backdated remote object) the low
    /// bits are random, as Mastodon's are for backdated ids, and a clash is a
    /// unique-key error for the caller to retry.
    pub fn at(&self, at: DateTime<Utc>) -> Snowflake {
        let ms = at.timestamp_millis().max(0) as u64;
        let last_ms = self.last.load(Ordering::Relaxed) >> 16;
        if ms + 1000 < last_ms {
            let low: u16 = rand::random();
            return Snowflake(((ms << 16) | u64::from(low)) as i64);
        }
        self.monotonic(at)
    }

    fn monotonic(&self, at: DateTime<Utc>) -> Snowflake {
        let base = (at.timestamp_millis().max(0) as u64) << 16;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            // `base > last` means a later millisecond than the last id: keep
            // the running counter in the low bits; otherwise the next id.
            let candidate = if base > last {
                base | (last.wrapping_add(1) & 0xffff)
            } else {
                last + 1
            };
            match self.last.compare_exchange_weak(
                last,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Snowflake(candidate as i64),
                Err(actual) => last = actual,
            }
        }
    }
}

/// Declares a typed id: a newtype over `i64`, written as a string in JSON.
macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl From<i64> for $name {
            fn from(v: i64) -> Self { $name(v) }
        }
        impl From<Snowflake> for $name {
            fn from(v: Snowflake) -> Self { $name(v.0) }
        }
        impl From<$name> for i64 {
            fn from(v: $name) -> i64 { v.0 }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }
        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> { s.parse::<i64>().map($name) }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw { S(String), N(i64) }
                match Raw::deserialize(d)? {
                    Raw::N(n) => Ok($name(n)),
                    Raw::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
                }
            }
        }
    )*};
}

typed_id! {
    /// An account, local or remote.
    AccountId,
    /// A local user (login) behind a local account.
    UserId,
    /// A status (post), local or remote.
    StatusId,
    /// An OAuth application.
    AppId,
    /// An OAuth access token.
    TokenId,
    /// An OAuth authorization grant (code).
    GrantId,
    /// A follow relationship or follow request.
    FollowId,
    /// A hashtag.
    TagId,
    /// A background job.
    JobId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_carry_time() {
        let generator = IdGenerator::new();
        let now = Utc::now();
        let a = generator.at(now);
        let b = generator.at(now);
        let c = generator.next();
        assert!(a < b && b < c);
        let ts = a.timestamp().map(|t| t.timestamp_millis());
        assert_eq!(ts, Some(now.timestamp_millis()));
    }

    /// A burst that wraps the 16-bit counter (here: 200,000 ids, more than
    /// any millisecond can hold) stays unique and increasing.
    #[test]
    fn bursts_never_repeat_an_id() {
        let generator = IdGenerator::new();
        let mut previous = generator.next();
        for _ in 0..200_000 {
            let id = generator.next();
            assert!(id > previous, "{id:?} after {previous:?}");
            previous = id;
        }
    }

    #[test]
    fn ids_for_past_times_sort_before_now() {
        let generator = IdGenerator::new();
        let fresh = generator.next();
        let old = Utc::now() - chrono::Duration::days(30);
        let past = generator.at(old);
        assert!(past < fresh);
        let ts = past.timestamp().map(|t| t.timestamp_millis());
        assert_eq!(ts, Some(old.timestamp_millis()));
    }

    #[test]
    fn typed_ids_are_strings_in_json() {
        let id = StatusId(109_876_543_210_123_456);
        let text = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(text, "\"109876543210123456\"");
        let back: StatusId = serde_json::from_str(&text).unwrap_or(StatusId(0));
        assert_eq!(back, id);
        let from_number: StatusId = serde_json::from_str("42").unwrap_or(StatusId(0));
        assert_eq!(from_number, StatusId(42));
    }
}
