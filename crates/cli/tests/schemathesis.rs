//! Schemathesis, an independent property-based API tester, against the OpenAPI
//! document of the real `samhand serve --demo`: it generates requests for every
//! operation from the document (the examples, the boundaries of each parameter and
//! body, and random data) and checks each answer. There must be no server error,
//! and every answer must have a documented status, content type and headers and
//! match its schema. The requests come with the API tokens of a prescriber, a
//! dispensing nurse and an administrator, so each operation is reached with and
//! without the right to it. The run is bounded (`SAMHAND_SCHEMATHESIS_EXAMPLES`
//! examples an operation, default 10) and reproducible: the seed is fixed unless
//! `SAMHAND_SCHEMATHESIS_SEED` gives another. It runs on both databases, because a
//! store refusal mapped to a 500 is what it finds.
//!
//! Needs tests/schemathesis/.venv (tests/schemathesis/setup.sh, which
//! scripts/test runs).

mod support;

use std::process::Command;
use std::time::Instant;

use support::demo_server::{
    free_port, fresh_postgres_database, repo_root, start_server, token, wait_until_healthy,
};

/// The seed of the generated data, fixed so that a failure can be replayed.
const DEFAULT_SEED: &str = "20261204";

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_openapi_document() {
    let root = repo_root();
    let schemathesis = root.join("tests/schemathesis/.venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "no {}: run tests/schemathesis/setup.sh (scripts/test does)",
        schemathesis.display()
    );
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let database_url = fresh_postgres_database(data_dir.path());
    let port = free_port();
    let mut server = start_server(port, data_dir.path(), database_url.as_deref());
    wait_until_healthy(&mut server, port);
    let examples = std::env::var("SAMHAND_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("SAMHAND_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    for user in ["lege", "utdeler", "admin"] {
        let bearer = token(data_dir.path(), database_url.as_deref(), user);
        let started = Instant::now();
        let output = Command::new(&schemathesis)
            .arg("run")
            .arg(format!("http://127.0.0.1:{port}/api/v1/openapi.json"))
            .args(["--header", &format!("Authorization: Bearer {bearer}")])
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,\
                 content_type_conformance,response_headers_conformance",
            ])
            .args(["--phases", "examples,coverage,fuzzing"])
            // One worker: CPython 3.11 (Debian's) can raise "AST constructor
            // recursion depth mismatch" inside Hypothesis when two threads build
            // syntax trees at once (CPython gh-106905), a failure of the tester and
            // not of the server.
            .args(["--max-examples", &examples, "--seed", &seed, "--workers", "1"])
            .args(["--no-color", "--warnings", "off"])
            // Hypothesis keeps its database in the working directory.
            .current_dir(data_dir.path())
            .output()
            .expect("run schemathesis");
        let report = String::from_utf8_lossy(&output.stdout);
        eprintln!(
            "schemathesis as {user}: {:.1} s, {}",
            started.elapsed().as_secs_f64(),
            report
                .lines()
                .rev()
                .find(|line| line.contains("generated"))
                .unwrap_or("no summary")
                .trim()
        );
        assert!(
            output.status.success(),
            "schemathesis as {user} (seed {seed}) found failures:\n{report}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            server.log()
        );
    }
}
