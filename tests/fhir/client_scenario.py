"""A real FHIR client (fhirpy) against a running Samhand.

Usage: client_scenario.py BASE CLIENT_ID CLIENT_SECRET FNR
  1. gets a token by OAuth2 client credentials (client_secret_basic),
  2. finds the patient by fødselsnummer (identifier search),
  3. reads the patient's dose order (MedicationRequest),
  4. posts a laboratory's drug test result (Observation) and reads it back,
  5. pages through the dispensing history (MedicationAdministration and
     MedicationDispense, _count=2, following the next links).
Prints what it found as one JSON object on the last line.
"""

import base64
import json
import sys
import urllib.parse
import urllib.request

from fhirpy import SyncFHIRClient

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def token(base, client_id, secret):
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "scope": "system/*.read system/Observation.write"}
    ).encode()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        f"{base}/token",
        data=body,
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)
    assert answer["token_type"].lower() == "bearer", answer
    return answer["access_token"]


def main(base, client_id, secret, fnr):
    client = SyncFHIRClient(base, authorization=f"Bearer {token(base, client_id, secret)}")
    patients = client.resources("Patient").search(identifier=f"{FNR_SYSTEM}|{fnr}").fetch()
    assert len(patients) == 1, patients
    patient = patients[0]
    assert patient["identifier"][0]["value"] == fnr

    orders = client.resources("MedicationRequest").search(patient=patient.id).fetch()
    assert orders, "no MedicationRequest"
    order = client.reference("MedicationRequest", orders[0].id).to_resource()
    daily_mg = order["dosageInstruction"][0]["maxDosePerPeriod"]["numerator"]["value"]

    observation = client.resource(
        "Observation",
        status="final",
        category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        code={"text": "Rusmiddeltest"},
        subject={"reference": f"Patient/{patient.id}", "identifier": {"system": FNR_SYSTEM, "value": fnr}},
        effectiveDateTime="2026-11-20",
        performer=[{"display": "Fjordvik sykehus, laboratoriet"}],
        method={"coding": [{"code": "supervised"}]},
        component=[
            {
                "code": {"coding": [{"code": "AMPH", "display": "Amfetamin"}]},
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]},
            }
        ],
    )
    observation.save()
    assert observation.id, "the created Observation has no id"
    stored = client.reference("Observation", observation.id).to_resource()
    assert stored["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "260385009"

    pages = {}
    for resource_type in ("MedicationAdministration", "MedicationDispense"):
        search = client.resources(resource_type).search(patient=patient.id).limit(2)
        first_page = search.fetch()
        everything = search.fetch_all()
        assert len(first_page) <= 2
        pages[resource_type] = {"first_page": len(first_page), "all": len(everything)}

    print(
        json.dumps(
            {
                "patient": patient.id,
                "order": order.id,
                "daily_mg": daily_mg,
                "observation": observation.id,
                "pages": pages,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
