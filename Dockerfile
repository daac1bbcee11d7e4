# livesession-exporter container image.
#
#   docker build -t livesession-exporter:0.1.0 .
#   docker run --rm -p 9877:9877 --read-only livesession-exporter:0.1.0 --demo
#
# BASE_IMAGE must be a Debian-based image with python3 >= 3.11 on PATH as `python` or
# `python3` (the official python:*-slim images are); override it to build from a mirror or a
# locally made base: docker build --build-arg BASE_IMAGE=registry.example/python:3.11-slim .
ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- build: a wheel of the project, installed with its dependencies into /opt/venv --------
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the wheel needs (pyproject.toml reads README.md as the long description) and the
# pinned versions of every dependency (constraints.txt), so the image runs what the tests ran;
# .dockerignore keeps everything else out of the build context.
COPY pyproject.toml README.md constraints.txt ./
COPY exporter ./exporter

# pip compiles every module to bytecode while installing, so the read-only image never
# needs to write a .pyc at run time. pip and setuptools leave the venv: nothing installs
# anything at run time.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/venv/bin/pip install --constraint constraints.txt /tmp/wheels/livesession_exporter-*.whl \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
 && /opt/venv/bin/livesession-exporter --version

# --- final: the same base, the venv, an unprivileged user, nothing else -----------------
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="livesession-exporter" \
      org.opencontainers.image.description="Prometheus exporter for LiveKit Cloud Analytics and Livepeer Studio sessions" \
      org.opencontainers.image.licenses="Apache-2.0"

# A numeric user (runAsNonRoot can verify it) that owns nothing in the image: the exporter
# writes no files, so the root filesystem can be mounted read-only. (--no-log-init: no
# sparse lastlog/faillog entries for a high uid.)
RUN groupadd --gid 10001 exporter \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --no-log-init exporter

COPY --from=build /opt/venv /opt/venv

# All interfaces, explicitly: --demo alone binds 127.0.0.1 (for a laptop), and a container's
# loopback is reachable from nowhere, not even through -p. A --web.listen-address flag after
# the image name still wins over this variable.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LIVESESSION_WEB_LISTEN_ADDRESS=:9877

USER 10001:10001
EXPOSE 9877

# No curl in the image: the venv's Python asks /healthz. It follows the port of
# LIVESESSION_WEB_LISTEN_ADDRESS when set; if you move the port with the
# --web.listen-address flag instead, or bind a host other than all interfaces or loopback,
# override or disable this check (docker run --no-healthcheck; Kubernetes ignores it).
# With --web.config.file every path of the main port needs TLS and credentials: set
# LIVESESSION_WEB_HEALTH_LISTEN_ADDRESS and the check asks that plain probes-only listener.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; address = os.environ.get('LIVESESSION_WEB_HEALTH_LISTEN_ADDRESS') or os.environ.get('LIVESESSION_WEB_LISTEN_ADDRESS', ':9877'); urllib.request.urlopen(f'http://127.0.0.1:{address.rpartition(\":\")[2]}/healthz', timeout=4)"]

# SIGTERM (docker stop, Kubernetes) exits 0 within 5 seconds.
ENTRYPOINT ["/opt/venv/bin/livesession-exporter"]
