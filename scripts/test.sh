#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: lint, unit and service tests,
# training data validation, training, conversations through the running servers, and
# `rasa test` on the test stories. Any failure fails the command.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=3
mkdir -p var results

echo "== lint"
$BIN/ruff check msgops actions tests bench

echo "== unit and service tests"
$BIN/python -m pytest -q -m "not servers"

echo "== rasa data validate"
$BIN/python scripts/validate.py

echo "== train (only when data, domain, config or NLU components changed)"
make --no-print-directory train

echo "== conversations through the running servers"
$BIN/python -m pytest -q -m servers

echo "== rasa test (test stories)"
$BIN/rasa test core --model models/msgops.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --out results/core
