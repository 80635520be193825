# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-compile .

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 RELANCE_DATA_DIR=/data
RUN useradd --system --uid 10001 --home /app relance && mkdir -p /data && chown relance /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# Alembic reads the migrations from the source tree next to the package.
COPY --chown=relance migrations ./migrations
COPY --chown=relance app ./app
USER relance
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["relance", "serve", "--host", "0.0.0.0", "--port", "8000"]
