# make run   - install, train if data or config changed, start the action server and Rasa
# make test  - install, train, run every test (what CI runs)
# make shell - chat in the terminal
# make bench - speed of this configuration against Rasa's default, trained and measured side by side
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
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml')
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
# Single-threaded, deterministic TensorFlow: the same data trains the same model, so accuracy
# measured here is the accuracy CI gets (multi-threaded training varied by +-0.02).
DETERMINISTIC := TF_DETERMINISTIC_OPS=1 TF_INTER_OP_PARALLELISM_THREADS=1 TF_INTRA_OP_PARALLELISM_THREADS=1

.PHONY: install train run shell test compare-nlp bench clean

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
	@echo "Starting the action server on :5055 and Rasa on :5005 (the channels above). Ctrl-C stops both."
	@trap 'kill 0' EXIT; \
	$(BIN)/rasa run actions --actions actions --port 5055 & \
	$(BIN)/python -m runtime run --model $(MODEL) --port 5005 --endpoints endpoints.yml \
		--credentials $(CREDENTIALS)

shell: $(MODEL)
	@trap 'kill 0' EXIT; \
	$(BIN)/rasa run actions --actions actions --port 5055 --quiet & \
	$(BIN)/rasa shell --model $(MODEL) --endpoints endpoints.yml

test: $(MODEL)
	$(BIN)/python -m pytest tests

# What spaCy buys: NLU and free-text search accuracy with and without it.
compare-nlp: $(SPACY_PIPELINE)/config.cfg
	$(DETERMINISTIC) $(BIN)/python bench/compare_nlp.py

# Trains config.yml and Rasa's default configuration from clean and measures both (training dominates):
# prints a table, writes bench/results.json and bench/latency.png.
bench: $(SPACY_PIPELINE)/config.cfg
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) build models results tracker.db
