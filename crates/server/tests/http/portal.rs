//! The patient portal at HTTP level: the one-time code from the LAR unit, the
//! patient's own password and session, the start page with the patient's own data
//! only, consents that take effect at once for staff, the access log, next of kin,
//! and login backoff.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, csrf_in, national_id, set_cookie, spawn_app};

/// A portal session: the cookie and the page's CSRF token.
pub(crate) struct Portal {
    cookie: String,
    csrf: String,
}

impl TestApp {
    /// The LAR consultant makes a one-time code on the privacy page.
    pub(crate) async fn portal_code(&self, patient: &str) -> String {
        let session = self.session_of("konsulent").await;
        let (status, html, _) = self
            .submit(&session, &format!("/pasienter/{patient}/portalkode"), &[])
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let start = html.find("data-testid=\"portal-code\"").expect("the code");
        let rest = &html[start..];
        let code_start = rest.find("<strong>").expect("strong") + "<strong>".len();
        let code_end = rest.find("</strong>").expect("end");
        rest[code_start..code_end].to_string()
    }

    /// Posts a pre-login form of the portal (with its CSRF cookie) and returns the
    /// status, the page and the portal cookie when one was set.
    pub(crate) async fn portal_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let page = self.client.get(self.url(path)).send().await.expect("page");
        let login_cookie = set_cookie(&page, "samhand_login_csrf").expect("csrf cookie");
        let csrf = csrf_in(&page.text().await.expect("html")).expect("csrf");
        let mut form = fields.to_vec();
        form.push(("csrf", &csrf));
        let response = self
            .client
            .post(self.url(path))
            .header("Cookie", format!("samhand_login_csrf={login_cookie}"))
            .form(&form)
            .send()
            .await
            .expect("post");
        let status = response.status();
        let cookie = set_cookie(&response, "samhand_portal").filter(|c| !c.is_empty());
        (status, response.text().await.expect("html"), cookie)
    }

    pub(crate) async fn portal_get(&self, portal: &Portal, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("Cookie", format!("samhand_portal={}", portal.cookie))
            .send()
            .await
            .expect("get");
        (response.status(), response.text().await.expect("html"))
    }

    pub(crate) async fn portal_post(
        &self,
        portal: &Portal,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut form = fields.to_vec();
        form.push(("csrf", &portal.csrf));
        let response = self
            .client
            .post(self.url(path))
            .header("Cookie", format!("samhand_portal={}", portal.cookie))
            .form(&form)
            .send()
            .await
            .expect("post");
        (response.status(), response.text().await.expect("html"))
    }

    /// A patient on daily methadone with the portal set up and logged in.
    pub(crate) async fn activated(&self, n: u16) -> (String, Portal) {
        let patient = self.patient_on_daily_methadone(n).await;
        let code = self.portal_code(&patient).await;
        let fnr = number_of(n);
        let (status, html, cookie) = self
            .portal_form(
                "/portal/aktiver",
                &[
                    ("national_id", &fnr),
                    ("code", &code),
                    ("password", "langt-passord-1"),
                    ("repeated", "langt-passord-1"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        (patient, self.portal_session(cookie.expect("cookie")).await)
    }

    async fn portal_session(&self, cookie: String) -> Portal {
        let mut portal = Portal {
            cookie,
            csrf: String::new(),
        };
        let (status, html) = self.portal_get(&portal, "/portal").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        portal.csrf = csrf_in(&html).expect("csrf on the portal");
        portal
    }
}

pub(crate) fn number_of(n: u16) -> String {
    national_id(n)
}

#[tokio::test]
async fn a_patient_activates_with_the_code_logs_in_and_sees_their_own_medicine_place_and_plan() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(120).await;
    let fnr = number_of(120);
    let code = app.portal_code(&patient).await;
    assert_eq!(code.len(), 8);

    // A wrong code, a short password, then the right one.
    let (status, html, cookie) = app
        .portal_form(
            "/portal/aktiver",
            &[
                ("national_id", &fnr),
                ("code", "AAAAAAAA"),
                ("password", "langt-passord-1"),
                ("repeated", "langt-passord-1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Feil fødselsnummer, kode eller passord."), "{html}");
    assert!(cookie.is_none());
    let (status, html, _) = app
        .portal_form(
            "/portal/aktiver",
            &[
                ("national_id", &fnr),
                ("code", &code),
                ("password", "kort"),
                ("repeated", "kort"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Passordet må ha minst 10 tegn."), "{html}");
    let lower = code.to_lowercase();
    let (status, _, cookie) = app
        .portal_form(
            "/portal/aktiver",
            &[
                ("national_id", &fnr),
                ("code", &lower),
                ("password", "langt-passord-1"),
                ("repeated", "langt-passord-1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let portal = app.portal_session(cookie.expect("portal cookie")).await;
    let (_, html) = app.portal_get(&portal, "/portal").await;
    assert!(html.contains("Medisinen din") && html.contains("60 mg"), "{html}");
    assert!(html.contains("LAR-senteret Sentrum"), "{html}");
    assert!(html.contains("Planen din"), "{html}");

    // The code works once.
    let (status, _, cookie) = app
        .portal_form(
            "/portal/aktiver",
            &[
                ("national_id", &fnr),
                ("code", &code),
                ("password", "annet-passord-2"),
                ("repeated", "annet-passord-2"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cookie.is_none());
    // The password logs in.
    let (status, _, cookie) = app
        .portal_form(
            "/portal/logg-inn",
            &[("national_id", &fnr), ("password", "langt-passord-1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some());

    // The portal session is not a staff session, and without one the portal sends
    // the patient to its own login.
    let staff_page = app
        .client
        .get(app.url(&format!("/pasienter/{patient}")))
        .header("Cookie", format!("samhand_portal={}", portal.cookie))
        .send()
        .await
        .expect("get");
    assert_eq!(staff_page.headers()["location"], "/login");
    let anonymous = app.client.get(app.url("/portal")).send().await.expect("get");
    assert_eq!(anonymous.headers()["location"], "/portal/logg-inn");
}

#[tokio::test]
async fn a_consent_changed_in_the_portal_takes_effect_at_once_and_the_access_log_shows_readers() {
    let app = spawn_app().await;
    let w = &app.world;
    let (patient, portal) = app.activated(121).await;
    let health = format!("/api/v1/patients/{patient}/health-information");
    assert_eq!(app.get_json(&w.utdeler, &health).await.0, StatusCode::FORBIDDEN);

    let centre = w.centre.to_string();
    let (status, html) = app
        .portal_post(
            &portal,
            "/portal/samtykke",
            &[
                ("organisation", &centre),
                ("category", "health_information"),
                ("decision", "give"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(app.get_json(&w.utdeler, &health).await.0, StatusCode::OK);
    let (_, html) = app.portal_get(&portal, "/portal/samtykke").await;
    assert!(html.contains("Deles med LAR-senteret Sentrum"), "{html}");
    assert!(html.contains("aria-checked=\"true\""), "{html}");
    app.portal_post(
        &portal,
        "/portal/samtykke",
        &[
            ("organisation", &centre),
            ("category", "health_information"),
            ("decision", "withdraw"),
        ],
    )
    .await;
    assert_eq!(app.get_json(&w.utdeler, &health).await.0, StatusCode::FORBIDDEN);

    let (status, html) = app.portal_get(&portal, "/portal/innsyn").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Utdeler Ulla") && html.contains("LAR-senteret Sentrum"),
        "{html}"
    );
    // A form without the session's CSRF token changes nothing.
    let response = app
        .client
        .post(app.url("/portal/samtykke"))
        .header("Cookie", format!("samhand_portal={}", portal.cookie))
        .form(&[
            ("organisation", centre.as_str()),
            ("category", "notes"),
            ("decision", "give"),
            ("csrf", "feil"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, privacy) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/privacy"))
        .await;
    assert!(
        !privacy["consents_in_force"]
            .as_array()
            .expect("in force")
            .iter()
            .any(|c| c["category"] == json!("notes")),
        "{privacy}"
    );
}

#[tokio::test]
async fn a_patient_names_next_of_kin_and_cannot_touch_another_patients() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(122).await;
    let other = app.patient_on_daily_methadone(123).await;
    let theirs = app.patient_token(&other).await;
    let (status, person) = app
        .post_json(
            &theirs,
            &format!("/api/v1/patients/{other}/people"),
            &json!({"name": "Bror Bjørn", "relation": "next_of_kin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let code = app.portal_code(&patient).await;
    let fnr = number_of(122);
    let (_, _, cookie) = app
        .portal_form(
            "/portal/aktiver",
            &[
                ("national_id", &fnr),
                ("code", &code),
                ("password", "langt-passord-1"),
                ("repeated", "langt-passord-1"),
            ],
        )
        .await;
    let portal = app.portal_session(cookie.expect("cookie")).await;
    let (status, html) = app
        .portal_post(&portal, "/portal/parorende", &[("name", ""), ("relation", "")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv navnet."), "{html}");
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/parorende",
            &[
                ("name", "Mor Berit"),
                ("relation", "next_of_kin"),
                ("may_be_told", "At jeg har det bra"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = app.portal_get(&portal, "/portal/parorende").await;
    assert!(
        html.contains("Mor Berit") && !html.contains("Bror Bjørn"),
        "{html}"
    );
    // Another patient's person, by id: refused, and still there.
    let id = person["id"].as_str().expect("id");
    let (status, _) = app
        .portal_post(&portal, &format!("/portal/parorende/{id}/fjern"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, privacy) = app
        .get_json(&theirs, &format!("/api/v1/patients/{other}/privacy"))
        .await;
    assert!(privacy["people"][0]["ended_at"].is_null(), "{privacy}");
}

#[tokio::test]
async fn five_wrong_portal_passwords_lock_the_account() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(124).await;
    let code = app.portal_code(&patient).await;
    let fnr = number_of(124);
    app.portal_form(
        "/portal/aktiver",
        &[
            ("national_id", &fnr),
            ("code", &code),
            ("password", "langt-passord-1"),
            ("repeated", "langt-passord-1"),
        ],
    )
    .await;
    for _ in 0..5 {
        let (status, _, _) = app
            .portal_form(
                "/portal/logg-inn",
                &[("national_id", &fnr), ("password", "feil-passord")],
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, html, cookie) = app
        .portal_form(
            "/portal/logg-inn",
            &[("national_id", &fnr), ("password", "langt-passord-1")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
    assert!(html.contains("For mange mislykkede innlogginger"), "{html}");
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let (status, _, cookie) = app
        .portal_form(
            "/portal/logg-inn",
            &[("national_id", &fnr), ("password", "langt-passord-1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some());
}

#[tokio::test]
async fn a_patients_request_becomes_a_task_for_the_lar_unit_and_the_answer_comes_back() {
    let app = spawn_app().await;
    let w = &app.world;
    let (patient, portal) = app.activated(125).await;
    let (status, html) = app
        .portal_post(&portal, "/portal/onsker", &[("kind", ""), ("text", "")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Velg hva du ønsker."), "{html}");
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/onsker",
            &[
                ("kind", "arrangement_change"),
                (
                    "text",
                    "Jeg har fått jobb og vil hente på apoteket etter klokka 16",
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The consultant who follows the patient gets the task.
    let (_, mine) = app.get_json(&w.konsulent, "/api/v1/tasks/mine").await;
    let task = mine["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["description"].as_str().is_some_and(|d| d.contains("fått jobb")))
        .unwrap_or_else(|| panic!("{mine}"))
        .clone();
    let id = task["id"].as_str().expect("id");
    let (status, body) = app
        .post_json(
            &w.konsulent,
            &format!("/api/v1/tasks/{id}/status"),
            &json!({"status": "done", "note": "Legen har flyttet deg til Apotek Torget fra mandag."}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, html) = app.portal_get(&portal, "/portal/onsker").await;
    assert!(
        html.contains("Legen har flyttet deg til Apotek Torget fra mandag."),
        "{html}"
    );

    // A message to the LAR unit reaches its inbox, readable there.
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/melding",
            &[
                ("subject", "Time hos lege"),
                ("body", "Kan jeg få en time neste uke?"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, inbox) = app.get_json(&w.konsulent, "/api/v1/inbox").await;
    assert!(
        inbox
            .as_array()
            .expect("inbox")
            .iter()
            .any(|m| m["subject"] == json!("Time hos lege") && m["sender"] == json!("Pasienten")),
        "{inbox}"
    );

    // An item for the next meeting goes to the coordinator, or the consultant when
    // there is none; the plan itself is changed with the team.
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/onsker",
            &[
                ("kind", "agenda_item"),
                ("text", "Mitt mål: egen leilighet før jul"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, mine) = app.get_json(&w.konsulent, "/api/v1/tasks/mine").await;
    assert!(mine.to_string().contains("egen leilighet før jul"), "{mine}");
    let me = app.patient_token(&patient).await;
    let (status, body) = app
        .post_json(
            &me,
            &format!("/api/v1/patients/{patient}/plan"),
            &json!({"action": "save", "reason": "x", "goals": []}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn the_patient_writes_the_crisis_plan_in_the_portal_and_the_team_sees_it() {
    let app = spawn_app().await;
    let w = &app.world;
    let (patient, portal) = app.activated(126).await;
    let (status, html) = app
        .portal_post(
            &portal,
            "/portal/kriseplan",
            &[
                ("warning_signs", ""),
                ("what_helps", "Gå tur"),
                ("contact_name", "Mor"),
                ("contact_phone", "12"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Skriv hvilke varseltegn pasienten kjenner igjen."),
        "{html}"
    );
    assert!(html.contains("Gå tur"), "keeps what was typed: {html}");
    let (status, html) = app
        .portal_post(
            &portal,
            "/portal/kriseplan",
            &[
                ("warning_signs", "Slutter å svare på telefon, sover dårlig"),
                ("what_helps", "Gå tur med hunden, ringe søster"),
                ("contact_name", "Søster Siri"),
                ("contact_phone", "+47 900 11 222"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (status, plan) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/crisis-plan"))
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(plan.to_string().contains("Søster Siri"), "{plan}");
    assert!(plan.to_string().contains("\"by_patient\":true"), "{plan}");
    let (_, html) = app.portal_get(&portal, "/portal/kriseplan").await;
    assert!(html.contains("av deg") && html.contains("Søster Siri"), "{html}");
}

#[tokio::test]
async fn the_patient_writes_goals_in_their_own_words_and_the_team_sees_them_by_the_plan() {
    let app = spawn_app().await;
    let (patient, portal) = app.activated(127).await;
    let (status, html) = app
        .portal_post(
            &portal,
            "/portal/mal",
            &[
                ("housing", "Egen leilighet før jul"),
                ("housing_comment", "Helst nær jobben"),
                ("work_activity", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = app.portal_get(&portal, "/portal/mal").await;
    assert!(
        html.contains("Egen leilighet før jul") && html.contains("Helst nær jobben"),
        "{html}"
    );
    // The coordinator (here the LAR consultant) sees them beside the plan.
    let session = app.session_of("konsulent").await;
    let (status, html) = app.page(&session, &format!("/pasienter/{patient}/plan")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Pasientens egne ord") && html.contains("Egen leilighet før jul"),
        "{html}"
    );
    // Taking a goal back is a new row too: it disappears from what stands now.
    app.portal_post(
        &portal,
        "/portal/mal",
        &[("housing", ""), ("housing_comment", "")],
    )
    .await;
    let (_, html) = app.page(&session, &format!("/pasienter/{patient}/plan")).await;
    assert!(!html.contains("Egen leilighet før jul"), "{html}");
}

/// The messages between the patient and the team, as a staff member's API sees them.
async fn messages_about(
    app: &TestApp,
    staff: &crate::helpers::Staff,
    patient: &str,
) -> Vec<serde_json::Value> {
    let (status, body) = app
        .get_json(staff, &format!("/api/v1/patients/{patient}/messages"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["party"] != json!("services"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_team_writes_to_the_patient_who_alone_reads_it_and_answers_and_the_team_sees_when_it_was_read() {
    let app = spawn_app().await;
    let w = &app.world;
    let (patient, portal) = app.activated(130).await;
    let (_other, other_portal) = app.activated(131).await;

    // Bad input is refused with the fields named, and nothing is sent.
    let path = format!("/api/v1/patients/{patient}/messages/to-patient");
    let (status, problem) = app
        .post_json(&w.konsulent, &path, &json!({"subject": " ", "body": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let mut fields = crate::helpers::error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["body".to_string(), "subject".to_string()]);
    assert!(messages_about(&app, &w.konsulent, &patient).await.is_empty());

    let (status, sent) = app
        .post_json(
            &w.konsulent,
            &path,
            &json!({"subject": "Ny time", "body": "Du har time hos legen tirsdag kl. 10."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["party"], json!("to_patient"));
    assert_eq!(sent["read_by_patient_at"], json!(null));
    let id = sent["id"].as_str().expect("id").to_string();

    // Another patient sees nothing of it: not in the list, not by its id.
    let (_, html) = app.portal_get(&other_portal, "/portal/meldinger").await;
    assert!(!html.contains("Ny time"), "{html}");
    let (_, html) = app.portal_get(&other_portal, "/portal").await;
    assert!(html.contains("ingen uleste meldinger"), "{html}");
    let (_, denied_before) = app.audit_counts(&patient).await;
    let (status, html) = app
        .portal_get(&other_portal, &format!("/portal/meldinger/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("tirsdag kl. 10"), "{html}");
    let (status, _) = app
        .portal_post(
            &other_portal,
            &format!("/portal/meldinger/{id}/svar"),
            &[("body", "Jeg er ikke den du tror")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, denied_after) = app.audit_counts(&patient).await;
    assert_eq!(denied_after, denied_before + 2, "both attempts are in the log");
    let message = messages_about(&app, &w.konsulent, &patient).await;
    assert_eq!(message.len(), 1, "no answer was stored");
    assert_eq!(
        message[0]["read_by_patient_at"],
        json!(null),
        "not read by the other patient"
    );

    // The patient sees it as unread on the start page, then opens it.
    let (_, home) = app.portal_get(&portal, "/portal").await;
    assert!(home.contains("Du har 1 ulest melding"), "{home}");
    let (_, list) = app.portal_get(&portal, "/portal/meldinger").await;
    assert!(list.contains("Ny time") && list.contains("Ulest"), "{list}");
    assert!(
        list.contains("Fra Konsulent Kari, LAR-enheten Fjordvik"),
        "who wrote, and from where: {list}"
    );
    let (status, opened) = app.portal_get(&portal, &format!("/portal/meldinger/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert!(
        opened.contains("Du har time hos legen tirsdag kl. 10."),
        "{opened}"
    );
    let (_, home) = app.portal_get(&portal, "/portal").await;
    assert!(home.contains("ingen uleste meldinger"), "{home}");

    // The team sees when the patient read it.
    let message = messages_about(&app, &w.konsulent, &patient).await;
    assert!(message[0]["read_by_patient_at"].is_string(), "{message:?}");
    let session = app.session_of("konsulent").await;
    let (_, page) = app
        .page(&session, &format!("/pasienter/{patient}/meldinger/pasienten"))
        .await;
    assert!(page.contains("Lest av pasienten"), "{page}");

    // An empty answer is refused; the answer reaches the unit's inbox, threaded.
    let (status, html) = app
        .portal_post(&portal, &format!("/portal/meldinger/{id}/svar"), &[("body", " ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv meldingen."), "{html}");
    let (status, _) = app
        .portal_post(
            &portal,
            &format!("/portal/meldinger/{id}/svar"),
            &[("body", "Det passer fint, jeg kommer.")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, inbox) = app.get_json(&w.konsulent, "/api/v1/inbox").await;
    let answer = inbox
        .as_array()
        .expect("inbox")
        .iter()
        .find(|m| m["subject"] == json!("Svar: Ny time"))
        .unwrap_or_else(|| panic!("{inbox}"))
        .clone();
    assert_eq!(answer["party"], json!("from_patient"));
    assert_eq!(answer["sender"], json!("Pasienten"));
    assert_eq!(answer["in_reply_to"], json!(id));
    assert_eq!(answer["body"], json!("Det passer fint, jeg kommer."));
    assert_eq!(answer["read_here"], json!(false));
    let (_, thread) = app.portal_get(&portal, &format!("/portal/meldinger/{id}")).await;
    assert!(
        thread.contains("Det passer fint, jeg kommer.")
            && thread.contains("Ikke lest ennå av LAR-enheten Fjordvik"),
        "{thread}"
    );
    let (_, thread) = app.portal_get(&other_portal, "/portal/meldinger").await;
    assert!(!thread.contains("Svar: Ny time"), "{thread}");
}

#[tokio::test]
async fn staff_without_a_right_to_write_notes_cannot_write_to_the_patient_and_are_audited() {
    let app = spawn_app().await;
    let w = &app.world;
    let (patient, portal) = app.activated(132).await;
    let path = format!("/api/v1/patients/{patient}/messages/to-patient");
    let body = json!({"subject": "Hei", "body": "Fra noen uten relasjon"});
    // Another LAR unit, the dispensing place (which reads the dose but writes no
    // notes), and a care team member before the patient shares notes with them.
    app.add_to_team(&patient, "koordinator", "coordinator").await;
    for staff in [&w.fremmed_lege, &w.utdeler, &w.koordinator, &w.admin] {
        let (_, denied_before) = app.audit_counts(&patient).await;
        let (status, problem) = app.post_json(staff, &path, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {problem}", staff.username);
        let (_, denied_after) = app.audit_counts(&patient).await;
        assert_eq!(denied_after, denied_before + 1, "{} audited", staff.username);
    }
    let (_, html) = app.portal_get(&portal, "/portal/meldinger").await;
    assert!(!html.contains("Fra noen uten relasjon"), "{html}");

    // Once the patient shares notes with the coordinator's service, the
    // coordinator may write, and the patient's own messages go there too.
    app.consent(&w.konsulent, &patient, w.centre, "notes", true).await;
    let (status, sent) = app
        .post_json(
            &w.koordinator,
            &path,
            &json!({"subject": "Møtet", "body": "Vi sees på torsdag."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let (status, _) = app
        .portal_post(
            &portal,
            "/portal/melding",
            &[("subject", "Spørsmål"), ("body", "Kan NAV være med på møtet?")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for staff in [&w.konsulent, &w.koordinator] {
        let (_, inbox) = app.get_json(staff, "/api/v1/inbox").await;
        assert!(
            inbox.as_array().expect("inbox").iter().any(
                |m| m["subject"] == json!("Spørsmål") && m["body"] == json!("Kan NAV være med på møtet?")
            ),
            "{}: {inbox}",
            staff.username
        );
    }
    let (_, html) = app.portal_get(&portal, "/portal/meldinger").await;
    assert!(
        html.contains("Fra Koordinator Kåre, LAR-senteret Sentrum") && html.contains("Fra deg"),
        "{html}"
    );
}

#[tokio::test]
async fn the_one_time_code_cannot_be_guessed_five_wrong_codes_lock_it_for_a_while() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(124).await;
    let fnr = number_of(124);
    let code = app.portal_code(&patient).await;
    let attempt = |code: String| {
        let fnr = fnr.clone();
        let app = &app;
        async move {
            app.portal_form(
                "/portal/aktiver",
                &[
                    ("national_id", &fnr),
                    ("code", &code),
                    ("password", "langt-passord-1"),
                    ("repeated", "langt-passord-1"),
                ],
            )
            .await
        }
    };
    for guess in ["AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"] {
        let (status, _, cookie) = attempt(guess.to_string()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(cookie.is_none());
    }
    // Locked: not even the right code opens it now.
    let (status, html, cookie) = attempt(code.clone()).await;
    assert_ne!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(cookie.is_none());
    // After the lockout the right code works.
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let (status, _, cookie) = attempt(code).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some());
}
