//! Date arithmetic on input: every duration a client sends is added with
//! checked arithmetic, so a huge or negative one is a 422, never a panic.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Result, ServiceError};

/// The latest time input may reach: the end of year 9999. Times are stored
/// as RFC 3339 text on SQLite, which compares as text only with four-digit
/// years, and clients parse nothing later either.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `from` plus `secs` seconds, if that is a time we can keep (not past
/// [`latest`]); otherwise a 422 naming `what` ("Duration", "Expires in"…).
pub fn after_seconds(from: DateTime<Utc>, secs: i64, what: &str) -> Result<DateTime<Utc>> {
    TimeDelta::try_seconds(secs)
        .and_then(|d| from.checked_add_signed(d))
        .filter(|t| *t <= latest())
        .ok_or_else(|| ServiceError::invalid(format!("{what} is too long")))
}

/// Whether `at` is a time we can keep (see [`latest`]).
pub fn check_time(at: DateTime<Utc>, what: &str) -> Result<DateTime<Utc>> {
    if at > latest() {
        return Err(ServiceError::invalid(format!(
            "{what} is too far in the future"
        )));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_are_refused_not_panics() {
        let now = Utc::now();
        assert!(after_seconds(now, 60, "Duration").is_ok_and(|t| t > now));
        for secs in [
            i64::MAX,
            i64::MAX / 1000,
            1_000_000_000_000_000_000,
            300_000_000_000,
        ] {
            assert!(after_seconds(now, secs, "Duration").is_err(), "{secs}");
        }
        assert!(after_seconds(now, i64::MIN, "Duration").is_err());
        assert!(check_time(latest(), "Scheduled at").is_ok());
        assert!(check_time(DateTime::<Utc>::MAX_UTC, "Scheduled at").is_err());
    }
}
