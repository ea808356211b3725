"""The sans-IO core: everything that decides. Never imports grpc, redis, asyncio or generated code."""
