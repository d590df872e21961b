"""One poll of a system that syncs by `_lastUpdated`, with a real FHIR client (fhirpy).

Usage: sync_poll.py BASE TOKEN PATIENT SINCE TYPE...
Searches each TYPE for the patient with `_lastUpdated=ge{SINCE}` (SINCE as written,
an offset such as +01:00 kept), following the next links, and prints what it found
as one JSON object on the last line: {TYPE: [[id, versionId, lastUpdated], ...]}.
"""

import json
import sys

from fhirpy import SyncFHIRClient


def main(base, token, patient, since, kinds):
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    found = {}
    for kind in kinds:
        search = client.resources(kind).search(patient=patient, _lastUpdated=f"ge{since}").limit(2)
        found[kind] = [
            [r.id, r["meta"]["versionId"], r["meta"]["lastUpdated"]] for r in search.fetch_all()
        ]
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
