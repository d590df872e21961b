#!/usr/bin/env bash
# tests/fhirjs/setup.sh — installs the second independent FHIR validator the FHIR
# tests use (FHIR.js, the `fhir` npm package) into tests/fhirjs/node_modules from
# the exact lock in package-lock.json. Needs node and npm. Does nothing when it is
# already installed from this lock.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -f node_modules/fhir/package.json ]] && cmp -s package-lock.json node_modules/.package-lock.installed; then
    exit 0
fi
npm ci --no-audit --no-fund --silent
cp package-lock.json node_modules/.package-lock.installed
echo "tests/fhirjs/setup.sh: installed FHIR.js $(node -p 'require("fhir/package.json").version')"
