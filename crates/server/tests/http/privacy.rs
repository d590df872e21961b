//! The privacy spine at HTTP level: the authorisation matrix over every endpoint that
//! touches patient data, consents taking effect at once, emergency access and its
//! review, the patient's access log, and the patient acting for themself.

use reqwest::StatusCode;
use samhand_domain::ids::UserId;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, read, spawn_app, start_day};

impl TestApp {
    /// A token for the patient themself, issued by the LAR doctor.
    pub async fn patient_token(&self, patient: &str) -> Staff {
        let (status, body) = self
            .post_json(
                &self.world.lege,
                &format!("/api/v1/patients/{patient}/patient-token"),
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Staff {
            id: UserId::new(),
            username: "pasient",
            token: body["token"].as_str().expect("token").to_string(),
        }
    }

    pub async fn consent(
        &self,
        actor: &Staff,
        patient: &str,
        organisation: impl ToString,
        category: &str,
        give: bool,
    ) {
        let (status, body) = self
            .post_json(
                actor,
                &format!("/api/v1/patients/{patient}/consents"),
                &json!({
                    "organisation_id": organisation.to_string(),
                    "category": category,
                    "decision": if give { "give" } else { "withdraw" },
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "consent: {body}");
    }

    /// Seats a member; the patient shares what they dispense with the member's
    /// organisation (a seat from another organisation needs some consent).
    pub async fn add_to_team(&self, patient: &str, username: &str, role: &str) -> Value {
        let (status, body) = self
            .post_json(
                &self.world.konsulent,
                &format!("/api/v1/patients/{patient}/care-team"),
                &json!({"username": username, "role": role, "share": ["dispensing"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "care team: {body}");
        body
    }

    pub async fn open_emergency(&self, staff: &Staff, patient: &str, reason: &str) -> (StatusCode, Value) {
        self.post_json(
            staff,
            "/api/v1/emergency-accesses",
            &json!({"patient_id": patient, "reason": reason}),
        )
        .await
    }

    /// How many entries the whole audit log has.
    async fn audit_total(&self) -> usize {
        let mut conn = self.state.store.read().await.expect("conn");
        samhand_store::audit::latest(&mut conn, 1)
            .await
            .expect("audit")
            .first()
            .map_or(0, |e| e.seq as usize)
    }
}

/// One request of the matrix.
struct Call {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Value,
}

fn get(name: &'static str, path: String) -> Call {
    Call {
        name,
        method: "GET",
        path,
        body: Value::Null,
    }
}

fn post(name: &'static str, path: String, body: Value) -> Call {
    Call {
        name,
        method: "POST",
        path,
        body,
    }
}

/// What an actor may do: `Allow` means any answer but 401/403 (a write may still be
/// refused for a clinical reason such as "already dispensed"), `Deny` means 403.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Allow,
    Deny,
}
use Expect::{Allow, Deny};

#[tokio::test]
async fn the_authorisation_matrix_holds_for_every_patient_endpoint_and_every_attempt_is_audited() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(70).await;
    let other = app.patient_on_daily_methadone(71).await;
    // The GP sits in the care team, and the patient has shared medication and
    // dispensing with the GP's office. The colleague at the same office has no seat.
    app.add_to_team(&patient, "fastlege", "member").await;
    app.consent(&w.konsulent, &patient, w.gp_office, "medication", true)
        .await;
    app.consent(&w.konsulent, &patient, w.gp_office, "dispensing", true)
        .await;
    // The pharmacy covers a day next week and the patient shares health information
    // with it; the centre, the place of the arrangement, has no such consent.
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{patient}/covers"),
            &json!({"date": "2026-11-27", "place_id": w.pharmacy.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.consent(&w.konsulent, &patient, w.pharmacy, "health_information", true)
        .await;
    let (status, body) = app
        .post_json(
            &w.lege,
            &format!("/api/v1/patients/{patient}/health-information"),
            &json!({"kind": "epilepsy", "text": "Anfall ved abstinens; ring 113 ved anfall over 5 minutter"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let me = app.patient_token(&patient).await;
    let someone_else = app.patient_token(&other).await;
    let (status, body) = app
        .open_emergency(
            &w.akuttlege,
            &patient,
            "Innlagt bevisstløs, trenger legemiddelliste",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["70"],
            start_day(),
        )
        .await;
    let draft_id = draft["id"].as_str().expect("draft id").to_string();

    let p = &patient;
    let calls = vec![
        get("overview", format!("/api/v1/patients/{p}")),
        get("dose order history", format!("/api/v1/patients/{p}/dose-orders")),
        get(
            "dose order warnings",
            format!("/api/v1/dose-orders/{draft_id}/warnings"),
        ),
        get(
            "health information",
            format!("/api/v1/patients/{p}/health-information"),
        ),
        get("privacy", format!("/api/v1/patients/{p}/privacy")),
        get("access log", format!("/api/v1/patients/{p}/access-log")),
        post(
            "draft order",
            format!("/api/v1/patients/{p}/dose-orders"),
            json!({"substance": "methadone_oral_solution", "form": "oral_solution", "parts_mg": [65],
                "effective_from": start_day().to_string(), "reason": "Justering"}),
        ),
        post(
            "record health note",
            format!("/api/v1/patients/{p}/health-information"),
            json!({"kind": "allergy", "text": "Penicillin"}),
        ),
        post(
            "sign order",
            format!("/api/v1/dose-orders/{draft_id}/sign"),
            json!({}),
        ),
        post(
            "arrangement",
            format!("/api/v1/patients/{p}/arrangements"),
            json!({"place_id": w.centre.to_string(), "days": vec!["attend"; 7], "valid_from": start_day().to_string(),
                "review_on": "2027-02-01", "window_start": "08.00", "window_end": "09.30", "reason": "Ny ordning"}),
        ),
        post(
            "cover",
            format!("/api/v1/patients/{p}/covers"),
            json!({"date": "2026-12-25", "take_home_from": "2026-12-24"}),
        ),
        post(
            "consent",
            format!("/api/v1/patients/{p}/consents"),
            json!({"organisation_id": w.nav_office.to_string(), "category": "nav_information", "decision": "give"}),
        ),
        post(
            "care team seat",
            format!("/api/v1/patients/{p}/care-team"),
            json!({"username": "nav", "role": "member", "share": ["nav_information"]}),
        ),
        post(
            "patient token",
            format!("/api/v1/patients/{p}/patient-token"),
            json!({}),
        ),
        post(
            "record dispensing",
            "/api/v1/dispensings".into(),
            json!({"patient_id": p, "identity_confirmed": true}),
        ),
        post(
            "end treatment",
            format!("/api/v1/patients/{p}/end"),
            json!({"ended_on": "2026-12-01", "reason": "voluntary_discharge"}),
        ),
    ];
    // Columns: care-team member (with consent), dispensing place (no consent beyond
    // its relation), unrelated staff of the care-team member's organisation, staff of
    // another organisation, the patient, another patient, emergency access.
    let actors: [(&str, &Staff); 8] = [
        ("care team member", &w.fastlege),
        ("dispensing place without consent", &w.utdeler),
        ("dispensing place with consent", &w.apotek),
        ("unrelated, same organisation", &w.fastlege2),
        ("another organisation", &w.fremmed_lege),
        ("patient self", &me),
        ("another patient", &someone_else),
        ("emergency access", &w.akuttlege),
    ];
    let expected: [[Expect; 8]; 16] = [
        // care, place, place+consent, same org, other org, self, other patient, emergency
        [Allow, Allow, Allow, Deny, Deny, Allow, Deny, Allow], // overview
        [Allow, Allow, Allow, Deny, Deny, Allow, Deny, Allow], // dose order history
        [Allow, Allow, Allow, Deny, Deny, Allow, Deny, Allow], // dose order warnings
        [Deny, Deny, Allow, Deny, Deny, Allow, Deny, Allow],   // health information
        [Deny, Deny, Deny, Deny, Deny, Allow, Deny, Deny],     // privacy
        [Deny, Deny, Deny, Deny, Deny, Allow, Deny, Deny],     // access log
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // draft order
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // record health note
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // sign order
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // arrangement
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // cover
        [Deny, Deny, Deny, Deny, Deny, Allow, Deny, Deny],     // consent
        [Deny, Deny, Deny, Deny, Deny, Allow, Deny, Deny],     // care team seat
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],      // patient token (LAR unit staff only)
        [Deny, Allow, Allow, Deny, Deny, Deny, Deny, Deny], // record dispensing (the pharmacy: nothing due today, 409)
        [Deny, Deny, Deny, Deny, Deny, Deny, Deny, Deny],   // end treatment
    ];
    assert_eq!(calls.len(), expected.len(), "one row of expectations per call");
    let mut failures = Vec::new();
    for (call, row) in calls.iter().zip(expected) {
        for ((actor_name, actor), expect) in actors.iter().zip(row) {
            let before = app.audit_total().await;
            let request = match call.method {
                "GET" => app.get(actor, &call.path),
                _ => app
                    .post(actor, &call.path, &call.body)
                    .header("Idempotency-Key", format!("{}-{actor_name}", call.name)),
            };
            let (status, body) = read(request.send().await.expect("send")).await;
            let got = if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED {
                Deny
            } else {
                Allow
            };
            if got != expect || status.is_server_error() {
                failures.push(format!(
                    "{} as {actor_name}: expected {expect:?}, got {status} {body}",
                    call.name
                ));
            }
            let after = app.audit_total().await;
            if after <= before {
                failures.push(format!(
                    "{} as {actor_name}: the attempt ({status}) is not in the audit log",
                    call.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_consent_takes_effect_at_once_and_its_withdrawal_too() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(72).await;
    let path = format!("/api/v1/patients/{patient}");
    app.add_to_team(&patient, "fastlege", "member").await;
    let (status, _) = app.get_json(&w.fastlege, &path).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a seat alone shows who the patient is, not the medication"
    );
    app.consent(&w.konsulent, &patient, w.gp_office, "medication", true)
        .await;
    app.consent(&w.konsulent, &patient, w.gp_office, "dispensing", true)
        .await;
    let (status, body) = app.get_json(&w.fastlege, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The patient withdraws it themself; the next request is refused.
    let me = app.patient_token(&patient).await;
    app.consent(&me, &patient, w.gp_office, "medication", false).await;
    let (status, body) = app.get_json(&w.fastlege, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["detail"],
        json!("Du har ikke tilgang til denne pasientens opplysninger.")
    );

    let (status, privacy) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert_eq!(status, StatusCode::OK, "{privacy}");
    let history = privacy["consent_history"].as_array().expect("history");
    // One with the seat, two given, one withdrawn.
    assert_eq!(history.len(), 4, "every decision is kept: {privacy}");
    assert_eq!(history[0]["given"], json!(false));
    assert_eq!(history[0]["by_patient"], json!(true));
    let in_force: Vec<&str> = privacy["consents_in_force"]
        .as_array()
        .expect("in force")
        .iter()
        .map(|c| c["category"].as_str().expect("category"))
        .collect();
    assert_eq!(in_force, vec!["dispensing"]);
    // The summary says what the GP can see now: identity and dispensing, not medication.
    let gp_line = privacy["sharing"]
        .as_array()
        .expect("sharing")
        .iter()
        .find(|l| l["organisation"]["id"] == json!(w.gp_office.to_string()))
        .expect("the GP's line")
        .clone();
    assert_eq!(gp_line["categories"], json!(["identity", "dispensing"]));
    assert_eq!(gp_line["user"]["name"], json!("Fastlege Frode"));
}

#[tokio::test]
async fn bad_consent_input_gets_field_errors_and_changes_nothing() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(73).await;
    let (status, body) = app
        .post_json(
            &app.world.konsulent,
            &format!("/api/v1/patients/{patient}/consents"),
            &json!({"organisation_id": "nope", "category": "privacy", "decision": "maybe"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        crate::helpers::error_fields(&body),
        vec!["organisation_id", "category", "decision"]
    );
    let (_, privacy) = app
        .get_json(
            &app.world.konsulent,
            &format!("/api/v1/patients/{patient}/privacy"),
        )
        .await;
    assert_eq!(privacy["consent_history"], json!([]));
}

#[tokio::test]
async fn an_ended_care_team_seat_ends_the_access() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(74).await;
    let seat = app.add_to_team(&patient, "fastlege", "coordinator").await;
    app.consent(&w.konsulent, &patient, w.gp_office, "medication", true)
        .await;
    let history = format!("/api/v1/patients/{patient}/dose-orders");
    assert_eq!(app.get_json(&w.fastlege, &history).await.0, StatusCode::OK);
    // A second coordinator is refused while the first sits.
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/patients/{patient}/care-team"),
            &json!({"username": "fastlege2", "role": "coordinator", "share": ["medication"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let seat_id = seat["id"].as_str().expect("seat id");
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/care-team-members/{seat_id}/end"),
            &json!({"reason": "Byttet fastlege"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(app.get_json(&w.fastlege, &history).await.0, StatusCode::FORBIDDEN);
    let (_, privacy) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert_eq!(privacy["care_team"][0]["end_reason"], json!("Byttet fastlege"));
}

#[tokio::test]
async fn emergency_access_needs_a_reason_expires_is_flagged_shown_to_the_patient_and_reviewed() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(75).await;
    let path = format!("/api/v1/patients/{patient}");
    assert_eq!(app.get_json(&w.akuttlege, &path).await.0, StatusCode::FORBIDDEN);

    // No reason, no access.
    let (status, body) = app.open_emergency(&w.akuttlege, &patient, "akutt").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(crate::helpers::error_fields(&body), vec!["reason"]);
    assert_eq!(app.get_json(&w.akuttlege, &path).await.0, StatusCode::FORBIDDEN);
    // NAV is not health personnel; someone with a relation does not need it.
    let (status, _) = app
        .open_emergency(&w.nav, &patient, "Trenger å vite dosen nå")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .open_emergency(&w.utdeler, &patient, "Trenger å vite dosen nå")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // By national identity number, as at the emergency department.
    let national_id = app.overview(&patient).await["patient"]["national_id"]
        .as_str()
        .expect("national id")
        .to_string();
    let (status, access) = app
        .post_json(
            &w.akuttlege,
            "/api/v1/emergency-accesses",
            &json!({"national_id": national_id, "reason": "Bevisstløs i akuttmottak, trenger dosen"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{access}");
    assert_eq!(access["patient_id"], json!(patient));
    assert_eq!(access["organisation"]["id"], json!(w.hospital.to_string()));
    let (status, body) = app.get_json(&w.akuttlege, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Emergency access reads what treatment needs, and writes nothing.
    assert_eq!(
        app.get_json(&w.akuttlege, &format!("/api/v1/patients/{patient}/privacy"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Flagged in the audit log, under the emergency relation.
    let mut conn = app.state.store.read().await.expect("conn");
    let entries = samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1000)
        .await
        .expect("audit");
    drop(conn);
    assert!(
        entries
            .iter()
            .any(|e| e.relation == "emergency_access" && e.detail.contains("Bevisstløs i akuttmottak"))
    );

    // Shown to the patient, highlighted.
    let me = app.patient_token(&patient).await;
    let (status, log) = app
        .get_json(&me, &format!("/api/v1/patients/{patient}/access-log"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let emergency: Vec<&Value> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|l| l["emergency"] == json!(true))
        .collect();
    assert!(!emergency.is_empty(), "{log}");
    assert_eq!(emergency[0]["who"], json!("Akuttlege Astrid"));
    assert_eq!(
        emergency[0]["organisation"],
        json!("Fjordvik sykehus, akuttmottak")
    );

    // The hospital's leader reviews it.
    let (status, list) = app
        .get_json(&w.hospital_leader, "/api/v1/emergency-accesses")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list.as_array().expect("list");
    assert_eq!(items.len(), 1, "{list}");
    assert!(items[0]["reviewed_at"].is_null());
    assert!(
        items[0]["patient_name"].is_string(),
        "the reviewer sees whose record: {list}"
    );
    let id = items[0]["id"].as_str().expect("id");
    // Only a leader reviews, and only a leader of a unit involved.
    for staff in [&w.koordinator, &w.akuttlege] {
        let (status, _) = app
            .post_json(
                staff,
                &format!("/api/v1/emergency-accesses/{id}/review"),
                &json!({"note": "ok"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", staff.username);
    }
    let (status, body) = app
        .post_json(
            &w.hospital_leader,
            &format!("/api/v1/emergency-accesses/{id}/review"),
            &json!({"note": "Begrunnet: bevisstløs pasient"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = app
        .get_json(&w.hospital_leader, "/api/v1/emergency-accesses")
        .await;
    assert!(list[0]["reviewed_at"].is_string(), "{list}");
    // The patient's LAR unit's leader sees it too.
    let (_, list) = app.get_json(&w.leder, "/api/v1/emergency-accesses").await;
    assert_eq!(list.as_array().expect("list").len(), 1);

    // Time-limited: after the policy's hours, the access is gone.
    app.clock.advance(jiff::SignedDuration::from_hours(5));
    assert_eq!(app.get_json(&w.akuttlege, &path).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_access_log_names_readers_by_name_organisation_and_time_and_not_the_patient() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(76).await;
    let me = app.patient_token(&patient).await;
    app.get_json(&w.utdeler, &format!("/api/v1/patients/{patient}"))
        .await;
    app.get_json(&me, &format!("/api/v1/patients/{patient}")).await;
    // A refused attempt is audited but is not a reading of the record.
    app.get_json(&w.utdeler2, &format!("/api/v1/patients/{patient}"))
        .await;
    let (status, log) = app
        .get_json(&me, &format!("/api/v1/patients/{patient}/access-log"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let lines = log.as_array().expect("lines");
    let who: Vec<&str> = lines.iter().map(|l| l["who"].as_str().expect("who")).collect();
    assert!(who.contains(&"Utdeler Ulla"), "{log}");
    assert!(who.contains(&"Lege Lise"), "{log}");
    assert!(!who.contains(&"Utdeler Ulf"), "{log}");
    assert!(lines.iter().all(|l| l["role"] != json!("patient")));
    let ulla = lines
        .iter()
        .find(|l| l["who"] == json!("Utdeler Ulla"))
        .expect("Ulla");
    assert_eq!(ulla["organisation"], json!("LAR-senteret Sentrum"));
    assert_eq!(ulla["relation"], json!("dispensing_place"));
    assert!(
        ulla["at"].as_str().expect("at").starts_with("2026-11-23T08:00"),
        "{ulla}"
    );
}

#[tokio::test]
async fn a_patient_token_is_refused_on_staff_endpoints_and_the_attempt_is_audited() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(77).await;
    let me = app.patient_token(&patient).await;
    for path in [
        "/api/v1/dispensing/today",
        "/api/v1/patients?q=ol",
        "/api/v1/alerts",
        "/api/v1/stock",
    ] {
        let (status, body) = app.get_json(&me, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let mut conn = app.state.store.read().await.expect("conn");
    let latest = samhand_store::audit::latest(&mut conn, 10).await.expect("audit");
    assert!(
        latest
            .iter()
            .filter(|e| e.actor_role == "patient" && !e.allowed)
            .count()
            >= 4
    );
}

#[tokio::test]
async fn health_information_reaches_todays_list_only_with_the_patients_consent() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(78).await;
    let path = format!("/api/v1/patients/{patient}/health-information");
    let (status, note) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "epilepsy", "text": "Kjent epilepsi; anfall ved abstinens"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["health_information"], Value::Null, "not shared: {row}");

    app.consent(&w.konsulent, &patient, w.centre, "health_information", true)
        .await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["health_information"][0]["kind"], json!("epilepsy"), "{row}");
    assert_eq!(
        row["health_information"][0]["text"],
        json!("Kjent epilepsi; anfall ved abstinens")
    );

    // A correction is a new version; the list shows it, the history keeps both.
    let (status, body) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "epilepsy", "text": "Kjent epilepsi; bruker Lamictal", "replaces": note["id"],
                "reason": "Oppdatert etter nevrolog"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    let notes = row["health_information"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{row}");
    assert_eq!(notes[0]["text"], json!("Kjent epilepsi; bruker Lamictal"));
    let (_, view) = app.get_json(&w.utdeler, &path).await;
    assert_eq!(view["history"].as_array().expect("history").len(), 2, "{view}");
    // Correcting the old version again would fork the history: refused.
    let (status, body) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "epilepsy", "text": "x", "replaces": note["id"], "reason": "y"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let me = app.patient_token(&patient).await;
    app.consent(&me, &patient, w.centre, "health_information", false)
        .await;
    let row = app.row_on_list(&w.utdeler, &patient).await.expect("on the list");
    assert_eq!(row["health_information"], Value::Null, "withdrawn: {row}");
    assert_eq!(app.get_json(&w.utdeler, &path).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_privacy_page_records_a_consent_and_refuses_a_bad_one_in_norwegian() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(79).await;
    let session = app.session_of("konsulent").await;
    let path = format!("/pasienter/{patient}/personvern");
    let (status, html) = app.page(&session, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Hvem kan se hva nå"), "{html}");
    assert!(
        html.contains("LAR-senteret Sentrum"),
        "the place of the arrangement is listed: {html}"
    );

    let (status, html, _) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/samtykke"),
            &[("note", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Velg virksomheten samtykket gjelder."), "{html}");
    assert!(
        html.contains("Velg om samtykket gis eller trekkes tilbake."),
        "{html}"
    );
    assert!(
        html.contains("value=\"x\"") || html.contains(">x</textarea>"),
        "keeps what was typed: {html}"
    );

    let gp = w.gp_office.to_string();
    let (status, _, location) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/samtykke"),
            &[
                ("organisation", gp.as_str()),
                ("category", "plan_and_goals"),
                ("decision", "give"),
                ("note", "Muntlig samtykke i samtale"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (_, html) = app.page(&session, &path).await;
    assert!(html.contains("Brygga legekontor: Plan og mål"), "{html}");
    assert!(html.contains("Muntlig samtykke i samtale"), "{html}");

    let (status, html, _) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/ansvarsgruppe"),
            &[
                ("user", "fastlege"),
                ("role", "coordinator"),
                ("share", "plan_and_goals"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = app.page(&session, &path).await;
    assert!(html.contains("Fastlege Frode"), "{html}");

    // The dispensing place sees no privacy page, with a Norwegian refusal.
    let utdeler = app.session_of("utdeler").await;
    let (status, html) = app.page(&utdeler, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        html.contains("Du har ikke tilgang til denne pasientens opplysninger."),
        "{html}"
    );
}

#[tokio::test]
async fn emergency_access_through_the_web_ui_shows_a_banner_and_reaches_the_leaders_review() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(80).await;
    let session = app.session_of("akuttlege").await;
    let overview = format!("/pasienter/{patient}");
    let (status, html) = app.page(&session, &overview).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Be om akuttilgang"), "{html}");

    let (status, html, _) = app
        .submit(
            &session,
            "/akuttilgang",
            &[("patient", patient.as_str()), ("reason", "kort")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv en begrunnelse på minst 10 tegn."), "{html}");
    assert_eq!(app.page(&session, &overview).await.0, StatusCode::FORBIDDEN);

    let (status, _, location) = app
        .submit(
            &session,
            "/akuttilgang",
            &[
                ("patient", patient.as_str()),
                ("reason", "Innlagt etter overdose, trenger dosen"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(overview.as_str()));
    let (status, html) = app.page(&session, &overview).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Akuttilgang"), "{html}");
    assert!(html.contains("Innlagt etter overdose, trenger dosen"), "{html}");

    let leader = app.session_of("sykehusleder").await;
    let (status, html) = app.page(&leader, "/akuttilganger").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Akuttlege Astrid"), "{html}");
    let form_action = html
        .split("action=\"")
        .find_map(|rest| rest.split('"').next().filter(|a| a.ends_with("/kontroll")))
        .expect("a review form")
        .to_string();
    let (status, _, _) = app.submit(&leader, &form_action, &[("note", "Begrunnet")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = app.page(&leader, "/akuttilganger").await;
    assert!(html.contains("Kontrollert"), "{html}");

    // The LAR unit sees it in the access log, highlighted.
    let konsulent = app.session_of("konsulent").await;
    let (status, html) = app
        .page(&konsulent, &format!("/pasienter/{patient}/innsyn"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("AKUTTILGANG"), "{html}");
    assert!(html.contains("Fjordvik sykehus, akuttmottak"), "{html}");
}

#[tokio::test]
async fn a_member_from_another_organisation_needs_the_patients_consent_to_be_seated() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(81).await;
    let path = format!("/api/v1/patients/{patient}/care-team");
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &path,
            &json!({"username": "fastlege", "role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(crate::helpers::error_fields(&body), vec!["share"]);
    let (_, privacy) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert_eq!(privacy["care_team"], json!([]), "nothing changed: {privacy}");
    // A colleague at the LAR unit needs none: the unit is responsible.
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &path,
            &json!({"username": "lege", "role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // With the consent given at the same time, the GP is seated and sees just that.
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &path,
            &json!({"username": "fastlege", "role": "member", "share": ["medication", "dispensing"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.get_json(&w.fastlege, &format!("/api/v1/patients/{patient}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get_json(
            &w.fastlege,
            &format!("/api/v1/patients/{patient}/health-information")
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_patient_names_next_of_kin_and_what_they_may_be_told() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(82).await;
    let me = app.patient_token(&patient).await;
    let path = format!("/api/v1/patients/{patient}/people");
    let (status, body) = app
        .post_json(
            &me,
            &path,
            &json!({"name": " ", "relation": "cousin", "phone": "abc"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        crate::helpers::error_fields(&body),
        vec!["name", "relation", "phone"]
    );
    let (status, person) = app
        .post_json(
            &me,
            &path,
            &json!({"name": "Mor Berit", "relation": "next_of_kin", "phone": "+47 912 34 567",
                "may_be_told": "At jeg er i behandling og hvor jeg henter. Ikke om rusmiddeltester.", "in_care_team": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let (_, privacy) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert_eq!(privacy["people"][0]["name"], json!("Mor Berit"));
    assert_eq!(privacy["people"][0]["in_care_team"], json!(true));
    // Someone else's patient token cannot name people for this patient.
    let other = app.patient_on_daily_methadone(83).await;
    let theirs = app.patient_token(&other).await;
    let (status, _) = app
        .post_json(&theirs, &path, &json!({"name": "X", "relation": "peer"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = person["id"].as_str().expect("id");
    let (status, _) = app
        .post_json(
            &me,
            &format!("/api/v1/people/{id}/end"),
            &json!({"reason": "Ikke lenger kontakt"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, privacy) = app
        .get_json(&me, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert!(privacy["people"][0]["ended_at"].is_string(), "{privacy}");
}

/// The rows of the access-log table on the staff page, as the text of their cells.
fn access_log_rows(html: &str) -> Vec<Vec<String>> {
    let table = html
        .split("data-testid=\"access-log\"")
        .nth(1)
        .expect("the access log table");
    let body = &table[table.find("<tbody>").expect("tbody")..table.find("</tbody>").expect("end")];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| {
                    // The cell's text without its inner tags.
                    let cell = &cell[..cell.find("</td>").unwrap_or(cell.len())];
                    let mut text = String::new();
                    let mut in_tag = false;
                    for c in cell.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn one_page_view_is_one_line_of_the_access_log_saying_what_was_seen() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(78).await;
    let day = start_day();
    let overview = format!("/pasienter/{patient}");

    // Ulla opens the overview twice, a few minutes apart.
    app.set_oslo_time(day, jiff::civil::Time::constant(10, 0, 5, 0));
    let ulla = app.session_of("utdeler").await;
    let (status, _) = app.page(&ulla, &overview).await;
    assert_eq!(status, StatusCode::OK);
    app.set_oslo_time(day, jiff::civil::Time::constant(10, 4, 0, 0));
    app.page(&ulla, &overview).await;

    // The raw log has an entry per category read; the page has a line per view.
    let me = app.patient_token(&patient).await;
    let (_, raw) = app
        .get_json(&me, &format!("/api/v1/patients/{patient}/access-log"))
        .await;
    let ulla_entries: Vec<&Value> = raw
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["who"] == json!("Utdeler Ulla"))
        .collect();
    assert!(
        ulla_entries.len() >= 4,
        "each view is several entries (one per category): {raw}"
    );

    app.set_oslo_time(day, jiff::civil::Time::constant(11, 0, 0, 0));
    let konsulent = app.session_of("konsulent").await;
    let (status, html) = app
        .page(&konsulent, &format!("/pasienter/{patient}/innsyn"))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let rows = access_log_rows(&html);
    let ulla_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == "Utdeler Ulla").collect();
    assert_eq!(ulla_rows.len(), 2, "one line per page view: {rows:?}");
    for row in &ulla_rows {
        assert_eq!(row[3], "LAR-senteret Sentrum", "{row:?}");
        assert!(
            row[4].contains("Identitet")
                && row[4].contains("Legemiddel og dose")
                && row[4].contains("Utlevering")
                && row[4].contains("(lest)"),
            "the line says what was seen: {row:?}"
        );
    }
    assert_eq!(ulla_rows[0][0], "23.11.2026 10.04", "newest first: {rows:?}");
    assert_eq!(ulla_rows[1][0], "23.11.2026 10.00", "{rows:?}");
    // The doctor's writes at 09.00 are theirs, not merged with anyone else's.
    assert!(rows.iter().any(|r| r[1] == "Lege Lise"), "{rows:?}");
    assert!(rows.len() < raw.as_array().expect("lines").len(), "{rows:?}");
}

/// The patient's pages reachable from the overview, followed one level: every link
/// a page offers opens (no 403), and the post forms it shows.
async fn offered(app: &TestApp, username: &str, patient: &str) -> (Vec<(String, StatusCode)>, Vec<String>) {
    let session = app.session_of(username).await;
    let (status, overview) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert_eq!(status, StatusCode::OK, "{username}: {overview}");
    let mut pages = vec![format!("/pasienter/{patient}")];
    for link in overview
        .split("href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
    {
        let link = link.replace("&amp;", "&");
        if link.contains(patient) && !pages.contains(&link) {
            pages.push(link);
        }
    }
    let mut statuses = Vec::new();
    let mut forms = Vec::new();
    for path in &pages {
        let (status, html) = app.page(&session, path).await;
        statuses.push((path.clone(), status));
        for action in html
            .split("method=\"post\" action=\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
        {
            if action != "/logout" {
                forms.push(action.to_string());
            }
        }
    }
    (statuses, forms)
}

#[tokio::test]
async fn links_and_forms_are_offered_only_where_the_policy_allows_them() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(141).await;
    app.add_to_team(&patient, "fastlege", "member").await;
    let (status, _) = app
        .open_emergency(
            &w.akuttlege,
            &patient,
            "Innlagt bevisstløs, trenger legemiddellisten",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for username in ["akuttlege", "fastlege", "utdeler", "lege"] {
        let (statuses, forms) = offered(&app, username, &patient).await;
        let refused: Vec<&(String, StatusCode)> = statuses
            .iter()
            .filter(|(_, s)| *s == StatusCode::FORBIDDEN)
            .collect();
        assert!(
            refused.is_empty(),
            "{username} is linked to pages that refuse: {refused:?}"
        );
        match username {
            // Emergency access reads the record and writes none of it: no form for
            // it is offered. (A message to the units, and an admission to the
            // doctor's own institution, are allowed, and offered.)
            "akuttlege" => {
                let record_forms: Vec<&String> = forms
                    .iter()
                    .filter(|f| !f.ends_with("/meldinger") && !f.ends_with("/opphold"))
                    .collect();
                assert!(
                    record_forms.is_empty(),
                    "emergency access offers record forms: {record_forms:?}"
                );
            }
            "lege" => assert!(
                forms.iter().any(|f| f.ends_with("/helse")),
                "the prescriber records health information: {forms:?}"
            ),
            _ => {}
        }
    }
}

/// The audit entries about a patient with this detail.
async fn entries_with(app: &TestApp, patient: &str, detail: &str) -> usize {
    let mut conn = app.state.store.read().await.expect("conn");
    samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 1000)
        .await
        .expect("entries")
        .iter()
        .filter(|e| e.detail == detail)
        .count()
}

#[tokio::test]
async fn the_overview_shows_and_records_health_information_only_where_it_may_be_read() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(79).await;
    let path = format!("/api/v1/patients/{patient}/health-information");
    let (status, note) = app
        .post_json(
            &w.lege,
            &path,
            &json!({"kind": "diabetes", "text": "Type 1-diabetes"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    let detail = "patient overview: health information";
    // The prescriber reads it: shown and recorded, with the overview's reads.
    let overview = app.overview(&patient).await;
    assert_eq!(
        overview["health_information"][0]["kind"],
        json!("diabetes"),
        "{overview}"
    );
    assert_eq!(entries_with(&app, &patient, detail).await, 1);
    assert_eq!(entries_with(&app, &patient, "patient overview").await, 3);
    // The place's staff without the patient's consent: the overview without it,
    // and no read of it recorded.
    let (status, seen) = app
        .get_json(&w.utdeler, &format!("/api/v1/patients/{patient}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["health_information"].is_null(), "{seen}");
    assert_eq!(entries_with(&app, &patient, detail).await, 1);
}
