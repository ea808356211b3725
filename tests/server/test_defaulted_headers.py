"""A default header (the Anthropic API version) is set only when the client sent none, through the transport.

Envoy's ext_proc applies every header mutation as an overwrite (it ignores the ADD_IF_ABSENT append
action), so the client's own `anthropic-version` survives only if brightstaff leaves its default out:
the transport notes which defaulted headers the client sent, and the forward omits those.
"""

from __future__ import annotations

import orjson
import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import RouteChoice
from brightstaff.core.outcome import Forward
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.server.handler import RequestHandler

VERSION = ("anthropic-version", "2023-06-01")


class NoRouter:
    """The requests here name their provider: a router asked anything is a failure."""

    name = "none"

    async def route(self, conversation: Conversation) -> RouteChoice:
        raise AssertionError("an explicit provider/model is never routed")


MESSAGES = orjson.dumps(
    {"model": "anthropic/claude-sonnet-4-20250514", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
)


def request_headers(*pairs: tuple[str, str]) -> pb.HttpHeaders:
    sent = [(":method", "POST"), (":path", "/v1/messages"), *pairs]
    return pb.HttpHeaders(headers=pb.HeaderMap(headers=[pb.HeaderValue(key=k, raw_value=v.encode()) for k, v in sent]))


def test_the_transport_notes_a_client_api_version() -> None:
    sent = codec.facts_from_headers(
        request_headers(("anthropic-version", "2026-10-21")), affinity_header="x-model-affinity", tenant_header=None
    )
    assert sent.sent_defaults == frozenset({"anthropic-version"})
    bare = codec.facts_from_headers(request_headers(), affinity_header="x-model-affinity", tenant_header=None)
    assert bare.sent_defaults == frozenset()


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize(("sent", "defaults"), [(frozenset({"anthropic-version"}), ()), (frozenset(), (VERSION,))])
async def test_the_default_version_goes_only_where_the_client_sent_none(
    path: str, sent: frozenset[str], defaults: tuple[tuple[str, str], ...]
) -> None:
    config = parse_config(seed_config_data(), SEED_ENV)
    handler = RequestHandler(config, MemoryPinStore(max_entries=10, ttl_seconds=60), NoRouter(), Metrics())
    outcome = await handler.handle(RequestFacts("POST", path, sent_defaults=sent), MESSAGES)
    assert isinstance(outcome, Forward), outcome
    assert outcome.default_headers == defaults
    # Nothing the transport sends upstream names the version when the client chose its own.
    reply = pb.ProcessingResponse.FromString(codec.encode_body_reply(outcome))
    names = [o.header.key for o in reply.request_body.response.header_mutation.set_headers]
    assert names.count("anthropic-version") == len(defaults)
