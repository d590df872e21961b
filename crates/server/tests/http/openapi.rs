//! The JSON API's OpenAPI document, checked by an independent validator
//! (openapi-spec-validator, tests/openapi) against the OpenAPI 3.1 specification.

use reqwest::StatusCode;

use serde_json::Value;

use crate::helpers::{TestApp, read, spawn_app};
use crate::venv;

/// The OpenAPI document, fetched without a token as a client would.
pub async fn openapi_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("get");
    let (status, document) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    document
}

#[tokio::test]
async fn the_openapi_document_is_valid_by_openapi_spec_validator() {
    let app = spawn_app().await;
    let document = openapi_document(&app).await;
    // The report's range is a query, not a path, parameter (it was declared required
    // path parameters, which no path of the document has).
    let params = document["paths"]["/naloxone"]["get"]["parameters"]
        .as_array()
        .expect("the naloxone report's parameters");
    assert!(params.iter().all(|p| p["in"] == "query"), "{params:?}");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).expect("write the document");
    let (ok, stdout, stderr) = venv::run(
        "openapi",
        "openapi-spec-validator",
        vec![file.display().to_string()],
    )
    .await;
    assert!(ok, "openapi-spec-validator:\n{stdout}\n{stderr}");
}
