//! Visibility in one place: the same answer on every read path.
//!
//! One instance holds seven authors, one per state (normal, suspended,
//! silenced, blocking the readers, blocked by them, muted by them, on a
//! domain they block), each with a public, an unlisted, a followers-only and
//! a direct status, reblogs of each that can be reblogged (by another account,
//! and the author's own reblog of the followers-only one) and quotes of each
//! that can be quoted (by another account, and the author's own quote of the
//! followers-only one). Four readers look at all of it: anonymous, a follower
//! of every author who is mentioned in the direct statuses, a reader who
//! follows only the reblogger and the quoter, and a stranger. A model below
//! says what each reader may see (Mastodon's `StatusPolicy#show?`, plus what a
//! reader hides by blocking, muting or blocking a domain, plus silenced
//! authors leaving public timelines), and every path is checked against it:
//! one status, its thread, several by id, home, public and hashtag timelines,
//! profiles, search, favourites, bookmarks, notifications (v1 and grouped),
//! conversations, the ancestors of a reply, reports, quotes as shown inside
//! their quoting status, and favouriting through a reblog's id. Every
//! difference is collected and reported at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    Suspended,
    Silenced,
    /// The author blocks the signed-in readers.
    Blocking,
    /// The signed-in readers block the author.
    Blocked,
    Muted,
    /// The author is on a domain the signed-in readers block.
    DomainBlocked,
}

const STATES: [State; 7] = [
    State::Normal,
    State::Suspended,
    State::Silenced,
    State::Blocking,
    State::Blocked,
    State::Muted,
    State::DomainBlocked,
];

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Normal => "normal",
            State::Suspended => "suspended",
            State::Silenced => "silenced",
            State::Blocking => "blocking",
            State::Blocked => "blocked",
            State::Muted => "muted",
            State::DomainBlocked => "domain",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vis {
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Vis {
    fn name(self) -> &'static str {
        match self {
            Vis::Public => "public",
            Vis::Unlisted => "unlisted",
            Vis::Private => "private",
            Vis::Direct => "direct",
        }
    }
}

const KINDS: [Vis; 4] = [Vis::Public, Vis::Unlisted, Vis::Private, Vis::Direct];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Anonymous,
    /// Follows every author; mentioned in their direct statuses.
    Follower,
    /// Follows the reblogger and the quoter only.
    Other,
    /// Follows nobody, has no relation to anyone.
    Stranger,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::Anonymous => "anonymous",
            Reader::Follower => "follower",
            Reader::Other => "other",
            Reader::Stranger => "stranger",
        }
    }

    /// The blocks, mutes and domain blocks of a state are between the
    /// author and these two readers.
    fn related(self) -> bool {
        matches!(self, Reader::Follower | Reader::Other)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Reblog,
    Quote,
}

/// One status of the matrix.
#[derive(Debug, Clone)]
struct Item {
    label: String,
    id: String,
    /// The state of the author the item is about (its own, or its original's).
    state: State,
    /// Written by that author (else by the reblogger or the quoter).
    by_author: bool,
    vis: Vis,
    kind: Kind,
    /// For reblogs and quotes: the index of the author's status it shares.
    original: Option<usize>,
}

/// What the model says of one (reader, status) pair.
struct Model<'a> {
    items: &'a [Item],
}

impl Model<'_> {
    /// Whether `reader` may see `item` itself (not its original).
    fn own_permitted(&self, reader: Reader, item: &Item) -> bool {
        let state = if item.by_author {
            item.state
        } else {
            State::Normal
        };
        if state == State::Suspended {
            return false;
        }
        if state == State::Blocking && reader.related() {
            return false;
        }
        let follows = match reader {
            // Blocks (either way) ended the follow.
            Reader::Follower => {
                item.by_author && !matches!(item.state, State::Blocking | State::Blocked)
            }
            Reader::Other => !item.by_author,
            _ => false,
        };
        let mentioned = reader == Reader::Follower && item.by_author && item.vis == Vis::Direct;
        match item.vis {
            Vis::Public | Vis::Unlisted => true,
            Vis::Private => follows || mentioned,
            Vis::Direct => mentioned,
        }
    }

    /// Mastodon's `show?`: the item, and for a reblog its original too.
    fn permitted(&self, reader: Reader, item: &Item) -> bool {
        self.own_permitted(reader, item)
            && match (item.kind, item.original) {
                (Kind::Reblog, Some(o)) => self.own_permitted(reader, &self.items[o]),
                _ => true,
            }
    }

    /// Whether the reader hides the state's author (blocks, mutes, domain).
    fn hides(reader: Reader, state: State) -> bool {
        reader.related() && matches!(state, State::Blocked | State::Muted | State::DomainBlocked)
    }

    /// Lists leave out statuses by, and reblogs of, hidden authors.
    fn listed(&self, reader: Reader, item: &Item) -> bool {
        self.permitted(reader, item)
            && !((item.by_author || item.kind == Kind::Reblog) && Self::hides(reader, item.state))
    }

    /// Profiles leave out only reblogs of hidden authors.
    fn in_profile(&self, reader: Reader, item: &Item) -> bool {
        self.permitted(reader, item)
            && !(item.kind == Kind::Reblog && Self::hides(reader, item.state))
    }

    /// Public and hashtag timelines also leave out silenced authors.
    fn in_public(&self, reader: Reader, item: &Item) -> bool {
        self.listed(reader, item) && !(item.by_author && item.state == State::Silenced)
    }

    /// A quote's state as `reader` sees it, and whether the quoted status is shown.
    fn quote_state(&self, reader: Reader, item: &Item) -> (&'static str, bool) {
        let quoted = &self.items[item.original.expect("a quote has a quoted status")];
        if !self.own_permitted(reader, quoted) {
            ("unauthorized", false)
        } else if !reader.related() {
            ("accepted", true)
        } else {
            match quoted.state {
                State::DomainBlocked => ("blocked_domain", true),
                State::Blocked => ("blocked_account", true),
                State::Muted => ("muted_account", true),
                _ => ("accepted", true),
            }
        }
    }
}

/// Collected differences between the model and the server.
#[derive(Default)]
struct Report(Vec<String>);

impl Report {
    fn check(&mut self, path: &str, reader: Reader, item: &Item, expected: bool, got: bool) {
        if expected != got {
            self.0.push(format!(
                "{path} for {}: {} expected {}, got {}",
                reader.name(),
                item.label,
                if expected { "shown" } else { "hidden" },
                if got { "shown" } else { "hidden" }
            ));
        }
    }
}

/// The ids of a JSON array of statuses (or of objects with `key`).
fn ids_of(v: &Value) -> HashSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

struct World {
    server: TestServer,
    api: Api,
    items: Vec<Item>,
    readers: Vec<(Reader, Api)>,
    authors: Vec<(State, User)>,
    reblogger: User,
    quoter: User,
    /// Nina's public reply to each of the authors' own statuses, by item index.
    replies: Vec<(usize, String)>,
}

impl World {
    fn reader(&self, r: Reader) -> &Api {
        &self
            .readers
            .iter()
            .find(|(x, _)| *x == r)
            .expect("reader")
            .1
    }
}

async fn build(lane: Lane) -> World {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let vic = user_token(&server, "vic").await;
    let wes = user_token(&server, "wes").await;
    let sam = user_token(&server, "sam").await;
    let rob = user_token(&server, "rob").await;
    let quinn = user_token(&server, "quinn").await;
    let nina = user_token(&server, "nina").await;
    let (v, w, r, q, n) = (
        vic.api(&api),
        wes.api(&api),
        rob.api(&api),
        quinn.api(&api),
        nina.api(&api),
    );
    follow(&w, &rob.id).await;
    follow(&w, &quinn.id).await;

    let mut items: Vec<Item> = Vec::new();
    let mut authors = Vec::new();
    let mut replies = Vec::new();
    for state in STATES {
        let author = user_token(&server, &format!("a{}", state.name())).await;
        let a = author.api(&api);
        a.patch(
            "/api/v1/accounts/update_credentials",
            &[("indexable", "true"), ("discoverable", "true")],
        )
        .await
        .ok_json();
        follow(&v, &author.id).await;
        follow(&n, &author.id).await;
        let mut own = Vec::new();
        for vis in KINDS {
            let text = match vis {
                Vis::Direct => format!("@vic @nina vismatrix {} direct", state.name()),
                _ => format!("vismatrix #vismatrix {} {}", state.name(), vis.name()),
            };
            let s = post_status_with(&a, &[("status", &text), ("visibility", vis.name())]).await;
            own.push(items.len());
            items.push(Item {
                label: format!("{}/{}", state.name(), vis.name()),
                id: str_field(&s, "id"),
                state,
                by_author: true,
                vis,
                kind: Kind::Plain,
                original: None,
            });
        }
        for &o in &own {
            let (id, vis) = (items[o].id.clone(), items[o].vis);
            // Reblogs: by the reblogger where allowed, by the author of their own private one.
            let rebloggers: &[(&Api, bool)] = match vis {
                Vis::Public | Vis::Unlisted => &[(&r, false)],
                Vis::Private => &[(&a, true)],
                Vis::Direct => &[],
            };
            for (who, own_reblog) in rebloggers {
                let rb = who
                    .post(&format!("/api/v1/statuses/{id}/reblog"), &[])
                    .await
                    .ok_json();
                items.push(Item {
                    label: format!(
                        "{}/reblog-of-{}{}",
                        state.name(),
                        vis.name(),
                        if *own_reblog { "(self)" } else { "" }
                    ),
                    id: str_field(&rb, "id"),
                    state,
                    by_author: *own_reblog,
                    vis: if *own_reblog {
                        Vis::Private
                    } else {
                        Vis::Public
                    },
                    kind: Kind::Reblog,
                    original: Some(o),
                });
            }
            // Quotes: by the quoter where the policy allows, by the author of their own private one.
            let quoters: &[(&Api, bool)] = match vis {
                Vis::Public | Vis::Unlisted => &[(&q, false)],
                Vis::Private => &[(&a, true)],
                Vis::Direct => &[],
            };
            for (who, own_quote) in quoters {
                let quote_vis = if *own_quote { "private" } else { "public" };
                let qs = post_status_with(
                    who,
                    &[
                        ("status", "quoting this"),
                        ("quoted_status_id", &id),
                        ("visibility", quote_vis),
                    ],
                )
                .await;
                items.push(Item {
                    label: format!(
                        "{}/quote-of-{}{}",
                        state.name(),
                        vis.name(),
                        if *own_quote { "(self)" } else { "" }
                    ),
                    id: str_field(&qs, "id"),
                    state,
                    by_author: *own_quote,
                    vis: if *own_quote {
                        Vis::Private
                    } else {
                        Vis::Public
                    },
                    kind: Kind::Quote,
                    original: Some(o),
                });
            }
            // A public reply by Nina, whose thread shows the status as its ancestor.
            let reply = post_status_with(
                &n,
                &[
                    ("status", "a reply"),
                    ("in_reply_to_id", &id),
                    ("visibility", "public"),
                ],
            )
            .await;
            replies.push((o, str_field(&reply, "id")));
            // Favourited and bookmarked by the follower while they could.
            v.post(&format!("/api/v1/statuses/{id}/favourite"), &[])
                .await
                .ok_json();
            v.post(&format!("/api/v1/statuses/{id}/bookmark"), &[])
                .await
                .ok_json();
        }
        authors.push((state, author));
    }
    jobs_idle(&admin).await;

    // Now the states.
    for (state, author) in &authors {
        let a = author.api(&api);
        match state {
            State::Normal => {}
            State::Suspended | State::Silenced => {
                let verb = if *state == State::Suspended {
                    "suspend"
                } else {
                    "silence"
                };
                let (code, _, err) = server.command(&["admin", "accounts", verb, &author.name]);
                assert_eq!(code, 0, "{verb}: {err}");
            }
            State::Blocking => {
                for reader in [&vic, &wes] {
                    a.post(&format!("/api/v1/accounts/{}/block", reader.id), &[])
                        .await
                        .ok_json();
                }
            }
            State::Blocked | State::Muted => {
                let verb = if *state == State::Blocked {
                    "block"
                } else {
                    "mute"
                };
                for reader in [&v, &w] {
                    reader
                        .post(&format!("/api/v1/accounts/{}/{verb}", author.id), &[])
                        .await
                        .ok_json();
                }
            }
            State::DomainBlocked => {
                // The author becomes an account of another server, as
                // federation will store one, with its statuses.
                let changed = sql_execute(
                    &server,
                    "UPDATE accounts SET domain = 'remote.example' WHERE username = $1",
                    &[&author.name],
                )
                .await;
                assert_eq!(changed, 1);
                for reader in [&v, &w] {
                    reader
                        .post("/api/v1/domain_blocks", &[("domain", "remote.example")])
                        .await
                        .ok_json();
                }
            }
        }
    }
    jobs_idle(&admin).await;

    World {
        readers: vec![
            (Reader::Anonymous, api.anon()),
            (Reader::Follower, v),
            (Reader::Other, w),
            (Reader::Stranger, sam.api(&api)),
        ],
        server,
        api,
        items,
        authors,
        reblogger: rob,
        quoter: quinn,
        replies,
    }
}

/// All pages of a timeline (newest first, by the `Link` header).
async fn walk(api: &Api, path: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut next = Some(path.to_owned());
    let mut pages = 0;
    while let Some(p) = next.take() {
        let resp = api.get(&p).await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        let page = ids_of(&resp.json());
        if page.is_empty() {
            break;
        }
        out.extend(page);
        next = link(&resp, "next").map(|u| path_and_query(&u));
        pages += 1;
        assert!(pages < 50, "{path}: too many pages");
    }
    out
}

lane_test!(one_answer_on_every_path, |lane: Lane| async move {
    let world = build(lane).await;
    let model = Model {
        items: &world.items,
    };
    let mut report = Report::default();
    let items = &world.items;

    for (reader, api) in &world.readers {
        let reader = *reader;
        // One status, and its thread.
        for item in items {
            let resp = api.get(&format!("/api/v1/statuses/{}", item.id)).await;
            assert!(
                matches!(resp.status, 200 | 404),
                "GET status: {}",
                resp.describe()
            );
            report.check(
                "status",
                reader,
                item,
                model.permitted(reader, item),
                resp.status == 200,
            );
            if resp.status == 200 && item.kind == Kind::Quote {
                let v = resp.json();
                let (state, shown) = model.quote_state(reader, item);
                if v["quote"]["state"] != state || v["quote"]["quoted_status"].is_object() != shown
                {
                    report.0.push(format!(
                        "quote for {}: {} expected state {state} (quoted status shown: {shown}), got {}",
                        reader.name(),
                        item.label,
                        v["quote"]
                    ));
                }
            }
            let resp = api
                .get(&format!("/api/v1/statuses/{}/context", item.id))
                .await;
            report.check(
                "context",
                reader,
                item,
                model.permitted(reader, item),
                resp.status == 200,
            );
        }
        // Several by id.
        let mut got = HashSet::new();
        for chunk in items.chunks(20) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|i| ("id[]", i.id.as_str())).collect();
            got.extend(ids_of(
                &api.get_q("/api/v1/statuses", &query).await.ok_json(),
            ));
        }
        for item in items {
            report.check(
                "multi-get",
                reader,
                item,
                model.listed(reader, item),
                got.contains(&item.id),
            );
        }
        // Public and hashtag timelines.
        let public = walk(api, "/api/v1/timelines/public?limit=40").await;
        let tagged = walk(api, "/api/v1/timelines/tag/vismatrix?limit=40").await;
        for item in items {
            let candidate = item.vis == Vis::Public && item.kind != Kind::Reblog;
            if candidate {
                report.check(
                    "public timeline",
                    reader,
                    item,
                    model.in_public(reader, item),
                    public.contains(&item.id),
                );
            } else if public.contains(&item.id) {
                report.0.push(format!(
                    "public timeline for {}: {} is not public",
                    reader.name(),
                    item.label
                ));
            }
            if candidate && item.kind == Kind::Plain {
                report.check(
                    "hashtag timeline",
                    reader,
                    item,
                    model.in_public(reader, item),
                    tagged.contains(&item.id),
                );
            }
        }
        // Profiles.
        // Whose profile lists an item: its author's, the reblogger's or the quoter's.
        let owner_of = |i: &Item| -> String {
            if i.by_author {
                world
                    .authors
                    .iter()
                    .find(|(state, _)| *state == i.state)
                    .map(|(_, u)| u.id.clone())
                    .expect("an author per state")
            } else if i.kind == Kind::Reblog {
                world.reblogger.id.clone()
            } else {
                world.quoter.id.clone()
            }
        };
        let mut profiles: Vec<String> = world.authors.iter().map(|(_, u)| u.id.clone()).collect();
        profiles.push(world.reblogger.id.clone());
        profiles.push(world.quoter.id.clone());
        for account in &profiles {
            let resp = api
                .get(&format!("/api/v1/accounts/{account}/statuses?limit=40"))
                .await;
            let shown = if resp.status == 200 {
                ids_of(&resp.json())
            } else {
                HashSet::new()
            };
            for item in items.iter().filter(|i| owner_of(i) == *account) {
                report.check(
                    "profile",
                    reader,
                    item,
                    model.in_profile(reader, item),
                    shown.contains(&item.id),
                );
            }
        }
        // Threads: each author's status as the ancestor of Nina's reply.
        for (index, reply) in &world.replies {
            let item = &items[*index];
            let resp = api.get(&format!("/api/v1/statuses/{reply}/context")).await;
            let ancestors = ids_of(&resp.ok_json()["ancestors"]);
            report.check(
                "ancestors",
                reader,
                item,
                model.listed(reader, item),
                ancestors.contains(&item.id),
            );
        }
        if reader == Reader::Anonymous {
            continue;
        }
        // Search: the authors' own statuses carry the word; the follower
        // favourited them all, the others find public ones only.
        let found = ids_of(
            &api.get("/api/v2/search?q=vismatrix&type=statuses&limit=40")
                .await
                .ok_json()["statuses"],
        );
        for item in items
            .iter()
            .filter(|i| i.by_author && i.kind == Kind::Plain)
        {
            let searchable = reader == Reader::Follower || item.vis == Vis::Public;
            report.check(
                "search",
                reader,
                item,
                searchable && model.listed(reader, item),
                found.contains(&item.id),
            );
        }
    }

    // The follower's own lists.
    let v = world.reader(Reader::Follower);
    let home = walk(v, "/api/v1/timelines/home?limit=40").await;
    let favourites = walk(v, "/api/v1/favourites?limit=40").await;
    let bookmarks = walk(v, "/api/v1/bookmarks?limit=40").await;
    let conversations: HashSet<String> = v
        .get("/api/v1/conversations?limit=40")
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["last_status"]["id"].as_str().map(str::to_owned))
        .collect();
    let mentions: HashSet<String> = v
        .get("/api/v1/notifications?types[]=mention&limit=40")
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["status"]["id"].as_str().map(str::to_owned))
        .collect();
    let grouped = v
        .get("/api/v2/notifications?types[]=mention&limit=40")
        .await
        .ok_json();
    let grouped_statuses = ids_of(&grouped["statuses"]);
    let grouped_refs: HashSet<String> = grouped["notification_groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["status_id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        grouped_refs.is_subset(&grouped_statuses),
        "a notification group names a status the page does not carry: {grouped}"
    );
    let reader = Reader::Follower;
    for item in items {
        // Fan-out delivered the authors' own statuses and quotes (a reblog
        // of a status already in the feed is not added again).
        if item.by_author && item.kind != Kind::Reblog {
            report.check(
                "home",
                reader,
                item,
                model.listed(reader, item),
                home.contains(&item.id),
            );
        }
        if item.by_author && item.kind == Kind::Plain {
            let permitted = model.permitted(reader, item);
            report.check(
                "favourites",
                reader,
                item,
                permitted,
                favourites.contains(&item.id),
            );
            report.check(
                "bookmarks",
                reader,
                item,
                permitted,
                bookmarks.contains(&item.id),
            );
        }
        if item.by_author && item.kind == Kind::Plain && item.vis == Vis::Direct {
            let permitted = model.permitted(reader, item);
            report.check(
                "conversations",
                reader,
                item,
                permitted,
                conversations.contains(&item.id),
            );
            // Blocking an account deletes its notifications to the blocker.
            let notified = permitted && item.state != State::Blocked;
            report.check(
                "notifications",
                reader,
                item,
                notified,
                mentions.contains(&item.id),
            );
            report.check(
                "grouped notifications",
                reader,
                item,
                notified,
                grouped_statuses.contains(&item.id),
            );
        }
    }
    // The other reader's home: the reblogs and quotes of the accounts it follows.
    let w = world.reader(Reader::Other);
    let home = walk(w, "/api/v1/timelines/home?limit=40").await;
    for item in items.iter().filter(|i| !i.by_author) {
        report.check(
            "home",
            Reader::Other,
            item,
            model.listed(Reader::Other, item),
            home.contains(&item.id),
        );
    }
    // Reports: a status the reporter may not see answers as one of another account.
    for reader in [Reader::Follower, Reader::Stranger] {
        let api = world.reader(reader);
        for (state, author) in &world.authors {
            let own = items
                .iter()
                .filter(|i| i.by_author && i.state == *state && i.kind == Kind::Plain);
            for item in own {
                let form = [
                    ("account_id", author.id.as_str()),
                    ("status_ids[]", item.id.as_str()),
                ];
                let resp = api.post("/api/v1/reports", &form).await;
                assert!(
                    matches!(resp.status, 200 | 404),
                    "report: {}",
                    resp.describe()
                );
                let permitted = model.permitted(reader, item);
                report.check("report", reader, item, permitted, resp.status == 200);
            }
        }
    }
    // Favouriting through a reblog's id favourites its original, if both may be seen.
    for item in items
        .iter()
        .filter(|i| i.kind == Kind::Reblog && !i.by_author)
    {
        let resp = w
            .post(&format!("/api/v1/statuses/{}/favourite", item.id), &[])
            .await;
        assert!(
            matches!(resp.status, 200 | 403 | 404),
            "favourite: {}",
            resp.describe()
        );
        // Mastodon's `favourite?`: `show?`, and the reader does not block the author.
        let allowed = model.permitted(Reader::Other, item) && item.state != State::Blocked;
        report.check(
            "favourite by reblog id",
            Reader::Other,
            item,
            allowed,
            resp.status == 200,
        );
    }
    let favourited = walk(w, "/api/v1/favourites?limit=40").await;
    for item in items
        .iter()
        .filter(|i| i.kind == Kind::Reblog && !i.by_author)
    {
        let original = &items[item.original.unwrap()];
        if favourited.contains(&item.id) {
            report.0.push(format!(
                "favourites for other: the reblog {} itself was favourited",
                item.label
            ));
        }
        let allowed = model.permitted(Reader::Other, item) && item.state != State::Blocked;
        report.check(
            "favourites (originals of reblogs)",
            Reader::Other,
            item,
            allowed,
            favourited.contains(&original.id),
        );
    }

    assert_no_panics(&world.server);
    let _ = &world.api;
    assert!(
        report.0.is_empty(),
        "{} differences from the visibility model:\n{}",
        report.0.len(),
        report.0.join("\n")
    );
});

// Finding 6: a suspension (made while the instance runs) takes the account's
// statuses out of every reader's view at once, reblogs included, and out of
// its followers' feeds; lifting it brings them back.
lane_test!(
    suspension_hides_everything_at_once,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let admin = jobs_admin(&server, "boss").await;
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let dave = user_token(&server, "dave").await;
        let (a, b, c, d) = (
            alice.api(&api),
            bob.api(&api),
            carol.api(&api),
            dave.api(&api),
        );
        follow(&b, &alice.id).await;
        follow(&d, &carol.id).await;
        let public = str_field(&post_status(&a, "hello from alice").await, "id");
        let private = str_field(
            &post_status_with(
                &a,
                &[("status", "for followers"), ("visibility", "private")],
            )
            .await,
            "id",
        );
        let dm = str_field(
            &post_status_with(&a, &[("status", "@bob psst"), ("visibility", "direct")]).await,
            "id",
        );
        let reblog = str_field(
            &c.post(&format!("/api/v1/statuses/{public}/reblog"), &[])
                .await
                .ok_json(),
            "id",
        );
        jobs_idle(&admin).await;
        let home = timeline_ids(&b, "/api/v1/timelines/home").await;
        for id in [&public, &private, &dm] {
            assert!(home.contains(id), "before: {home:?}");
        }
        assert!(
            timeline_ids(&d, "/api/v1/timelines/home")
                .await
                .contains(&reblog)
        );

        let (code, _, err) = server.command(&["admin", "accounts", "suspend", "alice"]);
        assert_eq!(code, 0, "{err}");
        // At once, before any job ran: every path reads the author's state.
        let home = timeline_ids(&b, "/api/v1/timelines/home").await;
        for id in [&public, &private, &dm] {
            assert!(
                !home.contains(id),
                "a suspended author's status in home: {home:?}"
            );
        }
        assert!(
            !timeline_ids(&d, "/api/v1/timelines/home")
                .await
                .contains(&reblog)
        );
        assert!(
            !timeline_ids(&c, &format!("/api/v1/accounts/{}/statuses", carol.id))
                .await
                .contains(&reblog)
        );
        for who in [&api, &b, &d] {
            for id in [&public, &reblog] {
                assert_eq!(who.get(&format!("/api/v1/statuses/{id}")).await.status, 404);
            }
            let many = who
                .get_q("/api/v1/statuses", &[("id[]", &public), ("id[]", &reblog)])
                .await
                .ok_json();
            assert_eq!(
                many,
                Value::Array(vec![]),
                "multi-get shows a suspended author"
            );
        }
        let conversations = b.get("/api/v1/conversations").await.ok_json();
        assert!(
            !conversations.to_string().contains(&dm),
            "the suspended account's DM stays in conversations: {conversations}"
        );
        // Its statuses also leave the feed store (not only the pages read from it).
        jobs_idle(&admin).await;
        if lane != Lane::Redis {
            let left = sql_fetch_text(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM home_feed_entries WHERE account_id = CAST($1 AS BIGINT) \
             AND status_id IN (CAST($2 AS BIGINT), CAST($3 AS BIGINT))",
            &[&bob.id, &public, &private],
        )
        .await;
            assert_eq!(
                left.as_deref(),
                Some("0"),
                "feed entries left after the suspension"
            );
        }

        let (code, _, err) = server.command(&["admin", "accounts", "unsuspend", "alice"]);
        assert_eq!(code, 0, "{err}");
        jobs_idle(&admin).await;
        let home = timeline_ids(&b, "/api/v1/timelines/home").await;
        for id in [&public, &private, &dm] {
            assert!(home.contains(id), "after unsuspension: {home:?}");
        }
        assert_eq!(
            api.get(&format!("/api/v1/statuses/{reblog}")).await.status,
            200
        );
        assert_no_panics(&server);
    }
);

// Finding 7: a reader blocked by an author cannot reach the author's status
// through someone's reblog of it; interactions through a reblog's id act on
// the original.
lane_test!(reblog_ids_lead_to_the_original, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let dave = user_token(&server, "dave").await;
    let (a, b, c, d) = (
        alice.api(&api),
        bob.api(&api),
        carol.api(&api),
        dave.api(&api),
    );
    let original = str_field(&post_status(&a, "not for bob").await, "id");
    let reblog = str_field(
        &c.post(&format!("/api/v1/statuses/{original}/reblog"), &[])
            .await
            .ok_json(),
        "id",
    );
    a.post(&format!("/api/v1/accounts/{}/block", bob.id), &[])
        .await
        .ok_json();
    for path in [
        format!("/api/v1/statuses/{reblog}"),
        format!("/api/v1/statuses/{reblog}/context"),
    ] {
        assert_eq!(b.get(&path).await.status, 404, "{path}");
    }
    for action in ["favourite", "bookmark", "reblog"] {
        let resp = b
            .post(&format!("/api/v1/statuses/{reblog}/{action}"), &[])
            .await;
        assert_eq!(
            resp.status,
            404,
            "{action} through the reblog: {}",
            resp.describe()
        );
    }
    // Dave may: the favourite and the bookmark land on the original.
    d.post(&format!("/api/v1/statuses/{reblog}/favourite"), &[])
        .await
        .ok_json();
    d.post(&format!("/api/v1/statuses/{reblog}/bookmark"), &[])
        .await
        .ok_json();
    let seen = d
        .get(&format!("/api/v1/statuses/{original}"))
        .await
        .ok_json();
    assert_eq!(seen["favourited"], true, "{seen}");
    assert_eq!(seen["bookmarked"], true, "{seen}");
    assert_eq!(seen["favourites_count"], 1, "{seen}");
    assert_eq!(
        timeline_ids(&d, "/api/v1/favourites").await,
        vec![original.clone()]
    );
    assert_eq!(
        timeline_ids(&d, "/api/v1/bookmarks").await,
        vec![original.clone()]
    );
    let by = ids(&d
        .get(&format!("/api/v1/statuses/{original}/favourited_by"))
        .await
        .ok_json());
    assert_eq!(by, vec![dave.id.clone()]);
    d.post(&format!("/api/v1/statuses/{reblog}/unfavourite"), &[])
        .await
        .ok_json();
    let seen = d
        .get(&format!("/api/v1/statuses/{original}"))
        .await
        .ok_json();
    assert_eq!(seen["favourites_count"], 0, "{seen}");
    assert_no_panics(&server);
});

// Finding 8: a mention an edit removes stays as a silent mention (as
// Mastodon's `UpdateStatusService`), so every path agrees: the status, its
// history and the conversation all stay visible to the removed recipient,
// who is no longer listed as mentioned or notified again.
lane_test!(edited_mentions_stay_silent, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    let dm = str_field(
        &post_status_with(
            &a,
            &[("status", "@bob @carol first"), ("visibility", "direct")],
        )
        .await,
        "id",
    );
    jobs_idle(&admin).await;
    a.send(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{dm}"),
        Body::form(&[("status", "@carol second")]),
        &[],
    )
    .await
    .ok_json();
    jobs_idle(&admin).await;
    for who in [&b, &c] {
        let status = who.get(&format!("/api/v1/statuses/{dm}")).await.ok_json();
        assert!(
            status["content"].as_str().unwrap().contains("second"),
            "{status}"
        );
        let mentioned: Vec<String> = status["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| str_field(m, "id"))
            .collect();
        assert_eq!(mentioned, vec![carol.id.clone()], "{status}");
        assert_eq!(
            who.get(&format!("/api/v1/statuses/{dm}/history"))
                .await
                .status,
            200
        );
        let conversations = who.get("/api/v1/conversations").await.ok_json();
        let last = &conversations[0]["last_status"];
        assert_eq!(last["id"], dm.as_str(), "{conversations}");
        assert_eq!(last["content"], status["content"], "{conversations}");
    }
    // A stranger still sees nothing of it, anywhere.
    let dave = user_token(&server, "dave").await;
    let d = dave.api(&api);
    assert_eq!(d.get(&format!("/api/v1/statuses/{dm}")).await.status, 404);
    assert_eq!(
        d.get("/api/v1/conversations").await.ok_json(),
        Value::Array(vec![])
    );
    assert_no_panics(&server);
});

// Finding 10: a report naming a status the reporter may not see answers as
// one naming another account's status, so it tells nothing of its existence.
lane_test!(reports_reveal_nothing, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    let public = str_field(&post_status(&a, "public").await, "id");
    let private = str_field(
        &post_status_with(&a, &[("status", "followers"), ("visibility", "private")]).await,
        "id",
    );
    let direct = str_field(
        &post_status_with(&a, &[("status", "@carol hi"), ("visibility", "direct")]).await,
        "id",
    );
    let carols = str_field(&post_status(&c, "carol's").await, "id");
    let report = |ids: Vec<String>| {
        let b = b.clone();
        let alice = alice.id.clone();
        async move {
            let mut form: Vec<(&str, &str)> = vec![("account_id", alice.as_str())];
            form.extend(ids.iter().map(|id| ("status_ids[]", id.as_str())));
            b.post("/api/v1/reports", &form).await
        }
    };
    let foreign = report(vec![carols.clone()]).await;
    assert_eq!(foreign.status, 404, "{}", foreign.describe());
    for hidden in [&private, &direct] {
        let resp = report(vec![hidden.clone()]).await;
        assert_eq!(resp.status, foreign.status, "{}", resp.describe());
        assert_eq!(
            resp.json(),
            foreign.json(),
            "a hidden status answers differently"
        );
        let resp = report(vec![public.clone(), hidden.clone()]).await;
        assert_eq!(resp.status, 404, "{}", resp.describe());
    }
    report(vec![public.clone()]).await.ok_json();
    // Carol is mentioned in the direct status: she may report it.
    c.post(
        "/api/v1/reports",
        &[("account_id", &alice.id), ("status_ids[]", &direct)],
    )
    .await
    .ok_json();
    assert_no_panics(&server);
});
