"""Compatibility re-export for test modules on branches still in flight: the helper lives in
harness/redis_server.py.

Import from `harness.redis_server`; delete this file once nothing imports it from here.
"""

from harness.free_port import free_port as free_port
from harness.redis_server import TLS_DIR as TLS_DIR
from harness.redis_server import RedisServer as RedisServer
