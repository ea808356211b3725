"""A count_tokens request answered by brightstaff itself (an OpenAI backend cannot count Messages) is a local
reply carrying the decision headers, and only those: the decision metadata's other fields (the provider's
API, for Envoy's own error replies) are not response headers.

The handler's real metadata goes through the codec here: a field the header table does not know once made
encoding the reply raise, and Envoy answered the client 503."""

from __future__ import annotations

import orjson
import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.core.conversation import Conversation
from brightstaff.core.decision import RouteChoice
from brightstaff.core.headers import PROVIDER_API_FIELD
from brightstaff.core.outcome import Reply
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec
from brightstaff.metrics import Metrics
from brightstaff.pins.memory import MemoryPinStore
from brightstaff.server.handler import RequestHandler

COUNT = orjson.dumps({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "count me"}]})


class NoRouter:
    name = "none"

    async def route(self, conversation: Conversation) -> RouteChoice:
        raise AssertionError("an explicit provider/model is never routed")


@pytest.mark.anyio
async def test_a_local_count_tokens_reply_carries_the_decision_headers_only() -> None:
    config = parse_config(seed_config_data(), SEED_ENV)
    handler = RequestHandler(config, MemoryPinStore(max_entries=10, ttl_seconds=60), NoRouter(), Metrics())
    outcome = await handler.handle(RequestFacts("POST", "/v1/messages/count_tokens"), COUNT)
    assert isinstance(outcome, Reply) and outcome.status == 200
    assert PROVIDER_API_FIELD in dict(outcome.metadata)  # the metadata holds more than the headers
    for reply in (
        codec.encode_body_outcome(outcome),
        pb.ProcessingResponse.FromString(codec.encode_body_reply(outcome)),
    ):
        headers = {h.header.key: h.header.raw_value.decode() for h in reply.immediate_response.headers.set_headers}
        assert headers == {
            "content-type": "application/json",
            "x-brightstaff-model": "gpt-4o",
            "x-brightstaff-provider": "openai/gpt-4o",
            "x-brightstaff-affinity": "none",
            "x-brightstaff-route": "explicit",
            "x-brightstaff-affinity-source": "none",
        }
