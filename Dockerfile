# Tongxin's services as one image (each container runs `tongxin-<service> serve|worker`); used
# by docker-compose.yml.   docker build -t tongxin .
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

# Every service and what it depends on, exactly as locked, without dev tools.
RUN uv sync --frozen --no-dev --all-packages

# Ports: each service's (README's system map); docker-compose.yml publishes them.
# --no-sync: a plain `uv run` would first sync the default groups (dev
# included) at container start.
CMD ["uv", "run", "--no-sync", "tongxin-registry", "serve", "--host", "0.0.0.0"]
