//! Stock in real units at a place: receipts in the product's unit with the mg
//! beside it, dispensings that take from the right product, counts signed by a
//! counter and a witness of the same place, and deviations beyond the policy's
//! threshold that both leaders see until a follow-up note closes them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_fields, read, spawn_app};

async fn receive(app: &TestApp, product: &str, quantity: &str) {
    let body = json!({"product": product, "movement": "received", "quantity": quantity, "note": "Levering"});
    let (status, answer) = app.post_json(&app.world.utdeler, "/api/v1/stock", &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
}

async fn stock(app: &TestApp) -> Value {
    let (status, stock) = app.get_json(&app.world.utdeler, "/api/v1/stock").await;
    assert_eq!(status, StatusCode::OK, "{stock}");
    stock
}

fn balance_of<'a>(stock: &'a Value, product: &str) -> &'a Value {
    stock["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|b| b["product"]["code"] == json!(product))
        .map(|b| &b["balance"])
        .unwrap_or(&Value::Null)
}

async fn count(app: &TestApp, quantity: &str, witness: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({
        "product": "methadone_solution_1mg_ml",
        "quantity": quantity,
        "note": "Kveldstelling",
        "witness": {"username": witness, "password": password},
    });
    app.post_json(&app.world.utdeler, "/api/v1/stock/counts", &body)
        .await
}

async fn failed_logins(app: &TestApp, username: &str) -> i64 {
    let mut conn = app.state.store.read().await.expect("conn");
    let user = samhand_store::users::by_username(&mut conn, username)
        .await
        .expect("user")
        .expect("exists");
    samhand_store::sessions::login_failures_of(
        &mut conn,
        samhand_store::sessions::AccountKind::Staff,
        user.user.id,
    )
    .await
    .expect("failures")
}

async fn counts_and_lines(app: &TestApp) -> (usize, usize) {
    let mut conn = app.state.store.read().await.expect("conn");
    let counts = samhand_store::stock::counts(&mut conn, app.world.centre)
        .await
        .expect("counts");
    let lines = samhand_store::stock::ledger(&mut conn, app.world.centre)
        .await
        .expect("ledger");
    (counts.len(), lines.len())
}

#[tokio::test]
async fn a_delivery_of_12000_mg_is_received_in_ml_with_the_mg_beside_it() {
    let app = spawn_app().await;
    receive(&app, "methadone_solution_5mg_ml", "2 400").await;
    receive(&app, "methadone_solution_1mg_ml", "12000 ml").await;
    let stock = stock(&app).await;
    let strong = balance_of(&stock, "methadone_solution_5mg_ml");
    assert_eq!(strong["quantity"], json!(2400.0), "{stock}");
    assert_eq!(strong["mg"], json!(12000.0), "{stock}");
    let weak = balance_of(&stock, "methadone_solution_1mg_ml");
    assert_eq!(weak["text"], json!("12 000 ml (12 000 mg)"), "{stock}");

    // A number that reads two ways, or in mg for a product kept in ml, changes nothing.
    for (typed, message) in [
        ("12.000", "tusener med mellomrom"),
        ("12000 mg", "Skriv mengden i ml"),
    ] {
        let body = json!({"product": "methadone_solution_1mg_ml", "movement": "received", "quantity": typed});
        let (status, problem) = app.post_json(&app.world.utdeler, "/api/v1/stock", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(error_fields(&problem), ["quantity"], "{problem}");
        assert!(problem.to_string().contains(message), "{typed}: {problem}");
    }
    assert_eq!(counts_and_lines(&app).await, (0, 2));

    let session = app.session_of("utdeler").await;
    let (_, html) = app.page(&session, "/lager").await;
    assert!(
        html.contains("2 400 ml") && html.contains("12 000 mg") && html.contains("Metadon mikstur 5 mg/ml"),
        "{html}"
    );
}

#[tokio::test]
async fn dispensing_takes_the_dose_from_the_product_the_place_keeps() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(31).await;
    receive(&app, "methadone_solution_5mg_ml", "100").await;
    let (status, body) = app
        .dispense(&app.world.utdeler, &patient, "stock-5", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let stock = stock(&app).await;
    // 60 mg of a 5 mg/ml solution is 12 ml.
    assert_eq!(
        balance_of(&stock, "methadone_solution_5mg_ml")["quantity"],
        json!(88.0),
        "{stock}"
    );
    assert!(
        balance_of(&stock, "methadone_solution_1mg_ml").is_null(),
        "{stock}"
    );
    let line = &stock["lines"][0];
    assert_eq!(line["movement"], json!("dispensed"), "{stock}");
    assert_eq!(line["product"], json!("methadone_solution_5mg_ml"));
    assert_eq!(line["amount"]["text"], json!("12 ml (60 mg)"));
    assert_eq!(line["dispensing"], body["id"], "{body}");
}

#[tokio::test]
async fn a_count_is_signed_by_a_witness_of_the_same_place_and_every_refusal_changes_nothing() {
    let app = spawn_app().await;
    receive(&app, "methadone_solution_1mg_ml", "1000").await;
    let before = counts_and_lines(&app).await;

    // The witness types a wrong password: refused, audited, counted like a failed login.
    let (status, problem) = count(&app, "1000", "koordinator", "feil-passord").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["witness.password"], "{problem}");
    assert!(
        problem.to_string().contains("Feil brukernavn eller passord"),
        "{problem}"
    );
    assert_eq!(failed_logins(&app, "koordinator").await, 1);
    let mut conn = app.state.store.read().await.expect("conn");
    let latest = samhand_store::audit::latest(&mut conn, 1).await.expect("audit");
    drop(conn);
    assert!(
        !latest[0].allowed && latest[0].detail.contains("witness \"koordinator\" refused"),
        "{:?}",
        latest[0]
    );

    // The counter cannot witness their own count.
    let (status, problem) = count(&app, "1000", "utdeler", PASSWORD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(error_fields(&problem), ["witness.username"], "{problem}");

    // Nor can someone from another place, even with the right password.
    let (status, problem) = count(&app, "1000", "utdeler2", PASSWORD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("Vitnet må arbeide ved"), "{problem}");
    assert_eq!(counts_and_lines(&app).await, before, "no refusal writes anything");

    // A colleague of the same place signs: both names on the count.
    let (status, body) = count(&app, "1000", "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["count"]["counted_by"]["name"],
        json!("Utdeler Ulla"),
        "{body}"
    );
    assert_eq!(
        body["count"]["witnessed_by"]["name"],
        json!("Koordinator Kåre"),
        "{body}"
    );
    assert!(body["deviation"].is_null(), "{body}");
    assert_eq!(
        failed_logins(&app, "koordinator").await,
        0,
        "a right password resets the counter"
    );

    // The same through the web form.
    let session = app.session_of("utdeler").await;
    let fields = [
        ("product", "methadone_solution_1mg_ml"),
        ("quantity", "1 000"),
        ("note", ""),
        ("witness_username", "koordinator"),
        ("witness_password", "feil"),
    ];
    let (status, html, _) = app.submit(&session, "/lager/telling", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Feil brukernavn eller passord."), "{html}");
    assert!(
        !html.contains("value=\"feil\""),
        "the password is not shown again"
    );
    let mut fields = fields;
    fields[4].1 = PASSWORD;
    let (status, html, _) = app.submit(&session, "/lager/telling", &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Telling registrert, kontrollert av Koordinator Kåre"),
        "{html}"
    );
}

#[tokio::test]
async fn a_count_beyond_the_threshold_is_a_deviation_both_leaders_see_until_a_follow_up_closes_it() {
    let app = spawn_app().await;
    // The patient's arrangement at the centre puts it under the LAR unit's leader.
    app.patient_on_daily_methadone(32).await;
    receive(&app, "methadone_solution_1mg_ml", "1000").await;

    // Within the default threshold of 5 mg: counted, no deviation.
    let (status, body) = count(&app, "997", "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["deviation"].is_null(), "{body}");

    let (status, body) = count(&app, "987", "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deviation = body["deviation"].clone();
    assert_eq!(deviation["difference_mg"], json!(-10.0), "{body}");
    assert_eq!(deviation["open"], json!(true));
    let id = deviation["id"].as_str().expect("id").to_string();
    assert!(
        deviation["description"]
            .as_str()
            .expect("text")
            .contains("Differanse -10 ml (-10 mg). Talt av Utdeler Ulla, kontrollert av Koordinator Kåre."),
        "{deviation}"
    );

    let open_for = |leader: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            let staff = match leader {
                "leder" => &app.world.leder,
                "stedleder" => &app.world.centre_leader,
                _ => &app.world.hospital_leader,
            };
            let (status, overview) = app.get_json(staff, "/api/v1/leader/overview").await;
            assert_eq!(status, StatusCode::OK, "{overview}");
            overview["open_deviations"]
                .as_array()
                .expect("list")
                .iter()
                .any(|d| d["id"] == json!(id))
        }
    };
    assert!(open_for("leder").await, "the LAR unit's leader sees it");
    assert!(open_for("stedleder").await, "the place's leader sees it");
    assert!(!open_for("sykehusleder").await, "a leader elsewhere does not");
    let (status, _) = app
        .get_json(&app.world.hospital_leader, &format!("/api/v1/deviations/{id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Staff of the place may add a note, not close it.
    let path = format!("/api/v1/deviations/{id}/follow-ups");
    let (status, _) = app
        .post_json(
            &app.world.utdeler,
            &path,
            &json!({"note": "Lukker selv", "close": true}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post_json(
            &app.world.utdeler,
            &path,
            &json!({"note": "Talt på nytt, samme resultat."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["open"], json!(true), "a note alone does not close it");

    // The place's leader closes it with a note, on the deviation's page.
    let session = app.session_of("stedleder").await;
    let (_, html) = app.page(&session, "/leder").await;
    assert!(html.contains(&format!("/avvik/{id}")), "{html}");
    let (status, html, _) = app
        .submit(
            &session,
            &format!("/avvik/{id}"),
            &[
                ("note", "Målebegeret var feil kalibrert; byttet."),
                ("close", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("avviket er lukket"), "{html}");

    let (_, closed) = app
        .get_json(&app.world.leder, &format!("/api/v1/deviations/{id}"))
        .await;
    assert_eq!(closed["open"], json!(false), "{closed}");
    let notes: Vec<(&str, bool, &str)> = closed["follow_ups"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|f| {
            (
                f["note"].as_str().expect("note"),
                f["closes"].as_bool().expect("closes"),
                f["written_by"]["name"].as_str().expect("name"),
            )
        })
        .collect();
    assert_eq!(
        notes,
        [
            ("Talt på nytt, samme resultat.", false, "Utdeler Ulla"),
            ("Målebegeret var feil kalibrert; byttet.", true, "Leder Sol"),
        ]
    );
    assert!(
        !open_for("leder").await && !open_for("stedleder").await,
        "closed is off the overviews"
    );
    let (status, _) = app
        .post_json(&app.world.leder, &path, &json!({"note": "Igjen", "close": true}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "closed once");
}

#[tokio::test]
async fn the_deviation_threshold_comes_from_the_policy_table() {
    let app = spawn_app().await;
    let mut tx = app.state.store.write().await.expect("tx");
    samhand_store::stock::set_policy_value(
        &mut tx,
        "stock.count_deviation_threshold_mg",
        20,
        Some(app.world.leder.id),
        app.state.clock.now(),
    )
    .await
    .expect("policy");
    tx.commit().await.expect("commit");
    receive(&app, "methadone_solution_1mg_ml", "1000").await;
    let (status, body) = count(&app, "985", "koordinator", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["deviation"].is_null(), "15 mg is within 20: {body}");
    // Tablets are counted: one missing is a deviation whatever the threshold.
    receive(&app, "buprenorphine_naloxone_tablet_8mg", "28").await;
    let body = json!({
        "product": "buprenorphine_naloxone_tablet_8mg",
        "quantity": "27",
        "witness": {"username": "koordinator", "password": PASSWORD},
    });
    let (status, body) = app
        .post_json(&app.world.utdeler, "/api/v1/stock/counts", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["deviation"]["difference_mg"], json!(-8.0), "{body}");
}

#[tokio::test]
async fn waste_needs_a_note_and_bad_amounts_change_nothing() {
    let app = spawn_app().await;
    let session = app.session_of("utdeler").await;
    let fields = [
        ("product", "methadone_solution_1mg_ml"),
        ("movement", "wasted"),
        ("quantity", "tjue"),
        ("note", ""),
    ];
    let (status, html, _) = app.submit(&session, "/lager", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Mengden må være et tall i ml") && html.contains("Skriv hva som ble kassert"),
        "{html}"
    );
    assert!(html.contains("value=\"tjue\""), "what was typed is kept");
    assert_eq!(counts_and_lines(&app).await, (0, 0));
    let (status, _) = read(
        app.get(&app.world.utdeler, "/api/v1/stock/products")
            .send()
            .await
            .expect("products"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
