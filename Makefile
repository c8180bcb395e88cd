# Thin wrappers over the real commands; see README.md. Everything runs from .venv.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MODEL := models/msgops.tar.gz
TRAIN_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
                $(wildcard msgops/nlu/*.py)

.PHONY: install train run test lint validate bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml scripts/install.sh
	bash scripts/install.sh
	touch $@

# Trains only when the data, the domain, the pipeline or our NLU components changed.
# Our validator first (it fails on real problems only); Rasa's own check before training
# would print ~40 warnings that are wrong for this project (scripts/validate.py says why).
$(MODEL): $(STAMP) $(TRAIN_INPUTS)
	$(BIN)/python scripts/validate.py
	$(BIN)/rasa train --skip-validation --fixed-model-name msgops --out models --num-threads 2
	touch $@

train: $(MODEL)

run: $(MODEL)
	bash scripts/run.sh

lint: $(STAMP)
	$(BIN)/ruff check msgops actions tests bench

validate: $(STAMP)
	$(BIN)/rasa data validate --fail-on-warnings

test: $(STAMP)
	bash scripts/test.sh

bench: $(MODEL)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf models results var .pytest_cache
