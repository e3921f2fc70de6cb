//! Work for the federation layer, declared here and run there.
//!
//! The service layer never sees ActivityStreams JSON. A change other servers
//! must hear of (or that federation must prepare for) enqueues one of these
//! kinds in the change's own transaction; `ferrodon-federation` registers
//! the handler that runs it (`Registry::handle`), so this crate needs
//! nothing from the one above it.

use std::future::Future;
use std::pin::Pin;

use ferrodon_jobs::{JobKind, Queue};
use ferrodon_model::{AccountId, StatusId};
use serde::{Deserialize, Serialize};

/// Gives a new local account its RSA key pair, so the first activity it
/// sends or the first fetch of its actor does not wait for one. (Accounts
/// made before keys existed get theirs on first need.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MakeKeys {
    pub account_id: AccountId,
}

impl JobKind for MakeKeys {
    const KIND: &'static str = "make_keys";
    const QUEUE: Queue = Queue::Default;
    const MAX_ATTEMPTS: i32 = 5;

    fn unique_key(&self) -> Option<String> {
        Some(self.account_id.to_string())
    }
}

/// Something other servers must hear of, enqueued in the transaction of the
/// change (on `push`); federation turns it into an activity and delivers it
/// to the inboxes concerned. It carries ids; where the change deleted the
/// row (a status, an account), it carries what the row can no longer tell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "activity", rename_all = "snake_case")]
pub enum Federate {
    /// A local status was posted (`Create`), or a reblog made (`Announce`).
    CreateStatus { status_id: StatusId },
    /// A local status was edited (`Update`), or its poll's counts changed.
    UpdateStatus { status_id: StatusId },
    /// A local status (or reblog: `Undo(Announce)`) was deleted.
    DeleteStatus {
        status_id: StatusId,
        account_id: AccountId,
        /// The status's ActivityPub id.
        uri: String,
        /// For a reblog: the original's ActivityPub id.
        reblog_of_uri: Option<String>,
        /// Remote accounts it mentioned (they get the `Delete` too).
        mentioned: Vec<AccountId>,
    },
    /// A local account followed a remote one (`Follow`; the follow request
    /// is pending until the remote server accepts).
    Follow {
        account_id: AccountId,
        target_id: AccountId,
        /// The `Follow` activity's id, as stored with the request.
        uri: String,
    },
    /// A local account unfollowed (or withdrew a request to) a remote one.
    UndoFollow {
        account_id: AccountId,
        target_id: AccountId,
        uri: String,
    },
    /// A local account accepted a remote account's follow.
    AcceptFollow {
        account_id: AccountId,
        follower_id: AccountId,
        /// The remote `Follow` activity's id.
        follow_uri: String,
    },
    /// A local account rejected (or removed) a remote follower.
    RejectFollow {
        account_id: AccountId,
        follower_id: AccountId,
        follow_uri: String,
    },
    /// A local account favourited a remote status (`Like`).
    Favourite {
        account_id: AccountId,
        status_id: StatusId,
    },
    UndoFavourite {
        account_id: AccountId,
        status_id: StatusId,
    },
    /// A local account blocked a remote one (`Block`), or lifted it.
    Block {
        account_id: AccountId,
        target_id: AccountId,
    },
    UndoBlock {
        account_id: AccountId,
        target_id: AccountId,
    },
    /// A local account pinned a status (`Add` to its featured collection),
    /// or unpinned it (`Remove`); sent to its followers.
    Pin {
        account_id: AccountId,
        status_id: StatusId,
    },
    Unpin {
        account_id: AccountId,
        status_id: StatusId,
    },
    /// A local account's answer to a remote `QuoteRequest` of one of its
    /// statuses: `Accept` with the `QuoteAuthorization` of quote
    /// `quote_id`, or `Reject` when `quote_id` is `None`.
    AnswerQuote {
        account_id: AccountId,
        requester_id: AccountId,
        request_uri: String,
        quote_id: Option<i64>,
    },
    /// A local account moved to another (`Move`, to its followers).
    Move {
        account_id: AccountId,
        target_id: AccountId,
    },
    /// A local account's profile changed (`Update(Person)`).
    UpdateAccount { account_id: AccountId },
    /// A local account voted in a remote poll (one `Create(Note)` per choice).
    Vote {
        account_id: AccountId,
        status_id: StatusId,
        choices: Vec<i64>,
    },
}

impl JobKind for Federate {
    const KIND: &'static str = "federate";
    const QUEUE: Queue = Queue::Push;
    const MAX_ATTEMPTS: i32 = 5;
}

/// A future returned by a [`Resolver`].
pub type Resolving<'a, T> = Pin<Box<dyn Future<Output = crate::Result<T>> + Send + 'a>>;

/// What a lookup on another server found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Account(AccountId),
    Status(StatusId),
}

/// Looking things up on other servers for the client API
/// (`/api/v2/search?resolve=true`): implemented by federation and handed to
/// [`crate::Services::set_resolver`] at start.
pub trait Resolver: Send + Sync {
    /// `user@domain` through WebFinger, stored; `None` if it does not exist.
    fn resolve_account<'a>(
        &'a self,
        username: &'a str,
        domain: &'a str,
    ) -> Resolving<'a, Option<AccountId>>;
    /// An actor or status URL, fetched and stored.
    fn resolve_url<'a>(&'a self, url: &'a str) -> Resolving<'a, Option<Resolved>>;
}
