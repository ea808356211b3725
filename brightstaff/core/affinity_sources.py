"""Where a request's affinity id comes from: the configured header, or the session ids agents already send.

`resolve` tries the configured sources (`routing.affinity.sources`) in order; the first present wins:
- `header`: the configured affinity header (`brightstaff.affinity_header`, `x-model-affinity`).
- `claude-code`: `x-claude-code-session-id` (Claude Code 2.1.86+); its subagents add
  `x-claude-code-agent-id` (2.1.139+).
- `codex`: Codex's session header: `session-id` (current), `session_id` (older releases, with
  `conversation_id`); a spawned subagent thread adds `x-codex-parent-thread-id` and its own `thread-id`.
- `opencode`: `x-session-affinity` (OpenCode, to providers other than its own); a subagent session sends
  its own id there and its parent's in `x-parent-session-id`.
- `prompt-cache-key`: the body's `prompt_cache_key` (chat completions and Responses; Codex sets it to
  its session id).
- `anthropic-metadata`: the session part of a Messages body's `metadata.user_id` (Claude Code: a JSON
  string with `session_id` since 2.1.78, `user_<hash>_account_<id>_session_<uuid>` before).
The exact names, value formats and their origins are recorded in tests/core/fixtures/harness_identity.yaml.

Invariants:
- A subagent's id is scoped under its parent session: with `subagents: share` it uses the session's pin
  (the key is the session id), with `own` it is pinned on its own as `<session>/<agent>`. Either way a
  subagent never replaces its parent's pin.
- Every id passes the header's validation (`core.affinity.check_id`) and tenant scoping
  (`core.affinity.scoped`). An invalid explicit header is refused with a 400, as before. An invalid id
  from an implicit source (a harness's id, or one sent twice) is skipped with its reason and the next
  source is tried: the client never asked brightstaff for affinity through it, so a format brightstaff
  does not accept must not turn into an error the client cannot fix. The reasons go to the decision log.
- The source used is named in `Resolution.source`, for the `x-brightstaff-affinity-source` response
  header and the decision log.
- `provider_cache_key` derives a provider `prompt_cache_key` from a pin key: HMAC-SHA256 keyed by the
  configured salt (or a fixed public one), so it is stable across replicas and never the raw id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from brightstaff.config.model import AffinitySettings, AffinitySource
from brightstaff.core.affinity import check_id, pin_key, scoped
from brightstaff.core.json_body import Fields
from brightstaff.core.request import RequestFacts

CLAUDE_SESSION = "x-claude-code-session-id"
CLAUDE_AGENT = "x-claude-code-agent-id"
CODEX_SESSION = ("session-id", "session_id", "conversation_id")  # current name first
CODEX_THREAD = "thread-id"
CODEX_PARENT_THREAD = "x-codex-parent-thread-id"
OPENCODE_SESSION = "x-session-affinity"
OPENCODE_PARENT = "x-parent-session-id"
# The headers the transport extracts into `RequestFacts.identity_headers` (lower-case, as HTTP/2 sends them).
HARNESS_HEADERS = frozenset(
    {CLAUDE_SESSION, CLAUDE_AGENT, *CODEX_SESSION, CODEX_THREAD, CODEX_PARENT_THREAD, OPENCODE_SESSION, OPENCODE_PARENT}
)

_CACHE_KEY_SALT = b"brightstaff/prompt_cache_key/v1"  # public: set routing.affinity.cache_key_salt to a secret
CACHE_KEY_PREFIX = "bsk_"
_LEGACY_USER_ID = re.compile(r"user_[0-9a-fA-F]*_account_[^_]*_session_([0-9A-Za-z-]+)")
_STRING = msgspec.json.Decoder(str | None)


@dataclass(frozen=True, slots=True)
class BodyIds:
    """The ids a request body may carry, read once after parsing (`body_ids`)."""

    prompt_cache_key: str | None = None
    anthropic_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """An id a source found: the session, and the subagent inside it if the request is a subagent's."""

    session: str
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """The pin key of a request (None: no affinity), the source it came from, and the sources skipped."""

    key: str | None
    source: AffinitySource | None = None
    skipped: tuple[tuple[AffinitySource, str], ...] = ()


def body_ids(fields: Fields) -> BodyIds:
    """`prompt_cache_key` and `metadata.user_id` of a split body (any client API), when they are strings."""
    raw_key = fields.get("prompt_cache_key")
    raw_metadata = fields.get("metadata")
    prompt_cache_key = _string(raw_key) if raw_key is not None else None
    user_id = None
    if raw_metadata is not None:
        try:
            metadata = msgspec.json.decode(raw_metadata)
        except msgspec.DecodeError:
            metadata = None
        value = metadata.get("user_id") if isinstance(metadata, dict) else None
        user_id = value if isinstance(value, str) else None
    return BodyIds(prompt_cache_key, user_id)


def _string(raw: msgspec.Raw) -> str | None:
    try:
        return _STRING.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def anthropic_session(user_id: str) -> str | None:
    """The session id inside a Claude Code `metadata.user_id` (JSON or legacy form), None for any other."""
    text = user_id.strip()
    if text.startswith("{"):
        try:
            decoded = msgspec.json.decode(text)
        except msgspec.DecodeError:
            return None
        session = decoded.get("session_id") if isinstance(decoded, dict) else None
        return session if isinstance(session, str) and session else None
    match = _LEGACY_USER_ID.fullmatch(text)
    return match.group(1) if match else None


class _Headers:
    """The identity headers of one request: a value, and whether it was sent more than once."""

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0].strip() if values else None

    def repeated(self, *names: str) -> str | None:
        return next((n for n in names if len(self._values.get(n, ())) > 1), None)


def _claude_code(headers: _Headers, body: BodyIds) -> Found | None:
    session = headers.get(CLAUDE_SESSION)
    return Found(session, headers.get(CLAUDE_AGENT) or None) if session is not None else None


def _codex(headers: _Headers, body: BodyIds) -> Found | None:
    session = next((v for v in map(headers.get, CODEX_SESSION) if v is not None), None)
    if session is None:
        return None
    thread = headers.get(CODEX_THREAD)
    spawned = headers.get(CODEX_PARENT_THREAD) is not None and thread and thread != session
    return Found(session, thread if spawned else None)


def _opencode(headers: _Headers, body: BodyIds) -> Found | None:
    own = headers.get(OPENCODE_SESSION)
    if own is None:
        return None
    parent = headers.get(OPENCODE_PARENT)
    return Found(parent, own) if parent and parent != own else Found(own)


def _prompt_cache_key(headers: _Headers, body: BodyIds) -> Found | None:
    return Found(body.prompt_cache_key.strip()) if body.prompt_cache_key is not None else None


def _anthropic_metadata(headers: _Headers, body: BodyIds) -> Found | None:
    session = anthropic_session(body.anthropic_user_id) if body.anthropic_user_id is not None else None
    return Found(session) if session is not None else None


_Finder = Callable[[_Headers, BodyIds], Found | None]
# Each implicit source: how it finds its id, and the headers it reads (refused when sent twice).
_IMPLICIT: dict[str, tuple[_Finder, tuple[str, ...]]] = {
    "claude-code": (_claude_code, (CLAUDE_SESSION, CLAUDE_AGENT)),
    "codex": (_codex, (*CODEX_SESSION, CODEX_THREAD, CODEX_PARENT_THREAD)),
    "opencode": (_opencode, (OPENCODE_SESSION, OPENCODE_PARENT)),
    "prompt-cache-key": (_prompt_cache_key, ()),
    "anthropic-metadata": (_anthropic_metadata, ()),
}


def resolve(
    facts: RequestFacts,
    body: BodyIds,
    settings: AffinitySettings,
    *,
    header: str,
    tenant_header: str | None,
    max_length: int,
) -> Resolution:
    """The request's pin key from the first source present (module docstring).

    Raises ClientError (400) for an explicit header or a tenant that does not validate, as `pin_key` does.
    """
    headers = _Headers(facts.identity_headers)
    skipped: list[tuple[AffinitySource, str]] = []
    for source in settings.sources:
        if source == "header":
            if facts.affinity is None:
                continue
            key = pin_key(
                facts.affinity,
                facts.tenant,
                header=header,
                tenant_header=tenant_header,
                max_length=max_length,
                repeated=facts.affinity_repeated,
                tenant_repeated=facts.tenant_repeated,
            )
            return Resolution(key, source, tuple(skipped))
        find, names = _IMPLICIT[source]
        found = find(headers, body)
        if found is None:
            continue
        twice = headers.repeated(*names)
        value = _id(found, settings.subagents)
        reason = f"{twice} sent more than once" if twice else check_id(value, max_length)
        if reason is not None:
            skipped.append((source, reason))
            continue
        key = scoped(
            value,
            facts.tenant,
            tenant_header=tenant_header,
            max_length=max_length,
            tenant_repeated=facts.tenant_repeated,
        )
        return Resolution(key, source, tuple(skipped))
    return Resolution(None, None, tuple(skipped))


def _id(found: Found, subagents: str) -> str:
    if found.agent is None or subagents == "share":
        return found.session
    return f"{found.session}/{found.agent}"


def provider_cache_key(key: str, salt: str | None = None) -> str:
    """A provider `prompt_cache_key` for a pin key: `bsk_` + 32 hex digits of HMAC-SHA256(salt, key)."""
    secret = salt.encode() if salt is not None else _CACHE_KEY_SALT
    return CACHE_KEY_PREFIX + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]
