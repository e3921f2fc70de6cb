#!/usr/bin/env node
// An ActivityPub peer built with Fedify (npm `@fedify/fedify`), for
// tests/federation_interop.rs.
//
// Actors served over plain http on 127.0.0.1 (an ephemeral port) by Fedify's
// `Federation` with an in-memory KV store and message queue and
// `allowPrivateAddress: true`: WebFinger, each actor (a Person with an RSA
// `publicKey` and an Ed25519 `assertionMethod`, keys made by Fedify), their
// collections and notes, the inboxes. Fedify signs what it sends (RFC 9421
// first, draft-cavage when refused: its "double knock") and verifies what
// arrives (both schemes) before its inbox listeners see it. A `Follow` of one
// of its actors is accepted at once.
//
// The test drives it through a control API on the same port ("as" names the
// acting actor, the first one by default):
//
//   POST /control/follow {"object": ACTOR_URI}                   -> Follow
//   POST /control/note   {"content": HTML, "mention": ACTOR_URI} -> Create(Note)
//   POST /control/like   {"object": OBJECT_URI}                  -> Like, to the object's author
//   POST /control/undo   {"activity": ACTIVITY_ID, "embed": BOOL} -> Undo of one of ours
//
// each answering {"id", "object_id"?, "inbox", "status", "error"} once Fedify
// sent it (`status`: what the receiving inbox finally answered).
//
// It reports on stdout, one JSON object a line:
//
//   {"event": "ready", "base", "actors": {NAME: URI}, "handles": {NAME: HANDLE},
//    "library", "version"}
//   {"event": "inbox", "path", "type", "id", "actor", "object", "verified",
//    "signer", "key_id", "scheme", "status", "error", "activity"}
//       every POST to an inbox: the key Fedify's `verifyRequest` found and
//       its owner, and what Fedify's federation answered (202 only after its
//       own verification); `verified` is true when both passed and the key's
//       owner is the activity's actor
//   {"event": "handled", "type", "id", "actor", "object", "inner", ...}
//       what Fedify's inbox listeners were handed, as Fedify parsed it
//   {"event": "sent", "type", "id", "inbox", "status", "scheme", "body", "activity"}
//       every POST Fedify made (each knock)
//
// Fedify is loaded from FERRODON_TEST_FEDIFY_MODULES (a node_modules where
// `npm ci` installed this directory's package-lock.json), or from
// ./node_modules beside this script.
//
// Usage: node peer.mjs NAME...   (exits when its stdin closes)

import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function load(modules, name) {
  const pkgPath = join(modules, name, "package.json");
  if (!existsSync(pkgPath)) {
    throw new Error(`${name} is not installed in ${modules} (run \`npm ci\` in tests/interop/fedify)`);
  }
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  const exp = pkg.exports?.["."];
  const entry =
    typeof exp === "string" ? exp : (exp?.import?.default ?? exp?.import ?? exp?.default ?? pkg.module ?? pkg.main);
  return { module: await import(pathToFileURL(join(modules, name, entry)).href), version: pkg.version };
}

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.FERRODON_TEST_FEDIFY_MODULES || join(here, "node_modules");

// Fedify 1.6 and later ask for Node 22. On Node 20 three things they use
// are missing: ES2024's ArrayBuffer.prototype.transfer (base64 of signatures
// and keys), ES2025's iterator helpers (its router, from 2.0) and the global
// `navigator` of Node 21 (read bare when importing a key). core-js supplies
// the first two, and `navigator` is defined as Node 21 defines it; on a newer
// Node none of this is done.
if (typeof ArrayBuffer.prototype.transfer !== "function") {
  await import(pathToFileURL(join(modules, "core-js/actual/array-buffer/transfer.js")).href);
}
if (typeof globalThis.Iterator?.from !== "function") {
  await import(pathToFileURL(join(modules, "core-js/actual/iterator/index.js")).href);
}
if (!("navigator" in globalThis)) {
  const major = process.versions.node.split(".")[0];
  Object.defineProperty(globalThis, "navigator", {
    value: { userAgent: `Node.js/${major}`, platform: process.platform },
    configurable: true,
    enumerable: true,
  });
}

const { module: fedify, version } = await load(modules, "@fedify/fedify");
// The vocabulary is its own package from Fedify 2.0 on.
const vocab = existsSync(join(modules, "@fedify/vocab/package.json"))
  ? (await load(modules, "@fedify/vocab")).module
  : fedify;
const { Temporal } = (await load(modules, "@js-temporal/polyfill")).module;
const { InProcessMessageQueue, MemoryKvStore, createFederation, generateCryptoKeyPair, verifyRequest } = fedify;
const { Accept, Create, Endpoints, Follow, Like, Mention, Note, PUBLIC_COLLECTION, Person, Undo } = vocab;

const names = process.argv.slice(2).length ? process.argv.slice(2) : ["fedify"];

// Every POST Fedify sends, with what the other side answered (a report only:
// the requests are Fedify's own, unchanged).
const posts = []; // [inbox URL, status], in order
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const method = request.method;
  const scheme = request.headers.has("signature-input")
    ? "rfc9421"
    : request.headers.has("signature")
      ? "draft-cavage"
      : "unsigned";
  let body = null;
  if (method === "POST") {
    try {
      body = JSON.parse(await request.clone().text());
    } catch {
      body = null;
    }
  }
  const response = await realFetch(request);
  if (method === "POST") {
    posts.push([request.url, response.status]);
    emit({
      event: "sent",
      type: body?.type ?? null,
      id: body?.id ?? null,
      inbox: request.url,
      status: response.status,
      scheme,
      body: response.status >= 300 ? (await response.clone().text()).slice(0, 500) : "",
      activity: body,
    });
  }
  return response;
};

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    emit({ event: "error", where: `${req.method} ${req.url}`, error: String(e?.stack ?? e) });
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const host = `127.0.0.1:${server.address().port}`;
const base = `http://${host}`;

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  allowPrivateAddress: true,
  origin: base,
});

// Per actor: its key pairs (RSA for HTTP signatures, Ed25519 for proofs, as
// Fedify's guide makes them), followers (id -> inbox) and followings.
const actors = new Map();
for (const name of names) {
  actors.set(name, {
    keyPairs: [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"), await generateCryptoKeyPair("Ed25519")],
    followers: new Map(),
    following: new Set(),
  });
}
const notes = new Map(); // "NAME/ID" -> Note
const sent = new Map(); // activity id -> { name, activity, recipient }

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!actors.has(identifier)) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `${identifier} (Fedify)`,
      summary: "A Fedify test peer",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => actors.get(identifier)?.keyPairs ?? []);

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => {
  const actor = actors.get(identifier);
  if (actor == null) return null;
  return { items: [...actor.followers].map(([id, inbox]) => ({ id: new URL(id), inboxId: new URL(inbox) })) };
});
federation.setFollowingDispatcher("/users/{identifier}/following", async (_ctx, identifier) => {
  const actor = actors.get(identifier);
  if (actor == null) return null;
  return { items: [...actor.following].map((id) => new URL(id)) };
});
federation.setOutboxDispatcher("/users/{identifier}/outbox", async (_ctx, identifier) => {
  if (!actors.has(identifier)) return null;
  return { items: [] };
});
federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", async (_ctx, values) => {
  return notes.get(`${values.identifier}/${values.id}`) ?? null;
});

function href(value) {
  return value?.href ?? null;
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    emit({ event: "handled", type: "Follow", id: href(follow.id), actor: href(follow.actorId), object: href(follow.objectId) });
    const parsed = follow.objectId == null ? null : ctx.parseUri(follow.objectId);
    const name = parsed?.type === "actor" ? parsed.identifier : null;
    if (name == null || !actors.has(name) || follow.actorId == null) return;
    const follower = await follow.getActor(ctx);
    if (follower?.inboxId == null) return;
    actors.get(name).followers.set(follower.id.href, follower.inboxId.href);
    const accept = new Accept({
      id: new URL(`#accepts/${randomUUID()}`, ctx.getActorUri(name)),
      actor: ctx.getActorUri(name),
      object: follow,
      to: follower.id,
    });
    await ctx.sendActivity({ identifier: name }, follower, accept);
  })
  .on(Accept, async (ctx, accept) => {
    emit({ event: "handled", type: "Accept", id: href(accept.id), actor: href(accept.actorId), object: href(accept.objectId) });
    const ours = sent.get(href(accept.objectId));
    if (ours && accept.actorId) actors.get(ours.name).following.add(accept.actorId.href);
  })
  .on(Create, async (ctx, create) => {
    const object = await create.getObject(ctx);
    emit({
      event: "handled",
      type: "Create",
      id: href(create.id),
      actor: href(create.actorId),
      object: href(create.objectId),
      inner: object?.constructor?.name ?? null,
      attributed_to: href(object?.attributionId),
      content: object?.content?.toString() ?? null,
    });
  })
  .on(Like, async (_ctx, like) => {
    emit({ event: "handled", type: "Like", id: href(like.id), actor: href(like.actorId), object: href(like.objectId) });
  })
  .on(Undo, async (ctx, undo) => {
    const inner = await undo.getObject(ctx);
    emit({
      event: "handled",
      type: "Undo",
      id: href(undo.id),
      actor: href(undo.actorId),
      object: href(undo.objectId),
      inner: inner?.constructor?.name ?? null,
      inner_object: href(inner?.objectId),
    });
    if (inner instanceof Follow && undo.actorId) {
      for (const actor of actors.values()) actor.followers.delete(undo.actorId.href);
    }
  })
  .onError((_ctx, error) => {
    emit({ event: "error", where: "inbox listener", error: String(error?.stack ?? error) });
  });

// --- control API ------------------------------------------------------------

function activityId(name) {
  return new URL(`#activities/${randomUUID()}`, `${base}/users/${name}`);
}

// Sends `activity` to `recipient` now (no queue) and reports what its inbox
// answered last (after a refused first knock, the second).
async function deliver(ctx, name, activity, recipient) {
  sent.set(activity.id.href, { name, activity, recipient });
  const from = posts.length;
  let error = null;
  try {
    await ctx.sendActivity({ identifier: name }, recipient, activity, { immediate: true });
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const answers = posts.slice(from).filter(([inbox]) => inbox === recipient.inboxId.href);
  return { status: answers.length ? answers[answers.length - 1][1] : 0, error };
}
async function control(command, args) {
  const ctx = federation.createContext(new URL(base), undefined);
  const name = args.as ?? names[0];
  if (!actors.has(name)) throw new Error(`no actor ${name}`);
  const me = ctx.getActorUri(name);
  if (command === "follow") {
    const target = await ctx.lookupObject(args.object);
    if (target?.inboxId == null) throw new Error(`${args.object}: not an actor with an inbox`);
    const follow = new Follow({ id: activityId(name), actor: me, object: target.id, to: target.id });
    const { status, error } = await deliver(ctx, name, follow, target);
    return { id: follow.id.href, inbox: target.inboxId.href, status, error };
  }
  if (command === "note") {
    const target = await ctx.lookupObject(args.mention);
    if (target?.inboxId == null) throw new Error(`${args.mention}: not an actor with an inbox`);
    const id = randomUUID();
    const noteUri = ctx.getObjectUri(Note, { identifier: name, id });
    const note = new Note({
      id: noteUri,
      attribution: me,
      content: args.content,
      to: PUBLIC_COLLECTION,
      ccs: [target.id, ctx.getFollowersUri(name)],
      tags: [new Mention({ href: target.id, name: `@${target.preferredUsername}@${target.id.host}` })],
      published: Temporal.Now.instant(),
      url: noteUri,
    });
    notes.set(`${name}/${id}`, note);
    const create = new Create({
      id: new URL("#create", noteUri),
      actor: me,
      object: note,
      to: PUBLIC_COLLECTION,
      ccs: [target.id, ctx.getFollowersUri(name)],
      published: note.published,
    });
    const { status, error } = await deliver(ctx, name, create, target);
    return { id: create.id.href, object_id: noteUri.href, inbox: target.inboxId.href, status, error };
  }
  if (command === "like") {
    const object = await ctx.lookupObject(args.object);
    if (object == null) throw new Error(`${args.object}: not found`);
    const author = await object.getAttribution?.(ctx);
    if (author?.inboxId == null) throw new Error(`${args.object}: no author with an inbox`);
    const like = new Like({ id: activityId(name), actor: me, object: object.id, to: author.id });
    const { status, error } = await deliver(ctx, name, like, author);
    return { id: like.id.href, inbox: author.inboxId.href, status, error };
  }
  if (command === "undo") {
    const original = sent.get(args.activity);
    if (original == null) throw new Error(`${args.activity}: not one of ours`);
    const sender = original.name;
    const undo = new Undo({
      id: activityId(sender),
      actor: ctx.getActorUri(sender),
      object: args.embed === false ? original.activity.id : original.activity,
      to: original.recipient.id,
    });
    const { status, error } = await deliver(ctx, sender, undo, original.recipient);
    return { id: undo.id.href, inbox: original.recipient.inboxId.href, status, error };
  }
  throw new Error(`no command ${command}`);
}

// --- HTTP -------------------------------------------------------------------

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function writeResponse(res, response) {
  const headers = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

function isInbox(path) {
  return path === "/inbox" || names.some((name) => path === `/users/${name}/inbox`);
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${req.headers.host ?? host}`);
  const body = await readBody(req);
  if (req.method === "POST" && url.pathname.startsWith("/control/")) {
    const result = await control(url.pathname.slice("/control/".length), JSON.parse(body.toString("utf8") || "{}"));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(result));
    return;
  }
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    headers.set(key, Array.isArray(value) ? value.join(", ") : value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, { method: req.method, headers, body: hasBody ? body : undefined });
  if (!(req.method === "POST" && isInbox(url.pathname))) {
    await writeResponse(res, await federation.fetch(request, { contextData: undefined }));
    return;
  }
  let activity = null;
  try {
    activity = JSON.parse(body.toString("utf8"));
  } catch {
    activity = null;
  }
  const scheme = headers.has("signature-input") ? "rfc9421" : "draft-cavage";
  const ctx = federation.createContext(request, undefined);
  let key = null;
  let error = null;
  try {
    key = await verifyRequest(request.clone(), {
      documentLoader: ctx.documentLoader,
      contextLoader: ctx.contextLoader,
    });
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const response = await federation.fetch(request, { contextData: undefined });
  const responseText = await response.clone().text();
  const actor = typeof activity?.actor === "string" ? activity.actor : (activity?.actor?.id ?? null);
  const signer = href(key?.ownerId);
  const accepted = response.status >= 200 && response.status < 300;
  const verified = key != null && signer === actor && accepted;
  if (!verified && error == null) {
    error =
      key == null
        ? "Fedify's verifyRequest found no valid signature"
        : signer !== actor
          ? `signed by ${signer}, not by the actor ${actor}`
          : `Fedify's federation answered ${response.status}: ${responseText.slice(0, 300)}`;
  }
  emit({
    event: "inbox",
    path: url.pathname,
    type: activity?.type ?? null,
    id: activity?.id ?? null,
    actor,
    object: activity?.object ?? null,
    verified,
    signer,
    key_id: href(key?.id),
    scheme,
    status: response.status,
    error,
    activity,
  });
  await writeResponse(res, response);
}

emit({
  event: "ready",
  base,
  actors: Object.fromEntries(names.map((name) => [name, `${base}/users/${name}`])),
  handles: Object.fromEntries(names.map((name) => [name, `${name}@${host}`])),
  library: "@fedify/fedify",
  version,
});

process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
