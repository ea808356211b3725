"""What brightstaff costs on top of Envoy, measured on loopback in one run, side by side (`python -m benchmarks`,
`./dev bench`; README "Performance").

Modules, bottom up: `bodies` (the requests), `measure` (CPU from /proc, percentiles), `load` (wrk, the
asyncio fallback, the TTFB client), `processes` (the upstream Envoy, the fakes, redis-server and the
Envoy + brightstaff stacks, through the shared harness/), `cells` (what is measured, in which order),
`run` (one run), `report` (Markdown, targets and verdicts, JSON) and `cli`. Every load loop is bounded in
time and count; every process started is stopped by its PID. `observe_overhead.py` and `routing_eval/`
are separate scripts.
"""
