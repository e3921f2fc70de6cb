#!/usr/bin/env python3
"""Conformance of Ferrodon's client API with the community OpenAPI spec of Mastodon.

Usage: conformance.py BASE_URL SETUP_JSON [-v]

SETUP_JSON is what the caller prepared with the admin CLI (tests/conformance.rs):

    {"password": "...",
     "users": {"alice": {"id": "...", "email": "..."}, "bob": ..., "carol": ..., "dave": ..., "erin": ..., "frank": ...},
     "rule_id": "...", "announcement_id": "..."}

The script walks every endpoint Ferrodon implements with realistic data (users
following each other, a locked account, mentions, hashtags, polls, direct
messages, lists, filters, notifications...), and validates each response body
against the schema the spec gives for that operation and status code
(tests/conformance/mastodon-openapi.json, OpenAPI 3.1 = JSON Schema 2020-12,
`$ref`s resolved against the whole document). Disagreements the spec has with
what Mastodon really does are listed, with reasons, in exceptions.json
(per response field, or as a `schema_patches` fix of a component schema).

At the end it prints a coverage report (spec operations exercised, routes of
`crates/api/src/lib.rs` with no spec operation, routes not exercised) and
exits 1 if any check failed outside the exceptions.

Adding an endpoint: call `c.call(METHOD, PATH, user, ...)` from one of the
`@step` functions below (or add a new `@step`); the spec operation, its schema
and the coverage bookkeeping are found from the method and path.
"""

import base64
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
import traceback
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import requests
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema._keywords import properties as properties_keyword
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC_PATH = HERE / "mastodon-openapi.json"
EXCEPTIONS_PATH = HERE / "exceptions.json"
ROUTER_PATH = ROOT / "crates" / "api" / "src" / "lib.rs"
SPEC_URI = "urn:mastodon-openapi"
METHODS = ("get", "post", "put", "patch", "delete")
POLL_SECONDS = 30
SCOPES = "read write follow push profile"
REDIRECT_OOB = "urn:ietf:wg:oauth:2.0:oob"
COVERAGE_MARKER = "=== conformance coverage ==="

# Schemas for responses the spec does not describe (by Mastodon's serializers).
WEBFINGER = {
    # RFC 7033 JRD, as WebfingerSerializer: subject, aliases, links with rel.
    "type": "object",
    "properties": {
        "subject": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "links": {"type": "array", "items": {
            "type": "object",
            "properties": {"rel": {"type": "string"}, "type": {"type": "string"}, "href": {"type": "string", "format": "uri"},
                           "template": {"type": "string"}},
            "required": ["rel"],
        }},
    },
    "required": ["subject", "links"],
}
OAUTH_USERINFO = {
    # OauthUserinfoSerializer (Mastodon 4.4): OpenID Connect standard claims.
    "type": "object",
    "properties": {
        "iss": {"type": "string", "format": "uri"},
        "sub": {"type": "string", "format": "uri"},
        "name": {"type": "string"},
        "preferred_username": {"type": "string"},
        "profile": {"type": "string", "format": "uri"},
        "picture": {"type": "string", "format": "uri"},
    },
    "required": ["iss", "sub", "name", "preferred_username", "profile", "picture"],
}


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
            raise StepFailed(f"timed out after {POLL_SECONDS}s waiting for {what}; last result: {result!r}"[:2000])
        time.sleep(0.2)


def ids(items):
    return [str(x["id"]) for x in items or []]


# ---------------------------------------------------------------------------
# The spec: operations, response schemas, validation


def template_regex(template):
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def param_count(template):
    return template.count("{")


def pointer_escape(token):
    return token.replace("~", "~0").replace("/", "~1")


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def format_checker():
    fc = FormatChecker(formats=())

    @fc.checks("date-time")
    def is_datetime(value):
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            return False
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True

    @fc.checks("date", raises=ValueError)
    def is_date(value):
        if not isinstance(value, str):
            return True
        date.fromisoformat(value)
        return re.match(r"^\d{4}-\d{2}-\d{2}$", value) is not None

    @fc.checks("uri")
    def is_uri(value):
        if not isinstance(value, str):
            return True
        u = urlparse(value)
        return bool(u.scheme) and (bool(u.netloc) or u.scheme in ("urn", "mailto", "acct"))

    @fc.checks("iso-639-1")
    def is_language(value):
        # ISO 639-1, or the ISO 639-3 codes Mastodon also accepts (LanguagesHelper).
        return not isinstance(value, str) or re.match(r"^[a-z]{2,3}$", value) is not None

    @fc.checks("email")
    def is_email(value):
        return not isinstance(value, str) or re.match(r"^[^@\s]+@[^@\s]+$", value) is not None

    return fc


class Spec:
    def __init__(self, path, patches=()):
        self.doc = json.loads(path.read_text())
        # Schema fixes from exceptions.json (`schema_patches`): a schema the
        # spec gets wrong everywhere it is used, replaced before validating.
        for patch in patches:
            *parents, last = patch["pointer"].lstrip("/").split("/")
            node = self.doc
            for token in parents:
                node = node[token.replace("~1", "/").replace("~0", "~")]
            check(last in node, f"schema patch for a pointer the spec lacks: {patch['pointer']}")
            node[last] = patch["value"]
        # For the report of documented properties never sent: the component
        # schema of each `properties` object, and the keys seen under it.
        self.component_of = {
            id(schema["properties"]): name
            for name, schema in self.doc["components"]["schemas"].items()
            if isinstance(schema.get("properties"), dict)
        }
        self.seen = {}
        spec = self

        def properties(validator, props, instance, schema):
            name = spec.component_of.get(id(props))
            if name is not None and isinstance(instance, dict):
                spec.seen.setdefault(name, set()).update(k for k in instance if k in props)
            yield from properties_keyword(validator, props, instance, schema)

        self.validator_class = validators.extend(Draft202012Validator, {"properties": properties})
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)
        self.formats = format_checker()
        self.ops = []  # (regex, template, method)
        for template, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    self.ops.append((template_regex(template), template, method.upper()))
        # Literal segments win over parameters: /accounts/lookup before /accounts/{id}.
        self.ops.sort(key=lambda op: (param_count(op[1]), -len(op[1])))
        self.validators = {}

    def operation(self, method, path):
        for regex, template, m in self.ops:
            if m == method and regex.match(path):
                return template
        return None

    def operation_of_route(self, method, route):
        """The spec operation of a Ferrodon route (same path, parameter names aside)."""
        wanted = normalise(route)
        for _, template, m in self.ops:
            if m == method and normalise(template) == wanted:
                return template
        return None

    def response_pointer(self, method, template, status):
        """JSON pointer of the response schema, or None when the spec gives none."""
        op = self.doc["paths"][template][method.lower()]
        response = op.get("responses", {}).get(str(status))
        if response is None:
            return None
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        return "/" + "/".join(
            pointer_escape(t)
            for t in ["paths", template, method.lower(), "responses", str(status), "content", "application/json", "schema"]
        )

    def declares_link(self, method, template, status):
        """Whether the spec documents a `Link` (pagination) header on this response."""
        op = self.doc["paths"][template][method.lower()]
        return "Link" in op.get("responses", {}).get(str(status), {}).get("headers", {})

    def validator(self, pointer):
        """A validator for the schema at `pointer` in the document, or for an inline schema."""
        if isinstance(pointer, dict):
            return self.validator_class(pointer, registry=self.registry, format_checker=self.formats)
        if pointer not in self.validators:
            schema = {"$ref": SPEC_URI + "#" + pointer}
            self.validators[pointer] = self.validator_class(
                schema, registry=self.registry, format_checker=self.formats
            )
        return self.validators[pointer]


def instance_pointer(path_parts):
    return "/" + "/".join(pointer_escape(str(p)) for p in path_parts) if path_parts else ""


def leaf_errors(error):
    """The most telling errors under `error` (into oneOf/anyOf branches)."""
    if not error.context:
        return [error]
    return leaf_errors(best_match(error.context))


def field_of(error):
    """(JSON pointer of the field concerned, message). A missing required
    field points at the field itself."""
    parts = list(error.absolute_path)
    if error.validator == "required":
        m = re.match(r"'(.+)' is a required property", error.message)
        if m:
            parts.append(m.group(1))
    return instance_pointer(parts), error.message


def pointer_matches(pattern, pointer):
    """Exception pointers may use `*` for any one segment (array indices)."""
    a, b = pattern.split("/"), pointer.split("/")
    return len(a) == len(b) and all(x == "*" or x == y for x, y in zip(a, b))


# ---------------------------------------------------------------------------
# Ferrodon's router


def router_routes(path):
    """(METHOD, template) of every route of `router()`: with `FERRODON_BIN` set,
    as the binary lists them (`ferrodon routes`); otherwise read from the source
    of `routes()`, the function `router()` and `route_table()` are built from."""
    binary = os.environ.get("FERRODON_BIN")
    if binary:
        out = subprocess.run([binary, "routes"], check=True, capture_output=True, text=True)
        return [tuple(line.split(" ", 1)) for line in out.stdout.splitlines() if line]
    src = path.read_text()
    start = src.index("\nfn routes(")
    end = src.index("\n}\n", start)
    body = src[start:end]
    routes = []
    for m in re.finditer(r'\.route\(\s*"([^"]+)",(.*?)(?=\.route\(|\Z)', body, re.S):
        template, expr = m.group(1), m.group(2)
        for method in re.findall(r"\b(get|post|put|patch|delete)\(", expr):
            routes.append((method.upper(), template))
    return routes


def normalise(template):
    return re.sub(r"\{[^}]+\}", "{}", template)


# ---------------------------------------------------------------------------
# The client


class Failure:
    def __init__(self, operation, pointer, message):
        self.operation, self.pointer, self.message = operation, pointer, message

    def __str__(self):
        return f"{self.operation} {self.pointer or '(body)'}: {self.message}"


class Conformance:
    def __init__(self, base_url, spec, exceptions, routes, verbose=False):
        self.base = base_url.rstrip("/")
        self.spec = spec
        self.exceptions = exceptions
        self.used_exceptions = set()
        self.routes = [(m, t, template_regex(t)) for m, t in routes]
        self.routes.sort(key=lambda r: (param_count(r[1]), -len(r[1])))
        self.http = requests.Session()
        self.verbose = verbose
        self.failures = []
        self.excused = []
        self.covered = {}  # "METHOD template" (spec) -> set of status codes
        self.exercised = set()  # (METHOD, route template)
        self.calls = 0
        self.nonempty = {}  # label -> whether any 2xx answer had content to validate

    def route(self, method, path):
        for m, template, regex in self.routes:
            if m == method and regex.match(path):
                return template
        return None

    def fail(self, operation, pointer, message):
        for i, e in enumerate(self.exceptions):
            if e["operation"] in (operation, "*") and pointer_matches(e["pointer"], pointer):
                self.used_exceptions.add(i)
                self.excused.append(Failure(operation, pointer, message))
                return
        failure = Failure(operation, pointer, message)
        self.failures.append(failure)
        print(f"FAIL {failure}", flush=True)

    def validate(self, label, pointer, body):
        for i, e in enumerate(self.exceptions):
            if e.get("items_schema") and e["operation"] == label and e["pointer"] == "" and isinstance(body, list):
                # The spec describes one item where Mastodon sends a list of them.
                self.used_exceptions.add(i)
                self.excused.append(Failure(label, "", f"an array of {e['items_schema']}"))
                for n, item in enumerate(body):
                    self.validate_item(label, f"/components/schemas/{e['items_schema']}", item, f"/{n}")
                return
        self.validate_item(label, pointer, body, "")

    def validate_item(self, label, pointer, body, prefix):
        for error in self.spec.validator(pointer).iter_errors(body):
            for leaf in leaf_errors(error):
                where, message = field_of(leaf)
                self.fail(label, prefix + where, message[:300])

    def call(self, method, path, user=None, *, params=None, data=None, json_body=None, expect=200,
             schema=None, headers=None, files=None):
        """Sends one request; checks the status code and validates the body
        against the spec. `schema` names a components schema for routes the
        spec lacks. Returns the parsed JSON body (or None)."""
        h = dict(headers or {})
        if user is not None:
            h["Authorization"] = f"Bearer {user['token'] if isinstance(user, dict) else user}"
        resp = self.http.request(method, self.base + path, params=params, data=data, json=json_body, headers=h,
                                 files=files, allow_redirects=False, timeout=30)
        self.calls += 1
        self.last = resp
        route = self.route(method, path)
        if route is not None:
            self.exercised.add((method, route))
        template = self.spec.operation_of_route(method, route) if route else self.spec.operation(method, path)
        label = f"{method} {template or route or path}"
        if self.verbose:
            print(f"  {resp.status_code} {method} {path}", flush=True)
        body = None
        if "json" in resp.headers.get("content-type", ""):
            try:
                body = resp.json()
            except ValueError:
                self.fail(label, "", f"the body is not JSON: {resp.text[:200]!r}")
        if resp.status_code not in (expect if isinstance(expect, (set, tuple)) else (expect,)):
            self.fail(label, "", f"expected {expect}, got {resp.status_code}: {resp.text[:500]}")
            return body
        if template is not None:
            self.covered.setdefault(f"{method} {template}", set()).add(resp.status_code)
        pointer = self.spec.response_pointer(method, template, resp.status_code) if template else None
        if pointer is None and schema is not None:
            # The spec has no operation (or no body schema) here: use the one named.
            pointer = schema if isinstance(schema, dict) else f"/components/schemas/{schema}"
        if template is not None and self.spec.declares_link(method, template, resp.status_code):
            self.check_link(label, resp, body)
        if 200 <= resp.status_code < 300:
            self.nonempty[label] = self.nonempty.get(label, False) or body not in (None, [], {})
        if pointer is not None:
            if body is None:
                self.fail(label, "", f"a JSON body was expected, got {resp.headers.get('content-type')!r}")
            else:
                self.validate(label, pointer, body)
        self.last = resp
        return body

    def html(self, method, path, **kwargs):
        """Like call, for an HTML page (the OAuth sign-in form): returns the response."""
        self.call(method, path, **kwargs)
        return self.last

    def check_link(self, label, resp, body):
        """A page with items carries a Link header (Mastodon's
        insert_pagination_headers: `prev` whenever the page is not empty,
        `next` when it is full), each link a URL with rel next or prev."""
        items = body.get("notification_groups") if isinstance(body, dict) else body
        link = resp.headers.get("Link")
        if not items:
            return
        if link is None:
            self.fail(label, "<Link header>", "a non-empty page has no Link header")
            return
        for part in link.split(","):
            m = re.match(r'^\s*<([^>]+)>;\s*rel="(next|prev)"\s*$', part)
            if not m or not urlparse(m.group(1)).scheme:
                self.fail(label, "<Link header>", f"malformed Link header {link!r}")
                return

    def report(self, router):
        out = [COVERAGE_MARKER]
        spec_norm = {}
        for _, template, method in self.spec.ops:
            spec_norm[(method, normalise(template))] = template
        covered = sorted(self.covered)
        out.append(f"spec operations covered: {len(covered)} (of {len(self.spec.ops)} in the spec), {self.calls} requests")
        for op in covered:
            codes = ",".join(str(c) for c in sorted(self.covered[op]))
            out.append(f"  [x] {op}  ({codes})")
        no_spec = [(m, t) for m, t in router if (m, normalise(t)) not in spec_norm]
        out.append(f"implemented routes with no spec operation: {len(no_spec)}")
        for m, t in no_spec:
            seen = "exercised" if (m, t) in self.exercised else "not exercised"
            out.append(f"  [-] {m} {t}  ({seen})")
        unexercised = [(m, t) for m, t in router if (m, normalise(t)) in spec_norm and (m, t) not in self.exercised]
        out.append(f"implemented routes with a spec operation the script does not exercise: {len(unexercised)}")
        for m, t in unexercised:
            out.append(f"  [ ] {m} {t}")
        out.append("documented properties Ferrodon never sent (optional in the spec), by entity:")
        for name in sorted(self.spec.seen):
            props = self.spec.doc["components"]["schemas"][name]["properties"]
            missing = sorted(set(props) - self.spec.seen[name])
            if missing:
                out.append(f"  {name}: {', '.join(missing)}")
        empty = sorted(label for label, seen in self.nonempty.items() if not seen)
        out.append(f"operations only ever answered empty ([] or {{}} or no JSON), so validated little: {len(empty)}")
        for label in empty:
            out.append(f"  [0] {label}")
        out.append(f"differences excused by exceptions.json: {len(self.excused)}")
        for f in self.excused:
            out.append(f"  ~ {f}")
        unused = [e for i, e in enumerate(self.exceptions) if i not in self.used_exceptions]
        if unused:
            out.append(f"exceptions not needed in this run: {len(unused)}")
            for e in unused:
                out.append(f"  ? {e['operation']} {e['pointer']}")
        out.append(f"failures: {len(self.failures)}")
        for f in self.failures:
            out.append(f"  ! {f}")
        return "\n".join(out)


# ---------------------------------------------------------------------------
# The walk. Each step gets the client and a shared context (users, ids).

STEPS = []


def step(fn):
    STEPS.append(fn)
    return fn


@step
def instance(c, ctx):
    c.call("GET", "/api/v1/instance")
    c.call("GET", "/api/v2/instance")
    c.call("GET", "/api/v1/instance/rules")
    c.call("GET", "/api/v1/instance/peers")
    c.call("GET", "/api/v1/instance/activity")
    c.call("GET", "/api/v1/instance/domain_blocks")
    c.call("GET", "/api/v1/instance/extended_description")
    c.call("GET", "/api/v1/instance/translation_languages")
    c.call("GET", "/api/v1/custom_emojis")
    c.call("GET", "/.well-known/oauth-authorization-server")
    c.call("GET", "/health")
    c.call("GET", "/avatars/original/missing.png")
    c.call("GET", "/headers/original/missing.png")
    c.call("GET", "/api/v1/announcements", expect=401)


@step
def apps_and_tokens(c, ctx):
    app = c.call("POST", "/api/v1/apps", json_body={
        "client_name": f"conformance {uuid.uuid4().hex[:6]}",
        "redirect_uris": REDIRECT_OOB,
        "scopes": SCOPES,
        "website": "https://example.com/app",
    })
    ctx["app"] = app
    app_token = c.call("POST", "/oauth/token", data={
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": "read write",
    })
    c.call("GET", "/api/v1/apps/verify_credentials", app_token["access_token"])
    for name, user in ctx["users"].items():
        token = c.call("POST", "/oauth/token", data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": user["email"],
            "password": ctx["password"],
            "scope": SCOPES,
        })
        check(token and "access_token" in token, f"no token for {name}: {token!r}")
        user["token"] = token["access_token"]
    # OpenID Connect claims, for a token with the profile scope.
    profile = c.call("POST", "/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": ctx["users"]["alice"]["email"], "password": ctx["password"], "scope": "profile",
    })
    c.call("GET", "/oauth/userinfo", profile["access_token"], schema=OAUTH_USERINFO)
    c.call("POST", "/oauth/userinfo", profile["access_token"], schema=OAUTH_USERINFO)
    c.call("GET", "/api/v1/accounts/verify_credentials", profile["access_token"])
    authorization_code_flow(c, ctx)
    # A registration through the API.
    name = f"erin{uuid.uuid4().hex[:6]}"
    registered = c.call("POST", "/api/v1/accounts", app_token["access_token"], json_body={
        "username": name, "email": f"{name}@example.com", "password": ctx["password"],
        "agreement": True, "locale": "en",
    })
    check(registered and registered.get("access_token"), f"registration {registered!r}")
    # A token to revoke.
    spare = c.call("POST", "/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": ctx["users"]["alice"]["email"], "password": ctx["password"], "scope": "read",
    })
    c.call("POST", "/oauth/revoke", data={
        "client_id": app["client_id"], "client_secret": app["client_secret"], "token": spare["access_token"],
    })
    c.call("GET", "/api/v1/accounts/verify_credentials", spare["access_token"], expect=401)


def hidden_inputs(page):
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'(\w+)="([^"]*)"', tag)}
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def authorization_code_flow(c, ctx):
    """The sign-in form, its POST, and the code exchanged with PKCE."""
    callback = "https://app.example/callback"
    app = c.call("POST", "/api/v1/apps", data={
        "client_name": "conformance web app", "redirect_uris": callback, "scopes": "read write profile",
    })
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = uuid.uuid4().hex
    page = c.html("GET", "/oauth/authorize", params={
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": callback, "scope": "read profile",
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
    })
    fields = hidden_inputs(page.text)
    check(fields.get("csrf"), f"no csrf field in the sign-in form: {page.text[:500]}")
    fields.update(email=ctx["users"]["alice"]["email"], password=ctx["password"])
    resp = c.html("POST", "/oauth/authorize", data=fields, expect=(302, 303))
    location = urlparse(resp.headers.get("Location", ""))
    query = dict(p.split("=", 1) for p in location.query.split("&") if "=" in p)
    check(query.get("state") == state and query.get("code"), f"redirect {resp.headers.get('Location')!r}")
    c.call("POST", "/oauth/token", data={
        "grant_type": "authorization_code", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "redirect_uri": callback, "code": query["code"], "code_verifier": verifier,
    })


@step
def accounts(c, ctx):
    alice, bob, carol = ctx["users"]["alice"], ctx["users"]["bob"], ctx["users"]["carol"]
    c.call("GET", "/api/v1/accounts/verify_credentials", alice)
    c.call("PATCH", "/api/v1/accounts/update_credentials", alice, json_body={
        "display_name": "Alice Liddell",
        "note": "Down the rabbit hole. #wonderland",
        "fields_attributes": [{"name": "Home", "value": "https://example.com/alice"}, {"name": "Pronouns", "value": "she/her"}],
        "source": {"privacy": "public", "language": "en"},
        "discoverable": True,
        "indexable": True,
    })
    c.call("PATCH", "/api/v1/accounts/update_credentials", bob, data={"display_name": "Bob", "discoverable": "true"})
    c.call("PUT", "/api/v1/accounts/update_credentials", carol, data={"locked": "true", "note": "I approve followers."},
           schema="CredentialAccount")
    c.call("GET", f"/api/v1/accounts/{alice['id']}")
    c.call("GET", f"/api/v1/accounts/{alice['id']}", bob)
    c.call("GET", "/api/v1/accounts/lookup", params={"acct": "bob"})
    c.call("GET", "/api/v1/accounts/0", alice, expect=404)


@step
def follows(c, ctx):
    alice, bob, carol, dave = (ctx["users"][n] for n in ("alice", "bob", "carol", "dave"))
    c.call("POST", f"/api/v1/accounts/{bob['id']}/follow", alice)
    c.call("POST", f"/api/v1/accounts/{alice['id']}/follow", bob, json_body={"reblogs": True, "notify": True})
    c.call("POST", f"/api/v1/accounts/{alice['id']}/follow", carol)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/follow", dave)
    # carol is locked: follow requests.
    rel = c.call("POST", f"/api/v1/accounts/{carol['id']}/follow", alice)
    check(rel and rel["requested"], f"following a locked account is a request: {rel!r}")
    c.call("POST", f"/api/v1/accounts/{carol['id']}/follow", bob)
    requests_ = c.call("GET", "/api/v1/follow_requests", carol)
    check(sorted(ids(requests_)) == sorted([alice["id"], bob["id"]]), f"follow requests {requests_!r}")
    c.call("POST", f"/api/v1/follow_requests/{alice['id']}/authorize", carol)
    c.call("POST", f"/api/v1/follow_requests/{bob['id']}/reject", carol)
    c.call("GET", "/api/v1/accounts/relationships", alice, params={"id[]": [bob["id"], carol["id"], dave["id"]]})
    c.call("GET", f"/api/v1/accounts/{alice['id']}/followers", bob)
    c.call("GET", f"/api/v1/accounts/{alice['id']}/following", bob)
    c.call("GET", "/api/v1/accounts/familiar_followers", alice, params={"id[]": [carol["id"]]})
    several = c.call("GET", "/api/v1/accounts", alice, params={"id[]": [bob["id"], carol["id"], "0"]})
    check(ids(several) == [bob["id"], carol["id"]], f"accounts by id: {ids(several)}")
    # dave follows alice and is removed from her followers.
    c.call("POST", f"/api/v1/accounts/{alice['id']}/follow", dave)
    c.call("POST", f"/api/v1/accounts/{dave['id']}/remove_from_followers", alice)
    c.call("POST", f"/api/v1/accounts/{carol['id']}/note", alice, json_body={"comment": "Met at the tea party"})


@step
def statuses(c, ctx):
    alice, bob, carol = ctx["users"]["alice"], ctx["users"]["bob"], ctx["users"]["carol"]
    post = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "Hello @bob and @carol, it is tea time #tea #wonderland https://example.com/tea",
        "visibility": "public",
        "language": "en",
    }, headers={"Idempotency-Key": uuid.uuid4().hex})
    ctx["post"] = post
    cw = c.call("POST", "/api/v1/statuses", alice, data={
        "status": "The ending of the book", "spoiler_text": "spoilers", "sensitive": "true", "visibility": "unlisted",
    })
    ctx["cw"] = cw
    reply = c.call("POST", "/api/v1/statuses", bob, json_body={
        "status": "@alice I'll bring the #tea", "in_reply_to_id": post["id"],
    })
    ctx["reply"] = reply
    c.call("POST", "/api/v1/statuses", alice, json_body={"status": "followers only", "visibility": "private"})
    poll_status = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "Tea or coffee?", "poll": {"options": ["tea", "coffee", "water"], "expires_in": 3600, "multiple": True},
    })
    ctx["poll_status"] = poll_status
    # A poll that ends during the walk (FERRODON_POLL_MIN_EXPIRATION=1): its
    # notifications are checked in more_notification_types.
    quick = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "Quick vote", "poll": {"options": ["yes", "no"], "expires_in": 4},
    })
    c.call("POST", f"/api/v1/polls/{quick['poll']['id']}/votes", bob, json_body={"choices": [1]})
    ctx["quick_poll"] = quick
    c.call("GET", f"/api/v1/statuses/{post['id']}")
    c.call("GET", f"/api/v1/statuses/{post['id']}", bob)
    c.call("GET", f"/api/v1/statuses/{cw['id']}", bob)
    c.call("GET", f"/api/v1/statuses/{post['id']}/context", bob)
    c.call("GET", f"/api/v1/statuses/{reply['id']}/context")
    # Polls.
    poll_id = poll_status["poll"]["id"]
    c.call("GET", f"/api/v1/polls/{poll_id}", bob)
    c.call("POST", f"/api/v1/polls/{poll_id}/votes", bob, json_body={"choices": ["0", "2"]})
    c.call("GET", f"/api/v1/polls/{poll_id}")
    c.call("GET", f"/api/v1/statuses/{poll_status['id']}", bob)
    # Interactions.
    c.call("POST", f"/api/v1/statuses/{post['id']}/favourite", bob)
    c.call("POST", f"/api/v1/statuses/{post['id']}/favourite", carol)
    c.call("POST", f"/api/v1/statuses/{post['id']}/reblog", bob, json_body={"visibility": "public"})
    c.call("POST", f"/api/v1/statuses/{post['id']}/bookmark", bob)
    c.call("POST", f"/api/v1/statuses/{post['id']}/pin", alice)
    c.call("POST", f"/api/v1/statuses/{post['id']}/mute", alice)
    c.call("POST", f"/api/v1/statuses/{post['id']}/unmute", alice)
    c.call("GET", f"/api/v1/statuses/{post['id']}/favourited_by")
    c.call("GET", f"/api/v1/statuses/{post['id']}/reblogged_by", alice)
    c.call("GET", "/api/v1/favourites", bob)
    c.call("GET", "/api/v1/bookmarks", bob)
    c.call("GET", f"/api/v1/accounts/{alice['id']}/statuses", bob)
    c.call("GET", f"/api/v1/accounts/{alice['id']}/statuses", params={"pinned": "true"})
    c.call("GET", f"/api/v1/accounts/{bob['id']}/statuses", alice, params={"exclude_replies": "false"})
    # Edits.
    edited = c.call("PUT", f"/api/v1/statuses/{cw['id']}", alice, json_body={
        "status": "The ending of the book, edited #books", "spoiler_text": "big spoilers", "sensitive": True,
    })
    check(edited and edited.get("edited_at"), f"edited {edited!r}")
    c.call("PUT", f"/api/v1/statuses/{poll_status['id']}", alice, json_body={
        "status": "Tea or coffee? (edited)", "poll": {"options": ["tea", "coffee"], "expires_in": 3600},
    })
    c.call("GET", f"/api/v1/statuses/{cw['id']}/history", bob)
    c.call("GET", f"/api/v1/statuses/{poll_status['id']}/history")
    c.call("GET", f"/api/v1/statuses/{cw['id']}/source", alice)
    # A deleted status comes back with its source text.
    doomed = c.call("POST", "/api/v1/statuses", carol, json_body={"status": "short-lived"})
    c.call("DELETE", f"/api/v1/statuses/{doomed['id']}", carol)
    c.call("GET", f"/api/v1/statuses/{doomed['id']}", expect=404)
    c.call("POST", "/api/v1/statuses", alice, json_body={"status": ""}, expect=422)


@step
def undo_interactions(c, ctx):
    alice, bob, carol = ctx["users"]["alice"], ctx["users"]["bob"], ctx["users"]["carol"]
    post = ctx["post"]
    extra = c.call("POST", "/api/v1/statuses", alice, json_body={"status": "to undo"})
    c.call("POST", f"/api/v1/statuses/{extra['id']}/favourite", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/unfavourite", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/reblog", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/unreblog", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/bookmark", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/unbookmark", carol)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/pin", alice)
    c.call("POST", f"/api/v1/statuses/{extra['id']}/unpin", alice)
    check(post is not None and bob is not None, "context")


@step
def timelines(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    post = ctx["post"]
    poll("alice's post in bob's home", lambda: c.call("GET", "/api/v1/timelines/home", bob),
         lambda page: page is not None and post["id"] in ids(page))
    c.call("GET", "/api/v1/timelines/home", alice, params={"limit": "5"})
    several = c.call("GET", "/api/v1/statuses", bob, params={"id[]": [post["id"], ctx["poll_status"]["id"]]})
    check(ids(several) == [post["id"], ctx["poll_status"]["id"]], f"statuses by id: {ids(several)}")
    c.call("GET", "/api/v1/statuses", params={"id[]": [post["id"]]})
    c.call("GET", "/api/v1/timelines/public")
    c.call("GET", "/api/v1/timelines/public", bob, params={"local": "true"})
    c.call("GET", "/api/v1/timelines/tag/tea")
    c.call("GET", "/api/v1/timelines/tag/tea", bob, params={"any[]": ["wonderland"]})


@step
def direct_messages(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    dm = c.call("POST", "/api/v1/statuses", alice, json_body={"status": "@bob psst, a secret", "visibility": "direct"})
    c.call("POST", "/api/v1/statuses", bob, json_body={
        "status": "@alice tell me more", "visibility": "direct", "in_reply_to_id": dm["id"],
    })
    convs = poll("a conversation for bob", lambda: c.call("GET", "/api/v1/conversations", bob),
                 lambda page: bool(page))
    conv_id = convs[0]["id"]
    c.call("GET", "/api/v1/conversations", alice)
    c.call("POST", f"/api/v1/conversations/{conv_id}/read", bob)
    c.call("DELETE", f"/api/v1/conversations/{conv_id}", bob)


@step
def lists(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    created = c.call("POST", "/api/v1/lists", alice, json_body={"title": "friends", "replies_policy": "list"})
    list_id = created["id"]
    c.call("GET", "/api/v1/lists", alice)
    c.call("GET", f"/api/v1/lists/{list_id}", alice)
    c.call("PUT", f"/api/v1/lists/{list_id}", alice, json_body={"title": "close friends", "exclusive": False})
    c.call("PATCH", f"/api/v1/lists/{list_id}", alice, json_body={"replies_policy": "followed"}, schema="List")
    c.call("POST", f"/api/v1/lists/{list_id}/accounts", alice, json_body={"account_ids": [bob["id"]]})
    c.call("GET", f"/api/v1/lists/{list_id}/accounts", alice)
    c.call("GET", f"/api/v1/accounts/{bob['id']}/lists", alice)
    c.call("GET", f"/api/v1/timelines/list/{list_id}", alice)
    c.call("DELETE", f"/api/v1/lists/{list_id}/accounts", alice, params={"account_ids[]": [bob["id"]]})
    c.call("DELETE", f"/api/v1/lists/{list_id}", alice)
    c.call("GET", f"/api/v1/lists/{list_id}", alice, expect=404)


@step
def filters_v2(c, ctx):
    alice = ctx["users"]["alice"]
    f = c.call("POST", "/api/v2/filters", alice, json_body={
        "title": "No spoilers",
        "context": ["home", "public", "thread"],
        "filter_action": "warn",
        "expires_in": 86400,
        "keywords_attributes": [{"keyword": "ending", "whole_word": True}, {"keyword": "spoiler", "whole_word": False}],
    })
    fid = f["id"]
    c.call("GET", "/api/v2/filters", alice)
    c.call("GET", f"/api/v2/filters/{fid}", alice)
    # A filtered status carries `filtered` results.
    c.call("GET", f"/api/v1/statuses/{ctx['cw']['id']}", alice)
    c.call("GET", "/api/v1/timelines/home", alice)
    c.call("PUT", f"/api/v2/filters/{fid}", alice, json_body={"title": "No spoilers at all", "filter_action": "hide"})
    kw = c.call("POST", f"/api/v2/filters/{fid}/keywords", alice, json_body={"keyword": "plot", "whole_word": True})
    c.call("GET", f"/api/v2/filters/{fid}/keywords", alice)
    c.call("GET", f"/api/v2/filters/keywords/{kw['id']}", alice)
    c.call("PUT", f"/api/v2/filters/keywords/{kw['id']}", alice, json_body={"keyword": "plot twist", "whole_word": False})
    c.call("DELETE", f"/api/v2/filters/keywords/{kw['id']}", alice)
    fs = c.call("POST", f"/api/v2/filters/{fid}/statuses", alice, json_body={"status_id": ctx["reply"]["id"]})
    c.call("GET", f"/api/v2/filters/{fid}/statuses", alice)
    c.call("GET", f"/api/v2/filters/statuses/{fs['id']}", alice)
    c.call("DELETE", f"/api/v2/filters/statuses/{fs['id']}", alice)
    c.call("DELETE", f"/api/v2/filters/{fid}", alice)
    c.call("GET", f"/api/v2/filters/{fid}", alice, expect=404)


@step
def filters_v1(c, ctx):
    bob = ctx["users"]["bob"]
    f = c.call("POST", "/api/v1/filters", bob, json_body={
        "phrase": "coffee", "context": ["home", "notifications"], "irreversible": False, "whole_word": True,
        "expires_in": 3600,
    })
    c.call("GET", "/api/v1/filters", bob)
    c.call("GET", f"/api/v1/filters/{f['id']}", bob)
    c.call("PUT", f"/api/v1/filters/{f['id']}", bob, json_body={"phrase": "decaf", "context": ["home"]})
    c.call("DELETE", f"/api/v1/filters/{f['id']}", bob)


@step
def notifications(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    page = poll("alice's notifications (mention, favourite, reblog, follow, poll vote)",
                lambda: c.call("GET", "/api/v1/notifications", alice),
                lambda p: p is not None and {"mention", "favourite", "reblog", "follow"} <= {n["type"] for n in p})
    c.call("GET", "/api/v1/notifications", alice, params={"types[]": ["mention"], "limit": "2"})
    c.call("GET", "/api/v1/notifications", carol_of(ctx), params={"exclude_types[]": ["follow"]})
    c.call("GET", "/api/v1/notifications", ctx["users"]["carol"])
    c.call("GET", f"/api/v1/notifications/{page[0]['id']}", alice)
    c.call("GET", "/api/v1/notifications/unread_count", alice)
    grouped = c.call("GET", "/api/v2/notifications", alice)
    c.call("GET", "/api/v2/notifications", alice, params={"expand_accounts": "partial_avatars"})
    c.call("GET", "/api/v2/notifications", alice, params={"grouped_types[]": ["favourite"], "limit": "3"})
    c.call("GET", "/api/v2/notifications/unread_count", alice)
    groups = grouped["notification_groups"]
    fav = next((g for g in groups if g["type"] == "favourite"), groups[0])
    key = fav["group_key"]
    c.call("GET", f"/api/v2/notifications/{key}", alice)
    c.call("GET", f"/api/v2/notifications/{key}/accounts", alice)
    c.call("POST", f"/api/v2/notifications/{key}/dismiss", alice)
    mention = next(n for n in page if n["type"] == "mention")
    c.call("POST", f"/api/v1/notifications/{mention['id']}/dismiss", alice)
    # Markers.
    c.call("POST", "/api/v1/markers", alice, json_body={
        "home": {"last_read_id": ctx["post"]["id"]}, "notifications": {"last_read_id": page[0]["id"]},
    })
    c.call("GET", "/api/v1/markers", alice, params={"timeline[]": ["home", "notifications"]})
    c.call("GET", "/api/v1/markers", bob, params={"timeline[]": ["home"]})


@step
def more_notification_types(c, ctx):
    """status (bob follows alice with notify), update (alice edits what bob
    reblogged), poll (an expired poll bob voted in; the server runs with
    FERRODON_POLL_MIN_EXPIRATION=1), follow_request (carol's)."""
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    quick = ctx["quick_poll"]
    c.call("PUT", f"/api/v1/statuses/{ctx['post']['id']}", alice, json_body={
        "status": "Hello @bob and @carol, it is tea time #tea #wonderland https://example.com/tea (edited)",
    })
    wanted = {"status", "update", "poll"}
    poll("bob's status, update and poll notifications", lambda: c.call("GET", "/api/v1/notifications", bob),
         lambda p: p is not None and wanted <= {n["type"] for n in p})
    poll("alice's poll notification", lambda: c.call("GET", "/api/v1/notifications", alice, params={"types[]": ["poll"]}),
         lambda p: bool(p))
    c.call("GET", "/api/v2/notifications", bob)
    c.call("GET", f"/api/v1/polls/{quick['poll']['id']}", bob)
    c.call("GET", "/api/v1/notifications", ctx["users"]["carol"], params={"types[]": ["follow_request"]})
    c.call("GET", "/api/v2/notifications", ctx["users"]["carol"])


def carol_of(ctx):
    return ctx["users"]["carol"]


@step
def notification_requests(c, ctx):
    alice, bob, dave = ctx["users"]["alice"], ctx["users"]["bob"], ctx["users"]["dave"]
    c.call("GET", "/api/v2/notifications/policy", bob)
    c.call("GET", "/api/v1/notifications/policy", bob, schema="V1NotificationPolicy")
    c.call("PATCH", "/api/v2/notifications/policy", bob, json_body={
        "for_not_following": "filter", "for_private_mentions": "filter", "for_new_accounts": "accept",
    })
    c.call("PUT", "/api/v1/notifications/policy", bob, json_body={"filter_not_following": True},
           schema="V1NotificationPolicy")
    # carol (not followed by bob) mentions bob: filtered into a request; so does dave (bob's follower, not followed).
    carol = ctx["users"]["carol"]
    c.call("POST", "/api/v1/statuses", carol, json_body={"status": "@bob hello from carol"})
    c.call("POST", "/api/v1/statuses", dave, json_body={"status": "@bob hello from dave"})
    reqs = poll("two notification requests for bob",
                lambda: c.call("GET", "/api/v1/notifications/requests", bob),
                lambda p: p is not None and len(p) >= 2)
    c.call("GET", "/api/v1/notifications/requests/merged", bob)
    c.call("GET", f"/api/v1/notifications/requests/{reqs[0]['id']}", bob)
    c.call("GET", "/api/v1/notifications", bob, params={"account_id": carol["id"], "include_filtered": "true"})
    c.call("POST", f"/api/v1/notifications/requests/{reqs[0]['id']}/accept", bob)
    c.call("POST", f"/api/v1/notifications/requests/{reqs[1]['id']}/dismiss", bob)
    # Bulk forms, on fresh requests.
    c.call("POST", "/api/v1/statuses", carol, json_body={"status": "@bob again"})
    c.call("POST", "/api/v1/statuses", dave, json_body={"status": "@bob again"})
    more = poll("new notification requests for bob",
                lambda: c.call("GET", "/api/v1/notifications/requests", bob),
                lambda p: p is not None and len(p) >= 1)
    c.call("POST", "/api/v1/notifications/requests/accept", bob, json_body={"id": ids(more)[:1]})
    c.call("POST", "/api/v1/notifications/requests/dismiss", bob, json_body={"id": ids(more)[1:]})
    c.call("GET", "/api/v2/notifications/policy", bob)
    check(alice is not None, "context")


@step
def tags(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    c.call("GET", "/api/v1/tags/tea")
    c.call("GET", "/api/v1/tags/tea", bob)
    c.call("POST", "/api/v1/tags/tea/follow", bob)
    c.call("GET", "/api/v1/followed_tags", bob)
    c.call("POST", "/api/v1/tags/tea/unfollow", bob)
    c.call("POST", "/api/v1/tags/tea/feature", alice)
    c.call("POST", "/api/v1/tags/tea/unfeature", alice)
    featured = c.call("POST", "/api/v1/featured_tags", alice, json_body={"name": "wonderland"})
    c.call("GET", "/api/v1/featured_tags", alice)
    c.call("GET", "/api/v1/featured_tags/suggestions", alice)
    c.call("GET", f"/api/v1/accounts/{alice['id']}/featured_tags")
    c.call("DELETE", f"/api/v1/featured_tags/{featured['id']}", alice)


@step
def relations(c, ctx):
    alice, bob, carol, dave = (ctx["users"][n] for n in ("alice", "bob", "carol", "dave"))
    c.call("POST", f"/api/v1/accounts/{bob['id']}/endorse", alice)
    c.call("GET", "/api/v1/endorsements", alice)
    c.call("GET", f"/api/v1/accounts/{alice['id']}/endorsements", bob)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/unendorse", alice)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/pin", alice)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/unpin", alice)
    c.call("POST", f"/api/v1/accounts/{dave['id']}/mute", alice, json_body={"notifications": True, "duration": 3600})
    c.call("GET", "/api/v1/mutes", alice)
    c.call("POST", f"/api/v1/accounts/{dave['id']}/unmute", alice)
    c.call("POST", f"/api/v1/accounts/{dave['id']}/block", carol)
    c.call("GET", "/api/v1/blocks", carol)
    c.call("POST", f"/api/v1/accounts/{dave['id']}/unblock", carol)
    c.call("POST", "/api/v1/domain_blocks", carol, data={"domain": "spam.example"})
    c.call("GET", "/api/v1/domain_blocks", carol)
    c.call("DELETE", "/api/v1/domain_blocks", carol, params={"domain": "spam.example"})
    c.call("POST", f"/api/v1/accounts/{carol['id']}/unfollow", alice)


@step
def reports(c, ctx):
    carol, dave = ctx["users"]["carol"], ctx["users"]["dave"]
    spam = c.call("POST", "/api/v1/statuses", dave, json_body={"status": "buy cheap tea now"})
    c.call("POST", "/api/v1/reports", carol, json_body={
        "account_id": dave["id"], "status_ids": [spam["id"]], "comment": "spam",
        "category": "violation", "rule_ids": [ctx["rule_id"]], "forward": False,
    })
    c.call("POST", "/api/v1/reports", carol, json_body={"account_id": dave["id"], "category": "other"})


@step
def announcements(c, ctx):
    alice = ctx["users"]["alice"]
    aid = ctx["announcement_id"]
    c.call("GET", "/api/v1/announcements", alice)
    c.call("PUT", f"/api/v1/announcements/{aid}/reactions/\N{HOT BEVERAGE}", alice)
    c.call("GET", "/api/v1/announcements", alice, params={"with_dismissed": "true"})
    c.call("DELETE", f"/api/v1/announcements/{aid}/reactions/\N{HOT BEVERAGE}", alice)
    c.call("POST", f"/api/v1/announcements/{aid}/dismiss", alice)


@step
def discovery(c, ctx):
    alice, bob, dave = ctx["users"]["alice"], ctx["users"]["bob"], ctx["users"]["dave"]
    c.call("GET", "/api/v2/search", alice, params={"q": "tea"})
    c.call("GET", "/api/v2/search", alice, params={"q": "bob", "type": "accounts", "resolve": "false"})
    c.call("GET", "/api/v2/search", alice, params={"q": "#won", "type": "hashtags"})
    c.call("GET", "/api/v2/search", params={"q": "alice", "type": "accounts"})
    c.call("GET", "/api/v1/accounts/search", alice, params={"q": "ali"})
    c.call("GET", "/api/v1/directory", params={"local": "true", "order": "active"})
    c.call("GET", "/api/v1/directory", alice, params={"order": "new", "limit": "2"})
    c.call("GET", "/api/v2/suggestions", dave)
    c.call("DELETE", f"/api/v1/suggestions/{alice['id']}", dave)
    c.call("GET", "/api/v1/preferences", alice)
    c.call("GET", "/.well-known/webfinger", params={"resource": f"acct:alice@{ctx['domain']}"}, schema=WEBFINGER)
    check(bob is not None, "context")


@step
def errors(c, ctx):
    """Mastodon's error bodies, where the spec describes them."""
    alice, app = ctx["users"]["alice"], ctx["app"]
    c.call("POST", "/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": alice["email"], "password": "wrong password", "scope": "read",
    }, expect=400)
    c.call("POST", "/oauth/token", data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "nope"},
           expect=401)
    c.call("GET", "/api/v1/accounts/verify_credentials", expect=401)
    c.call("GET", "/api/v1/notifications", "not-a-token", expect=401)
    read_only = c.call("POST", "/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": alice["email"], "password": ctx["password"], "scope": "read",
    })
    c.call("POST", "/api/v1/statuses", read_only["access_token"], json_body={"status": "hi"}, expect=403)
    c.call("GET", "/oauth/userinfo", read_only["access_token"], expect=403)
    c.call("POST", "/api/v1/accounts/0/follow", alice, expect=404)
    c.call("GET", "/api/v1/polls/0", alice, expect=404)
    c.call("POST", "/api/v2/filters", alice, json_body={"context": ["home"]}, expect=422)
    c.call("POST", "/api/v1/lists", alice, json_body={"title": ""}, expect=422)
    c.call("POST", f"/api/v1/polls/{ctx['poll_status']['poll']['id']}/votes", alice, json_body={"choices": [0]},
           expect=422)


# A 1x1 PNG.
PNG_DOT = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)


@step
def media(c, ctx):
    alice = ctx["users"]["alice"]
    m = c.call("POST", "/api/v2/media", alice, files={"file": ("dot.png", PNG_DOT, "image/png")},
               data={"description": "A dot", "focus": "0.5,-0.5"})
    spare = c.call("POST", "/api/v1/media", alice, files={"file": ("dot.png", PNG_DOT, "image/png")})
    c.call("GET", f"/api/v1/media/{m['id']}", alice)
    c.call("PUT", f"/api/v1/media/{m['id']}", alice, data={"description": "A tiny dot"})
    status = c.call("POST", "/api/v1/statuses", alice, data={"status": "A picture", "media_ids[]": [m["id"]]})
    check(len(status["media_attachments"]) == 1, f"the status has its picture: {status!r}")
    c.call("DELETE", f"/api/v1/media/{spare['id']}", alice)
    c.call("PATCH", "/api/v1/accounts/update_credentials", alice,
           files={"avatar": ("me.png", PNG_DOT, "image/png"), "header": ("top.png", PNG_DOT, "image/png")})
    c.call("DELETE", "/api/v1/profile/header", alice)
    c.call("DELETE", "/api/v1/profile/avatar", alice)


@step
def scheduled_statuses(c, ctx):
    alice = ctx["users"]["alice"]
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    s = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "Tomorrow", "scheduled_at": later, "spoiler_text": "soon",
        "poll": {"options": ["yes", "no"], "expires_in": 3600},
    })
    check("params" in s, f"a scheduled status: {s!r}")
    c.call("GET", "/api/v1/scheduled_statuses", alice)
    c.call("GET", f"/api/v1/scheduled_statuses/{s['id']}", alice)
    even_later = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    c.call("PUT", f"/api/v1/scheduled_statuses/{s['id']}", alice, data={"scheduled_at": even_later})
    c.call("DELETE", f"/api/v1/scheduled_statuses/{s['id']}", alice)
    c.call("GET", f"/api/v1/scheduled_statuses/{s['id']}", alice, expect=404)


CARD_PAGE = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Tea time</title>
<meta property="og:title" content="The Mad Hatter's tea party">
<meta property="og:description" content="It is always six o'clock.">
<meta property="og:image" content="/tea.png">
<meta property="og:type" content="article">
<meta property="og:site_name" content="Wonderland Gazette">
<meta property="article:published_time" content="1865-11-26T12:00:00Z">
<meta property="og:site" content="gazette.example">
<meta name="twitter:player:stream" content="/tea.mp4">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "The Mad Hatter's tea party",
 "author": {"name": "Lewis Carroll", "url": "/carroll"}}</script>
</head><body><p>Twinkle, twinkle, little bat.</p></body></html>"""


def page_server():
    """A web page on 127.0.0.1 for preview cards (the server under test runs
    with ALLOWED_PRIVATE_ADDRESSES=127.0.0.1/32); returns (server, base URL).
    The page names an author URL, a site and a stream, so that every
    `format: uri` field of the card is a URL: Mastodon sends '' for those
    when a page gives none (preview_cards columns default ''), which the
    spec's format does not allow, and exceptions cannot reach inside the
    `oneOf` of Status.card."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(CARD_PAGE)))
            self.end_headers()
            self.wfile.write(CARD_PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@step
def preview_cards(c, ctx):
    alice = ctx["users"]["alice"]
    server, base = page_server()
    try:
        url = f"{base}/tea-party"
        s = c.call("POST", "/api/v1/statuses", alice, data={"status": f"Read this {url} #tea"})
        s = poll("the status's preview card", lambda: c.call("GET", f"/api/v1/statuses/{s['id']}", alice),
                 lambda r: bool(r and r.get("card")))
        card = s["card"]
        check(card["url"] == url and card["title"] == "The Mad Hatter's tea party"
              and card["image"] == f"{base}/tea.png" and card["authors"][0]["name"] == "Lewis Carroll",
              f"the card: {card!r}")
        timeline = c.call("GET", "/api/v1/timelines/link", alice, params={"url": url})
        check(ids(timeline) == [s["id"]], f"the link timeline: {ids(timeline)}")
        c.call("GET", "/api/v1/timelines/link", params={"url": url, "limit": 1})
        c.call("GET", "/api/v1/timelines/link", alice, params={"url": f"{base}/never-shared"}, expect=404)
    finally:
        server.shutdown()


@step
def custom_emojis(c, ctx):
    """The setup added :blobcat:; statuses, polls and profiles name it (once the server's snapshot has it)."""
    alice = ctx["users"]["alice"]
    listed = c.call("GET", "/api/v1/custom_emojis")
    check([e["shortcode"] for e in listed] == ["blobcat"], f"the emoji is listed: {listed!r}")
    c.call("PATCH", "/api/v1/accounts/update_credentials", alice, data={"display_name": "Alice :blobcat:"})
    s = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "A :blobcat: for you", "poll": {"options": [":blobcat:", "no"], "expires_in": 3600},
    })
    deadline = time.time() + 10
    while time.time() < deadline and not s["emojis"]:
        time.sleep(0.5)
        s = c.call("GET", f"/api/v1/statuses/{s['id']}", alice)
    check(bool(s["emojis"]) and bool(s["poll"]["emojis"]) and bool(s["account"]["emojis"]),
          f"the status, its poll and its author name the emoji: {s!r}")


@step
def trends(c, ctx):
    """Five accounts use a hashtag, share an article and favourite a post:
    all three trend within a tick or two."""
    users = [ctx["users"][n] for n in ("alice", "bob", "carol", "dave", "erin", "frank")]
    alice = users[0]
    c.call("PATCH", "/api/v1/accounts/update_credentials", alice, data={"discoverable": "true"})
    server, base = page_server()
    try:
        for u in users[:5]:
            c.call("POST", "/api/v1/statuses", u, data={"status": f"Checking the spec #conformance {base}/news"})
        post = c.call("POST", "/api/v1/statuses", alice, data={"status": "Everyone likes this one"})
        for u in users[1:]:
            c.call("POST", f"/api/v1/statuses/{post['id']}/favourite", u)
        deadline = time.time() + 20
        tags, statuses, links = [], [], []
        while time.time() < deadline and not (tags and statuses and links):
            time.sleep(0.5)
            tags = c.call("GET", "/api/v1/trends/tags")
            statuses = c.call("GET", "/api/v1/trends/statuses", alice)
            links = c.call("GET", "/api/v1/trends/links")
    finally:
        server.shutdown()
    check(bool(tags) and bool(statuses) and bool(links), f"trends appear: {tags!r} {statuses!r} {links!r}")
    c.call("GET", "/api/v1/trends", params={"limit": "1"})
    c.call("GET", "/api/v1/trends/tags", alice, params={"offset": "0", "limit": "5"})
    c.call("GET", "/api/v1/trends/statuses", params={"offset": "1"})
    c.call("GET", "/api/v1/trends/links", alice, params={"limit": "1"})


@step
def quotes(c, ctx):
    """Quote posts (Mastodon 4.5): quoting, nested and deleted quotes, the
    policy, the list of quotes, revoking, notifications, scheduled quotes."""
    alice, bob, carol, dave = (ctx["users"][n] for n in ("alice", "bob", "carol", "dave"))
    c.call("PATCH", "/api/v1/accounts/update_credentials", alice, data={"source[quote_policy]": "public"})
    me = c.call("GET", "/api/v1/accounts/verify_credentials", alice)
    check(me["source"].get("quote_policy") == "public", f"source[quote_policy]: {me['source']!r}")
    prefs = c.call("GET", "/api/v1/preferences", alice)
    check(prefs.get("posting:default:quote_policy") == "public", f"preferences {prefs!r}")
    original = c.call("POST", "/api/v1/statuses", alice, json_body={
        "status": "Worth quoting", "quote_approval_policy": "public"})
    check(original["quote_approval"]["automatic"] == ["public"], f"quote_approval {original!r}")
    q = c.call("POST", "/api/v1/statuses", bob, json_body={
        "status": "Quoting alice", "quoted_status_id": original["id"], "quote_approval_policy": "followers"})
    check(q["quote"]["state"] == "accepted" and q["quote"]["quoted_status"]["id"] == original["id"], f"quote {q!r}")
    # dave follows bob, whose quote only followers may quote.
    nested = c.call("POST", "/api/v1/statuses", dave, data={"status": "Quoting a quote", "quoted_status_id": q["id"]})
    check(nested["quote"]["quoted_status"]["quote"]["quoted_status_id"] == original["id"], f"shallow quote {nested!r}")
    c.call("POST", "/api/v1/statuses", carol, json_body={"status": "x", "quoted_status_id": q["id"]}, expect=404)
    c.call("GET", f"/api/v1/statuses/{nested['id']}", carol)
    c.call("GET", f"/api/v1/statuses/{q['id']}")
    c.call("GET", f"/api/v1/accounts/{dave['id']}/statuses", alice)
    c.call("POST", "/api/v1/statuses", bob, json_body={"status": "x", "quoted_status_id": "0"}, expect=404)
    poll("the quote notification", lambda: c.call("GET", "/api/v1/notifications", alice, params={"types[]": "quote"}),
         lambda ns: any(n["status"]["id"] == q["id"] for n in ns or []))
    c.call("GET", "/api/v2/notifications", alice, params={"types[]": "quote"})
    # The author's list of quotes (with its Link header), and nobody else's.
    quotes_ = c.call("GET", f"/api/v1/statuses/{original['id']}/quotes", alice)
    check(ids(quotes_) == [q["id"]], f"quotes {quotes_!r}")
    c.call("GET", f"/api/v1/statuses/{original['id']}/quotes", bob, expect=403)
    c.call("PUT", f"/api/v1/statuses/{original['id']}/interaction_policy", alice,
           json_body={"quote_approval_policy": "followers"})
    c.call("PUT", f"/api/v1/statuses/{original['id']}/interaction_policy", alice,
           json_body={"quote_approval_policy": "anyone"}, expect=422)
    # An edit tells those who quoted it.
    c.call("PUT", f"/api/v1/statuses/{original['id']}", alice, json_body={
        "status": "Worth quoting, edited", "quote_approval_policy": "public"})
    edited = c.call("GET", f"/api/v1/statuses/{q['id']}", bob)
    c.call("PUT", f"/api/v1/statuses/{q['id']}", bob, json_body={"status": "Quoting alice, edited"})
    history = c.call("GET", f"/api/v1/statuses/{q['id']}/history", bob)
    check(all(h.get("quote", {}).get("state") == "accepted" for h in history), f"history {history!r}")
    check(edited["quote"]["state"] == "accepted", f"{edited!r}")
    poll("the quoted_update notification",
         lambda: c.call("GET", "/api/v1/notifications", bob, params={"types[]": "quoted_update"}),
         lambda ns: any(n["status"]["id"] == q["id"] for n in ns or []))
    c.call("GET", "/api/v2/notifications", bob, params={"types[]": "quoted_update"})
    # Revoking: the quoted author only.
    c.call("POST", f"/api/v1/statuses/{original['id']}/quotes/{q['id']}/revoke", bob, expect=403)
    revoked = c.call("POST", f"/api/v1/statuses/{original['id']}/quotes/{q['id']}/revoke", alice)
    check(revoked["quote"]["state"] == "revoked", f"revoked {revoked!r}")
    # A deleted quoted status; a deleted quote (its source).
    gone = c.call("POST", "/api/v1/statuses", alice, json_body={"status": "Soon gone"})
    orphan = c.call("POST", "/api/v1/statuses", carol, json_body={"status": "Quoting", "quoted_status_id": gone["id"]})
    c.call("DELETE", f"/api/v1/statuses/{gone['id']}", alice)
    orphan = c.call("GET", f"/api/v1/statuses/{orphan['id']}", carol)
    check(orphan["quote"]["state"] == "deleted", f"deleted quote {orphan!r}")
    c.call("DELETE", f"/api/v1/statuses/{nested['id']}", dave)
    # A scheduled quote.
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    s = c.call("POST", "/api/v1/statuses", bob, json_body={
        "status": "Quoting tomorrow", "scheduled_at": later, "quoted_status_id": original["id"],
        "quote_approval_policy": "nobody"})
    check(s["params"]["quoted_status_id"] == original["id"], f"scheduled quote {s!r}")
    c.call("DELETE", f"/api/v1/scheduled_statuses/{s['id']}", bob)


@step
def cleanup(c, ctx):
    alice, bob = ctx["users"]["alice"], ctx["users"]["bob"]
    c.call("POST", "/api/v1/notifications/clear", bob)
    c.call("POST", "/api/v2/notifications/clear", alice)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/block", alice)
    c.call("POST", f"/api/v1/accounts/{bob['id']}/unblock", alice)


# ---------------------------------------------------------------------------


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("-")]
    verbose = "-v" in argv[1:]
    if len(args) != 2:
        print(__doc__)
        return 2
    base_url, setup = args[0], json.loads(args[1])
    listed = json.loads(EXCEPTIONS_PATH.read_text())
    patches = listed.get("schema_patches", [])
    for patch in patches:
        check(patch.get("pointer") and "value" in patch and patch.get("reason"),
              f"a schema patch needs pointer, value and reason: {patch!r}")
    spec = Spec(SPEC_PATH, patches)
    exceptions = listed["exceptions"]
    for e in exceptions:
        check(e.get("operation") and "pointer" in e and e.get("reason"), f"an exception needs operation, pointer and reason: {e!r}")
    routes = router_routes(ROUTER_PATH)
    c = Conformance(base_url, spec, exceptions, routes, verbose=verbose)
    ctx = {
        "users": {name: dict(u) for name, u in setup["users"].items()},
        "password": setup["password"],
        "rule_id": setup["rule_id"],
        "announcement_id": setup["announcement_id"],
        "domain": setup.get("domain", urlparse(base_url).netloc),
    }
    aborted = None
    for fn in STEPS:
        print(f"step {fn.__name__}", flush=True)
        try:
            fn(c, ctx)
        except Exception as e:  # a broken step stops the walk: later steps depend on it
            aborted = f"step {fn.__name__} failed: {e}\n{traceback.format_exc()}"
            print(aborted, flush=True)
            break
    print(c.report(routes), flush=True)
    print(f"schema patches from exceptions.json: {len(patches)}")
    for patch in patches:
        print(f"  ~ {patch['pointer']}")
    if aborted or c.failures:
        print(f"conformance: FAILED ({len(c.failures)} failures{', aborted' if aborted else ''})")
        return 1
    print("conformance: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
