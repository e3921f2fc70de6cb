//! Lists: named sets of followed accounts, each with its own timeline, read
//! by query from `list_accounts` (no list feeds are stored).

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds};

use crate::accounts::{Account, account_columns};
use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

/// Which replies a list's timeline shows (Mastodon's `replies_policy`).
/// Replies to the owner and self-replies (threads) show under every policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepliesPolicy {
    /// Replies to any account the owner follows.
    Followed,
    /// Replies to members of the list.
    List,
    /// No other replies.
    None,
}

impl RepliesPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RepliesPolicy::Followed => "followed",
            RepliesPolicy::List => "list",
            RepliesPolicy::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<RepliesPolicy> {
        match s {
            "followed" => Some(RepliesPolicy::Followed),
            "list" => Some(RepliesPolicy::List),
            "none" => Some(RepliesPolicy::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct List {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    pub title: String,
    replies_policy: String,
    pub exclusive: bool,
    pub created_at: DateTime<Utc>,
}

impl List {
    pub fn new(
        id: i64,
        account_id: AccountId,
        title: String,
        replies_policy: RepliesPolicy,
        exclusive: bool,
    ) -> List {
        List {
            id,
            account_id,
            title,
            replies_policy: replies_policy.as_str().to_owned(),
            exclusive,
            created_at: crate::now(),
        }
    }

    /// An unknown stored value reads as Mastodon's default, `list`.
    pub fn replies_policy(&self) -> RepliesPolicy {
        RepliesPolicy::parse(&self.replies_policy).unwrap_or(RepliesPolicy::List)
    }

    pub fn set_replies_policy(&mut self, policy: RepliesPolicy) {
        self.replies_policy = policy.as_str().to_owned();
    }
}

const LIST_COLUMNS: &str =
    "l.id, l.account_id, l.title, l.replies_policy, l.exclusive, l.created_at";

pub async fn insert<'a>(ex: impl Exec<'a>, list: &List) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            list.id,
            list.account_id,
            &list.title,
            &list.replies_policy,
            list.exclusive,
            list.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Saves the title, replies policy and exclusivity of an existing list.
pub async fn update<'a>(ex: impl Exec<'a>, list: &List) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE lists SET title = $3, replies_policy = $4, exclusive = $5 \
         WHERE id = $1 AND account_id = $2",
        args![
            list.id,
            list.account_id,
            &list.title,
            &list.replies_policy,
            list.exclusive
        ],
    )
    .await
    .map(|_| ())
}

/// `owner`'s list `id` (another account's list is not found).
pub async fn get<'a>(ex: impl Exec<'a>, owner: AccountId, id: i64) -> Result<Option<List>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {LIST_COLUMNS} FROM lists l WHERE l.id = $1 AND l.account_id = $2"),
        args![id, owner],
    )
    .await
}

/// Every list of `owner`, oldest first.
pub async fn of_owner<'a>(ex: impl Exec<'a>, owner: AccountId) -> Result<Vec<List>> {
    sql::fetch_all(
        ex,
        format!("SELECT {LIST_COLUMNS} FROM lists l WHERE l.account_id = $1 ORDER BY l.id"),
        args![owner],
    )
    .await
}

pub async fn count_of_owner<'a>(ex: impl Exec<'a>, owner: AccountId) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM lists WHERE account_id = $1",
        args![owner],
    )
    .await
}

/// Deletes `owner`'s list `id` with its memberships; whether it existed.
pub async fn delete<'a>(ex: impl Exec<'a>, owner: AccountId, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM lists WHERE id = $1 AND account_id = $2",
        args![id, owner],
    )
    .await
    .map(|n| n > 0)
}

/// Adds `account` to list `list`; `false` when it was a member already.
pub async fn add_member<'a>(ex: impl Exec<'a>, list: i64, account: AccountId) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO list_accounts (list_id, account_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (list_id, account_id) DO NOTHING",
        args![list, account, crate::now()],
    )
    .await
    .map(|n| n > 0)
}

/// Removes `accounts` from list `list`; returns the ids that were members.
pub async fn remove_members<'a>(
    ex: impl Exec<'a>,
    list: i64,
    accounts: &[AccountId],
) -> Result<Vec<i64>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "DELETE FROM list_accounts WHERE list_id = $1 AND account_id IN ({}) RETURNING account_id",
        placeholders(2, accounts.len())
    );
    let mut a = args![list];
    a.extend(accounts.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}

/// Of `accounts`, those on list `list`.
pub async fn members_among<'a>(
    ex: impl Exec<'a>,
    list: i64,
    accounts: &[AccountId],
) -> Result<Vec<i64>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT account_id FROM list_accounts WHERE list_id = $1 AND account_id IN ({})",
        placeholders(2, accounts.len())
    );
    let mut a = args![list];
    a.extend(accounts.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}

/// Every member of list `list` (account ids).
pub async fn member_ids<'a>(ex: impl Exec<'a>, list: i64) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT account_id FROM list_accounts WHERE list_id = $1 ORDER BY account_id",
        args![list],
    )
    .await
}

/// Members of list `list` that are not suspended, newest account id first
/// (Mastodon pages list members by account id); `None` bounds: all of them.
pub async fn members<'a>(
    ex: impl Exec<'a>,
    list: i64,
    bounds: Option<&PageBounds>,
) -> Result<Vec<Account>> {
    let mut q = Query::new(format!(
        "SELECT {} FROM list_accounts la JOIN accounts a ON a.id = la.account_id \
         WHERE a.suspended_at IS NULL AND la.list_id = ",
        account_columns!()
    ));
    let p = q.bind(list);
    q.push(&p);
    let Some(bounds) = bounds else {
        q.push(" ORDER BY a.id DESC");
        return sql::fetch_all(ex, q.sql, q.args).await;
    };
    q.page("a.id", bounds);
    let mut rows: Vec<Account> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// `owner`'s lists that contain `member`, oldest first.
pub async fn containing<'a>(
    ex: impl Exec<'a>,
    owner: AccountId,
    member: AccountId,
) -> Result<Vec<List>> {
    sql::fetch_all(
        ex,
        format!(
            "SELECT {LIST_COLUMNS} FROM lists l JOIN list_accounts la ON la.list_id = l.id \
             WHERE la.account_id = $2 AND l.account_id = $1 ORDER BY l.id"
        ),
        args![owner, member],
    )
    .await
}

/// Takes `member` off every list of `owner` (the follow ended); returns how
/// many memberships went.
pub async fn remove_from_owner_lists<'a>(
    ex: impl Exec<'a>,
    owner: AccountId,
    member: AccountId,
) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM list_accounts WHERE account_id = $2 \
         AND list_id IN (SELECT id FROM lists WHERE account_id = $1)",
        args![owner, member],
    )
    .await
}

/// SQL condition: `{author}` is on an exclusive list of `{owner}` (so their
/// statuses stay out of the owner's home timeline). Both are SQL expressions.
pub const ON_EXCLUSIVE_LIST: &str = "EXISTS (SELECT 1 FROM list_accounts xla \
     JOIN lists xl ON xl.id = xla.list_id \
     WHERE xla.account_id = {author} AND xl.account_id = {owner} AND xl.exclusive)";

/// Of `authors`, those on one of `owner`'s exclusive lists.
pub async fn exclusive_among<'a>(
    ex: impl Exec<'a>,
    owner: AccountId,
    authors: &[AccountId],
) -> Result<Vec<i64>> {
    if authors.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id \
         WHERE l.account_id = $1 AND l.exclusive AND la.account_id IN ({})",
        placeholders(2, authors.len())
    );
    let mut a = args![owner];
    a.extend(authors.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}

/// A page of a list's timeline, newest first: statuses and reblogs of
/// members the owner follows (not direct ones), reblogs only where the
/// owner shows the member's reblogs, and replies as the list's policy says.
/// Each member's statuses are read through the `(account_id, id)` index.
pub async fn timeline<'a>(ex: impl Exec<'a>, list: &List, bounds: &PageBounds) -> Result<Vec<i64>> {
    let mut q = Query::new("SELECT s.id FROM statuses s WHERE ");
    let l = q.bind(list.id);
    let owner = q.bind(list.account_id);
    let replies = match list.replies_policy() {
        RepliesPolicy::Followed => format!(
            " OR EXISTS (SELECT 1 FROM follows rf WHERE rf.account_id = {owner} \
             AND rf.target_account_id = s.in_reply_to_account_id)"
        ),
        RepliesPolicy::List => format!(
            " OR EXISTS (SELECT 1 FROM list_accounts rla WHERE rla.list_id = {l} \
             AND rla.account_id = s.in_reply_to_account_id)"
        ),
        RepliesPolicy::None => String::new(),
    };
    q.push(&format!(
        "s.account_id IN (SELECT la.account_id FROM list_accounts la JOIN follows f \
         ON f.account_id = {owner} AND f.target_account_id = la.account_id WHERE la.list_id = {l}) \
         AND s.visibility IN (0, 1, 2) \
         AND (s.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM follows bf \
              WHERE bf.account_id = {owner} AND bf.target_account_id = s.account_id AND bf.show_reblogs)) \
         AND (s.in_reply_to_id IS NULL OR (s.in_reply_to_account_id IS NOT NULL \
              AND (s.in_reply_to_account_id = s.account_id OR s.in_reply_to_account_id = {owner}{replies})))"
    ));
    q.page("s.id", bounds);
    let mut ids: Vec<i64> = sql::fetch_column(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        ids.reverse();
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follows::{self, Follow, Kind};
    use crate::statuses::{self, NewStatus};
    use crate::testing::{local_account, storage_test};
    use ferrodon_model::{FollowId, StatusId, Visibility};

    async fn follow(db: &crate::Db, a: AccountId, b: AccountId, show_reblogs: bool) {
        follows::insert(
            db,
            Kind::Follow,
            &Follow {
                id: FollowId(rand::random::<i64>().abs()),
                account_id: a,
                target_account_id: b,
                uri: None,
                show_reblogs,
                notify: false,
                languages: None,
                created_at: crate::now(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

    async fn post(
        db: &crate::Db,
        author: AccountId,
        visibility: Visibility,
        reply_to: Option<(StatusId, AccountId)>,
        reblog_of: Option<StatusId>,
    ) -> StatusId {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = StatusId(120_000_000_000_000_000 + n);
        statuses::insert(
            db,
            &NewStatus {
                id,
                uri: format!("https://x.example/s/{}/{}", author.0, id.0),
                url: None,
                account_id: author,
                text: String::new(),
                content: String::new(),
                spoiler_text: String::new(),
                sensitive: false,
                visibility,
                language: None,
                in_reply_to_id: reply_to.map(|r| r.0),
                in_reply_to_account_id: reply_to.map(|r| r.1),
                reblog_of_id: reblog_of,
                application_id: None,
                local: true,
                created_at: crate::now(),
                quote_approval_policy: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    async fn page(db: &crate::Db, list: &List) -> Vec<i64> {
        timeline(db, list, &PageBounds::first(40))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    storage_test!(list_timeline_rules, |db: crate::Db| async move {
        let owner = local_account(&db).await;
        let member = local_account(&db).await;
        let other_member = local_account(&db).await;
        let followed = local_account(&db).await;
        let stranger = local_account(&db).await;
        follow(&db, owner, member, true).await;
        follow(&db, owner, other_member, false).await;
        follow(&db, owner, followed, true).await;

        let mut list = List::new(
            rand::random::<i64>().abs(),
            owner,
            "friends".into(),
            RepliesPolicy::List,
            false,
        );
        insert(&db, &list).await.unwrap_or_else(|e| panic!("{e}"));
        for m in [member, other_member] {
            assert!(add_member(&db, list.id, m).await.unwrap_or(false));
        }
        assert!(!add_member(&db, list.id, member).await.unwrap_or(true));

        let s = |id: StatusId| id.0;
        let stranger_post = post(&db, stranger, Visibility::Public, None, None).await;
        let followed_post = post(&db, followed, Visibility::Public, None, None).await;
        let plain = post(&db, member, Visibility::Public, None, None).await;
        let private = post(&db, member, Visibility::Private, None, None).await;
        let direct = post(&db, member, Visibility::Direct, None, None).await;
        let self_reply = post(&db, member, Visibility::Public, Some((plain, member)), None).await;
        let to_owner = post(&db, member, Visibility::Public, Some((plain, owner)), None).await;
        let to_member = post(
            &db,
            member,
            Visibility::Public,
            Some((plain, other_member)),
            None,
        )
        .await;
        let to_followed = post(
            &db,
            member,
            Visibility::Public,
            Some((followed_post, followed)),
            None,
        )
        .await;
        let to_stranger = post(
            &db,
            member,
            Visibility::Public,
            Some((stranger_post, stranger)),
            None,
        )
        .await;
        let reblog = post(&db, member, Visibility::Public, None, Some(stranger_post)).await;
        // other_member's reblogs are hidden by the owner's follow.
        let hidden_reblog = post(
            &db,
            other_member,
            Visibility::Public,
            None,
            Some(followed_post),
        )
        .await;

        let always = [plain, private, self_reply, to_owner, reblog].map(s);
        let got = page(&db, &list).await;
        for id in always.iter().chain(&[s(to_member)]) {
            assert!(got.contains(id), "{id} missing from {got:?}");
        }
        for id in [
            direct,
            to_followed,
            to_stranger,
            hidden_reblog,
            stranger_post,
            followed_post,
        ] {
            assert!(!got.contains(&s(id)), "{id:?} must not be in {got:?}");
        }
        let mut sorted = got.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(got, sorted, "newest first");

        list.set_replies_policy(RepliesPolicy::Followed);
        let got = page(&db, &list).await;
        for id in always.iter().chain(&[s(to_member), s(to_followed)]) {
            assert!(got.contains(id), "followed: {id} missing from {got:?}");
        }
        assert!(!got.contains(&s(to_stranger)));

        list.set_replies_policy(RepliesPolicy::None);
        let got = page(&db, &list).await;
        for id in &always {
            assert!(got.contains(id), "none: {id} missing from {got:?}");
        }
        for id in [to_member, to_followed, to_stranger] {
            assert!(!got.contains(&s(id)), "none: {id:?} in {got:?}");
        }

        // Paging: min_id walks up from the oldest, max_id down.
        let older = timeline(
            &db,
            &list,
            &PageBounds {
                max_id: Some(s(reblog)),
                ..PageBounds::first(2)
            },
        )
        .await
        .unwrap_or_default();
        assert_eq!(older, vec![s(to_owner), s(self_reply)]);
        let newer = timeline(
            &db,
            &list,
            &PageBounds {
                min_id: Some(s(plain)),
                ..PageBounds::first(2)
            },
        )
        .await
        .unwrap_or_default();
        assert_eq!(newer, vec![s(self_reply), s(private)]);

        // Exclusive lists and membership queries; fan-out and the home
        // rebuild leave an exclusive list's members out of the owner's home.
        assert!(
            exclusive_among(&db, owner, &[member])
                .await
                .unwrap_or_default()
                .is_empty()
        );
        let fan_out = follows::FanOutQuery {
            author: member,
            is_reblog: false,
            reply_to_other: None,
            mentioned_in: None,
        };
        let recipients = || async {
            follows::fan_out_recipients(&db, &fan_out, 0, i64::MAX, 100)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let home = || async {
            statuses::home(&db, owner, &PageBounds::first(40))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<i64>>()
        };
        assert_eq!(recipients().await, vec![owner.0]);
        assert!(home().await.contains(&s(plain)));
        list.exclusive = true;
        update(&db, &list).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(recipients().await.is_empty());
        let rebuilt = home().await;
        assert!(!rebuilt.contains(&s(plain)), "{rebuilt:?}");
        assert!(rebuilt.contains(&s(followed_post)), "{rebuilt:?}");
        assert_eq!(
            exclusive_among(&db, owner, &[member, followed])
                .await
                .unwrap_or_default(),
            vec![member.0]
        );
        let stored = get(&db, owner, list.id).await.ok().flatten();
        assert!(
            stored
                .as_ref()
                .is_some_and(|l| l.exclusive && l.replies_policy() == RepliesPolicy::None)
        );
        assert!(get(&db, member, list.id).await.ok().flatten().is_none());
        assert_eq!(
            containing(&db, owner, member)
                .await
                .unwrap_or_default()
                .len(),
            1
        );

        // The follow ended: the member leaves the owner's lists, and a
        // member the owner no longer follows shows nothing anyway.
        follows::delete(&db, Kind::Follow, owner, other_member)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            page(&db, &list).await.iter().all(|id| *id != s(to_member)),
            "no longer followed"
        );
        assert_eq!(
            remove_from_owner_lists(&db, owner, other_member)
                .await
                .unwrap_or(0),
            1
        );
        assert_eq!(
            member_ids(&db, list.id).await.unwrap_or_default(),
            vec![member.0]
        );
        assert_eq!(
            remove_members(&db, list.id, &[member, stranger])
                .await
                .unwrap_or_default(),
            vec![member.0]
        );
        assert!(page(&db, &list).await.is_empty());
        assert!(delete(&db, owner, list.id).await.unwrap_or(false));
        assert!(!delete(&db, owner, list.id).await.unwrap_or(true));
    });
}
