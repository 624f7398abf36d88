# make run   - install, train if data or config changed, start the action server and Rasa
# make test  - install, train, run every test (what CI runs)
# make test-unit - the unit tier alone (no servers)
# make shell - chat in the terminal
# make bench - speed of this configuration against Rasa's default, trained and measured side by side
# make review - what users asked and what went unanswered, from the tracker store: review/report.html
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Rasa 3.6 needs Python 3.10: the first python3.10 that actually runs (a pyenv shim may not).
PYTHON310 := $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 \
                 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
                 "$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
SPACY_PIPELINE := build/spacy-en
MODEL := models/assistant.tar.gz
# `make run`'s ports, from the environment when set (WIDGET_PORT is WEB_PORT's other name), and
# where it writes the files it generates: a RUN_DIR each for servers run side by side.
# Conversations go to ASSISTANT_SQLITE_DB (endpoints.yml; default tracker.db).
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
WEB_PORT ?= $(or $(WIDGET_PORT),8080)
RUN_DIR ?= build
# credentials.yml with the channels whose secrets are in the environment (envtemplate.py).
CREDENTIALS := $(RUN_DIR)/credentials.yml
# endpoints.yml, or endpoints.production.yml when ASSISTANT_STORES=production, with the
# environment's settings (envtemplate.py; docs/production.md).
ENDPOINTS := $(RUN_DIR)/endpoints.yml
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') $(wildcard pipeline/*.py)
# The browser the web widget's tests drive: Debian's chromium (Playwright never downloads one).
CHROMIUM := /usr/bin/chromium
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
# Request bodies over 64 KB get 413 from Rasa's web server (Sanic reads SANIC_* settings from the
# environment); the action server sets its own limit (actions/server.py). docs/security.md.
export SANIC_REQUEST_MAX_SIZE := 65536
# The secrets of .env (generated when missing) and of the environment: runtime/tokens.py. It
# refuses a REST token under 32 characters unless ASSISTANT_LOCAL_TEST=1 (`make shell`, local).
LOAD_TOKENS := exports="$$($(BIN)/python -m runtime.tokens .env)" || exit 1; eval "$$exports"
ACTION_SERVER := $(BIN)/python -m actions.server --actions actions --port $(ACTIONS_PORT)
# Rasa's HTTP API only with JWT (ASSISTANT_API_JWT_SECRET), CORS only for ASSISTANT_CORS_ORIGINS.
# The secret goes after "=": one generated secret in 64 starts with "-", read as a flag otherwise.
RASA_OPTIONS := $${ASSISTANT_API_JWT_SECRET:+--enable-api --jwt-secret="$$ASSISTANT_API_JWT_SECRET"} \
                $${ASSISTANT_CORS_ORIGINS:+--cors $$ASSISTANT_CORS_ORIGINS}

.PHONY: install train run replicas shell test test-unit lint test-scale haproxy compare-nlp bench review clean

install: $(BIN)/.installed
$(BIN)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (python3.10 not found)"; exit 1; }
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-dev.txt
	touch $@

$(SPACY_PIPELINE)/config.cfg: $(BIN)/.installed pipeline/spacy_pipeline.py
	$(BIN)/python -m pipeline.spacy_pipeline $(SPACY_PIPELINE)

train: $(MODEL)
$(MODEL): $(BIN)/.installed $(SPACY_PIPELINE)/config.cfg $(TRAINING_INPUTS)
	$(BIN)/rasa train --fixed-model-name assistant --out models

run: $(MODEL)
	@$(LOAD_TOKENS); \
	export ACTION_SERVER_URL="$${ACTION_SERVER_URL:-http://localhost:$(ACTIONS_PORT)/webhook}"; \
	$(BIN)/python -m envtemplate credentials $(CREDENTIALS) || exit 1; \
	$(BIN)/python -m envtemplate endpoints $(ENDPOINTS) || exit 1; \
	echo "Starting the action server on 127.0.0.1:$(ACTIONS_PORT), Rasa on :$(RASA_PORT)" \
		"(the channels above) and the demo page on http://localhost:$(WEB_PORT)." \
		"Ctrl-C stops them all."; \
	trap 'kill 0' EXIT; \
	$(ACTION_SERVER) & \
	$(BIN)/python -m web.serve --port $(WEB_PORT) --server-url http://localhost:$(RASA_PORT) & \
	$(BIN)/python -m runtime run --model $(MODEL) --port $(RASA_PORT) --endpoints $(ENDPOINTS) \
		--credentials $(CREDENTIALS) $(RASA_OPTIONS)

# Several replicas on this host behind haproxy, without Docker (deploy/replicas.sh, REPLICAS=2).
replicas: $(MODEL) haproxy
	@deploy/replicas.sh

shell: $(MODEL)
	@eval "$$(ASSISTANT_LOCAL_TEST=1 $(BIN)/python -m runtime.tokens .env)" 2>/dev/null; \
	$(BIN)/python -m envtemplate endpoints $(ENDPOINTS) || exit 1; \
	trap 'kill 0' EXIT; \
	$(ACTION_SERVER) --quiet & \
	$(BIN)/rasa shell --model $(MODEL) --endpoints $(ENDPOINTS) --interface 127.0.0.1

# pip-audit in a venv of its own: it needs newer `packaging` and `CacheControl` than Rasa allows.
# tests/system/test_dependencies.py runs it over requirements.txt.
AUDIT := build/pip-audit
$(AUDIT)/.installed: requirements-audit.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (python3.10 not found)"; exit 1; }
	$(PYTHON310) -m venv $(AUDIT)
	$(AUDIT)/bin/pip install --quiet -r requirements-audit.txt
	touch $@

$(CHROMIUM):
	apt-get update && apt-get install -y chromium

# axe-core for the widget's accessibility tests (tests/system/test_widget_a11y.py): from npm at
# the version of package-lock.json, never fetched while the tests run.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update && apt-get install -y npm; }
	npm ci --no-audit --no-fund
	touch $@

# Every tier: tests/unit (no servers), tests/integration (servers on free ports, the machine's
# PostgreSQL, Redis and RabbitMQ), tests/system (browser, scale, grading, audit); the linter first.
# The slowest tests are listed at the end: where to look when the run gets longer.
test: $(MODEL) $(AUDIT)/.installed $(CHROMIUM) $(AXE) haproxy lint
	$(BIN)/python -m pytest -rs --durations=15 tests

test-unit: $(MODEL)
	$(BIN)/python -m pytest -q tests/unit

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# Replicas behind haproxy on PostgreSQL, Redis and RabbitMQ, with outages (docs/production.md).
test-scale: $(MODEL) haproxy
	SCALE_USERS=200 SCALE_MESSAGES=20 SCALE_FAULT_USERS=50 $(BIN)/python -m pytest tests/system/test_scale.py -s

# The scale test's load balancer, from apt when missing (CI runs as root).
haproxy:
	@command -v haproxy >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; } || \
		echo "haproxy is missing: the scale test will be skipped (apt-get install haproxy)"

# What spaCy buys: NLU and free-text search accuracy with and without it.
compare-nlp: $(SPACY_PIPELINE)/config.cfg
	$(BIN)/python bench/compare_nlp.py

# Trains config.yml and Rasa's default configuration from clean and measures the project, the
# default on Rasa as shipped and the default on this runtime (most of the time is the default's
# training): prints a table, writes bench/results.json, bench/latency.png and bench/REPORT.md.
bench: $(SPACY_PIPELINE)/config.cfg
	$(BIN)/python bench/speed.py

# The tracker store of the endpoints ASSISTANT_STORES chooses, read-only (docs/review.md).
# Options in REVIEW_OPTIONS: make review REVIEW_OPTIONS="--since 7d --json".
review: $(BIN)/.installed
	$(BIN)/python -m review $(REVIEW_OPTIONS)

clean:
	rm -rf $(VENV) build models results tracker.db node_modules
