//! The outside tools the tests run from pinned Python venvs under tests/<tool>
//! (tests/fhir, tests/openapi): each installed once per test run by its setup.sh,
//! which does nothing when the venv is already complete.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs tests/<tool>/.venv once (its setup.sh) and returns the venv's bin
/// directory.
pub fn venv_bin(tool: &str) -> PathBuf {
    static DONE: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    let root = repo_root();
    let done = done.get_or_insert_with(HashSet::new);
    if !done.contains(tool) {
        let setup = root.join("tests").join(tool).join("setup.sh");
        let status = std::process::Command::new("bash")
            .arg(&setup)
            .status()
            .expect("run setup.sh");
        assert!(
            status.success(),
            "{} failed: the test needs python3 and PyPI",
            setup.display()
        );
        done.insert(tool.to_string());
    }
    root.join("tests").join(tool).join(".venv/bin")
}

/// Runs a program of tests/<tool>/.venv/bin off the async runtime, so that the app
/// keeps answering; returns (success, stdout, stderr).
pub async fn run(tool: &str, program: &str, args: Vec<String>) -> (bool, String, String) {
    let program = venv_bin(tool).join(program);
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(&program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    })
    .await
    .expect("venv task")
}

/// Runs a node script of tests/<tool> (whose packages its setup.sh installs once)
/// off the async runtime; returns (success, stdout, stderr).
pub async fn run_node(tool: &str, script: &str, args: Vec<String>) -> (bool, String, String) {
    venv_bin(tool);
    let script = repo_root().join("tests").join(tool).join(script);
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("node")
            .arg(&script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run node {}: {e}", script.display()));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    })
    .await
    .expect("node task")
}
