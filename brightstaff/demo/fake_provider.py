"""A fake OpenAI provider: chat completions and Responses from the scripted model (scripted_model.py) over
HTTP/1.1 (http_server.py), recording every request it receives (fake_backend.py).

It answers `POST {prefix}/chat/completions` (JSON, or an SSE stream of chunks ending in `[DONE]` when
`stream` is true), `POST {prefix}/responses` (the response object, or the Responses event stream; see
responses_wire.py for what it checks), `GET {prefix}/responses/{id}` for a stored response, and
`GET {prefix}/models`, with OpenAI-style JSON errors for everything else: 400 for a body it cannot use,
401 for a wrong key when `api_key` is set, 404/405 for other paths and methods. Responses are stored
(unless `store` is false) so that `previous_response_id` continues them; input reuses the prompt cache
(prompt_cache.py) as OpenAI's automatic caching does, keyed by model and `prompt_cache_key`, which
`usage.input_tokens_details` reports. Failures on demand (fake_backend.py): a status (429 with
`retry-after`), a hang-up, or a stream that breaks off (`{"error": ...}` in chat, `response.failed` in
Responses). Every response carries `x-fake-provider: <name>`.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from brightstaff.demo.api_error import ApiError
from brightstaff.demo.chat_wire import completion_chunks, completion_json, plan_reply
from brightstaff.demo.fake_backend import (
    NAME_HEADER,
    SSE_HEADERS,
    Failure,
    FakeBackend,
    ReceivedRequest,
    process_arguments,
    serve_as_process,
    sse_event,
)
from brightstaff.demo.http_server import Reply, Request, Response, StreamingResponse
from brightstaff.demo.prompt_cache import PromptCache, prefixes
from brightstaff.demo.responses_wire import (
    check_request,
    conversation_items,
    failed_event,
    final_status,
    output_items,
    prompt_blocks,
    response_events,
    response_json,
    responses_ask,
    usage_json,
)
from brightstaff.demo.scripted_model import plan, tokens

# The `code` of an OpenAI-style error body for the statuses the HTTP server refuses requests with.
_REFUSAL_CODES = {405: "method_not_allowed", 413: "request_too_large", 431: "headers_too_large", 500: "server_error"}
_STORED_RESPONSES = 1000  # the most responses kept for previous_response_id (the oldest go first)


def error_body(status: int, message: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    kind = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True, slots=True)
class _Stored:
    items: list[Any]  # the whole conversation: the input items, then the output items
    response: dict[str, Any]


@dataclass(eq=False)
class FakeProvider(FakeBackend):
    """A running fake OpenAI provider (see FakeBackend for what may change while it runs)."""

    retry_after: float = 1.0  # seconds, sent as `retry-after` with a 429
    cache: PromptCache = field(default_factory=PromptCache)
    _responses: OrderedDict[str, _Stored] = field(default_factory=OrderedDict, repr=False)

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return self.requests_to("/chat/completions")

    @property
    def responses_requests(self) -> list[ReceivedRequest]:
        return self.requests_to("/responses")

    def conversation(self, response_id: str) -> list[Any] | None:
        """The items of a stored response's whole conversation (its input, then its output); None if not stored."""
        stored = self._responses.get(response_id)
        return list(stored.items) if stored is not None else None

    def _error(self, status: int, message: str, code: str | None, param: str | None = None) -> Response:
        headers = [("retry-after", f"{self.retry_after:g}")] if status == 429 else []
        return self.json_reply(status, error_body(status, message, code, param), headers)

    def _refused(self, error: ApiError) -> Response:
        return self._error(error.status, error.message, error.code, error.param)

    def refusal(self, status: int, message: str) -> Response:
        """The answer to a request the HTTP server refused (malformed, too large): an OpenAI-style error."""
        return self._error(status, message, _REFUSAL_CODES.get(status, "bad_request"))

    async def handle(self, request: Request, record: ReceivedRequest) -> Reply:
        failure = self.failure(record)
        if failure is not None and failure.hang_up:
            return None  # hang up without an answer, like a crashed upstream
        if failure is not None and failure.status is not None:
            return self._error(failure.status, f"Simulated failure of the fake {self.name} provider.", "fake_failure")

        path, method = request.path, request.method
        prefix = self.path_prefix
        stored_id = path.removeprefix(f"{prefix}/responses/") if path.startswith(f"{prefix}/responses/") else None
        wanted = {
            f"{prefix}/chat/completions": "POST",
            f"{prefix}/responses": "POST",
            f"{prefix}/models": "GET",
        }.get(path, "GET" if stored_id else None)
        if wanted is None:
            return self._error(404, f"Unknown request URL: {method} {path}.", "unknown_url")
        if method != wanted:
            return self._error(405, f"Method {method} is not allowed on {path}; use {wanted}.", "method_not_allowed")
        if self.api_key is not None and record.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        if path == f"{prefix}/models":
            models = [{"id": m, "object": "model", "created": 0, "owned_by": self.name} for m in self.served_models]
            return self.json_reply(200, {"object": "list", "data": models})
        if stored_id is not None:
            stored = self._responses.get(stored_id)
            if stored is None:
                return self._error(404, f"Response with id '{stored_id}' not found.", None)
            return self.json_reply(200, stored.response)

        if record.parse_error is not None or not request.body:
            detail = record.parse_error or "the body is empty"
            return self._error(400, f"We could not parse the JSON body of your request ({detail}).", "invalid_json")
        if path == f"{prefix}/responses":
            return self._responses_answer(record, failure)
        return self._chat_answer(record, failure)

    def _chat_answer(self, record: ReceivedRequest, failure: Failure | None) -> Reply:
        document = record.body
        if not isinstance(document, dict):
            return self._error(400, "The request body must be a JSON object.", "invalid_request_body")
        if not isinstance(document.get("model"), str) or not document["model"]:
            return self._error(400, "You must provide a model parameter.", "missing_required_parameter", "model")
        if not isinstance(document.get("messages"), list):
            return self._error(400, "'messages' must be an array.", "missing_required_parameter", "messages")

        planned = self.sized(plan_reply(document, self.name), record)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if document.get("stream") is not True:
            return self.json_reply(200, completion_json(document, planned, completion_id, created))
        events = [sse_event(c) for c in completion_chunks(document, planned, completion_id, created)]
        if failure is not None and failure.midstream:
            # What OpenAI sends when a stream fails after the 200: an error object, and the stream ends.
            broken = error_body(500, "The server had an error while processing your request.", "server_error")
            return self._stream([*events[: len(events) // 2], sse_event(broken)])
        return self._stream([*events, b"data: [DONE]\n\n"])

    def _responses_answer(self, record: ReceivedRequest, failure: Failure | None) -> Reply:
        document = record.body
        previous = document.get("previous_response_id") if isinstance(document, dict) else None
        history: list[Any] | None = []  # None: the previous response named is not stored
        if previous is not None:
            history = self.conversation(previous) if isinstance(previous, str) else None
        error = check_request(document, history)
        if error is not None:
            return self._refused(error)
        assert isinstance(document, dict)
        items = conversation_items(document, history or [])
        planned = self.sized(plan(responses_ask(document, items), self.name), record)
        blocks = prompt_blocks(document, items)
        salt = f"{document['model']}|{document.get('prompt_cache_key') or ''}"
        seen = prefixes(blocks, salt)
        use = self.cache.use(seen, seen)
        input_tokens = sum(tokens(b) for b in blocks)
        usage = usage_json(input_tokens, planned, use.read, use.written)
        response_id = f"resp_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"
        created = int(time.time())
        output = output_items(planned, response_id)
        whole = response_json(document, response_id, created, output=output, usage=usage, status=final_status(planned))
        if document.get("store", True) is not False:
            self._responses[response_id] = _Stored([*items, *output], whole)
            while len(self._responses) > _STORED_RESPONSES:
                self._responses.popitem(last=False)
        if document.get("stream") is not True:
            return self.json_reply(200, whole)
        events = response_events(document, planned, response_id, created, usage)
        if failure is not None and failure.midstream:
            kept = events[: len(events) // 2]
            events = [*kept, failed_event(document, response_id, created, len(kept))]
        return self._stream([sse_event(e, e["type"]) for e in events])

    def _stream(self, events: Sequence[bytes]) -> StreamingResponse:
        return StreamingResponse(200, [*SSE_HEADERS, (NAME_HEADER, self.name)], self.paced(events))


async def start_fake_provider(
    name: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    chunk_delay: float = 0.0,
    path_prefix: str = "/v1",
    api_key: str | None = None,
    models: Sequence[str] = (),
) -> FakeProvider:
    """Start a fake provider; port 0 picks a free port (read it back from `.port`)."""
    provider = FakeProvider(
        name=name,
        host=host,
        port=port,
        path_prefix=path_prefix,
        chunk_delay=chunk_delay,
        api_key=api_key,
        models=tuple(models),
    )
    return await provider.start()


# --------------------------------------------------------------------------------------------------
# As a process: `python -m brightstaff.demo.fake_provider --name openai --port 0 --ready-file PATH`


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m brightstaff.demo.fake_provider",
        description="A fake OpenAI provider (chat completions and Responses) for demos and tests.",
    )
    parser.add_argument("--name", required=True, help="provider name, echoed in the x-fake-provider header")
    process_arguments(parser)
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer <key>")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    provider = FakeProvider(
        name=args.name,
        host=args.host,
        port=args.port,
        path_prefix=args.path_prefix,
        chunk_delay=args.chunk_delay,
        api_key=args.api_key,
        keep_received=args.keep_received,
    )
    return serve_as_process(provider, args.ready_file)


if __name__ == "__main__":
    raise SystemExit(main())
