#!/usr/bin/env bash
# tests/schemathesis/setup.sh — installs schemathesis, the property-based API
# tester the schemathesis test (crates/cli/tests/schemathesis.rs) runs against the
# OpenAPI document, into tests/schemathesis/.venv from the exact pins in
# requirements.txt. Needs python3 with venv and PyPI. Does nothing when the venv
# is already complete.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -x .venv/bin/schemathesis ]] && cmp -s requirements.txt .venv/requirements.installed; then
    exit 0
fi
rm -rf .venv
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
cp requirements.txt .venv/requirements.installed
echo "tests/schemathesis/setup.sh: installed $(.venv/bin/schemathesis --version)"
