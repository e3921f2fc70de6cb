#!/usr/bin/env python3
"""A user journey through Ferrodon driven by Mastodon.py, a real client library.

Usage: mastodon_py_journey.py BASE_URL

Creates an app, registers two users, logs in with the password grant, posts,
follows, reads the home, public and hashtag timelines, paginates, favourites,
reblogs, replies, uploads an avatar and media, deletes, unfollows, posts and
votes in polls, edits statuses and revokes the token. Every step is
checked; the first failure exits non-zero with a message saying which step
failed. Usernames carry a random suffix, so the script can run repeatedly
against a long-lived server.
"""

import base64
import io
import sys
import time
import traceback
import urllib.parse
import urllib.request
import uuid

from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError, MastodonUnauthorizedError

POLL_SECONDS = 30
PASSWORD = "correct horse battery staple"


class StepFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise StepFailed(message)


def poll(what, fetch, predicate):
    """Calls fetch() until predicate(result) holds, for up to POLL_SECONDS."""
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        result = fetch()
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out after {POLL_SECONDS}s waiting for {what}; last result: {result!r}")
        time.sleep(0.2)


def ids(statuses):
    return [str(s.id) for s in statuses]


def lists_step(alice, bob, bob_me, bob_post):
    """Lists: create, add a followed account, read the list timeline, update, remove, delete.
    Expects alice to follow bob and bob_post to be one of bob's public posts."""
    created = alice.list_create(f"friends {uuid.uuid4().hex[:6]}")
    check(created.replies_policy == "list" and not created.exclusive, f"list_create {created!r}")
    check(str(created.id) in [str(li.id) for li in alice.lists()], "the new list in lists()")
    alice.list_accounts_add(created.id, [bob_me.id])
    members = alice.list_accounts(created.id)
    check([str(a.id) for a in members] == [str(bob_me.id)], f"list_accounts {members!r}")
    check(str(created.id) in [str(li.id) for li in alice.account_lists(bob_me.id)], "account_lists")
    check(str(bob_post.id) in ids(alice.timeline_list(created.id)), "bob's post in the list timeline")
    try:
        bob.list(created.id)
        raise StepFailed("bob can read alice's list")
    except MastodonNotFoundError:
        pass
    try:
        alice.list_accounts_add(created.id, [bob_me.id])
        raise StepFailed("adding bob twice succeeded")
    except MastodonAPIError as e:
        check(len(e.args) > 1 and e.args[1] == 422, f"adding bob twice: {e.args!r}")
    updated = alice.list_update(created.id, "close friends", replies_policy="none", exclusive=True)
    check(updated.title == "close friends" and updated.replies_policy == "none" and updated.exclusive,
          f"list_update {updated!r}")
    check(str(bob_post.id) not in ids(alice.timeline_home()), "an exclusive list keeps bob out of home")
    alice.list_accounts_delete(created.id, [bob_me.id])
    check(len(alice.list_accounts(created.id)) == 0, "list_accounts_delete")
    check(len(alice.timeline_list(created.id)) == 0, "an empty list has an empty timeline")
    alice.list_delete(created.id)
    try:
        alice.list(created.id)
        raise StepFailed("the deleted list is still there")
    except MastodonNotFoundError:
        pass

def polls_and_edits(alice, bob, at):
    """Polls (post, vote, read) and edits (update, history, source)."""
    at("post a poll")
    poll_spec = alice.make_poll(["tea", "coffee", "water"], expires_in=3600, multiple=True)
    with_poll = alice.status_post("What do you drink?", poll=poll_spec)
    check(with_poll.poll is not None, f"the status has no poll: {with_poll!r}")
    titles = [o.title for o in with_poll.poll.options]
    check(titles == ["tea", "coffee", "water"], f"poll options {titles!r}")
    check(with_poll.poll.multiple, "the poll is multiple choice")

    at("vote in the poll")
    voted = bob.poll_vote(with_poll.poll.id, [0, 2])
    check(voted.voted and sorted(voted.own_votes) == [0, 2], f"own votes {voted!r}")
    check(voted.votes_count == 2 and voted.voters_count == 1, f"counts {voted!r}")
    check([o.votes_count for o in voted.options] == [1, 0, 1], f"tallies {voted.options!r}")
    try:
        alice.poll_vote(with_poll.poll.id, [1])
        raise StepFailed("the author voted in their own poll")
    except MastodonAPIError as e:
        check("own polls" in str(e), f"unexpected error {e}")
    check(bob.poll(with_poll.poll.id).own_votes == [0, 2], "the poll remembers bob's votes")

    at("edit a status")
    original = alice.status_post("Edit me, #before")
    edited = alice.status_update(original.id, "Edited, #after", spoiler_text="cw")
    check(edited.id == original.id, "the edit keeps the id")
    check(edited.edited_at is not None, f"edited_at {edited.edited_at!r}")
    check("Edited" in edited.content and edited.spoiler_text == "cw", f"edited {edited!r}")
    check([t.name for t in edited.tags] == ["after"], f"tags {edited.tags!r}")
    source = alice.status_source(original.id)
    check(source.text == "Edited, #after" and source.spoiler_text == "cw", f"source {source!r}")
    history = bob.status_history(original.id)
    check(len(history) == 2, f"history {history!r}")
    check("Edit me" in history[0].content and "Edited" in history[1].content, f"history {history!r}")
    check(bob.status(original.id).content == edited.content, "others see the edit")
    try:
        bob.status_update(original.id, "not mine")
        raise StepFailed("bob edited alice's status")
    except MastodonNotFoundError:
        pass

    at("edit a poll")
    reedited = alice.status_update(
        with_poll.id, "What do you drink now?", poll=alice.make_poll(["tea", "juice"], expires_in=7200)
    )
    check([o.title for o in reedited.poll.options] == ["tea", "juice"], f"edited poll {reedited.poll!r}")
    check(reedited.poll.votes_count == 0, "changing the options resets the votes")
    check(not bob.poll(with_poll.poll.id).voted, "bob's votes are gone")
# A valid 1x1 PNG.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def fetch_bytes(base_url, url):
    """GETs a media URL through base_url (its path only); returns (content type, bytes)."""
    parts = urllib.parse.urlsplit(url)
    with urllib.request.urlopen(base_url + parts.path, timeout=10) as response:
        return response.headers.get("Content-Type"), response.read()


def media_journey(client, me, base_url, at):
    """Avatar upload, a media upload and a status carrying it; the URLs serve the bytes."""
    at("upload an avatar")
    updated = client.account_update_credentials(avatar=io.BytesIO(PIXEL_PNG), avatar_mime_type="image/png")
    check("/system/accounts/avatars/" in updated.avatar, f"avatar {updated.avatar!r}")
    check(client.account(me.id).avatar == updated.avatar, "the avatar is public")
    content_type, body = fetch_bytes(base_url, updated.avatar)
    check(body == PIXEL_PNG and content_type == "image/png", f"the avatar URL serves {content_type!r}")

    at("upload media and post it")
    media = client.media_post(
        io.BytesIO(PIXEL_PNG), mime_type="image/png", file_name="pixel.png",
        description="one pixel", focus=(0.5, -0.5), synchronous=True,
    )
    check(media.type == "image" and media.url, f"media {media!r}")
    check(media.meta.original.width == 1 and media.meta.original.height == 1, f"meta {media.meta!r}")
    check(media.description == "one pixel", f"description {media.description!r}")
    status = client.status_post("A pixel", media_ids=[media.id])
    check([str(m.id) for m in status.media_attachments] == [str(media.id)], f"attachments {status.media_attachments!r}")
    content_type, body = fetch_bytes(base_url, status.media_attachments[0].url)
    check(body == PIXEL_PNG and content_type == "image/png", f"the media URL serves {content_type!r}")
    only_media = client.account_statuses(me.id, only_media=True)
    check(ids(only_media) == [str(status.id)], f"only_media {ids(only_media)!r}")


def main(base_url):
    base_url = base_url.rstrip("/")
    suffix = uuid.uuid4().hex[:8]
    step = "start"

    def at(name):
        nonlocal step
        step = name
        print(f"- {name}", flush=True)

    try:
        at("create an app")
        client_id, client_secret = Mastodon.create_app(
            f"ferrodon-journey-{suffix}", api_base_url=base_url, website="https://ferrodon.example/"
        )
        check(client_id and client_secret, "create_app returned empty credentials")

        def new_client(**kwargs):
            return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base_url, **kwargs)

        users = {}
        for name in ("alice", "bob"):
            at(f"register {name}")
            username = f"{name}_{suffix}"
            email = f"{username}@example.com"
            registrar = new_client()
            token = registrar.create_account(username, PASSWORD, email, agreement=True)
            check(token, f"create_account for {username} returned no token")
            me = registrar.account_verify_credentials()
            check(me.username == username, f"registered as {me.username!r}, expected {username!r}")

            at(f"log in as {name} with the password grant")
            client = new_client()
            login_token = client.log_in(email, PASSWORD, allow_http=True)
            check(login_token, "log_in returned no token")
            me = client.me()
            check(me.username == username, f"logged in as {me.username!r}, expected {username!r}")
            check(me.acct == username, f"acct {me.acct!r}")
            users[name] = (client, me)

        alice, alice_me = users["alice"]
        bob, bob_me = users["bob"]

        at("detect the server version")
        check(alice.verify_minimum_version("4.5.0", cached=True), "Mastodon.py did not detect version >= 4.5.0")
        instance = alice.instance()
        check(str(instance.version).startswith("4.5.0"), f"instance version {instance.version!r}")

        at("bob posts")
        tag = f"ferrodon{suffix}"
        first = bob.status_post(f"Hello from bob #{tag}")
        check("Hello from bob" in first.content, f"content {first.content!r}")
        check(first.account.id == bob_me.id, "status author")
        check(first.visibility == "public", f"visibility {first.visibility!r}")
        check(any(t.name == tag for t in first.tags), f"tags {first.tags!r}")

        at("alice follows bob")
        relationship = alice.account_follow(bob_me.id)
        check(relationship.following, f"follow relationship {relationship!r}")
        relationships = alice.account_relationships(bob_me.id)
        check(len(relationships) == 1 and relationships[0].following, f"relationships {relationships!r}")
        check(bob.account_relationships(alice_me.id)[0].followed_by, "bob sees alice as a follower")

        at("bob's earlier post reaches alice's home")
        poll("bob's first post in alice's home", alice.timeline_home, lambda tl: str(first.id) in ids(tl))

        at("bob posts again; the post reaches alice's home")
        second = bob.status_post("Second post from bob", visibility="unlisted", idempotency_key=f"idem-{suffix}")
        again = bob.status_post("Second post from bob", visibility="unlisted", idempotency_key=f"idem-{suffix}")
        check(str(again.id) == str(second.id), "Idempotency-Key did not deduplicate")
        private = bob.status_post("Followers only", visibility="private", spoiler_text="cw")
        check(private.sensitive, "spoiler_text makes a status sensitive")
        home = poll(
            "bob's new posts in alice's home",
            alice.timeline_home,
            lambda tl: {str(second.id), str(private.id)} <= set(ids(tl)),
        )
        check(ids(home) == sorted(ids(home), key=int, reverse=True), "home is newest first")

        at("paginate the home timeline")
        page = alice.timeline_home(limit=1)
        check(len(page) == 1, f"limit=1 returned {len(page)}")
        older = alice.fetch_next(page)
        check(older is not None and len(older) == 1, "fetch_next returned nothing")
        check(int(older[0].id) < int(page[0].id), "fetch_next went backwards in time")
        newer = alice.fetch_previous(older)
        check(newer is not None and ids(newer) == ids(page), "fetch_previous did not return to the first page")

        at("read the public timelines")
        public = alice.timeline_public()
        check(str(first.id) in ids(public), "bob's public post in the public timeline")
        check(str(second.id) not in ids(public), "unlisted post in the public timeline")
        check(str(private.id) not in ids(public), "private post in the public timeline")
        check(str(first.id) in ids(alice.timeline_local()), "bob's post in the local timeline")
        check(str(first.id) in ids(alice.timeline_hashtag(tag)), "bob's post in the hashtag timeline")
        anonymous = Mastodon(api_base_url=base_url)
        check(str(first.id) in ids(anonymous.timeline_public()), "public timeline without a token")

        at("favourite")
        favourited = alice.status_favourite(first.id)
        check(favourited.favourited, "favourited flag")
        check(bob.status(first.id).favourites_count == 1, "favourites_count")
        unfavourited = alice.status_unfavourite(first.id)
        check(not unfavourited.favourited, "unfavourite")

        at("reblog")
        reblog = alice.status_reblog(first.id)
        check(reblog.reblog is not None and str(reblog.reblog.id) == str(first.id), f"reblog {reblog!r}")
        check(bob.status(first.id).reblogs_count == 1, "reblogs_count")
        try:
            alice.status_reblog(private.id)
            raise StepFailed("reblogging someone else's private post succeeded")
        except MastodonAPIError as e:
            check(len(e.args) > 1 and e.args[1] == 403, f"reblog of a private post: {e.args!r}")

        at("reply and read the thread")
        reply = alice.status_post(f"@{bob_me.acct} nice post!", in_reply_to_id=first.id)
        check(str(reply.in_reply_to_id) == str(first.id), "in_reply_to_id")
        check(any(str(m.id) == str(bob_me.id) for m in reply.mentions), "the reply mentions bob")
        context = bob.status_context(first.id)
        check(str(reply.id) in ids(context.descendants), "the reply is a descendant")
        context = bob.status_context(reply.id)
        check(ids(context.ancestors) == [str(first.id)], "the original is the ancestor")

        at("account statuses")
        statuses = anonymous.account_statuses(bob_me.id)
        check(str(first.id) in ids(statuses), "bob's statuses")
        check(str(private.id) not in ids(statuses), "anonymous sees no private statuses")
        found = alice.account_lookup(bob_me.acct)
        check(str(found.id) == str(bob_me.id), "account_lookup")

        at("lists")
        lists_step(alice, bob, bob_me, first)

        at("update the profile")
        updated = alice.account_update_credentials(display_name="Alice", note="Testing Ferrodon", locked=False)
        check(updated.display_name == "Alice", f"display_name {updated.display_name!r}")
        check(alice.account(alice_me.id).display_name == "Alice", "display_name is public")

        media_journey(alice, alice_me, base_url, at)

        at("delete")
        deleted = alice.status_delete(reply.id)
        check(deleted.get("text") == f"@{bob_me.acct} nice post!", f"delete returns the source: {deleted!r}")
        try:
            bob.status(reply.id)
            raise StepFailed("the deleted status is still there")
        except MastodonNotFoundError:
            pass
        alice.status_unreblog(first.id)

        at("unfollow")
        relationship = alice.account_unfollow(bob_me.id)
        check(not relationship.following, "unfollow")
        poll(
            "bob's posts to leave alice's home",
            alice.timeline_home,
            lambda tl: not ({str(first.id), str(second.id), str(private.id)} & set(ids(tl))),
        )

        polls_and_edits(alice, bob, at)

        at("revoke the token")
        token = alice.access_token
        alice.revoke_access_token(allow_http=True)
        try:
            Mastodon(access_token=token, api_base_url=base_url).account_verify_credentials()
            raise StepFailed("the revoked token still works")
        except MastodonUnauthorizedError:
            pass

    except StepFailed as e:
        print(f"FAILED at step '{step}': {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - any library error is a failed step
        print(f"FAILED at step '{step}': {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc()
        return 1

    print("Mastodon.py journey: OK")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
