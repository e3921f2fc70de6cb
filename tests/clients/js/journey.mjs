#!/usr/bin/env node
// A two-user journey through Ferrodon driven by masto.js, a real client
// library from npm (major version 7, its REST client `createRestAPIClient`).
//
// Usage: node journey.mjs BASE_URL
//
// masto.js is loaded from FERRODON_TEST_NODE_MODULES (a node_modules
// directory where `npm ci` installed this directory's package-lock.json), or
// from ./node_modules beside this script.
//
// Creates an app, registers alice and bob, logs them in with the password
// grant, then: verifies credentials; updates the profile (display name, note;
// an avatar and a status with an image when the server accepts PNG); follows;
// posts with a content warning (and an Idempotency-Key); replies; favourites,
// boosts and bookmarks; reads notifications (v1 and grouped v2); lists and a
// list timeline; a v2 keyword filter applied to the home timeline; Link-header
// pagination; a poll and a vote; an edit, its history and the `update`
// notification; search v2 (accounts, hashtags, statuses of an indexable
// account); delete; mute; block; token revocation. Every step is checked; the
// first failure exits non-zero naming the step. Usernames carry a random
// suffix, so the script can run repeatedly against a long-lived server.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const POLL_SECONDS = 30;
const PASSWORD = "correct horse battery staple";
// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

class StepFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new StepFailed(message);
}

function show(value) {
  return JSON.stringify(value, null, 0)?.slice(0, 2000);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls fetch() until predicate(result) holds, for up to POLL_SECONDS. */
async function poll(what, fetch, predicate) {
  const deadline = Date.now() + POLL_SECONDS * 1000;
  for (;;) {
    const result = await fetch();
    if (predicate(result)) return result;
    if (Date.now() > deadline) {
      throw new StepFailed(`timed out after ${POLL_SECONDS}s waiting for ${what}; last result: ${show(result)}`);
    }
    await sleep(200);
  }
}

/** Expects `promise` to fail with HTTP `status`. */
async function expectStatus(what, promise, status) {
  let result;
  try {
    result = await promise;
  } catch (e) {
    check(e?.statusCode === status, `${what}: expected HTTP ${status}, got ${e?.statusCode ?? e}: ${e?.message}`);
    return e;
  }
  throw new StepFailed(`${what}: expected HTTP ${status}, but it succeeded: ${show(result)}`);
}

const ids = (items) => items.map((x) => String(x.id));
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** masto.js's ESM entry point from the node_modules directory in use. */
async function loadMasto() {
  const here = dirname(fileURLToPath(import.meta.url));
  const modules = process.env.FERRODON_TEST_NODE_MODULES || join(here, "node_modules");
  const pkgPath = join(modules, "masto", "package.json");
  if (!existsSync(pkgPath)) {
    throw new Error(`masto.js is not installed in ${modules} (run \`npm ci\` in ${here})`);
  }
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  if (!pkg.version.startsWith("7.")) {
    throw new Error(`masto.js ${pkg.version} in ${modules}; this journey is written for 7.x`);
  }
  const entry = pkg.exports["."].import.default;
  const masto = await import(pathToFileURL(join(modules, "masto", entry)).href);
  return { masto, version: pkg.version };
}

async function main(baseUrl) {
  baseUrl = baseUrl.replace(/\/+$/, "");
  const { masto, version } = await loadMasto();
  const { createOAuthAPIClient, createRestAPIClient } = masto;
  console.log(`masto.js ${version} against ${baseUrl}`);
  const suffix = randomBytes(4).toString("hex");
  let step = "start";
  const at = (name) => {
    step = name;
    console.log(`- ${name}`);
  };

  try {
    at("create an app");
    const anonymous = createRestAPIClient({ url: baseUrl });
    const app = await anonymous.v1.apps.create({
      clientName: `ferrodon-mastojs-${suffix}`,
      redirectUris: "urn:ietf:wg:oauth:2.0:oob",
      scopes: "read write follow push",
      website: "https://ferrodon.example/",
    });
    check(app.clientId && app.clientSecret, `apps.create returned no credentials: ${show(app)}`);
    check(app.name === `ferrodon-mastojs-${suffix}`, `app name ${show(app.name)}`);
    const oauth = createOAuthAPIClient({ url: baseUrl });
    const token = (params) =>
      oauth.token.create({
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        redirectUri: "urn:ietf:wg:oauth:2.0:oob",
        scope: "read write follow push",
        ...params,
      });

    at("get an app token");
    const appToken = await token({ grantType: "client_credentials" });
    check(appToken.accessToken && appToken.tokenType === "Bearer", `client_credentials token ${show(appToken)}`);
    const registrar = createRestAPIClient({ url: baseUrl, accessToken: appToken.accessToken });

    const users = {};
    for (const name of ["alice", "bob"]) {
      const username = `${name}_${suffix}`;
      const email = `${username}@example.com`;
      at(`register ${name}`);
      const registered = await registrar.v1.accounts.create({
        username,
        email,
        password: PASSWORD,
        agreement: true,
        locale: "en",
      });
      check(registered.accessToken, `accounts.create returned no token: ${show(registered)}`);

      at(`log in as ${name} with the password grant`);
      const login = await token({ grantType: "password", username: email, password: PASSWORD });
      check(login.accessToken && login.accessToken !== registered.accessToken, `password grant ${show(login)}`);
      const client = createRestAPIClient({ url: baseUrl, accessToken: login.accessToken });

      at(`verify ${name}'s credentials`);
      const me = await client.v1.accounts.verifyCredentials();
      check(me.username === username && me.acct === username, `verify_credentials as ${show(me.acct)}`);
      check(typeof me.id === "string" && /^\d+$/.test(me.id), `account id ${show(me.id)}`);
      check(me.source && me.source.privacy === "public", `source ${show(me.source)}`);
      check(me.followersCount === 0 && me.statusesCount === 0, `new account counts ${show(me)}`);
      users[name] = { client, me, token: login.accessToken };
    }
    at("register a taken username");
    const taken = await expectStatus(
      "registering alice's username again",
      registrar.v1.accounts.create({
        username: users.alice.me.username,
        email: `other_${suffix}@example.com`,
        password: PASSWORD,
        agreement: true,
        locale: "en",
      }),
      422,
    );
    check(taken.details?.username?.[0]?.error === "ERR_TAKEN", `error details ${show(taken.details)}`);
    const { client: alice, me: aliceMe } = users.alice;
    const { client: bob, me: bobMe } = users.bob;
    await expectStatus(
      "verify_credentials without a token",
      anonymous.v1.accounts.verifyCredentials(),
      401,
    );

    at("update the profile");
    const updated = await alice.v1.accounts.updateCredentials({
      displayName: "Alice Liddell",
      note: "Curiouser and curiouser",
      fieldsAttributes: [{ name: "Pronouns", value: "she/her" }],
      source: { privacy: "unlisted", language: "en" },
    });
    check(updated.displayName === "Alice Liddell", `display_name ${show(updated.displayName)}`);
    check(updated.note.includes("Curiouser and curiouser"), `note ${show(updated.note)}`);
    check(updated.source.note === "Curiouser and curiouser", `source.note ${show(updated.source)}`);
    check(updated.source.privacy === "unlisted" && updated.source.language === "en", `source ${show(updated.source)}`);
    check(
      updated.fields.length === 1 && updated.fields[0].name === "Pronouns" && updated.fields[0].value === "she/her",
      `fields ${show(updated.fields)}`,
    );
    const defaultVisibility = await alice.v1.statuses.create({ status: "Posted with the default visibility" });
    check(defaultVisibility.visibility === "unlisted", `source.privacy as the default ${show(defaultVisibility.visibility)}`);
    await alice.v1.statuses.$select(defaultVisibility.id).remove();
    const seen = await bob.v1.accounts.$select(aliceMe.id).fetch();
    check(seen.displayName === "Alice Liddell" && seen.note === updated.note, `bob sees ${show(seen)}`);
    const bobUpdated = await bob.v1.accounts.updateCredentials({ indexable: true, discoverable: true });
    check(bobUpdated.indexable === true && bobUpdated.discoverable === true, `bob indexable ${show(bobUpdated)}`);

    at("upload an avatar");
    const instance = await anonymous.v2.instance.fetch();
    const mimeTypes = instance.configuration?.mediaAttachments?.supportedMimeTypes ?? [];
    if (mimeTypes.includes("image/png")) {
      const before = updated.avatar;
      const withAvatar = await alice.v1.accounts.updateCredentials({
        avatar: new File([PNG], "avatar.png", { type: "image/png" }),
      });
      check(withAvatar.avatar && withAvatar.avatar !== before, `avatar unchanged: ${show(withAvatar.avatar)}`);
      check(withAvatar.avatarStatic, `avatar_static ${show(withAvatar.avatarStatic)}`);
      check(withAvatar.displayName === "Alice Liddell", "an avatar upload keeps the display name");
      const image = await fetch(withAvatar.avatar.replace(/^https?:\/\/[^/]+/, baseUrl));
      check(image.ok, `GET the avatar: HTTP ${image.status}`);
      const bytes = Buffer.from(await image.arrayBuffer());
      check(bytes.subarray(0, 8).equals(PNG.subarray(0, 8)), "the avatar URL serves a PNG");
      const public_ = await bob.v1.accounts.$select(aliceMe.id).fetch();
      check(public_.avatar === withAvatar.avatar, `bob sees the avatar ${show(public_.avatar)}`);
      console.log("  avatar: uploaded");
    } else {
      console.log("  avatar: skipped, the server lists no image types in configuration.media_attachments");
    }
    const mediaSupported = mimeTypes.includes("image/png");

    at("follow each other");
    let rel = await alice.v1.accounts.$select(bobMe.id).follow();
    check(rel.id === bobMe.id && rel.following && !rel.requested, `alice follows bob ${show(rel)}`);
    rel = await bob.v1.accounts.$select(aliceMe.id).follow();
    check(rel.following && rel.followedBy, `bob follows alice back ${show(rel)}`);
    const rels = await alice.v1.accounts.relationships.fetch({ id: [bobMe.id] });
    check(rels.length === 1 && rels[0].following && rels[0].followedBy, `relationships ${show(rels)}`);
    const following = await alice.v1.accounts.$select(aliceMe.id).following.list();
    check(sameList(ids(following), [bobMe.id]), `alice's following ${show(ids(following))}`);

    at("post with a content warning");
    const tag = `mastojs${suffix}`;
    const word = `zebra${suffix}`;
    const idempotent = { requestInit: { headers: { "Idempotency-Key": `first-${suffix}` } } };
    const firstParams = { status: `Hello from masto.js #${tag} ${word}`, spoilerText: "testing", visibility: "public" };
    const first = await bob.v1.statuses.create(firstParams, idempotent);
    const again = await bob.v1.statuses.create(firstParams, idempotent);
    check(again.id === first.id, `Idempotency-Key: a second status ${again.id} for ${first.id}`);
    check(first.account.id === bobMe.id, `author ${show(first.account.id)}`);
    check(first.spoilerText === "testing" && first.sensitive === true, `content warning ${show(first)}`);
    check(first.content.includes("Hello from masto.js"), `content ${show(first.content)}`);
    check(first.visibility === "public", `visibility ${show(first.visibility)}`);
    check(first.tags.some((t) => t.name === tag), `tags ${show(first.tags)}`);

    if (mediaSupported) {
      at("a status with an image");
      // masto.js polls GET /api/v1/media/:id until the attachment has a URL.
      const media = await bob.v2.media.create({
        file: new File([PNG], "dot.png", { type: "image/png" }),
        description: "a single dot",
      });
      check(media.id && media.type === "image" && media.url && media.description === "a single dot", `media ${show(media)}`);
      const withMedia = await bob.v1.statuses.create({ status: "A picture", mediaIds: [media.id] });
      check(
        withMedia.mediaAttachments.length === 1 && withMedia.mediaAttachments[0].id === media.id,
        `media_attachments ${show(withMedia.mediaAttachments)}`,
      );
      const served = await fetch(media.url.replace(/^https?:\/\/[^/]+/, baseUrl));
      check(served.ok, `GET the attachment: HTTP ${served.status}`);
      await bob.v1.statuses.$select(withMedia.id).remove();
    }

    at("the post reaches alice's home");
    await poll("bob's post in alice's home", () => alice.v1.timelines.home.list(), (tl) => ids(tl).includes(first.id));

    at("reply");
    const reply = await alice.v1.statuses.create({
      status: `@${bobMe.acct} what a ${word}!`,
      inReplyToId: first.id,
    });
    check(reply.inReplyToId === first.id && reply.inReplyToAccountId === bobMe.id, `reply ${show(reply)}`);
    check(reply.mentions.some((m) => m.id === bobMe.id), `mentions ${show(reply.mentions)}`);
    const context = await bob.v1.statuses.$select(first.id).context.fetch();
    check(sameList(ids(context.descendants), [reply.id]), `descendants ${show(ids(context.descendants))}`);

    at("favourite, boost and bookmark");
    const favourited = await alice.v1.statuses.$select(first.id).favourite();
    check(favourited.id === first.id && favourited.favourited && favourited.favouritesCount === 1, `favourite ${show(favourited)}`);
    const boost = await alice.v1.statuses.$select(first.id).reblog();
    check(boost.reblog?.id === first.id && boost.account.id === aliceMe.id, `reblog ${show(boost)}`);
    check(boost.reblog.reblogged && boost.reblog.reblogsCount === 1, `reblogged flags ${show(boost.reblog)}`);
    const bookmarked = await alice.v1.statuses.$select(first.id).bookmark();
    check(bookmarked.bookmarked, `bookmark ${show(bookmarked)}`);
    const bookmarks = await alice.v1.bookmarks.list();
    check(sameList(ids(bookmarks), [first.id]), `bookmarks ${show(ids(bookmarks))}`);
    const favourites = await alice.v1.favourites.list();
    check(sameList(ids(favourites), [first.id]), `favourites ${show(ids(favourites))}`);
    const counted = await bob.v1.statuses.$select(first.id).fetch();
    check(
      counted.favouritesCount === 1 && counted.reblogsCount === 1 && counted.repliesCount === 1,
      `counts seen by bob ${show(counted)}`,
    );
    check(!counted.favourited && !counted.bookmarked, "bob's own flags stay false");
    const favouritedBy = await bob.v1.statuses.$select(first.id).favouritedBy.list();
    check(sameList(ids(favouritedBy), [aliceMe.id]), `favourited_by ${show(ids(favouritedBy))}`);
    const rebloggedBy = await bob.v1.statuses.$select(first.id).rebloggedBy.list();
    check(sameList(ids(rebloggedBy), [aliceMe.id]), `reblogged_by ${show(ids(rebloggedBy))}`);

    at("notifications v1");
    const wanted = ["favourite", "follow", "mention", "reblog"];
    const notes = await poll(
      "bob's follow, mention, favourite and reblog notifications",
      () => bob.v1.notifications.list({ limit: 40 }),
      (ns) => wanted.every((t) => ns.some((n) => n.type === t)),
    );
    for (const n of notes) {
      check(n.account.id === aliceMe.id, `notification from ${show(n.account.id)}`);
    }
    const byType = Object.fromEntries(notes.map((n) => [n.type, n]));
    check(byType.mention.status?.id === reply.id, `mention ${show(byType.mention)}`);
    check(byType.favourite.status?.id === first.id, `favourite ${show(byType.favourite)}`);
    check(byType.reblog.status?.id === first.id, `reblog ${show(byType.reblog)}`);
    check(!byType.follow.status, `follow has no status ${show(byType.follow)}`);
    const mentions = await bob.v1.notifications.list({ types: ["mention"] });
    check(sameList(ids(mentions), [byType.mention.id]), `types[]=mention ${show(mentions)}`);
    const one = await bob.v1.notifications.$select(byType.favourite.id).fetch();
    check(one.id === byType.favourite.id && one.type === "favourite", `notification ${show(one)}`);

    at("grouped notifications v2");
    const grouped = await bob.v2.notifications.list();
    const groups = grouped.notificationGroups;
    check(Array.isArray(groups) && groups.length === 4, `4 groups ${show(grouped)}`);
    check(sameList(groups.map((g) => g.type).sort(), wanted), `group types ${show(groups.map((g) => g.type))}`);
    for (const g of groups) {
      check(g.notificationsCount === 1, `notifications_count ${show(g)}`);
      check(sameList(g.sampleAccountIds, [aliceMe.id]), `sample_account_ids ${show(g)}`);
      check(typeof g.groupKey === "string" && g.groupKey.length > 0, `group_key ${show(g)}`);
    }
    check(ids(grouped.accounts).includes(aliceMe.id), `accounts ${show(ids(grouped.accounts))}`);
    const groupedStatusIds = ids(grouped.statuses);
    check(groupedStatusIds.includes(first.id) && groupedStatusIds.includes(reply.id), `statuses ${show(groupedStatusIds)}`);
    const favGroup = groups.find((g) => g.type === "favourite");
    check(favGroup.statusId === first.id, `favourite group status_id ${show(favGroup)}`);
    const fetchedGroup = await bob.v2.notifications.$select(favGroup.groupKey).fetch();
    check(
      fetchedGroup.notificationGroups.length === 1 && fetchedGroup.notificationGroups[0].groupKey === favGroup.groupKey,
      `group by key ${show(fetchedGroup)}`,
    );
    const unread = await bob.v2.notifications.unreadCount.fetch();
    check(unread.count === 4, `unread_count ${show(unread)}`);

    await listsStep({ alice, bob, aliceMe, bobMe, first, at, suffix });
    await filtersStep({ alice, bob, at, suffix });
    await pollStep({ alice, bob, aliceMe, at });
    await editStep({ alice, bob, aliceMe, first, word, at });
    await searchStep({ alice, bob, aliceMe, bobMe, first, reply, tag, word, at, suffix });

    await extrasStep({ alice, bob, anonymous, aliceMe, bobMe, first, tag, at });

    at("delete");
    const deleted = await alice.v1.statuses.$select(reply.id).remove();
    check(deleted.id === reply.id && deleted.text === `@${bobMe.acct} what a ${word}!`, `delete returns the source ${show(deleted)}`);
    await expectStatus("the deleted status", bob.v1.statuses.$select(reply.id).fetch(), 404);
    const afterDelete = await bob.v1.statuses.$select(first.id).fetch();
    check(afterDelete.repliesCount === 0, `replies_count after delete ${show(afterDelete.repliesCount)}`);
    const thread = await bob.v1.statuses.$select(first.id).context.fetch();
    check(thread.descendants.length === 0, `descendants after delete ${show(thread)}`);

    await muteStep({ alice, bob, bobMe, first, at });
    await blockStep({ alice, bob, aliceMe, bobMe, first, at });

    at("revoke the token");
    await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: users.alice.token });
    await expectStatus(
      "the revoked token",
      createRestAPIClient({ url: baseUrl, accessToken: users.alice.token }).v1.accounts.verifyCredentials(),
      401,
    );
  } catch (e) {
    if (e instanceof StepFailed) {
      console.error(`FAILED at step '${step}': ${e.message}`);
    } else {
      const extra = e?.statusCode ? ` (HTTP ${e.statusCode}${e.description ? `: ${e.description}` : ""})` : "";
      console.error(`FAILED at step '${step}': ${e?.name}: ${e?.message}${extra}`);
      console.error(e?.stack);
    }
    return 1;
  }
  console.log("masto.js journey: OK");
  return 0;
}

/** Lists: create, add bob, the list timeline, update, remove, delete. */
async function listsStep({ alice, bob, bobMe, first, at, suffix }) {
  at("lists");
  const created = await alice.v1.lists.create({ title: `friends ${suffix}` });
  check(created.title === `friends ${suffix}` && created.repliesPolicy === "list" && created.exclusive === false, `list ${show(created)}`);
  const all = await alice.v1.lists.list();
  check(ids(all).includes(created.id), `lists ${show(all)}`);
  await alice.v1.lists.$select(created.id).accounts.create({ accountIds: [bobMe.id] });
  const members = await alice.v1.lists.$select(created.id).accounts.list();
  check(sameList(ids(members), [bobMe.id]), `list members ${show(ids(members))}`);
  const bobsLists = await alice.v1.accounts.$select(bobMe.id).lists.list();
  check(sameList(ids(bobsLists), [created.id]), `accounts/:id/lists ${show(bobsLists)}`);
  await expectStatus(
    "adding a member twice",
    alice.v1.lists.$select(created.id).accounts.create({ accountIds: [bobMe.id] }),
    422,
  );
  await expectStatus("bob reading alice's list", bob.v1.lists.$select(created.id).fetch(), 404);

  at("list timeline");
  const timeline = await alice.v1.timelines.list.$select(created.id).list();
  check(ids(timeline).includes(first.id), `bob's post in the list timeline ${show(ids(timeline))}`);
  check(timeline.every((s) => s.account.id === bobMe.id), `only members' posts ${show(timeline.map((s) => s.account.acct))}`);
  const renamed = await alice.v1.lists.$select(created.id).update({ title: "close friends", repliesPolicy: "none" });
  check(renamed.id === created.id && renamed.title === "close friends" && renamed.repliesPolicy === "none", `list update ${show(renamed)}`);
  await alice.v1.lists.$select(created.id).accounts.remove({ accountIds: [bobMe.id] });
  const empty = await alice.v1.timelines.list.$select(created.id).list();
  check(empty.length === 0, `the emptied list's timeline ${show(ids(empty))}`);
  await alice.v1.lists.$select(created.id).remove();
  await expectStatus("the deleted list", alice.v1.lists.$select(created.id).fetch(), 404);
}

/** A v2 keyword filter marks a status in home (`filtered`), then hides it. */
async function filtersStep({ alice, bob, at, suffix }) {
  at("create a v2 filter");
  const keyword = `spoilers${suffix}`;
  const filter = await alice.v2.filters.create({
    title: "No spoilers",
    context: ["home", "public"],
    filterAction: "warn",
    keywordsAttributes: [{ keyword, wholeWord: true }],
  });
  check(filter.title === "No spoilers" && filter.filterAction === "warn", `filter ${show(filter)}`);
  check(sameList([...filter.context].sort(), ["home", "public"]), `context ${show(filter.context)}`);
  check(filter.keywords.length === 1 && filter.keywords[0].keyword === keyword && filter.keywords[0].wholeWord, `keywords ${show(filter.keywords)}`);

  at("a filtered status in home");
  const spoiler = await bob.v1.statuses.create({ status: `Big ${keyword} ahead` });
  const plain = await bob.v1.statuses.create({ status: "Nothing to hide" });
  const home = await poll(
    "bob's posts in alice's home",
    () => alice.v1.timelines.home.list(),
    (tl) => ids(tl).includes(spoiler.id) && ids(tl).includes(plain.id),
  );
  at("paginate the home timeline");
  const full = ids(await alice.v1.timelines.home.list({ limit: 40 }));
  check(full.length >= 3, `home ${show(full)}`);
  check(sameList(full, [...full].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1))), `home is newest first ${show(full)}`);
  const walked = [];
  for await (const page of alice.v1.timelines.home.list({ limit: 1 })) {
    check(page.length <= 1, `limit=1 gave ${page.length}`);
    walked.push(...ids(page));
    check(walked.length <= full.length, `pagination does not end ${show(walked)}`);
  }
  check(sameList(walked, full), `following Link next: ${show(walked)}, expected ${show(full)}`);
  const newer = [];
  const oldest = full[full.length - 1];
  for await (const page of alice.v1.timelines.home.list({ limit: 1, minId: oldest }).setDirection("prev")) {
    newer.push(...ids(page));
    check(newer.length < full.length, `prev pagination does not end ${show(newer)}`);
  }
  check(sameList([...newer].sort(), full.slice(0, -1).sort()), `following Link prev: ${show(newer)}`);

  const marked = home.find((s) => s.id === spoiler.id);
  check(Array.isArray(marked.filtered) && marked.filtered.length === 1, `filtered ${show(marked.filtered)}`);
  const result = marked.filtered[0];
  check(result.filter.id === filter.id && result.filter.filterAction === "warn", `filter result ${show(result)}`);
  check(sameList(result.keywordMatches ?? [], [keyword]), `keyword_matches ${show(result.keywordMatches)}`);
  const unmarked = home.find((s) => s.id === plain.id);
  check(!unmarked.filtered || unmarked.filtered.length === 0, `an unmatched status is filtered ${show(unmarked.filtered)}`);
  const ownView = await bob.v1.statuses.$select(spoiler.id).fetch();
  check(!ownView.filtered || ownView.filtered.length === 0, "bob has no filter");

  // As Mastodon, the REST API reports matches whatever the action; hiding
  // is the client's job, told by `filter_action`.
  at("switch the filter to hide");
  const hidden = await alice.v2.filters.$select(filter.id).update({ filterAction: "hide" });
  check(hidden.id === filter.id && hidden.filterAction === "hide", `filter update ${show(hidden)}`);
  check(hidden.keywords.length === 1 && hidden.keywords[0].keyword === keyword, `keywords kept ${show(hidden.keywords)}`);
  const home2 = await alice.v1.timelines.home.list();
  const hiddenStatus = home2.find((s) => s.id === spoiler.id);
  check(hiddenStatus?.filtered?.[0]?.filter.filterAction === "hide", `home with a hide filter ${show(hiddenStatus)}`);

  at("delete the filter");
  await alice.v2.filters.$select(filter.id).remove();
  const filters = await alice.v2.filters.list();
  check(!ids(filters).includes(filter.id), `filters after delete ${show(filters)}`);
  const home3 = await alice.v1.timelines.home.list();
  const back = home3.find((s) => s.id === spoiler.id);
  check(back && (!back.filtered || back.filtered.length === 0), `home without the filter ${show(back)}`);
}

/** Bob posts a poll, alice votes. */
async function pollStep({ alice, bob, at }) {
  at("post a poll");
  const withPoll = await bob.v1.statuses.create({
    status: "Which colour?",
    poll: { options: ["red", "green", "blue"], expiresIn: 3600, multiple: false },
  });
  const p = withPoll.poll;
  check(p && sameList(p.options.map((o) => o.title), ["red", "green", "blue"]), `poll ${show(p)}`);
  check(p.multiple === false && p.expired === false && p.votesCount === 0 && p.expiresAt, `poll fields ${show(p)}`);

  at("vote");
  const voted = await alice.v1.polls.$select(p.id).votes.create({ choices: [1] });
  check(voted.id === p.id && voted.voted && sameList(voted.ownVotes, [1]), `vote ${show(voted)}`);
  check(voted.votesCount === 1 && voted.votersCount === 1, `vote counts ${show(voted)}`);
  check(sameList(voted.options.map((o) => o.votesCount), [0, 1, 0]), `tallies ${show(voted.options)}`);
  await expectStatus("voting twice", alice.v1.polls.$select(p.id).votes.create({ choices: [0] }), 422);
  await expectStatus("voting in one's own poll", bob.v1.polls.$select(p.id).votes.create({ choices: [0] }), 422);
  const seenByBob = await bob.v1.polls.$select(p.id).fetch();
  check(seenByBob.votesCount === 1 && seenByBob.voted === true && seenByBob.ownVotes.length === 0, `the author's view ${show(seenByBob)}`);
  const status = await alice.v1.statuses.$select(withPoll.id).fetch();
  check(status.poll?.voted && sameList(status.poll.ownVotes, [1]), `the poll in the status ${show(status.poll)}`);
}

/** Bob edits his first post; alice (who boosted it) is told; the history has both versions. */
async function editStep({ alice, bob, aliceMe, first, word, at }) {
  at("edit a status");
  const edited = await bob.v1.statuses.$select(first.id).update({
    status: `Hello again from masto.js ${word}`,
    spoilerText: "edited",
  });
  check(edited.id === first.id && edited.editedAt, `edit ${show(edited)}`);
  check(edited.content.includes("Hello again") && edited.spoilerText === "edited", `edited content ${show(edited)}`);
  check(edited.tags.length === 0, `tags after the edit ${show(edited.tags)}`);
  const source = await bob.v1.statuses.$select(first.id).source.fetch();
  check(source.id === first.id && source.text === `Hello again from masto.js ${word}` && source.spoilerText === "edited", `source ${show(source)}`);

  at("edit history");
  const history = await alice.v1.statuses.$select(first.id).history.list();
  check(history.length === 2, `history length ${show(history)}`);
  check(history[0].content.includes("Hello from masto.js") && history[0].spoilerText === "testing", `first revision ${show(history[0])}`);
  check(history[1].content.includes("Hello again") && history[1].spoilerText === "edited", `second revision ${show(history[1])}`);
  check(history.every((h) => h.account.id === first.account.id), "history authors");
  const seen = await alice.v1.statuses.$select(first.id).fetch();
  check(seen.content === edited.content && seen.editedAt === edited.editedAt, "alice sees the edit");

  at("update notification");
  const updates = await poll(
    "alice's update notification",
    () => alice.v1.notifications.list({ types: ["update"] }),
    (ns) => ns.length > 0,
  );
  check(updates.length === 1 && updates[0].status?.id === first.id && updates[0].account.id !== aliceMe.id, `update notification ${show(updates)}`);
}

/** Search v2: accounts, hashtags and statuses (bob is indexable, alice is not). */
async function searchStep({ alice, bob, aliceMe, bobMe, first, reply, tag, word, at, suffix }) {
  at("search accounts");
  const accounts = await alice.v2.search.list({ q: bobMe.username, type: "accounts" });
  check(ids(accounts.accounts).includes(bobMe.id), `account search ${show(ids(accounts.accounts))}`);
  check(accounts.statuses.length === 0 && accounts.hashtags.length === 0, `type=accounts only ${show(accounts)}`);

  at("search hashtags");
  const tags = await alice.v2.search.list({ q: `#${tag}`, type: "hashtags" });
  check(tags.hashtags.some((t) => t.name === tag), `hashtag search ${show(tags.hashtags)}`);

  at("search statuses");
  const found = await alice.v2.search.list({ q: word, type: "statuses" });
  const foundIds = ids(found.statuses);
  check(foundIds.includes(first.id), `bob's public post (bob is indexable) ${show(foundIds)}`);
  check(foundIds.includes(reply.id), `alice's own reply ${show(foundIds)}`);
  const secret = `walrus${suffix}`;
  const alicePost = await alice.v1.statuses.create({ status: `A quiet ${secret}`, visibility: "public" });
  check(alicePost.visibility === "public", `visibility ${show(alicePost.visibility)}`);
  const own = await alice.v2.search.list({ q: secret, type: "statuses" });
  check(sameList(ids(own.statuses), [alicePost.id]), `alice finds her own post ${show(ids(own.statuses))}`);
  const other = await bob.v2.search.list({ q: secret, type: "statuses" });
  check(other.statuses.length === 0, `bob finds alice's post though alice is not indexable ${show(ids(other.statuses))}`);
  const all = await alice.v2.search.list({ q: word });
  check(all.statuses.length >= 2 && Array.isArray(all.accounts) && Array.isArray(all.hashtags), `all types ${show(all)}`);
  check(aliceMe.indexable === false, `alice is not indexable ${show(aliceMe.indexable)}`);
}

/** Markers, pins, followed tags and a direct conversation. */
async function extrasStep({ alice, bob, anonymous, aliceMe, bobMe, first, tag, at }) {
  at("markers");
  const saved = await alice.v1.markers.create({ home: { lastReadId: first.id } });
  check(saved.home?.lastReadId === first.id, `markers.create ${show(saved)}`);
  const markers = await alice.v1.markers.fetch({ timeline: ["home", "notifications"] });
  check(markers.home?.lastReadId === first.id && Number.isInteger(markers.home.version), `markers ${show(markers)}`);

  at("pin");
  const pinned = await bob.v1.statuses.$select(first.id).pin();
  check(pinned.pinned === true, `pin ${show(pinned)}`);
  const pins = await alice.v1.accounts.$select(bobMe.id).statuses.list({ pinned: true });
  check(sameList(ids(pins), [first.id]), `pinned statuses ${show(ids(pins))}`);
  const unpinned = await bob.v1.statuses.$select(first.id).unpin();
  check(unpinned.pinned === false, `unpin ${show(unpinned)}`);

  at("quote a post");
  const quoting = await alice.v1.statuses.create({ status: "Worth repeating", quotedStatusId: first.id });
  check(
    quoting.quote?.state === "accepted" && quoting.quote?.quotedStatus?.id === first.id,
    `quote ${show(quoting.quote)}`,
  );
  check(quoting.quoteApproval?.currentUser === "automatic", `quote_approval ${show(quoting.quoteApproval)}`);
  const quotes = await bob.v1.statuses.$select(first.id).quotes.list();
  check(sameList(ids(quotes), [quoting.id]), `quotes of bob's post ${show(ids(quotes))}`);
  const quoted = await bob.v1.statuses.$select(first.id).fetch();
  check(quoted.quotesCount === 1, `quotes_count ${show(quoted.quotesCount)}`);
  await alice.v1.statuses.$select(quoting.id).remove();
  const unquoted = await bob.v1.statuses.$select(first.id).fetch();
  check(unquoted.quotesCount === 0, `quotes_count after the quote's deletion ${show(unquoted.quotesCount)}`);

  at("follow a hashtag");
  const followedTag = await alice.v1.tags.$select(tag).follow();
  check(followedTag.name === tag && followedTag.following === true, `tag follow ${show(followedTag)}`);
  const followedTags = await alice.v1.followedTags.list();
  check(followedTags.some((t) => t.name === tag), `followed_tags ${show(followedTags)}`);
  const unfollowedTag = await alice.v1.tags.$select(tag).unfollow();
  check(unfollowedTag.following === false, `tag unfollow ${show(unfollowedTag)}`);

  at("a direct conversation");
  const dm = await alice.v1.statuses.create({ status: `@${bobMe.acct} just between us`, visibility: "direct" });
  check(dm.visibility === "direct", `visibility ${show(dm.visibility)}`);
  const conversations = await poll(
    "bob's conversation with alice",
    () => bob.v1.conversations.list(),
    (cs) => cs.some((c) => c.lastStatus?.id === dm.id),
  );
  const conversation = conversations.find((c) => c.lastStatus?.id === dm.id);
  check(conversation.unread === true && sameList(ids(conversation.accounts), [aliceMe.id]), `conversation ${show(conversation)}`);
  const read = await bob.v1.conversations.$select(conversation.id).read();
  check(read.id === conversation.id && read.unread === false, `conversation read ${show(read)}`);
  await expectStatus("a direct message without a token", anonymous.v1.statuses.$select(dm.id).fetch(), 404);
  await alice.v1.statuses.$select(dm.id).remove();
}

/** Alice mutes bob: his posts leave her home until she unmutes. */
async function muteStep({ alice, bob, bobMe, first, at }) {
  at("mute");
  const rel = await alice.v1.accounts.$select(bobMe.id).mute({ notifications: true });
  check(rel.muting && rel.mutingNotifications && rel.following, `mute ${show(rel)}`);
  const mutes = await alice.v1.mutes.list();
  check(sameList(ids(mutes), [bobMe.id]), `mutes ${show(ids(mutes))}`);
  const home = await alice.v1.timelines.home.list();
  check(home.every((s) => s.account.id !== bobMe.id && s.reblog?.account.id !== bobMe.id), `bob in alice's home while muted ${show(ids(home))}`);

  at("unmute");
  const unmuted = await alice.v1.accounts.$select(bobMe.id).unmute();
  check(!unmuted.muting && unmuted.following, `unmute ${show(unmuted)}`);
  await poll("bob's post back in alice's home", () => alice.v1.timelines.home.list(), (tl) => ids(tl).includes(first.id));
  await bob.v1.statuses.$select(first.id).fetch();
}

/** Bob blocks alice: the follows end and bob's posts disappear for her. */
async function blockStep({ alice, bob, aliceMe, bobMe, first, at }) {
  at("block");
  const rel = await bob.v1.accounts.$select(aliceMe.id).block();
  check(rel.blocking && !rel.following && !rel.followedBy, `block ${show(rel)}`);
  const blocks = await bob.v1.blocks.list();
  check(sameList(ids(blocks), [aliceMe.id]), `blocks ${show(ids(blocks))}`);
  const [seen] = await alice.v1.accounts.relationships.fetch({ id: [bobMe.id] });
  check(!seen.following && !seen.followedBy && seen.blockedBy, `alice's relationship to bob ${show(seen)}`);
  await expectStatus("alice reads bob's post", alice.v1.statuses.$select(first.id).fetch(), 404);
  await expectStatus("alice follows bob again", alice.v1.accounts.$select(bobMe.id).follow(), 403);
  await poll(
    "bob's posts to leave alice's home",
    () => alice.v1.timelines.home.list(),
    (tl) => tl.every((s) => s.account.id !== bobMe.id && s.reblog?.account.id !== bobMe.id),
  );

  at("unblock");
  const unblocked = await bob.v1.accounts.$select(aliceMe.id).unblock();
  check(!unblocked.blocking && !unblocked.following, `unblock ${show(unblocked)}`);
  const again = await alice.v1.statuses.$select(first.id).fetch();
  check(again.id === first.id, "alice sees bob's post again");
}

if (process.argv.length !== 3) {
  console.error("usage: node journey.mjs BASE_URL");
  process.exit(2);
}
process.exit(await main(process.argv[2]));
