//! Staff roles of local users.

use std::str::FromStr;

/// A local user's role, as Mastodon's built-in roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Mastodon's role id for the built-in roles (`-99` is everyone).
    pub fn mastodon_id(self) -> i64 {
        match self {
            Role::User => -99,
            Role::Moderator => 2,
            Role::Admin => 3,
        }
    }

    /// Mastodon's display name for the role ("" for plain users).
    pub fn display_name(self) -> &'static str {
        match self {
            Role::User => "",
            Role::Moderator => "Moderator",
            Role::Admin => "Admin",
        }
    }

    /// Mastodon's permission bitmap for the role, as a decimal string.
    pub fn permissions(self) -> &'static str {
        match self {
            Role::User => "65536",
            // manage reports, view dashboard, manage users, manage taxonomies, ...
            Role::Moderator => "1308",
            // administrator bit
            Role::Admin => "1",
        }
    }

    /// Whether the role is staff (shown on the profile as Mastodon highlights it).
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::User)
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "user" | "" => Ok(Role::User),
            "moderator" => Ok(Role::Moderator),
            "admin" | "owner" => Ok(Role::Admin),
            _ => Err(()),
        }
    }
}
