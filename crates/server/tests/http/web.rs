//! The web UI at HTTP level: login, sessions, CSRF, security headers, forms that
//! keep what was typed and show errors in Norwegian, and dispensing from the list.

use jiff::civil::Time;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, national_id, spawn_app, start_day};

#[tokio::test]
async fn logging_in_needs_the_right_password_and_starts_a_session() {
    let app = spawn_app().await;
    let (status, session) = app.login("utdeler", "feil-passord").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(session.is_none());
    let (status, session) = app.login("ingen-slik", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(session.is_none());
    let (status, session) = app.login("utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session.expect("session");
    let (status, html) = app.page(&session, "/utlevering").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("LAR-senteret Sentrum"), "{html}");
}

#[tokio::test]
async fn pages_need_a_session_and_sessions_expire_after_inactivity() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/pasienter")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let (_, session) = app.login("lege", PASSWORD).await;
    let session = session.expect("session");
    app.clock.advance(jiff::SignedDuration::from_mins(31));
    let (status, _) = app.page(&session, "/pasienter").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "an idle session has expired");
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, session) = app.login("lege", PASSWORD).await;
    let session = session.expect("session");
    let (status, html, _) = app
        .submit(
            &session,
            "/pasienter/x/avslutt",
            &[
                ("csrf", "forfalsket"),
                ("ended_on", "2026-11-23"),
                ("reason", "other"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("Skjemaet var utløpt eller ugyldig"));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/login")).send().await.expect("get");
    let headers = response.headers();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cookie = headers["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_wrong_national_id_is_refused_next_to_the_field_and_what_was_typed_is_kept() {
    let app = spawn_app().await;
    let (_, session) = app.login("lege", PASSWORD).await;
    let session = session.expect("session");
    let form = reqwest::multipart::Form::new()
        .text("csrf", session.csrf.clone())
        .text("national_id", "12345678901")
        .text("given_name", "Ola")
        .text("family_name", "")
        .text("doctor_id", app.world.lege.id.to_string())
        .text("consultant_id", app.world.konsulent.id.to_string())
        .text("started_on", "2026-11-23")
        .text("phase", "start");
    let response = app
        .client
        .post(app.url("/pasienter/ny"))
        .header("Cookie", format!("samhand_session={}", session.cookie))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("Kontrollsifrene stemmer ikke") || html.contains("gyldig fødselsdato"),
        "{html}"
    );
    assert!(html.contains("Skriv inn etternavn."), "{html}");
    assert!(html.contains("value=\"12345678901\""), "the typed number is kept");
    assert!(html.contains("value=\"Ola\""), "the typed name is kept");
    let (_, search) = app.page(&session, "/pasienter?q=Ola").await;
    assert!(search.contains("Ingen treff"), "nothing was created");
}

#[tokio::test]
async fn a_doctor_enrols_through_the_form_with_an_identity_photo() {
    let app = spawn_app().await;
    let (_, session) = app.login("lege", PASSWORD).await;
    let session = session.expect("session");
    let png = include_bytes!("pixel.png").to_vec();
    let form = reqwest::multipart::Form::new()
        .text("csrf", session.csrf.clone())
        .text("national_id", national_id(40))
        .text("given_name", "Kari")
        .text("family_name", "Nordmann")
        .text("phone", "99 99 99 99")
        .text("address", "Storgata 1")
        .text("doctor_id", app.world.lege.id.to_string())
        .text("consultant_id", app.world.konsulent.id.to_string())
        .text("started_on", "2026-11-23")
        .text("phase", "start")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("kari.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let response = app
        .client
        .post(app.url("/pasienter/ny"))
        .header("Cookie", format!("samhand_session={}", session.cookie))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let (status, html) = app.page(&session, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Kari Nordmann") && html.contains("Oppstart"),
        "{html}"
    );
    let photo = app
        .client
        .get(app.url(&format!("{location}/foto")))
        .header("Cookie", format!("samhand_session={}", session.cookie))
        .send()
        .await
        .expect("photo");
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.expect("bytes").to_vec(), png);
}

#[tokio::test]
async fn dispensing_from_the_list_records_once_even_when_the_form_is_sent_twice() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(41).await;
    app.set_oslo_time(start_day(), Time::constant(8, 30, 0, 0));
    let (_, session) = app.login("utdeler", PASSWORD).await;
    let session = session.expect("session");
    let (_, html) = app.page(&session, "/utlevering").await;
    assert!(html.contains("Pasient41 Testesen"), "{html}");
    assert!(html.contains("60 mg"), "{html}");
    let fields = [
        ("patient_id", patient.as_str()),
        ("idempotency_key", "form-key-1"),
        ("outcome", "given"),
        ("identity_confirmed", "yes"),
    ];
    let (status, _, location) = app.submit(&session, "/utlevering", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.expect("location").starts_with("/utlevering?registrert="));
    // The same form again (a double tap) is the same recording.
    let (status, _, _) = app.submit(&session, "/utlevering", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The list from another screen has a new key: refused with a clear message.
    let other = [
        ("patient_id", patient.as_str()),
        ("idempotency_key", "form-key-2"),
        ("identity_confirmed", "yes"),
    ];
    let (status, html, _) = app.submit(&session, "/utlevering", &other).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("allerede registrert"), "{html}");
    let (_, html) = app.page(&session, "/utlevering").await;
    assert!(html.contains("Ferdig for i dag"), "{html}");
}

#[tokio::test]
async fn dispensing_without_confirming_identity_is_refused_in_norwegian() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(42).await;
    let (_, session) = app.login("utdeler", PASSWORD).await;
    let session = session.expect("session");
    let fields = [
        ("patient_id", patient.as_str()),
        ("idempotency_key", "k"),
        ("outcome", "given"),
    ];
    let (status, html, _) = app.submit(&session, "/utlevering", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Bekreft pasientens identitet"), "{html}");
}

#[tokio::test]
async fn a_refused_reduction_at_the_window_keeps_what_was_typed() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(43).await;
    let (_, session) = app.login("utdeler", PASSWORD).await;
    let session = session.expect("session");
    let fields = [
        ("patient_id", patient.as_str()),
        ("idempotency_key", "reduce-1"),
        ("identity_confirmed", "yes"),
        ("outcome", "reduced"),
        ("dose", "2026-11-23:1"),
        ("reduced_mg", "80"),
        ("reason", "Sedert ved oppmøte"),
    ];
    let (status, html, _) = app.submit(&session, "/utlevering", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Redusert dose må være mindre enn ordinert dose."),
        "{html}"
    );
    assert!(html.contains("value=\"80\""), "the typed amount is kept: {html}");
    assert!(
        html.contains("Sedert ved oppmøte</textarea>"),
        "the typed reason is kept"
    );
    assert!(html.contains("<details open"), "the assessment form stays open");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let (status, session) = app.login("utdeler", "feil-passord").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(session.is_none());
    }
    let (status, session) = app.login("utdeler", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "locked: even the right password is refused"
    );
    assert!(session.is_none());
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let (status, session) = app.login("utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session.is_some());
}

#[tokio::test]
async fn an_unknown_address_gets_a_norwegian_page_while_the_api_and_fhir_keep_their_formats() {
    let app = spawn_app().await;

    // Logged out: a plain Norwegian page with the way home.
    let response = app.client.get(app.url("/finnes-ikke")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("type")
        .to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.expect("html");
    assert!(html.contains("<html lang=\"nb\">"), "{html}");
    assert!(html.contains("Fant ikke siden"), "{html}");
    assert!(html.contains("href=\"/\""), "{html}");
    assert!(html.contains("/static/style.css"), "styled: {html}");
    assert!(
        !html.contains("Hovedmeny"),
        "no staff menu when logged out: {html}"
    );

    // Logged in: the same in the staff frame.
    let session = app.session_of("lege").await;
    let (status, html) = app.page(&session, "/pasienter/x/finnes-ikke").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("Fant ikke siden") && html.contains("Hovedmeny"),
        "{html}"
    );

    // The API answers problem+json, under /api/v1 and beside it.
    for path in ["/api/v1/finnes-ikke", "/api/finnes-ikke", "/api"] {
        let response = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = response.json().await.expect("json");
        assert_eq!(problem["status"], serde_json::json!(404), "{path}: {problem}");
    }

    // FHIR answers an OperationOutcome (an address no FHIR route has).
    let response = app
        .client
        .get(app.url("/fhir/Patient/x/_history/1/finnes-ikke"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/fhir+json")
    );
    let outcome: serde_json::Value = response.json().await.expect("json");
    assert_eq!(outcome["resourceType"], serde_json::json!("OperationOutcome"));
}

#[tokio::test]
async fn the_pages_load_the_norwegian_validation_script_and_print_stylesheet_as_files() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/login")).send().await.expect("get");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    let html = response.text().await.expect("html");
    assert!(
        html.contains("<script src=\"/static/skjema.js\" defer></script>"),
        "{html}"
    );
    assert!(!html.contains("style=\""), "no inline style: {html}");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    let response = app
        .client
        .get(app.url("/static/skjema.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(
        response
            .text()
            .await
            .expect("js")
            .contains("Fyll ut dette feltet.")
    );

    let response = app
        .client
        .get(app.url("/static/utskrift.css"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("css").contains("size: A4"));
}
