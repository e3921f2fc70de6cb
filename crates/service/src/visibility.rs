//! Who sees which status: the one visibility function every read path uses.
//!
//! The rule itself is one SQL text, [`ferrodon_storage::visibility::access`]
//! (Mastodon's `StatusPolicy#show?`: the author in good standing and not
//! blocking the reader; public and unlisted for anyone; followers-only for
//! the author, followers and mentioned accounts; direct for the author and
//! mentioned accounts). This module applies it:
//!
//! - [`Services::visible`] filters hydrated statuses (any list, or one
//!   status asked for by id), checking a reblog's original by the same rule
//!   as the reblog, and then what the reader chose to hide ([`Hide`]);
//! - [`Services::can_see`] answers for one stored status (write paths:
//!   favourites, replies, quotes, reports…), reblogs included.
//!
//! Nothing else decides visibility: a new read path hydrates, then calls
//! [`Services::visible`].

use std::collections::HashMap;

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::statuses::Status;
use ferrodon_storage::visibility::{self, Access};

use crate::views::StatusView;
use crate::{Result, Services};

/// What a read path leaves out beyond what the reader may not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hide {
    /// Nothing more: a status asked for by id, an interaction, a conversation,
    /// a notification, the reader's own favourites and bookmarks.
    Nothing,
    /// Statuses by, or reblogs of, authors the reader blocks, mutes or whose
    /// domain they block: timelines, threads, search, several statuses by id.
    HiddenAuthors,
    /// Only reblogs of such authors: a profile's list, which the reader
    /// opened on purpose.
    HiddenReblogged,
    /// As [`Hide::HiddenAuthors`], and silenced (limited) authors too: the
    /// public and hashtag timelines, trends and the link timeline (Mastodon's
    /// `PublicFeed` takes `Account.without_silenced`).
    HiddenAndSilenced,
}

/// What [`Services::visible`] found for a page.
struct Verdicts(HashMap<StatusId, Access>);

impl Verdicts {
    fn get(&self, id: StatusId) -> Option<&Access> {
        self.0.get(&id)
    }

    /// Whether a status (and, for a reblog, its original) passes for this
    /// reader and this path.
    fn keeps(
        &self,
        viewer: Option<AccountId>,
        status: StatusId,
        original: Option<StatusId>,
        hide: Hide,
    ) -> bool {
        let own = match self.get(status) {
            Some(a) if a.visible() => a,
            _ => return false,
        };
        let original = match original {
            Some(id) => match self.get(id) {
                Some(a) if a.visible() => Some(a),
                _ => return false,
            },
            None => None,
        };
        let hidden = |a: &Access| Some(a.account_id) != viewer && a.hidden_author();
        let silenced =
            |a: &Access| Some(a.account_id) != viewer && a.flags & visibility::AUTHOR_SILENCED != 0;
        match hide {
            Hide::Nothing => true,
            Hide::HiddenReblogged => !original.is_some_and(hidden),
            Hide::HiddenAuthors => !hidden(own) && !original.is_some_and(hidden),
            Hide::HiddenAndSilenced => {
                !hidden(own)
                    && !silenced(own)
                    && !original.is_some_and(|o| hidden(o) || silenced(o))
            }
        }
    }
}

impl Services {
    async fn verdicts(&self, viewer: Option<AccountId>, ids: Vec<StatusId>) -> Result<Verdicts> {
        let mut ids = ids;
        ids.sort_unstable_by_key(|id| id.0);
        ids.dedup();
        let rows = visibility::access(self.db(), viewer, &ids, ferrodon_storage::now()).await?;
        Ok(Verdicts(
            rows.into_iter().map(|a| (a.status_id, a)).collect(),
        ))
    }

    /// The views of `views` that `viewer` may see, in their order, without
    /// what `hide` leaves out. One query for the whole page.
    pub(crate) async fn visible(
        &self,
        viewer: Option<AccountId>,
        views: Vec<StatusView>,
        hide: Hide,
    ) -> Result<Vec<StatusView>> {
        if views.is_empty() {
            return Ok(views);
        }
        let ids = views
            .iter()
            .flat_map(|v| {
                std::iter::once(v.status.id).chain(v.reblog.as_ref().map(|r| r.status.id))
            })
            .collect();
        let verdicts = self.verdicts(viewer, ids).await?;
        Ok(views
            .into_iter()
            .filter(|v| {
                verdicts.keeps(
                    viewer,
                    v.status.id,
                    v.reblog.as_ref().map(|r| r.status.id),
                    hide,
                )
            })
            .collect())
    }

    /// Whether `viewer` may see `status` (for a reblog: and its original).
    pub(crate) async fn can_see(&self, viewer: Option<AccountId>, status: &Status) -> Result<bool> {
        let mut ids = vec![status.id];
        ids.extend(status.reblog_of());
        let verdicts = self.verdicts(viewer, ids).await?;
        Ok(verdicts.keeps(viewer, status.id, status.reblog_of(), Hide::Nothing))
    }

    /// Of these stored statuses, the ids `viewer` may see (reblogs with their
    /// originals), without what `hide` leaves out.
    pub(crate) async fn visible_ids(
        &self,
        viewer: Option<AccountId>,
        list: &[Status],
        hide: Hide,
    ) -> Result<std::collections::HashSet<StatusId>> {
        let ids = list
            .iter()
            .flat_map(|s| std::iter::once(s.id).chain(s.reblog_of()))
            .collect();
        let verdicts = self.verdicts(viewer, ids).await?;
        Ok(list
            .iter()
            .filter(|s| verdicts.keeps(viewer, s.id, s.reblog_of(), hide))
            .map(|s| s.id)
            .collect())
    }
}
