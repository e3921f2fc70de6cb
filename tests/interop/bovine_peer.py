"""An ActivityPub peer built with bovine (PyPI), for tests/federation_interop.rs.

It serves actors over plain http on 127.0.0.1 (an ephemeral port):
WebFinger, each actor (a Person with an RSA `publicKey`), empty outbox /
followers / following collections, the objects and activities it made, and
the inboxes. bovine does the ActivityPub work: the actor documents
(`bovine.activitystreams.Actor`), the WebFinger answer, activities and notes
(`ActivityFactory`, `ObjectFactory`), signed requests (`BovineActor`:
draft-cavage with a `Digest`), and the verification of what arrives
(`SignatureChecker` through `build_validate_http_signature_raw`, with keys
fetched by a signed GET). A `Follow` of one of its actors is accepted at once.

The test drives it through a control API on the same port ("as" names the
acting actor, the first one by default):

    POST /control/follow {"object": ACTOR_URI}                   -> Follow
    POST /control/note   {"content": HTML, "mention": ACTOR_URI} -> Create(Note)
    POST /control/like   {"object": OBJECT_URI}                  -> Like, to the object's author
    POST /control/undo   {"activity": ACTIVITY_ID, "embed": BOOL} -> Undo of one of ours

each answering {"id", "object_id"?, "inbox", "status"} (`status`: what the
receiving inbox answered).

It reports on stdout, one JSON object a line:

    {"event": "ready", "base", "actors": {NAME: URI}, "handles": {NAME: HANDLE},
     "library", "version"}
    {"event": "inbox", "path", "type", "id", "actor", "object", "verified",
     "signer", "scheme", "error", "activity"}
    {"event": "sent", "type", "id", "inbox", "status", "scheme", "body", "activity"}

`verified` is true only when bovine's checker accepted the signature and
the key's owner is the activity's actor. An unverified POST gets 401.

Usage: python bovine_peer.py NAME...   (exits when its stdin closes)
"""

import asyncio
import json
import logging
import os
import socket
import sys
import threading
import uuid
from importlib.metadata import version
from urllib.parse import urlparse

import aiohttp
from aiohttp import web

from bovine import BovineActor
from bovine.activitystreams import Actor, OrderedCollection, factories_for_actor_object
from bovine.crypto import build_validate_http_signature_raw, generate_rsa_public_private_key
from bovine.crypto.types import CryptographicIdentifier
from bovine.types import Visibility
from bovine.utils import webfinger_response_json

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def emit(event: dict) -> None:
    print(json.dumps(event), flush=True)


def id_of(value):
    if isinstance(value, dict):
        return value.get("id")
    return value


class PeerActor:
    """One actor: its profile, key, factories and the BovineActor that signs for it."""

    def __init__(self, peer: "Peer", name: str):
        self.name = name
        self.actor_id = f"{peer.base}/users/{name}"
        self.key_id = f"{self.actor_id}#main-key"
        public_pem, self.private_pem = generate_rsa_public_private_key()
        self.profile = Actor(
            id=self.actor_id,
            preferred_username=name,
            name=f"{name} (bovine)",
            inbox=f"{self.actor_id}/inbox",
            outbox=f"{self.actor_id}/outbox",
            followers=f"{self.actor_id}/followers",
            following=f"{self.actor_id}/following",
            summary="A bovine test peer",
            url=self.actor_id,
            public_key=public_pem,
            public_key_name="main-key",
        ).build(visibility=Visibility.OWNER)
        self.activity_factory, self.object_factory = factories_for_actor_object(
            self.profile, id_generator=peer.new_id
        )
        self.bovine: BovineActor | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.bovine = BovineActor(
            actor_id=self.actor_id, public_key_url=self.key_id, secret=self.private_pem
        )
        await self.bovine.init(session=session)
        # The mention helper fetches the mentioned actor with this actor.
        self.object_factory.actor = self.bovine


class Peer:
    def __init__(self, names: list[str], sock: socket.socket):
        host, port = sock.getsockname()[:2]
        self.host = f"{host}:{port}"
        self.base = f"http://{self.host}"
        self.actors = {name: PeerActor(self, name) for name in names}
        self.first = self.actors[names[0]]
        # Everything this peer made, served at its id; and where each
        # activity went and who sent it (an Undo goes the same way).
        self.objects: dict[str, dict] = {}
        self.sent_to: dict[str, tuple[PeerActor, str]] = {}
        self.verify = build_validate_http_signature_raw(self.retrieve_key)

    def new_id(self) -> str:
        return f"{self.base}/objects/{uuid.uuid4()}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        for actor in self.actors.values():
            await actor.start(session)

    # --- keys and signatures ------------------------------------------------

    async def retrieve_key(self, key_id: str):
        """The key a keyId names, fetched with a signed GET (an actor's
        `publicKey`, or a key document of its own)."""
        doc = await self.first.bovine.get(key_id.split("#")[0], fail_silently=True)
        if not doc:
            return None
        keys = doc.get("publicKey", doc)
        if isinstance(keys, list):
            keys = next((k for k in keys if k.get("id") == key_id), keys[0] if keys else {})
        return CryptographicIdentifier.from_public_key(keys)

    # --- sending --------------------------------------------------------------

    async def inbox_of(self, actor: PeerActor, actor_uri: str) -> str:
        doc = await actor.bovine.get(actor_uri)
        return doc["inbox"]

    async def send(self, actor: PeerActor, activity: dict, inbox: str) -> int:
        self.objects[activity["id"]] = activity
        self.sent_to[activity["id"]] = (actor, inbox)
        try:
            response = await actor.bovine.client.post(inbox, json.dumps(activity))
            status = response.status
            body = (await response.text())[:500]
        except Exception as e:  # the report says what happened
            status, body = 0, repr(e)
        emit(
            {
                "event": "sent",
                "type": activity.get("type"),
                "id": activity.get("id"),
                "inbox": inbox,
                "status": status,
                "scheme": "draft-cavage",
                "body": body,
                "activity": activity,
            }
        )
        return status

    async def accept(self, actor: PeerActor, follow: dict) -> None:
        accept = actor.activity_factory.accept(follow).build()
        await self.send(actor, accept, await self.inbox_of(actor, id_of(follow["actor"])))

    # --- HTTP -----------------------------------------------------------------

    def json_response(self, doc, content_type=AP, status=200):
        return web.Response(status=status, text=json.dumps(doc), content_type=content_type)

    async def webfinger(self, request: web.Request):
        resource = request.query.get("resource", "")
        for actor in self.actors.values():
            acct = f"acct:{actor.name}@{self.host}"
            if resource in (acct, actor.actor_id):
                jrd = webfinger_response_json(acct, actor.actor_id)
                return self.json_response(jrd, "application/jrd+json")
        return web.Response(status=404)

    async def actor(self, request: web.Request):
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return web.Response(status=404)
        return self.json_response(actor.profile)

    async def collection(self, request: web.Request):
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return web.Response(status=404)
        url = f"{actor.actor_id}/{request.match_info['collection']}"
        return self.json_response(OrderedCollection(id=url, count=0).build())

    async def object(self, request: web.Request):
        doc = self.objects.get(f"{self.base}/objects/{request.match_info['id']}")
        if doc is None:
            return web.Response(status=404)
        return self.json_response(doc)

    async def inbox(self, request: web.Request):
        body = await request.read()
        headers = request.headers
        scheme = "rfc9421" if "signature-input" in headers else "draft-cavage"
        event = {"event": "inbox", "path": request.path, "scheme": scheme}
        try:
            activity = json.loads(body)
        except ValueError as e:
            emit({**event, "verified": False, "error": f"not JSON: {e}"})
            return web.Response(status=400)

        async def get_body():
            return body

        # bovine builds `(request-target)` from the URL's path: the URL the
        # sender signed is this server's own.
        url = f"{self.base}{request.path_qs}"
        signer, error = None, None
        try:
            signer = await self.verify(request.method, url, headers, get_body)
        except Exception as e:
            error = repr(e)
        actor = id_of(activity.get("actor"))
        verified = signer is not None and signer == actor
        if signer is None and error is None:
            error = "bovine's SignatureChecker refused the signature"
        elif signer is not None and not verified:
            error = f"signed by {signer}, not by the actor {actor}"
        emit(
            {
                **event,
                "type": activity.get("type"),
                "id": activity.get("id"),
                "actor": actor,
                "object": activity.get("object"),
                "verified": verified,
                "signer": signer,
                "error": error,
                "activity": activity,
            }
        )
        if not verified:
            return web.Response(status=401, text=error or "")
        if activity.get("type") == "Follow":
            followed = next(
                (a for a in self.actors.values() if a.actor_id == id_of(activity.get("object"))),
                None,
            )
            if followed is not None:
                asyncio.get_running_loop().create_task(self.accept(followed, activity))
        return web.Response(status=202)

    # --- control API ----------------------------------------------------------

    async def control(self, request: web.Request):
        command = request.match_info["command"]
        args = await request.json()
        actor = self.actors[args.get("as", self.first.name)]
        result = await self.run(actor, command, args)
        return self.json_response(result, "application/json")

    async def run(self, actor: PeerActor, command: str, args: dict) -> dict:
        if command == "follow":
            target = args["object"]
            follow = actor.activity_factory.follow(target).build()
            inbox = await self.inbox_of(actor, target)
            status = await self.send(actor, follow, inbox)
            return {"id": follow["id"], "inbox": inbox, "status": status}
        if command == "note":
            mentioned = args["mention"]
            mention = (await actor.object_factory.mention_for_actor_uri(mentioned)).build()
            mention.pop("@context", None)
            note = (
                actor.object_factory.note(content=args["content"], to={mentioned}, tag=[mention])
                .as_public()
                .build()
            )
            create = actor.activity_factory.create(note).build()
            self.objects[note["id"]] = note
            inbox = await self.inbox_of(actor, mentioned)
            status = await self.send(actor, create, inbox)
            return {"id": create["id"], "object_id": note["id"], "inbox": inbox, "status": status}
        if command == "like":
            target = args["object"]
            obj = await actor.bovine.get(target)
            author = id_of(obj.get("attributedTo"))
            like = actor.activity_factory.like(target, to={author}).build()
            inbox = await self.inbox_of(actor, author)
            status = await self.send(actor, like, inbox)
            return {"id": like["id"], "inbox": inbox, "status": status}
        if command == "undo":
            original = self.objects[args["activity"]]
            sender, inbox = self.sent_to[original["id"]]
            # bovine names the undone activity by its id unless asked to
            # embed it (Mastodon undoes a Like only when it is embedded).
            undo = sender.activity_factory.undo(
                original, include_activity=bool(args.get("embed"))
            ).build()
            status = await self.send(sender, undo, inbox)
            return {"id": undo["id"], "inbox": inbox, "status": status}
        raise web.HTTPNotFound(text=f"no command {command}")


def exit_when_stdin_closes() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def main(names: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    peer = Peer(names, sock)

    app = web.Application()
    app.router.add_get("/.well-known/webfinger", peer.webfinger)
    app.router.add_get("/users/{name}", peer.actor)
    app.router.add_get("/users/{name}/{collection:outbox|followers|following}", peer.collection)
    app.router.add_get("/objects/{id}", peer.object)
    app.router.add_post("/users/{name}/inbox", peer.inbox)
    app.router.add_post("/inbox", peer.inbox)
    app.router.add_post("/control/{command}", peer.control)

    async with aiohttp.ClientSession() as session:
        await peer.start(session)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        emit(
            {
                "event": "ready",
                "base": peer.base,
                "actors": {name: a.actor_id for name, a in peer.actors.items()},
                "handles": {name: f"{name}@{peer.host}" for name in peer.actors},
                "library": "bovine",
                "version": version("bovine"),
            }
        )
        threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["bovine"]))
