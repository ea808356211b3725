"""Names of the headers brightstaff reads and writes, in one table."""

from __future__ import annotations

# Every header brightstaff sets or reads starts with this. A client's copy of any of them is removed by
# Envoy before route matching and before ext_proc (a prefix match, so headers added later are covered).
INTERNAL_HEADER_PREFIX = "x-brightstaff-"

# Set on the upstream request; Envoy's routes match it. Clients' copies are stripped before ext_proc.
PROVIDER_HEADER = INTERNAL_HEADER_PREFIX + "provider"

# Added to the client's response (via Envoy dynamic metadata, namespace METADATA_NAMESPACE).
METADATA_NAMESPACE = "brightstaff"
RESPONSE_HEADERS = {
    "x-brightstaff-model": "model",
    "x-brightstaff-provider": "provider",
    "x-brightstaff-affinity": "affinity",
    "x-brightstaff-route": "route",
    # Which source gave the affinity id (core.affinity_sources: header, claude-code, codex, ...), or none.
    "x-brightstaff-affinity-source": "affinity_source",
}

# The decision metadata field (not a response header) naming the API the chosen provider speaks: Envoy's
# own error replies after routing (provider unreachable) are rendered in it, so that a response translator
# (client and provider APIs differ) reads them as the provider's errors and the client gets its own shape.
PROVIDER_API_FIELD = "provider_api"

# The `details` of every ImmediateResponse brightstaff sends starts with this (Envoy's
# %RESPONSE_CODE_DETAILS%): Envoy's local reply mappers recognise brightstaff's own errors by it and
# leave them as they are (proxy/local_replies.py).
REPLY_DETAILS_PREFIX = "brightstaff_"

# Request headers an adapter sets only when the client did not send them (`UpstreamRequest.default_headers`,
# e.g. the Anthropic API version). Envoy's ext_proc applies every set_headers entry as an overwrite (it
# ignores the ADD_IF_ABSENT append action), so the transport notes which of these the client sent
# (`RequestFacts.sent_defaults`) and `outcome.forward` leaves those out.
DEFAULTED_REQUEST_HEADERS = frozenset({"anthropic-version"})
