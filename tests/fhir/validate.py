"""Validates FHIR R4 JSON resources with an independent implementation.

Usage: validate.py DIR — every *.json file in DIR is parsed with the
fhir.resources (R4, 4.0.1) model of its resourceType; a Bundle's entries are
validated as part of it. Prints one line per file and exits non-zero with the
validation errors when any file is not valid R4.
"""

import importlib
import json
import pathlib
import sys

import fhir.resources

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__


def model_of(resource_type):
    module = importlib.import_module(f"fhir.resources.{resource_type.lower()}")
    return getattr(module, resource_type)


def main(directory):
    files = sorted(pathlib.Path(directory).glob("*.json"))
    if not files:
        print(f"validate.py: no JSON files in {directory}", file=sys.stderr)
        return 2
    failures = 0
    seen = set()
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        resource_type = data.get("resourceType", "?")
        try:
            model_of(resource_type).parse_obj(data)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            failures += 1
            print(f"INVALID {path.name} ({resource_type}):\n{error}\n")
            continue
        seen.add(resource_type)
        print(f"valid   {path.name} ({resource_type})")
    print(f"validate.py: {len(files) - failures} valid, {failures} invalid; types: {', '.join(sorted(seen))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
