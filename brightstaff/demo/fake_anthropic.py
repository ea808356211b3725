"""A fake Anthropic provider: the Messages API from the scripted model (scripted_model.py) in the real wire
format (anthropic_wire.py), checked as the real API checks (anthropic_checks.py), over HTTP/1.1
(http_server.py), recording every request it receives (fake_backend.py).

It answers `POST {prefix}/messages` (the message object, or with `stream: true` the real event stream,
`chunk_delay` apart), `POST {prefix}/messages/count_tokens` (`{"input_tokens": N}`) and
`GET {prefix}/models`. Every error is `{"type":"error","error":{"type","message"},"request_id"}` with
the real status: 401 `authentication_error` for a missing or wrong `x-api-key`, 400
`invalid_request_error` for a missing `anthropic-version` and for bodies the API refuses, 404
`not_found_error` for a model it does not serve (`models`) and unknown paths. Usage reports cache
tokens as the API does: blocks up to a `cache_control` breakpoint are written to the fake's prompt
cache (prompt_cache.py) and read back by later requests that share the prefix. Failures on demand
(fake_backend.py): a status with the API's message (429 `rate_limit_error` with `retry-after`, 529
`overloaded_error`, 500 `api_error`, ...), a hang-up, or a stream that breaks off with
`event: error` (`overloaded_error`) after half its events. Every response carries `request-id` and
`x-fake-provider: <name>`.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from brightstaff.demo.anthropic_checks import check_headers, check_request, error_type
from brightstaff.demo.anthropic_wire import (
    OVERLOADED,
    at_stop_sequence,
    input_tokens,
    message_events,
    message_json,
    messages_ask,
    prompt_blocks,
    usage_json,
)
from brightstaff.demo.api_error import ApiError
from brightstaff.demo.fake_backend import (
    NAME_HEADER,
    SSE_HEADERS,
    FakeBackend,
    ReceivedRequest,
    process_arguments,
    serve_as_process,
    sse_event,
)
from brightstaff.demo.http_server import Reply, Request, Response, StreamingResponse
from brightstaff.demo.prompt_cache import PromptCache, prefixes
from brightstaff.demo.scripted_model import plan

# What the API says with each status when it fails on its own (the fake says it on demand).
_FAILURE_MESSAGES = {
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "This request would exceed your account's rate limit. Please try again later.",
    500: "Internal server error",
    529: "Overloaded",
}
_RETRY_AFTER_STATUSES = (429, 529)


def _request_id() -> str:
    return f"req_011C{uuid.uuid4().hex[:20]}"


@dataclass(eq=False)
class FakeAnthropic(FakeBackend):
    """A running fake Anthropic provider (see FakeBackend for what may change while it runs)."""

    name: str = "anthropic"
    # Roles must alternate (the API's long-standing rule; strict catches a translator that sends each
    # tool result as its own message). False: consecutive same-role messages are combined, as today.
    strict_turns: bool = True
    retry_after: float = 1.0  # seconds, sent as `retry-after` with a 429 or 529
    cache: PromptCache = field(default_factory=PromptCache)

    @property
    def messages_requests(self) -> list[ReceivedRequest]:
        return self.requests_to("/messages")

    @property
    def count_tokens_requests(self) -> list[ReceivedRequest]:
        return self.requests_to("/messages/count_tokens")

    def _error(self, error: ApiError) -> Response:
        request_id = _request_id()
        kind = error.kind or error_type(error.status)
        body = {"type": "error", "error": {"type": kind, "message": error.message}, "request_id": request_id}
        headers = [("request-id", request_id)]
        if error.status in _RETRY_AFTER_STATUSES:
            headers.append(("retry-after", f"{self.retry_after:g}"))
        return self.json_reply(error.status, body, headers)

    def refusal(self, status: int, message: str) -> Response:
        """The answer to a request the HTTP server refused (malformed, too large): an Anthropic error."""
        return self._error(ApiError(status, message))

    async def handle(self, request: Request, record: ReceivedRequest) -> Reply:
        failure = self.failure(record)
        if failure is not None and failure.hang_up:
            return None  # hang up without an answer, like a crashed upstream
        if failure is not None and failure.status is not None:
            default = f"Simulated failure of the fake {self.name} provider."
            return self._error(ApiError(failure.status, _FAILURE_MESSAGES.get(failure.status, default)))

        prefix, path = self.path_prefix, request.path
        wanted = {
            f"{prefix}/messages": "POST",
            f"{prefix}/messages/count_tokens": "POST",
            f"{prefix}/models": "GET",
        }.get(path)
        if wanted is None:
            return self._error(ApiError(404, f"Not Found: {request.method} {path}"))
        if request.method != wanted:
            return self._error(ApiError(405, f"Method {request.method} is not allowed on {path}; use {wanted}."))
        refused = check_headers(record.headers, self.api_key)
        if refused is not None:
            return self._error(refused)
        if path == f"{prefix}/models":
            return self._models()
        if record.parse_error is not None or not request.body:
            detail = record.parse_error or "the body is empty"
            return self._error(ApiError(400, f"There was an error parsing the body of your request: {detail}"))
        count_tokens = path.endswith("/count_tokens")
        document = record.body
        refused = check_request(document, self.served_models, count_tokens=count_tokens, strict_turns=self.strict_turns)
        if refused is not None:
            return self._error(refused)
        blocks = prompt_blocks(document)
        if count_tokens:
            return self._reply(200, {"input_tokens": input_tokens(blocks)})
        return self._message(document, blocks, record, streamed_failure=failure is not None and failure.midstream)

    def _message(
        self, document: dict[str, Any], blocks: list[Any], record: ReceivedRequest, *, streamed_failure: bool
    ) -> Reply:
        planned = self.sized(plan(messages_ask(document), self.name), record)
        planned, stop_sequence = at_stop_sequence(document, planned)
        # Any prefix up to the last breakpoint may be read; the prefixes ending on a breakpoint are written.
        chain = prefixes([b.text for b in blocks], document["model"])
        marks = [i for i, b in enumerate(blocks) if b.breakpoint]
        last = marks[-1] if marks else -1
        use = self.cache.use(chain[: last + 1], [chain[i] for i in marks])
        ttl = blocks[last].ttl if marks else "5m"
        uncached = input_tokens(blocks) - use.read - use.written
        usage = usage_json(planned, uncached=uncached, read=use.read, written=use.written, ttl=ttl)
        message_id = f"msg_01{uuid.uuid4().hex[:22]}"
        if document.get("stream") is not True:
            return self._reply(200, message_json(document, planned, message_id, usage, stop_sequence))
        streamed = message_events(document, planned, message_id, usage, stop_sequence)
        events = [sse_event(data, name) for name, data in streamed]
        if streamed_failure:
            events = [*events[: len(events) // 2], sse_event(OVERLOADED, "error")]
        headers = [*SSE_HEADERS, ("request-id", _request_id()), (NAME_HEADER, self.name)]
        return StreamingResponse(200, headers, self.paced(events))

    def _models(self) -> Response:
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": created, "lifecycle": "active"}
            for m in self.served_models
        ]
        page = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        return self._reply(200, page)

    def _reply(self, status: int, value: object) -> Response:
        return self.json_reply(status, value, [("request-id", _request_id())])


async def start_fake_anthropic(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "anthropic",
    chunk_delay: float = 0.0,
    path_prefix: str = "/v1",
    api_key: str | None = None,
    models: Sequence[str] = (),
    strict_turns: bool = True,
    cache_min_tokens: int = 1024,
) -> FakeAnthropic:
    """Start a fake Anthropic provider; port 0 picks a free port (read it back from `.port`)."""
    fake = FakeAnthropic(
        name=name,
        host=host,
        port=port,
        path_prefix=path_prefix,
        chunk_delay=chunk_delay,
        api_key=api_key,
        models=tuple(models),
        strict_turns=strict_turns,
        cache=PromptCache(min_tokens=cache_min_tokens),
    )
    return await fake.start()


# --------------------------------------------------------------------------------------------------
# As a process: `python -m brightstaff.demo.fake_anthropic --port 0 --ready-file PATH`


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m brightstaff.demo.fake_anthropic",
        description="A fake Anthropic Messages provider for demos and tests.",
    )
    parser.add_argument("--name", default="anthropic", help="provider name, echoed in the x-fake-provider header")
    process_arguments(parser)
    parser.add_argument("--api-key", default=None, help="require x-api-key: <key> (any key when unset)")
    parser.add_argument(
        "--model", action="append", default=[], help="a model it serves (repeat; default: the vendor's demo model)"
    )
    parser.add_argument(
        "--combine-turns",
        action="store_true",
        help="combine consecutive same-role messages as the API does today, instead of refusing them",
    )
    parser.add_argument("--cache-min-tokens", type=int, default=1024, help="shortest prefix the prompt cache keeps")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    fake = FakeAnthropic(
        name=args.name,
        host=args.host,
        port=args.port,
        path_prefix=args.path_prefix,
        chunk_delay=args.chunk_delay,
        api_key=args.api_key,
        models=tuple(args.model),
        strict_turns=not args.combine_turns,
        cache=PromptCache(min_tokens=args.cache_min_tokens),
        keep_received=args.keep_received,
    )
    return serve_as_process(fake, args.ready_file)


if __name__ == "__main__":
    raise SystemExit(main())
