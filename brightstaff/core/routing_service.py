"""The routing service's answer (`POST /routing/v1/...`): a decision as JSON, in Plano's shape plus brightstaff's.

Invariants:
- `models` is ranked: the provider the decision names first, then its route's fallbacks (the v0.4 route's
  other configured models), never a name that is not a configured provider. A client tries `models[0]`
  and falls back to the next on 429/5xx, as Plano's routing service documents.
- `route` is the routing preference that chose the model, or null for the default model.
- `session_id` is present only when the request had an affinity id: the id as the client sent it
  (without any tenant scope); `pinned` says whether the decision came from a live pin.
- brightstaff's own fields say what the proxied path's `x-brightstaff-*` headers would: `affinity`,
  `provider`, `model`, `affinity_source`.
"""

from __future__ import annotations

from typing import Any

from brightstaff.config.model import Config
from brightstaff.core.affinity_sources import Resolution
from brightstaff.core.decision import Affinity, Decision
from brightstaff.core.request import RequestFacts


def ranked_models(decision: Decision, config: Config) -> list[str]:
    """The decision's provider, then the fallbacks of the route it serves (configured ones, no repeats)."""
    models = [decision.provider.name]
    route = next((r for r in config.routes if r.name == decision.route), None) if decision.route else None
    for name in route.fallbacks if route is not None else ():
        if name not in models and config.provider(name) is not None:
            models.append(name)
    return models


def trace_id(facts: RequestFacts) -> str:
    """The W3C trace id of the client's `traceparent`, else Envoy's request id (something to look up)."""
    parts = (facts.traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else facts.request_id


def routing_answer(decision: Decision, resolution: Resolution, facts: RequestFacts, config: Config) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "models": ranked_models(decision, config),
        "route": decision.route,
        "trace_id": trace_id(facts),
        "pinned": decision.affinity == Affinity.PINNED,
        "switched": False,  # Plano's routing-budget field: brightstaff never switches a pinned session
        "affinity": decision.affinity.value,
        "provider": decision.provider.name,
        "model": decision.provider.model,
        "affinity_source": resolution.source or "none",
    }
    if resolution.key is not None:
        answer["session_id"] = resolution.key.split("|", 1)[-1]
    return answer
