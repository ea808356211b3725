"""brightstaff: a model-affinity router that runs as Envoy's ext_proc server."""

__version__ = "0.1.0"
