# Tongxin — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
RUN_DIR := .data/run
REGISTRY_URL := http://127.0.0.1:8001
VISITS_URL := http://127.0.0.1:8003

.PHONY: help sync up down run stop test lint unit integration bench compose-check

help:
	@echo "make run    – Kafka + PostgreSQL up, registry + visits services started, demo roster imported,"
	@echo "             a semester of home visits (家访) played"
	@echo "make stop   – stop the services started by make run (Kafka/PostgreSQL stay up)"
	@echo "make test   – lint, types, import contracts, schemas, all test tiers (real Kafka + PostgreSQL)"
	@echo "make up / make down – Kafka + PostgreSQL only"
	@echo "make bench  – benchmarks against peers, figures printed and written to bench/results/"

sync:
	$(UV) sync --frozen

up: sync
	$(UV) run tongxin up

down:
	-@$(MAKE) --no-print-directory stop
	$(UV) run tongxin down

run: up
	@bash scripts/run-services.sh start
	$(UV) run tongxin seed --registry-url $(REGISTRY_URL) --visits-url $(VISITS_URL)
	@echo
	@echo "Tongxin is running:"
	@echo "  registry API      $(REGISTRY_URL)   (OpenAPI docs: $(REGISTRY_URL)/docs)"
	@echo "  visits API        $(VISITS_URL)   (OpenAPI docs: $(VISITS_URL)/docs)"
	@echo "  Kafka             $${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:19092}   (uv run tongxin tail registry.events --from-beginning)"
	@echo "  PostgreSQL        $${DATABASE_URL:-postgresql://postgres@127.0.0.1:15432/postgres}"
	@echo "  logs              $(RUN_DIR)/*.log"
	@echo "Stop with: make stop (services) and make down (Kafka + PostgreSQL)."

stop:
	@bash scripts/run-services.sh stop

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check contracts libs services cli
	$(UV) run mypy contracts/src libs/platform/src services/registry/src services/visits/src cli/src
	$(UV) run lint-imports
	$(UV) run tongxin schemas --check

test: lint
	$(UV) run pytest --junitxml=.data/junit.xml
	$(UV) run python scripts/check_tiers.py .data/junit.xml

bench: up
	$(UV) run python -m bench.run

compose-check:
	bash infra/check-compose.sh
