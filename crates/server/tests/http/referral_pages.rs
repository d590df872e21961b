//! The referral pages: registering a referral from a form, the waiting list with
//! both kinds of breach in words, the assessment form (Norwegian errors, nothing
//! stored), the decision letter with the right to complain, the leader's
//! overview naming the breach, and the planning checklist on the overview.

use jiff::civil::{Time, date};
use reqwest::StatusCode;

use crate::helpers::{national_id, spawn_app};

#[tokio::test]
async fn a_referral_is_registered_assessed_and_its_letter_printed_from_the_pages() {
    let app = spawn_app().await;
    let lege = app.session_of(app.world.lege.username).await;
    let nid = national_id(501);
    let doctor = app.world.lege.id.to_string();
    let consultant = app.world.konsulent.id.to_string();
    let mut fields = vec![
        ("national_id", nid.as_str()),
        ("given_name", "Petra"),
        ("family_name", "Ventesen"),
        ("phone", "40000000"),
        ("address", "Gata 2"),
        ("referrer_name", "Fastlege Fiktiv"),
        ("referrer_service", "Testbyen legekontor"),
        ("reason", "Opioidavhengighet"),
        ("referrer_assessment", "Motivert"),
        ("received_on", "2026-11-06"),
        ("doctor_id", doctor.as_str()),
        ("consultant_id", consultant.as_str()),
    ];
    let (status, html) = app.page(&lege, "/venteliste/ny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Registrer henvisning"), "{html}");
    // Missing reason: the form again, in Norwegian, nothing made.
    fields[7].1 = " ";
    let (status, html, _) = app.submit(&lege, "/venteliste/ny", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv inn årsaken til henvisningen."), "{html}");
    fields[7].1 = "Opioidavhengighet";
    let (status, _, location) = app.submit(&lege, "/venteliste/ny", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let case = location.expect("to the referral");
    assert!(case.starts_with("/venteliste/"), "{case}");

    let (status, html) = app.page(&lege, "/venteliste").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Petra Ventesen"), "{html}");
    assert!(html.contains("har passert fristen for vurdering"), "{html}");

    // A right without a latest start date: refused in Norwegian, nothing stored.
    let assess = format!("{case}/vurdering");
    let (status, html, _) = app.submit(&lege, &assess, &[("decision", "right")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Skriv inn en gyldig dato for seneste oppstart"),
        "{html}"
    );
    let (status, _, _) = app
        .submit(
            &lege,
            &assess,
            &[
                ("decision", "right"),
                ("latest_start", "2026-12-14"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, html) = app.page(&lege, &case).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Rett til nødvendig helsehjelp"), "{html}");
    assert!(html.contains("Endre vurderingen"), "{html}");

    let (status, letter) = app.page(&lege, &format!("{case}/brev")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(letter.contains("Petra Ventesen"), "{letter}");
    assert!(letter.contains("14.12.2026"), "{letter}");
    assert!(letter.contains("Statsforvalteren"), "{letter}");

    // A quick start offered from the page shows on the waiting list.
    let (status, _, _) = app
        .submit(
            &lege,
            &format!("{case}/rask-oppstart"),
            &[
                ("offered", "Buprenorfin hos fastlegen"),
                ("offered_on", "2026-11-23"),
                ("answer", "declined"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = app.page(&lege, "/venteliste").await;
    assert!(html.contains("Vurdert med rett, ikke startet"), "{html}");
    assert!(html.contains("Buprenorfin hos fastlegen"), "{html}");
    assert!(html.contains("Takket nei"), "{html}");
    assert!(html.contains("Ventetid per måned"), "{html}");

    // Past the latest start: the leader's overview names the breach.
    app.set_oslo_time(date(2026, 12, 15), Time::constant(9, 0, 0, 0));
    let leder = app.session_of(app.world.leder.username).await;
    let (status, html) = app.page(&leder, "/leder").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("ikke startet, seneste oppstart 14.12.2026"),
        "{html}"
    );
    let lege = app.session_of(app.world.lege.username).await;
    let (_, html) = app.page(&lege, "/venteliste").await;
    assert!(html.contains("har passert fristen for oppstart"), "{html}");

    // A dispenser may not register or assess.
    let utdeler = app.session_of(app.world.utdeler.username).await;
    let (status, _) = app.page(&utdeler, "/venteliste/ny").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .submit(
            &utdeler,
            &assess,
            &[("decision", "right"), ("latest_start", "2026-12-30")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_overview_shows_the_planning_checklist_and_an_item_is_checked_from_it() {
    let app = spawn_app().await;
    let body = serde_json::json!({
        "national_id": national_id(511), "given_name": "Rut", "family_name": "Ventesen",
        "doctor_id": app.world.lege.id.to_string(), "consultant_id": app.world.konsulent.id.to_string(),
        "referrer_name": "Psykolog Fiktiv", "referrer_service": "Kommunal rustjeneste",
        "reason": "Opioidavhengighet", "referrer_assessment": "Trenger LAR", "received_on": "2026-11-16",
    });
    let (status, created) = app
        .post_json(&app.world.konsulent, "/api/v1/referrals", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let patient = created["patient_id"].as_str().unwrap();
    let konsulent = app.session_of(app.world.konsulent.username).await;
    let (status, html) = app.page(&konsulent, &format!("/pasienter/{patient}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Planlegging før oppstart"), "{html}");
    assert!(html.contains("Oppstart i institusjon eller hjemme"), "{html}");
    assert!(
        html.contains("Ikke vurdert ennå."),
        "the referral is named on the overview: {html}"
    );
    assert!(
        html.contains(&format!("/venteliste/{}", created["id"].as_str().unwrap())),
        "{html}"
    );
    let path = format!("/pasienter/{patient}/sjekkliste");
    let (status, html, _) = app
        .submit(&konsulent, &path, &[("item", "start_setting"), ("note", "")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Skriv inn hva som er avklart"), "{html}");
    let (status, _, _) = app
        .submit(
            &konsulent,
            &path,
            &[("item", "start_setting"), ("note", "Oppstart hjemme")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = app.page(&konsulent, &format!("/pasienter/{patient}")).await;
    assert!(html.contains("Oppstart hjemme"), "{html}");
}
