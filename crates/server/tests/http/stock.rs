//! The stock ledger at a place: receipts, dispensings and counts; a count that does
//! not match opens a deviation with the difference.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, read, spawn_app};

#[tokio::test]
async fn a_count_that_does_not_match_the_ledger_opens_a_deviation_with_the_difference() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(30).await;
    let receive = json!({"substance": "methadone_oral_solution", "movement": "received", "amount_mg": "1000", "note": "Levering"});
    let (status, body) = read(
        app.post(&app.world.utdeler, "/api/v1/stock", &receive)
            .send()
            .await
            .expect("receive"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app
        .dispense(&app.world.utdeler, &patient, "stock-1", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, stock) = read(
        app.get(&app.world.utdeler, "/api/v1/stock")
            .send()
            .await
            .expect("stock"),
    )
    .await;
    assert_eq!(stock["balances"][0]["balance_mg"], json!(940.0), "{stock}");

    let matching = json!({"substance": "methadone_oral_solution", "movement": "counted", "amount_mg": "940", "note": ""});
    let (status, body) = read(
        app.post(&app.world.utdeler, "/api/v1/stock", &matching)
            .send()
            .await
            .expect("count"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["deviation"].is_null(), "{body}");

    let short = json!({"substance": "methadone_oral_solution", "movement": "counted", "amount_mg": "925", "note": ""});
    let (status, body) = read(
        app.post(&app.world.utdeler, "/api/v1/stock", &short)
            .send()
            .await
            .expect("count"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["deviation"]["difference_mg"], json!(-15.0), "{body}");

    let (_, session) = app.login("utdeler", PASSWORD).await;
    let (_, html) = app.page(&session.expect("session"), "/lager").await;
    assert!(html.contains("Differanse -15 mg"), "{html}");
}

#[tokio::test]
async fn waste_needs_a_note_and_bad_amounts_change_nothing() {
    let app = spawn_app().await;
    let (_, session) = app.login("utdeler", PASSWORD).await;
    let session = session.expect("session");
    let fields = [
        ("substance", "methadone_oral_solution"),
        ("movement", "wasted"),
        ("amount_mg", "tjue"),
        ("note", ""),
    ];
    let (status, html, _) = app.submit(&session, "/lager", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Skriv inn mengden i mg.") && html.contains("Skriv hva som ble kassert"),
        "{html}"
    );
    assert!(html.contains("value=\"tjue\""), "what was typed is kept");
    let mut conn = app.state.store.read().await.expect("conn");
    assert!(
        samhand_store::stock::ledger(&mut conn, app.world.centre)
            .await
            .expect("ledger")
            .is_empty()
    );
}
