#!/usr/bin/env bash
# tests/openapi/setup.sh — installs openapi-spec-validator, the independent
# validator the openapi test (crates/server/tests/http/openapi.rs) runs on the JSON
# API's OpenAPI document, into tests/openapi/.venv from the exact pins in
# requirements.txt. Needs python3 with venv and PyPI. Does nothing when the venv
# is already complete.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -x .venv/bin/openapi-spec-validator ]] && cmp -s requirements.txt .venv/requirements.installed; then
    exit 0
fi
rm -rf .venv
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
cp requirements.txt .venv/requirements.installed
echo "tests/openapi/setup.sh: installed openapi-spec-validator $(.venv/bin/python -c 'from importlib.metadata import version; print(version("openapi-spec-validator"))')"
