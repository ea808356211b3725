"""OpenAI Responses client → Anthropic Messages backend: the request, translated.

One translation, not two: the request becomes a chat completions body (`responses_chat.chat_body`, which
refuses what no translated path can honour), then a Messages body by `openai_anthropic`'s translation,
which already shapes everything Anthropic requires (system hoisting, tool results merged right after
their calls, media, `max_tokens`, thinking, structured output). Differences from a chat client:
- Tool outputs keep their images and files (Anthropic's tool results carry them).
- `reasoning.effort` is kept (→ adaptive thinking with that effort), and reasoning items brightstaff
  wrote from Anthropic thinking become thinking blocks again.
- An error the Messages translation raises names the Responses field (`input[3].arguments`, not
  `messages[2].tool_calls[0].function.arguments`): `responses_chat.remap`.
The path, credentials and `anthropic-version` are those of every translated request to Anthropic
(`backends.to_messages`); a derived `cache_key` is not sent
(Anthropic has no such parameter: its cache follows the prompt prefix, which the pin keeps on one
provider anyway).
"""

from __future__ import annotations

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest
from brightstaff.core.errors import ClientError
from brightstaff.core.outcome import ResponseTranslator, UpstreamRequest
from brightstaff.core.responses import ResponsesRequest
from brightstaff.providers import openai_anthropic
from brightstaff.providers.backends import to_messages
from brightstaff.providers.responses_chat import chat_body, remap
from brightstaff.providers.responses_events import response_frame
from brightstaff.providers.responses_from_messages import ResponsesFromMessages


def request(
    responses: ResponsesRequest, provider: Provider, query: str, *, cache_key: str | None = None
) -> UpstreamRequest:
    return to_messages(provider, translate_request(responses, provider.model))


def response(responses: ResponsesRequest, provider: Provider) -> ResponseTranslator:
    return ResponsesFromMessages(response_frame(responses, provider.model))


def translate_request(responses: ResponsesRequest, model: str) -> bytes:
    """The Messages body for a Responses request; raises ClientError naming the Responses field."""
    shape = chat_body(responses, tool_parts=True, thinking=True)
    chat = ChatRequest.from_fields(model, shape.body)
    try:
        return openai_anthropic.translate_request(chat, model)
    except ClientError as error:
        raise remap(error, shape) from None
