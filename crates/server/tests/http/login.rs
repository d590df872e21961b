//! Logins an attacker cannot turn against the staff: the lockout counts failures
//! per client address, so a spray from one address leaves everyone else able to
//! log in; the count is taken in one statement, so concurrent guesses get no more
//! password checks than the limit; an unknown name is answered, counted and locked
//! as a known one; rate limits per address and per account answer 429 with
//! `Retry-After`; and the client address comes from `X-Forwarded-For` only through
//! a trusted proxy.

use reqwest::StatusCode;
use samhand_domain::organisation::Role;
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_behind_proxy};
use crate::portal::number_of;

const WRONG: &str = "Feil brukernavn eller passord.";
const LOCKED: &str = "For mange mislykkede innlogginger";
const TOO_MANY: &str = "For mange forsøk på kort tid";

const SPRAYED: [&str; 6] = [
    "utdeler",
    "koordinator",
    "lege",
    "konsulent",
    "stedleder",
    "utdeler2",
];

#[tokio::test]
async fn sixty_wrong_passwords_from_one_address_leave_the_right_password_working_from_another() {
    // The address's rate limit raised, so that the 61st attempt meets the lockout.
    let app = spawn_app_behind_proxy(&[("SAMHAND_LOGIN_ATTEMPTS_PER_ADDRESS", "100".into())]).await;
    let attacker = "192.0.2.66";
    for round in 0..10 {
        for username in SPRAYED {
            let (status, html, session) = app.login_from(Some(attacker), username, "vinter2026").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "round {round}: {html}");
            assert!(session.is_none());
        }
    }
    // From the attacker's address every account is locked, even with the right
    // password.
    let (status, html, session) = app.login_from(Some(attacker), "utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(session.is_none() && html.contains(LOCKED), "{html}");

    // The staff log in from the centre's address as on any other morning.
    for username in SPRAYED {
        let (status, html, session) = app.login_from(Some("198.51.100.10"), username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{username}: {html}");
        assert!(session.is_some(), "{username}");
    }
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    // No SAMHAND_TRUSTED_PROXIES: every request counts under its real peer
    // (127.0.0.1), whatever X-Forwarded-For claims.
    let app = spawn_app().await;
    for n in 0..5 {
        let claimed = format!("192.0.2.{n}");
        let (status, _, _) = app.login_from(Some(&claimed), "utdeler", "feil").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, html, session) = app.login_from(Some("198.51.100.10"), "utdeler", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a claimed address changes nothing"
    );
    assert!(session.is_none() && html.contains(LOCKED), "{html}");
}

#[tokio::test]
async fn forty_concurrent_guesses_get_exactly_five_password_checks() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let app = app.clone();
        tasks.spawn(async move { app.login_from(None, "utdeler", &format!("gjetning-{n}")).await });
    }
    let (mut checked, mut locked) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        let (status, html, session) = result.expect("task");
        assert!(session.is_none());
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
        if html.contains(WRONG) {
            checked += 1;
        } else {
            assert!(html.contains(LOCKED), "{html}");
            locked += 1;
        }
    }
    assert_eq!(
        (checked, locked),
        (5, 35),
        "five guesses checked, the rest locked"
    );
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let (status, _, _) = app.login_from(None, "utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "open again after the lockout");
}

#[tokio::test]
async fn an_unknown_user_is_answered_counted_and_locked_as_a_known_one() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let (known_status, known, _) = app.login_from(None, "utdeler", "feil").await;
        let (unknown_status, unknown, _) = app.login_from(None, "finnes.ikke", "feil").await;
        assert_eq!(known_status, unknown_status);
        assert!(known.contains(WRONG) && unknown.contains(WRONG), "{unknown}");
    }
    let (_, known, _) = app.login_from(None, "utdeler", "feil").await;
    let (_, unknown, _) = app.login_from(None, "finnes.ikke", "feil").await;
    assert!(known.contains(LOCKED), "{known}");
    assert!(unknown.contains(LOCKED), "an unknown name locks too: {unknown}");

    // The portal: an unknown number and a wrong password read the same.
    let patient = app.patient_on_daily_methadone(131).await;
    let code = app.portal_code(&patient).await;
    let fnr = number_of(131);
    let activation = [
        ("national_id", fnr.as_str()),
        ("code", code.as_str()),
        ("password", "langt-passord-1"),
        ("repeated", "langt-passord-1"),
    ];
    let (status, _, _) = app.portal_form("/portal/aktiver", &activation).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let unknown_fnr = number_of(132);
    let (known_status, known, _) = app
        .portal_form(
            "/portal/logg-inn",
            &[("national_id", &fnr), ("password", "feil-passord")],
        )
        .await;
    let (unknown_status, unknown, _) = app
        .portal_form(
            "/portal/logg-inn",
            &[("national_id", &unknown_fnr), ("password", "feil-passord")],
        )
        .await;
    assert_eq!(known_status, unknown_status);
    let refused = "Feil fødselsnummer, kode eller passord.";
    assert!(known.contains(refused) && unknown.contains(refused), "{unknown}");

    // The FHIR token endpoint: an unknown client and a wrong secret read the same.
    let (client_id, _, _) = app
        .fhir_client(
            "Labben",
            "LAR-enheten Fjordvik",
            Role::LarConsultant,
            "system/Patient.read",
        )
        .await;
    let token = |id: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/fhir/token"))
                .basic_auth(id, Some("feil-hemmelighet"))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("token");
            (response.status(), response.text().await.expect("body"))
        }
    };
    assert_eq!(token(client_id).await, token("ukjent-klient".into()).await);
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_answered_429_with_retry_after() {
    let app = spawn_app_behind_proxy(&[("SAMHAND_LOGIN_ATTEMPTS_PER_ADDRESS", "3".into())]).await;
    let busy = "192.0.2.50";
    for username in ["utdeler", "lege", "konsulent"] {
        let (status, _, _) = app.login_from(Some(busy), username, "feil").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, html, _) = app.login_from(Some(busy), "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(
        html.starts_with("Retry-After: 20\n"),
        "one attempt per 20 s: {html}"
    );
    assert!(
        html.contains(TOO_MANY) && html.contains("<form"),
        "on the form: {html}"
    );

    // Another address is not slowed down, and the busy one may try again later.
    let (status, _, _) = app
        .login_from(Some("198.51.100.10"), "koordinator", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.clock.advance(jiff::SignedDuration::from_secs(20));
    let (status, _, _) = app.login_from(Some(busy), "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The FHIR token endpoint answers problem+json with Retry-After.
    for _ in 0..4 {
        app.client
            .post(app.url("/fhir/token"))
            .header("X-Forwarded-For", "192.0.2.51")
            .basic_auth("ukjent", Some("feil"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
    }
    let response = app
        .client
        .post(app.url("/fhir/token"))
        .header("X-Forwarded-For", "192.0.2.51")
        .basic_auth("ukjent", Some("feil"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["status"], 429, "{problem}");

    // The portal's login answers on its form too.
    for _ in 0..4 {
        let (status, html) = portal_login_from(&app, "192.0.2.52").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(html.contains(TOO_MANY), "{html}");
            return;
        }
    }
    panic!("the portal's login was not limited");
}

async fn portal_login_from(app: &TestApp, address: &str) -> (StatusCode, String) {
    let page = app
        .client
        .get(app.url("/portal/logg-inn"))
        .send()
        .await
        .expect("page");
    let cookie = crate::helpers::set_cookie(&page, "samhand_login_csrf").expect("cookie");
    let csrf = crate::helpers::csrf_in(&page.text().await.expect("html")).expect("csrf");
    let response = app
        .client
        .post(app.url("/portal/logg-inn"))
        .header("Cookie", format!("samhand_login_csrf={cookie}"))
        .header("X-Forwarded-For", address)
        .form(&[
            ("national_id", number_of(140).as_str()),
            ("password", "feil"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("post");
    (response.status(), response.text().await.expect("html"))
}

#[tokio::test]
async fn too_many_password_checks_at_one_account_from_many_addresses_are_answered_429() {
    let app = spawn_app_behind_proxy(&[("SAMHAND_LOGIN_ATTEMPTS_PER_ACCOUNT", "3".into())]).await;
    for n in 1..=3 {
        let (status, _, _) = app
            .login_from(Some(&format!("192.0.2.{n}")), "utdeler", "feil")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, html, _) = app.login_from(Some("192.0.2.4"), "utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains(TOO_MANY), "{html}");
    // Other accounts are not held up.
    let (status, _, _) = app.login_from(Some("192.0.2.4"), "lege", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
