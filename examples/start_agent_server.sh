#!/usr/bin/env bash
# The research agent service alone (the seed's start_agents.sh), against a brightstaff stack already up:
#
#   ./dev demo --keep-running            # terminal 1: fake providers + Envoy + brightstaff on :12000
#   examples/start_agent_server.sh       # terminal 2: the agent service on :8000
#   curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \
#     -H 'X-Model-Affinity: my-research' -d '{}'     # terminal 3: three tasks, one model
#
#   BRIGHTSTAFF_URL  the Envoy listener it calls, without /v1 (default http://127.0.0.1:12000)
#   AGENT_PORT       where it listens (default 8000)
#   PYTHON           the interpreter with brightstaff and its demo extra (default: this checkout's .venv)
#
# Ctrl-C or SIGTERM stops it: no new requests, a research in flight stops after its current call.
set -euo pipefail
cd "$(dirname "$0")/.."
# (The module reads BRIGHTSTAFF_URL and AGENT_PORT itself; `--help` lists its other options.)
exec "${PYTHON:-.venv/bin/python}" -m brightstaff.demo.agent_server "$@"
