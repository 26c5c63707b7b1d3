# Tongxin — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv: the one on PATH, else the one scripts/ensure-uv.sh installs for this user.
UV ?= $(shell bash scripts/ensure-uv.sh)
RUN_DIR := .data/run
# Every service under services/ (a new one needs no line here).
SERVICES := $(sort $(notdir $(wildcard services/*)))
PACKAGES := tongxin_contracts tongxin_platform tongxin_web tongxin_cli $(addprefix tongxin_,$(SERVICES))

.PHONY: help sync up down run stop test lint unit integration bench compose-check asyncapi

help:
	@echo "make run    – Kafka + PostgreSQL up, every service (API + worker) started, the demo"
	@echo "             district seeded (roster, a semester of home visits 家访, a screening"
	@echo "             campaign 心阳光, a term of child safety 护平安, a year of committee"
	@echo "             work 家委会 · 家长学校), every agency's pages (各部门视图) built from the"
	@echo "             streams, the city's page (市教育局), Zipkin with the demo's traces and"
	@echo "             Prometheus scraping every service; URLs and demo sign-in links printed"
	@echo "make stop   – stop the services, Zipkin and Prometheus started by make run"
	@echo "             (Kafka/PostgreSQL stay up)"
	@echo "make test   – lint, types, import contracts, schemas, AsyncAPI, all test tiers"
	@echo "             (real Kafka + PostgreSQL)"
	@echo "make up / make down – Kafka + PostgreSQL only"
	@echo "make bench  – benchmarks against peers, figures printed and written to bench/results/"
	@echo "make asyncapi – regenerate each service's committed AsyncAPI document"

sync:
	$(UV) sync --frozen --all-packages
	@bash infra/web/fetch.sh

up: sync
	$(UV) run tongxin up

down:
	-@$(MAKE) --no-print-directory stop
	$(UV) run tongxin down

run: up
	@source scripts/service-env.sh && echo "Development mode (TONGXIN_ENV=$$TONGXIN_ENV): published default secrets are accepted with a warning; master keys in $$TONGXIN_KEYRING_DIR. Never in production."
	@UV="$(UV)" bash scripts/run-tools.sh start
	@UV="$(UV)" bash scripts/run-services.sh start $(SERVICES)
	$(UV) run tongxin seed --registry-url http://127.0.0.1:8001 --visits-url http://127.0.0.1:8003 --wellbeing-url http://127.0.0.1:8004 --safety-url http://127.0.0.1:8005 --committees-url http://127.0.0.1:8002 && $(UV) run tongxin seed --city --districts 1 --schools 2 --classes 3 --students 20 --registry-url http://127.0.0.1:8001 --visits-url http://127.0.0.1:8003 --wellbeing-url http://127.0.0.1:8004 --safety-url http://127.0.0.1:8005 --committees-url http://127.0.0.1:8002 --city-url http://127.0.0.1:8020
	@echo
	@echo "Tongxin is running:"
	@UV="$(UV)" bash scripts/run-services.sh urls $(SERVICES)
	@echo "  agencies' pages   http://127.0.0.1:8010/sign-in   (pick a demo user; or open one at once:"
	@echo "                    http://127.0.0.1:8010/demo/bureau_officer  /demo/principal  /demo/head_teacher"
	@echo "                    /demo/psych_teacher  /demo/hospital  /demo/police  /demo/community_worker"
	@echo "                    /demo/committee_member  /demo/market_regulation)"
	@echo "  city page         http://127.0.0.1:8020/demo/city_analyst   (市教育局: signed in as the city's analyst;"
	@echo "                    every district's figures, each district clickable; or pick a demo user at"
	@echo "                    http://127.0.0.1:8020/sign-in, e.g. /demo/bureau_officer for one district)"
	@bash scripts/run-tools.sh urls
	@echo "  Kafka             $${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:19092}   (uv run tongxin tail registry.events --from-beginning)"
	@source scripts/service-env.sh && echo "  PostgreSQL        $$TONGXIN_DATABASE_SHOWN   (password in $${TONGXIN_DATA_DIR:-.data}/postgres-password)"
	@echo "  traces            every process's spans go to Zipkin (above), and to \$$OTEL_EXPORTER_OTLP_ENDPOINT when set;"
	@echo "                    every event carries its traceparent"
	@echo "  sign in           the demo links above sign you in (development keys in .data/dev-jwt); Zipkin and"
	@echo "                    Prometheus need no sign-in (they listen on 127.0.0.1 only)"
	@echo "  logs              $(RUN_DIR)/*.log"
	@echo "Stop with: make stop (services, Zipkin, Prometheus) and make down (Kafka + PostgreSQL)."

stop:
	@UV="$(UV)" bash scripts/run-services.sh stop $(SERVICES)
	@UV="$(UV)" bash scripts/run-tools.sh stop

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check contracts libs services cli
	$(UV) run mypy $(addprefix -p ,$(PACKAGES))
	$(UV) run lint-imports
	$(UV) run tongxin schemas --check
	@for s in $(SERVICES); do $(UV) run --no-sync tongxin-$$s asyncapi --check || exit 1; done

asyncapi: sync
	@for s in $(SERVICES); do $(UV) run --no-sync tongxin-$$s asyncapi --write || exit 1; done

test: lint
	$(UV) run pytest --junitxml=.data/junit.xml
	$(UV) run python scripts/check_tiers.py .data/junit.xml

bench: up
	$(UV) run python -m bench.run

compose-check:
	bash infra/check-compose.sh
