//! The organisations, policy, users and tokens the server keeps in memory follow
//! every change in the database at once, also one made outside this server process
//! (another server on the same PostgreSQL, or by hand): a revoked token, a
//! deactivated user, a renamed place, a changed threshold.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_token_revoked_or_a_user_deactivated_elsewhere_is_refused_at_the_next_request() {
    let app = spawn_app().await;
    let w = &app.world;
    for staff in [&w.lege, &w.utdeler] {
        let (status, _) = app.get_json(staff, "/api/v1/alerts").await;
        assert_eq!(status, StatusCode::OK, "{} is let in first", staff.username);
    }
    app.elsewhere(
        "UPDATE api_tokens SET revoked_at = 1 WHERE user_id = $1",
        &w.lege.id.to_string(),
    )
    .await;
    let (status, _) = app.get_json(&w.lege, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the revoked token");
    app.elsewhere(
        "UPDATE users SET active = 0 WHERE id = $1",
        &w.utdeler.id.to_string(),
    )
    .await;
    let (status, _) = app.get_json(&w.utdeler, "/api/v1/dispensing/today").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the deactivated user");
}

#[tokio::test]
async fn a_place_renamed_elsewhere_is_shown_by_its_new_name_at_once() {
    let app = spawn_app().await;
    let w = &app.world;
    let list = app.today_list(&w.utdeler).await;
    let before = list["place"]["name"].as_str().expect("place name").to_string();
    app.elsewhere(
        "UPDATE organisations SET name = 'Omdøpt LAR-senter' WHERE id = $1",
        &w.centre.to_string(),
    )
    .await;
    let list = app.today_list(&w.utdeler).await;
    assert_ne!(before, "Omdøpt LAR-senter");
    assert_eq!(list["place"]["name"], "Omdøpt LAR-senter");
}
