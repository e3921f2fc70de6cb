//! Domain value types shared by every layer of Ferrodon.
//!
//! Nothing here knows HTTP, SQL or ActivityStreams JSON: these are the words the
//! other crates use to talk to each other (ids, visibility, OAuth scopes, roles,
//! paging bounds).

pub mod id;
pub mod paging;
pub mod role;
pub mod scope;
pub mod visibility;

pub use id::{
    AccountId, AppId, FollowId, GrantId, IdGenerator, JobId, Snowflake, StatusId, TagId, TokenId,
    UserId,
};
pub use paging::{Page, PageBounds};
pub use role::Role;
pub use scope::{Scope, ScopeSet, UnknownScope};
pub use visibility::Visibility;
