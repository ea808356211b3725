"""Process harness shared by the tests and the benchmark: free loopback ports, a real redis-server, fake
providers run as processes, and Envoy + brightstaff stacks. One implementation of each, so what the
benchmark measures is started exactly as the tests start it.

Not part of the installed package: pytest puts the repository root on sys.path (`pythonpath` in
pyproject.toml), and `python -m benchmarks` runs from it. Every process started here listens on
127.0.0.1 and is stopped by its PID.
"""
