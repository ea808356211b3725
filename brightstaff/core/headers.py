"""Names of the headers brightstaff reads and writes, in one table."""

from __future__ import annotations

# Set on the upstream request; Envoy's routes match it. Clients' copies are stripped before ext_proc.
PROVIDER_HEADER = "x-brightstaff-provider"

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

# Internal headers a client must never be able to set (Envoy strips them before the ext_proc filter).
INTERNAL_REQUEST_HEADERS = (PROVIDER_HEADER,)
