//! Who may see a status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A status's visibility, with Mastodon's numbering in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, and listed on public timelines.
    Public,
    /// Everyone, but not on public timelines.
    Unlisted,
    /// Followers and mentioned accounts.
    Private,
    /// Mentioned accounts only.
    Direct,
}

impl Visibility {
    /// The number stored in the database (Mastodon's enum values).
    pub fn as_i16(self) -> i16 {
        match self {
            Visibility::Public => 0,
            Visibility::Unlisted => 1,
            Visibility::Private => 2,
            Visibility::Direct => 3,
        }
    }

    /// The visibility for a stored number; unknown numbers are treated as the
    /// most restrictive, so a bad row can never widen an audience.
    pub fn from_i16(v: i16) -> Self {
        match v {
            0 => Visibility::Public,
            1 => Visibility::Unlisted,
            2 => Visibility::Private,
            _ => Visibility::Direct,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    /// Whether anyone (even without an account) may read it.
    pub fn is_public_ish(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "public" => Ok(Visibility::Public),
            "unlisted" => Ok(Visibility::Unlisted),
            "private" => Ok(Visibility::Private),
            "direct" => Ok(Visibility::Direct),
            _ => Err(()),
        }
    }
}
