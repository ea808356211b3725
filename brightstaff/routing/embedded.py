"""The embedded router: offline, deterministic matching of the conversation against routing preferences."""

from __future__ import annotations

import re

from brightstaff.config import Provider
from brightstaff.core.chat import ChatRequest, content_text
from brightstaff.routing.base import RouteChoice

_WORD = re.compile(r"[a-z0-9]+")


class EmbeddedRouter:
    """Scores each routing preference by word overlap with the latest turn (replaced by a measured model)."""

    name = "embedded"

    def __init__(self, providers: tuple[Provider, ...], min_score: float) -> None:
        self._default = next(p.name for p in providers if p.default)
        self._prefs = [
            (pref.name, p.name, set(_WORD.findall(pref.description.lower())))
            for p in providers
            for pref in p.routing_preferences
        ]
        self._min_score = min_score

    async def route(self, request: ChatRequest) -> RouteChoice:
        return self.classify(request)

    def classify(self, request: ChatRequest) -> RouteChoice:
        messages = request.messages
        text = content_text(messages[-1].get("content")) if messages and isinstance(messages[-1], dict) else ""
        words = set(_WORD.findall(text.lower()))
        best: tuple[float, str, str] | None = None
        for route, provider, vocab in self._prefs:
            score = len(words & vocab) / max(len(vocab), 1)
            if best is None or score > best[0]:
                best = (score, route, provider)
        if best is None or best[0] < self._min_score:
            return RouteChoice(self._default, None, "default", best[0] if best else 0.0)
        return RouteChoice(best[2], best[1], "preference", best[0])
