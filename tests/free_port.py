"""Compatibility re-export for test modules on branches still in flight: the helper lives in harness/free_port.py.

Import `from harness.free_port import free_port`; delete this file once nothing imports it from here.
"""

from harness.free_port import free_port as free_port
