#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the locked dependencies plus msgops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {
  for candidate in python3.10 "$(command -v pyenv >/dev/null && pyenv root)/versions/3.10"*/bin/python3.10 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.10 is needed (Rasa 3.6 supports 3.8-3.10); install it, e.g. 'pyenv install 3.10'" >&2
  return 1
}
if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip==24.0"
.venv/bin/python -m pip install --quiet -r requirements.lock
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "installed into .venv"
