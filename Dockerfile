# A Tongxin service as a container (the registry unless PACKAGE says otherwise); used by
# docker-compose.yml.   docker build -t tongxin-registry .
#                       docker build --build-arg PACKAGE=tongxin-visits -t tongxin-visits .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1

RUN pip install --no-cache-dir uv

WORKDIR /app
# The whole uv workspace (root pyproject.toml + uv.lock + members): uv checks
# every member listed in the root pyproject.toml. .dockerignore keeps out
# .venv, .data, .cache and the like.
COPY . .

# Only the service and what it depends on, exactly as locked, without dev tools.
ARG PACKAGE=tongxin-registry
RUN uv sync --frozen --no-dev --package ${PACKAGE}

EXPOSE 8001
# --no-sync: a plain `uv run` would first sync the default groups (dev
# included) at container start.
CMD ["uv", "run", "--no-sync", "uvicorn", "--factory", "tongxin_registry.entrypoints.api:create_app_from_env", "--host", "0.0.0.0", "--port", "8001"]
