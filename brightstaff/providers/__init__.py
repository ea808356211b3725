"""Provider adapters: pure functions that rewrite a client's request for a provider's API.

One module per (client API, backend API) pair, named `<client>_<backend>` (`openai_openai`: an OpenAI
chat completions client to an OpenAI-compatible backend). Adapters never touch protobuf, gRPC or
sockets: plain data in, plain data out, tested as golden tables under tests/providers/. Credentials
belong to the backend side (`credentials.py`); which adapter serves a request is decided by the
endpoint table (`endpoints.py`: the client API) and the provider's `api` (the backend API).
"""
