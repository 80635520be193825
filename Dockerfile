# syntax=docker/dockerfile:1
# Base images pinned by exact version tag. No digest: the registry could not be queried where this
# file was written; pin `python:...@sha256:<digest>` from `docker buildx imagetools inspect` when
# building for production.
ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Dependencies first, exactly as locked (versions and hashes; no embedded PostgreSQL, no dev
# tools): this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements.lock
# The service. Its sources stay in /app, where Alembic finds migrations/ next to app/; the editable
# install puts only a pointer to them in the venv (no second copy of app/), and the `relance`
# command.
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-deps -e . \
 && /opt/venv/bin/python -m compileall -q /app/app /app/migrations

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 RELANCE_DATA_DIR=/data
RUN useradd --system --uid 10001 --home /app relance && mkdir -p /data && chown relance /data
WORKDIR /app
# Same paths as in the build stage: the venv's pointer to /app stays valid.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
USER relance
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# RELANCE_DATABASE_URL is required: the image has no embedded PostgreSQL.
CMD ["relance", "serve", "--host", "0.0.0.0", "--port", "8000"]
