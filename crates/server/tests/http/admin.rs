//! Administration through the API and the pages: organisations and places with
//! opening days, closed days and groups; users invited by a one-time link or given a
//! first password; deactivation that ends sessions and tokens at once; FHIR clients
//! revoked. Only an administrator gets in, and bad input changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, set_cookie, spawn_app};

impl TestApp {
    async fn organisation_named(&self, name: &str) -> Option<Value> {
        let (status, all) = self
            .get_json(&self.world.admin, "/api/v1/admin/organisations")
            .await;
        assert_eq!(status, StatusCode::OK, "{all}");
        all.as_array()
            .expect("list")
            .iter()
            .find(|o| o["name"] == json!(name))
            .cloned()
    }

    /// Opens an invitation link and chooses a password.
    async fn accept_invitation(&self, path: &str, password: &str) -> (StatusCode, String) {
        let page = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("invitation page");
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = set_cookie(&page, "samhand_login_csrf").expect("csrf cookie");
        let response = self
            .client
            .post(self.url(path))
            .header("Cookie", format!("samhand_login_csrf={csrf}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("password", password),
                ("repeated", password),
            ])
            .send()
            .await
            .expect("accept");
        (response.status(), response.text().await.expect("body"))
    }
}

#[tokio::test]
async fn an_administrator_registers_a_place_with_opening_days_a_closed_day_and_a_group() {
    let app = spawn_app().await;
    let w = &app.world;
    let unit = w.unit.to_string();

    // Refused: not an administrator; a wrong check digit; each changes nothing.
    let body = json!({"name": "LAR-senteret Nord", "kind": "municipal_lar_centre", "org_number": "974760673", "responsible_unit": unit});
    let (status, _) = app.post_json(&w.lege, "/api/v1/admin/organisations", &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = json!({"name": "LAR-senteret Nord", "kind": "municipal_lar_centre", "org_number": "974760674"});
    let (status, problem) = app.post_json(&w.admin, "/api/v1/admin/organisations", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("org_number"), "{problem}");
    assert!(app.organisation_named("LAR-senteret Nord").await.is_none());

    let (status, place) = app
        .post_json(&w.admin, "/api/v1/admin/organisations", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{place}");
    assert_eq!(place["responsible_unit_id"], json!(unit));
    let (status, _) = app
        .post_json(&w.admin, "/api/v1/admin/organisations", &body)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the same name twice");
    let id = place["id"].as_str().expect("id");

    // Opening days and hours, a closed day, a group.
    let response = app
        .client
        .put(app.url(&format!("/api/v1/admin/organisations/{id}/place")))
        .bearer_auth(&w.admin.token)
        .json(&json!({"open_weekdays": [true, true, true, true, true, false, false], "opens_at": "08:00", "closes_at": "15:00", "capacity": 40}))
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, problem) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/organisations/{id}/closed-days"),
            &json!({"date": "2026-11-01", "reason": "Kurs"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a day in the past: {problem}"
    );
    let (status, _) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/organisations/{id}/closed-days"),
            &json!({"date": "2026-12-28", "reason": "Personalmøte"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, place) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/organisations/{id}/groups"),
            &json!({"name": "Morgen", "window_start": "08:00", "window_end": "09:30"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{place}");
    assert_eq!(
        place["open_weekdays"],
        json!([true, true, true, true, true, false, false])
    );
    assert_eq!(place["opens_at"], json!("08:00"));
    assert_eq!(place["capacity"], json!(40));
    assert_eq!(place["closed_days"], json!(["2026-12-28"]));
    assert_eq!(place["groups"][0]["window_end"], json!("09:30"));

    // The page shows it all, and only to an administrator.
    let session = app.session_of("admin").await;
    let (status, html) = app.page(&session, &format!("/admin/organisasjoner/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Personalmøte") && html.contains("Morgen") && html.contains("08.00"),
        "{html}"
    );
    let (status, _) = app
        .page(&app.session_of("lege").await, "/admin/organisasjoner")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_and_a_deactivated_user_is_cut_off_at_once() {
    let app = spawn_app().await;
    let w = &app.world;
    let body = json!({"username": "ny.lege", "display_name": "Ny Lege", "role": "prescriber", "organisation": w.unit.to_string(), "hpr_number": "9144900"});
    let (status, added) = app.post_json(&w.admin, "/api/v1/admin/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let link = added["invitation_path"]
        .as_str()
        .expect("an invitation")
        .to_string();
    assert_eq!(added["user"]["hpr_number"], json!("9144900"));
    let id = added["user"]["id"].as_str().expect("id").to_string();

    // Too short a password changes nothing; then the password is chosen, once.
    let (status, html) = app.accept_invitation(&link, "kort").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (status, _) = app.accept_invitation(&link, "riktig-passord").await;
    assert_eq!(status, StatusCode::OK);
    let again = app.client.get(app.url(&link)).send().await.expect("used link");
    assert_eq!(
        again.status(),
        StatusCode::NOT_FOUND,
        "an invitation is used once"
    );
    let session = app.session_of("ny.lege").await;
    let (status, _) = app.page(&session, "/pasienter").await;
    assert_eq!(status, StatusCode::OK);

    // Deactivated from the page: the open session ends at once.
    let admin = app.session_of("admin").await;
    let (status, html, _) = app
        .submit(
            &admin,
            &format!("/admin/brukere/{id}/status"),
            &[("active", "no"), ("reason", "")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is needed: {html}"
    );
    let (status, _) = app.page(&session, "/pasienter").await;
    assert_eq!(status, StatusCode::OK, "nothing changed without a reason");
    let (status, html, _) = app
        .submit(
            &admin,
            &format!("/admin/brukere/{id}/status"),
            &[("active", "no"), ("reason", "Sluttet")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Deaktivert"), "{html}");
    let (status, _) = app.page(&session, "/pasienter").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the session ended");
    let (status, _) = app.login("ny.lege", "riktig-passord").await;
    assert_ne!(status, StatusCode::SEE_OTHER, "no login while deactivated");

    // The API: a colleague's token ends at once too; an administrator cannot
    // deactivate themself.
    let (status, _) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/users/{}/deactivation", w.utdeler.id),
            &json!({"reason": "Permisjon"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_json(&w.utdeler, "/api/v1/dispensing/today").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/users/{}/deactivation", w.admin.id),
            &json!({"reason": "Prøver"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, user) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/users/{}/reactivation", w.utdeler.id),
            &json!({"reason": "Tilbake"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["active"], json!(true));
    let (status, html) = app
        .page(&admin, &format!("/admin/brukere/{}", w.utdeler.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Permisjon") && html.contains("Tilbake"),
        "the history: {html}"
    );
}

#[tokio::test]
async fn the_administrator_sees_only_administration_and_changes_a_threshold_from_the_page() {
    let app = spawn_app().await;
    let admin = app.session_of("admin").await;
    let (status, _, location) = app.submit(&admin, "/", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{location:?}");
    let front = app
        .client
        .get(app.url("/"))
        .header("Cookie", format!("samhand_session={}", admin.cookie))
        .send()
        .await
        .expect("front");
    assert_eq!(
        front.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/admin")
    );
    let (status, html) = app.page(&admin, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("href=\"/pasienter\""),
        "no patient links for an administrator: {html}"
    );

    let (status, html, _) = app
        .submit(
            &admin,
            "/admin/terskler",
            &[("key", "missed_dose.tolerated_days"), ("value", "400")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (status, html, _) = app
        .submit(
            &admin,
            "/admin/terskler",
            &[("key", "missed_dose.tolerated_days"), ("value", "3")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Admin Anne"), "who changed it: {html}");
    let mut conn = app.state.store.read().await.expect("conn");
    let values = samhand_store::stock::policy_values(&mut conn)
        .await
        .expect("values");
    assert_eq!(
        values.last(),
        Some(&("missed_dose.tolerated_days".to_string(), 3))
    );
}

#[tokio::test]
async fn a_closed_day_set_by_the_administrator_closes_the_list_and_asks_for_a_cover() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_on_daily_methadone(171).await;
    let (status, body) = app
        .post_json(
            &w.admin,
            &format!("/api/v1/admin/organisations/{}/closed-days", w.centre),
            &json!({"date": "26.11.2026", "reason": "Personaldag"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The patient's dose for that day is uncovered until a cover is decided.
    let overview = app.overview(&patient).await;
    let uncovered = overview["uncovered_days"].to_string();
    assert!(uncovered.contains("2026-11-26"), "{overview}");
    // On the day, the list says the place is closed.
    app.set_oslo_time(
        jiff::civil::date(2026, 11, 26),
        jiff::civil::Time::constant(9, 0, 0, 0),
    );
    let list = app.today_list(&w.utdeler).await;
    assert!(list["closed"].is_string(), "{list}");
}

#[tokio::test]
async fn an_import_is_tried_first_without_changing_anything_then_applied_with_a_report_per_row() {
    let app = spawn_app().await;
    let w = &app.world;
    let csv = "type;name;kind;org_number;responsible_unit;municipality;username;role;organisation;hpr_number\n\
        organisation;LAR Import;health_trust_lar_unit;974760673;;;;;;\n\
        organisation;LAR-senteret Import;municipal_lar_centre;;LAR Import;Importvik;;;;\n\
        user;Ida Import;;;;;ida.import;prescriber;LAR Import;9144900\n\
        user;Feil Rolle;;;;;feil.rolle;wizard;LAR Import;\n";
    let (status, report) = app
        .post_json(&w.admin, "/api/v1/admin/import", &json!({"csv": csv}))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], json!(false));
    assert_eq!(
        (report["created"].clone(), report["refused"].clone()),
        (json!(3), json!(1)),
        "{report}"
    );
    assert_eq!(report["rows"][3]["line"], json!(5));
    assert!(
        report["rows"][3]["refused"]
            .as_str()
            .expect("why")
            .contains("role"),
        "{report}"
    );
    assert!(
        report["rows"][2]["invitation_path"].is_null(),
        "a dry run shows no invitation"
    );
    assert!(
        app.organisation_named("LAR Import").await.is_none(),
        "the dry run changed nothing"
    );

    let (status, report) = app
        .post_json(
            &w.admin,
            "/api/v1/admin/import",
            &json!({"csv": csv, "apply": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], json!(3), "{report}");
    let centre = app
        .organisation_named("LAR-senteret Import")
        .await
        .expect("imported");
    let unit = app.organisation_named("LAR Import").await.expect("imported");
    assert_eq!(
        centre["responsible_unit_id"], unit["id"],
        "a later row sees an earlier one"
    );
    let link = report["rows"][2]["invitation_path"]
        .as_str()
        .expect("an invitation")
        .to_string();
    assert!(link.starts_with("/invitasjon/"));

    // Not readable as CSV: refused whole, with the reason.
    let (status, problem) = app
        .post_json(
            &w.admin,
            "/api/v1/admin/import",
            &json!({"csv": "name,kind\nX,pharmacy", "apply": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Only an administrator imports.
    let (status, _) = app
        .post_json(&w.lege, "/api/v1/admin/import", &json!({"csv": csv}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_user_with_roles_at_two_organisations_chooses_which_one_to_act_in() {
    let app = spawn_app().await;
    let w = &app.world;
    let session = app.session_of("konsulent").await;
    let (_, html) = app.page(&session, "/pasienter").await;
    assert!(!html.contains("action=\"/rolle\""), "one role: no choice offered");

    let admin = app.session_of("admin").await;
    let (status, html, _) = app
        .submit(
            &admin,
            &format!("/admin/brukere/{}/rolle", w.konsulent.id),
            &[
                ("extra_organisation", &w.centre.to_string()),
                ("extra_role", "dispensing_staff"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (_, html) = app.page(&session, "/pasienter").await;
    assert!(
        html.contains("action=\"/rolle\"") && html.contains("LAR-senteret Sentrum"),
        "{html}"
    );

    // Acting as dispensing staff at the centre: the front page is today's list there.
    let choice = format!("{}:dispensing_staff", w.centre);
    let (status, _, location) = app.submit(&session, "/rolle", &[("role", &choice)]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/")));
    let (status, html) = app.page(&session, "/utlevering").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("LAR-senteret Sentrum"), "{html}");
    // A role the user does not hold is refused, and changes nothing.
    let forged = format!("{}:leader", w.centre);
    let (status, _, _) = app.submit(&session, "/rolle", &[("role", &forged)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Back home.
    let (status, _, _) = app.submit(&session, "/rolle", &[("role", "home")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = app.page(&session, "/utlevering").await;
    assert_ne!(
        status,
        StatusCode::OK,
        "the consultant does not work at the window"
    );
}
