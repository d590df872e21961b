"""A real FHIR client (fhirpy) against a running Samhand.

Usage: client_scenario.py BASE CLIENT_ID CLIENT_SECRET FNR NEW_FNR
  1. gets a token by OAuth2 client credentials (client_secret_basic),
  2. finds the patient by fødselsnummer (identifier search),
  3. reads the patient's dose order (MedicationRequest) and follows its
     requester to the Practitioner,
  4. posts a laboratory's drug test result (Observation) and reads it back,
  5. pages through the dispensing history (MedicationAdministration and
     MedicationDispense, _count=2, following the next links),
  6. registers a new patient (NEW_FNR) with a conditional create, twice: the
     second answers with the first,
  7. updates the new patient's phone (a new version), and sees a stale update
     (If-Match on the old version) refused,
  8. corrects the drug test result (an update: a new version, status corrected)
     and reads the first version back (vread).
Prints what it found as one JSON object on the last line.
"""

import base64
import json
import sys
import urllib.parse
import urllib.request

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import MultipleResourcesFound

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def token(base, client_id, secret):
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "scope": "system/*.read system/Observation.write system/Patient.write",
        }
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


def main(base, client_id, secret, fnr, new_fnr):
    bearer = f"Bearer {token(base, client_id, secret)}"
    client = SyncFHIRClient(base, authorization=bearer)
    patients = client.resources("Patient").search(identifier=f"{FNR_SYSTEM}|{fnr}").fetch()
    assert len(patients) == 1, patients
    patient = patients[0]
    assert patient["identifier"][0]["value"] == fnr

    orders = client.resources("MedicationRequest").search(patient=patient.id).fetch()
    assert orders, "no MedicationRequest"
    order = client.reference("MedicationRequest", orders[0].id).to_resource()
    daily_mg = order["dosageInstruction"][0]["maxDosePerPeriod"]["numerator"]["value"]
    # The prescriber is a link the client follows: a literal reference to a
    # Practitioner, whose identifier is the one the reference carries.
    requester = client.reference(reference=order["requester"]["reference"]).to_resource()
    assert requester.resource_type == "Practitioner", requester
    assert order["requester"]["identifier"] in [
        {"system": i["system"], "value": i["value"]} for i in requester["identifier"]
    ], (order["requester"], requester)

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

    # 6. Register a person (conditional create on the identifier: fhirpy sends it
    # as a query parameter), then the same again: answered with the first.
    def new_person():
        return client.resource(
            "Patient",
            identifier=[{"system": FNR_SYSTEM, "value": new_fnr}],
            name=[{"use": "official", "family": "Nyregistrert", "given": ["Nina"]}],
            telecom=[{"system": "phone", "value": "41000000"}],
            address=[{"use": "home", "text": "Storgata 2, 9000 Fjordvik"}],
            extension=[
                {"url": "https://samhand.no/fhir/StructureDefinition/lar-doctor", "valueIdentifier": {"value": "lege"}},
                {"url": "https://samhand.no/fhir/StructureDefinition/lar-consultant", "valueIdentifier": {"value": "konsulent"}},
            ],
        )

    registered = new_person().create(identifier=f"{FNR_SYSTEM}|{new_fnr}")
    assert registered.id and registered["meta"]["versionId"] == "1", registered
    again = new_person().create(identifier=f"{FNR_SYSTEM}|{new_fnr}")
    assert again.id == registered.id, (again.id, registered.id)

    # 7. Update the phone: a new version. A client that still holds version 1
    # (If-Match W/"1") is refused with 412.
    registered["telecom"] = [{"system": "phone", "value": "42000000", "use": "mobile"}]
    registered.save()
    assert registered["meta"]["versionId"] == "2", registered
    stale_client = SyncFHIRClient(base, authorization=bearer, extra_headers={"If-Match": 'W/"1"'})
    stale = stale_client.resource("Patient", **{k: v for k, v in registered.items() if k != "resourceType"})
    stale["telecom"] = [{"system": "phone", "value": "43000000"}]
    try:
        stale.save()
        raise AssertionError("a stale update was accepted")
    except MultipleResourcesFound:  # fhirpy's name for a 412
        pass
    current = client.reference("Patient", registered.id).to_resource()
    assert current["telecom"][0]["value"] == "42000000", current

    # 8. Correct the drug test: positive after all, with why.
    stored["component"][0]["valueCodeableConcept"] = {
        "coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]
    }
    stored["note"] = [{"text": "Feil i første analyse"}]
    stored.save()
    assert stored["status"] == "corrected" and stored["meta"]["versionId"] == "2", stored
    first = client.execute(f"Observation/{observation.id}/_history/1", method="get")
    assert first["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "260385009", first

    print(
        json.dumps(
            {
                "patient": patient.id,
                "order": order.id,
                "daily_mg": daily_mg,
                "requester": requester.id,
                "observation": observation.id,
                "observation_version": stored["meta"]["versionId"],
                "registered": registered.id,
                "registered_version": current["meta"]["versionId"],
                "pages": pages,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
