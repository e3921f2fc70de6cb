//! Mastodon's OAuth scopes and their hierarchy.
//!
//! `read` grants every `read:*` scope, `write` every `write:*`, `admin:read`
//! every `admin:read:*`, `admin:write` every `admin:write:*`, and the legacy
//! `follow` grants the follow-, block- and mute-related `read:`/`write:` scopes.

use std::fmt;
use std::str::FromStr;

/// Every scope Mastodon knows, in its documented order.
pub const ALL_SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

/// The scopes the legacy `follow` scope stands for.
const FOLLOW_EXPANDS_TO: &[&str] = &[
    "read:blocks",
    "read:follows",
    "read:mutes",
    "write:blocks",
    "write:follows",
    "write:mutes",
];

/// One known OAuth scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope(&'static str);

/// A scope string that Mastodon does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope: {0}")]
pub struct UnknownScope(pub String);

impl Scope {
    pub const READ: Scope = Scope("read");
    pub const WRITE: Scope = Scope("write");

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Whether holding `self` grants `wanted`.
    pub fn grants(self, wanted: Scope) -> bool {
        if self == wanted {
            return true;
        }
        if self.0 == "follow" {
            return FOLLOW_EXPANDS_TO.contains(&wanted.0);
        }
        // A parent grants its children: "read" ⊇ "read:statuses",
        // "admin:read" ⊇ "admin:read:accounts".
        wanted
            .0
            .strip_prefix(self.0)
            .is_some_and(|rest| rest.starts_with(':'))
            && self.0 != "admin"
    }
}

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, UnknownScope> {
        ALL_SCOPES
            .iter()
            .find(|known| **known == s)
            .map(|known| Scope(known))
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A set of granted scopes (an app's or a token's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// Parses a space-separated scope list (`+` also separates, as some
    /// clients send it unencoded). Empty input is the empty set.
    pub fn parse(s: &str) -> Result<Self, UnknownScope> {
        let mut scopes = Vec::new();
        for part in s.split([' ', '+']).filter(|p| !p.is_empty()) {
            let scope: Scope = part.parse()?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        Ok(ScopeSet(scopes))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Whether any held scope grants `wanted`.
    pub fn grants(&self, wanted: Scope) -> bool {
        self.0.iter().any(|held| held.grants(wanted))
    }

    /// Whether any held scope grants any of `wanted`.
    pub fn grants_any(&self, wanted: &[Scope]) -> bool {
        wanted.iter().any(|w| self.grants(*w))
    }

    /// Whether every scope of `self` is literally in `outer` (a token may only
    /// ask for scopes its application registered).
    pub fn is_subset_of(&self, outer: &ScopeSet) -> bool {
        self.0.iter().all(|s| outer.0.contains(s))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.0)?;
        }
        Ok(())
    }
}

/// `scope!("read:statuses")` — a compile-time-known scope.
///
/// Panics at first use if the name is not in [`ALL_SCOPES`]; the route tests
/// exercise every use, so a typo cannot reach a release.
#[macro_export]
macro_rules! scope {
    ($name:literal) => {
        $crate::scope::Scope::known($name)
    };
}

impl Scope {
    /// A scope from a name in [`ALL_SCOPES`]; used through [`scope!`].
    #[doc(hidden)]
    pub const fn known(name: &'static str) -> Scope {
        Scope(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap_or_default()
    }

    #[test]
    fn parents_grant_children() {
        let read = set("read");
        assert!(read.grants(Scope("read:statuses")));
        assert!(!read.grants(Scope("write:statuses")));
        assert!(!set("admin:read").grants(Scope("read:statuses")));
        assert!(set("admin:read").grants(Scope("admin:read:accounts")));
        assert!(!set("write").grants(Scope("admin:write:accounts")));
    }

    #[test]
    fn follow_grants_relationship_scopes() {
        let follow = set("follow");
        assert!(follow.grants(Scope("write:follows")));
        assert!(follow.grants(Scope("read:mutes")));
        assert!(!follow.grants(Scope("write:statuses")));
    }

    #[test]
    fn unknown_scopes_are_rejected() {
        assert!(ScopeSet::parse("read wrte").is_err());
        assert_eq!(set("read+write").to_string(), "read write");
        assert!(set("read").is_subset_of(&set("read write follow")));
        assert!(!set("read push").is_subset_of(&set("read write")));
    }
}
