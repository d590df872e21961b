#!/usr/bin/env bash
# tests/fhir/setup.sh — installs the independent FHIR tools the FHIR tests use
# (the fhir.resources R4 models as validator, the fhirpy client) into
# tests/fhir/.venv, from the exact pins in requirements.txt. Needs python3 with
# venv and PyPI. Does nothing when the venv is already complete.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import fhir.resources, fhirpy' 2>/dev/null \
    && cmp -s requirements.txt .venv/requirements.installed; then
    exit 0
fi
rm -rf .venv
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
cp requirements.txt .venv/requirements.installed
echo "tests/fhir/setup.sh: installed $(.venv/bin/python -c 'import fhir.resources as r; print("fhir.resources", r.__version__, "FHIR", r.__fhir_version__)')"
