# make run   - install, train if data or config changed, start the action server and Rasa
# make test  - install, train, run every test (what CI runs)
# make shell - chat in the terminal
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
# The channels of credentials.yml whose secrets are in the environment (channels/credentials.py).
CREDENTIALS := build/credentials.yml
# The stores of endpoints.yml that ASSISTANT_STORES chooses (envtemplate.py; README "Production").
ENDPOINTS := build/endpoints.yml
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml')
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
# Single-threaded, deterministic TensorFlow: the same data trains the same model, so accuracy
# measured here is the accuracy CI gets (multi-threaded training varied by +-0.02).
DETERMINISTIC := TF_DETERMINISTIC_OPS=1 TF_INTER_OP_PARALLELISM_THREADS=1 TF_INTRA_OP_PARALLELISM_THREADS=1

.PHONY: install train run shell test test-scale haproxy compare-nlp clean

install: $(BIN)/.installed
$(BIN)/.installed: requirements.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (python3.10 not found)"; exit 1; }
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.0
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(SPACY_PIPELINE)/config.cfg: $(BIN)/.installed actions/knowledge/language.py
	$(BIN)/python -m actions.knowledge.language $(SPACY_PIPELINE)

train: $(MODEL)
$(MODEL): $(BIN)/.installed $(SPACY_PIPELINE)/config.cfg $(TRAINING_INPUTS)
	$(DETERMINISTIC) $(BIN)/rasa train --fixed-model-name assistant --out models

run: $(MODEL)
	@$(BIN)/python -m channels.credentials credentials.yml $(CREDENTIALS)
	@$(BIN)/python -m envtemplate endpoints endpoints.yml $(ENDPOINTS)
	@echo "Starting the action server on :5055 and Rasa on :5005 (the channels above). Ctrl-C stops both."
	@trap 'kill 0' EXIT; \
	$(BIN)/rasa run actions --actions actions --port 5055 & \
	$(BIN)/rasa run --model $(MODEL) --port 5005 --endpoints $(ENDPOINTS) \
		--credentials $(CREDENTIALS)

shell: $(MODEL)
	@$(BIN)/python -m envtemplate endpoints endpoints.yml $(ENDPOINTS)
	@trap 'kill 0' EXIT; \
	$(BIN)/rasa run actions --actions actions --port 5055 --quiet & \
	$(BIN)/rasa shell --model $(MODEL) --endpoints $(ENDPOINTS)

test: $(MODEL) haproxy
	$(BIN)/python -m pytest tests

# Replicas behind haproxy on PostgreSQL, Redis and RabbitMQ, with outages (README "Production").
test-scale: $(MODEL) haproxy
	SCALE_USERS=200 SCALE_MESSAGES=20 SCALE_FAULT_USERS=50 $(BIN)/python -m pytest tests/test_scale.py -s

# The scale test's load balancer, from apt when missing (CI runs as root).
haproxy:
	@command -v haproxy >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; } || \
		echo "haproxy is missing: the scale test will be skipped (apt-get install haproxy)"

# What spaCy buys: NLU and free-text search accuracy with and without it.
compare-nlp: $(SPACY_PIPELINE)/config.cfg
	$(DETERMINISTIC) $(BIN)/python bench/compare_nlp.py

clean:
	rm -rf $(VENV) build models results tracker.db
