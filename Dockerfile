# syntax=docker/dockerfile:1
# Nidan's container image, on uv's documented multi-stage pattern: the build stage resolves
# exactly uv.lock into a virtual environment (no dev tools, no editable installs, bytecode
# compiled at build time); the runtime stage gets that environment and nothing else.
# Build:  podman build --build-arg REVISION=$(git rev-parse HEAD) -t nidan:0.1.0 .
# tests/deploy/test_dockerfile.py checks this file and rehearses its install commands.

# Pinned by version (override both to build from a mirror); uv's image is astral/uv.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=astral/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /uvx /bin/
# Compile bytecode now (the runtime root is read-only); copy instead of hard-linking from
# the cache mount; use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in a layer of their own that changes only with the lock file.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=plugins,target=plugins \
    uv sync --locked --no-dev --no-editable --no-install-workspace
COPY . /app
# Then Nidan and its method plugins, installed as ordinary (non-editable) packages.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Nidan" \
      org.opencontainers.image.description="An OpenID Connect identity provider that never issues a token without a second factor." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/deploy.md"
# The data directory (SQLite, one replica) is the only place besides /tmp that is written.
RUN mkdir -p /var/lib/nidan /etc/nidan && chown 65532:65532 /var/lib/nidan
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/nidan
USER 65532:65532
EXPOSE 8000
VOLUME ["/var/lib/nidan"]
ENTRYPOINT ["idp", "serve"]
