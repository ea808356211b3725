"""The serving assembly: the app that wires config, pin store, router and transport together, the request
handler (sequencing and I/O around `core/`'s rules and `providers/`' adapters), and the admin endpoint."""
