//! Tidy tests: the architecture's invariants, checked on the source itself, so that a
//! change that breaks one fails here with the file and line (ARCHITECTURE.md lists
//! them). They read the workspace's Rust sources; tests and test helpers are outside
//! their reach.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, with its path from the workspace root.
fn sources(dir: &str) -> Vec<(String, String)> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(path).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read source");
            let name = path
                .strip_prefix(root())
                .unwrap_or(&path)
                .display()
                .to_string()
                .replace("../", "");
            (name, text)
        })
        .collect()
}

/// The lines of the non-test code of a file (up to its `#[cfg(test)]` module).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

fn server_store_cli() -> Vec<(String, String)> {
    ["crates/server/src", "crates/store/src", "crates/cli/src"]
        .iter()
        .flat_map(|dir| sources(dir))
        .collect()
}

fn assert_none(found: Vec<String>, what: &str) {
    assert!(found.is_empty(), "{what}:\n  {}", found.join("\n  "));
}

#[test]
fn the_access_policy_is_asked_only_through_the_repo() {
    let found = server_store_cli()
        .iter()
        .filter(|(name, _)| !name.ends_with("server/src/repo.rs"))
        .flat_map(|(name, text)| {
            code_lines(text)
                .filter(|(_, line)| line.contains("access::decide(") || line.contains(" decide(&"))
                .map(move |(n, line)| format!("{name}:{n}: {}", line.trim()))
        })
        .collect();
    assert_none(found, "access::decide called outside PatientRepo");
}

#[test]
fn passwords_are_hashed_and_verified_off_the_async_workers() {
    // argon2 holds a thread for tens of milliseconds: the server calls it only
    // through `auth::hash_password_off_thread` and `auth::verify_password_off_thread`
    // (spawn_blocking). The command line (`cli`) may block: it serves no requests.
    let found = sources("crates/server/src")
        .iter()
        .filter(|(name, _)| !name.ends_with("server/src/auth.rs"))
        .flat_map(|(name, text)| {
            code_lines(text)
                .filter(|(_, line)| {
                    line.contains("hash_password(")
                        || line.contains("verify_password(")
                        || line.contains("Argon2")
                })
                .map(move |(n, line)| format!("{name}:{n}: {}", line.trim()))
        })
        .collect();
    assert_none(
        found,
        "argon2 called on an async worker (use the *_off_thread helpers)",
    );
}

#[test]
fn write_grants_are_made_only_by_the_repo() {
    let found = server_store_cli()
        .iter()
        .filter(|(name, _)| !name.ends_with("server/src/repo.rs"))
        .flat_map(|(name, text)| {
            code_lines(text)
                .filter(|(_, line)| line.contains("WriteGrant {"))
                .map(move |(n, line)| format!("{name}:{n}: {}", line.trim()))
        })
        .collect();
    assert_none(found, "a WriteGrant built outside PatientRepo");
}

#[test]
fn a_patient_write_is_begun_only_by_the_repo_or_for_synthetic_history() {
    let found = server_store_cli()
        .iter()
        .flat_map(|(name, text)| {
            code_lines(text)
                .filter(|(_, line)| {
                    let begun =
                        line.contains("PatientWrite::begin(") && !name.ends_with("server/src/repo.rs");
                    let synthetic = line.contains("PatientWrite::synthetic_history(")
                        && !name.contains("cli/src/demo/")
                        && !name.ends_with("cli/src/bench.rs");
                    begun || synthetic
                })
                .map(move |(n, line)| format!("{name}:{n}: {}", line.trim()))
        })
        .collect();
    assert_none(
        found,
        "a PatientWrite begun outside PatientRepo (or the demo and bench)",
    );
}

#[test]
fn outcomes_and_kinds_are_typed_outside_domain() {
    use samhand_domain::code::Code;
    let mut codes: Vec<(&str, &str)> = Vec::new();
    codes.extend(
        samhand_domain::message::MessageKind::ALL
            .iter()
            .map(|k| (k.code(), "message kind")),
    );
    codes.extend(
        samhand_domain::stock::DeviationKind::ALL
            .iter()
            .map(|k| (k.code(), "deviation kind")),
    );
    codes.extend(
        samhand_domain::care::PatientRequestKind::ALL
            .iter()
            .map(|k| (k.code(), "patient request kind")),
    );
    let outcomes: Vec<&str> = samhand_domain::dispensing::OutcomeKind::codes();
    let found = server_store_cli()
        .iter()
        .flat_map(|(name, text)| {
            let codes = &codes;
            let outcomes = &outcomes;
            code_lines(text)
                .filter_map(move |(n, line)| {
                    // A one-word code ("overdose") is also a word: it counts where the
                    // line is about a kind.
                    let kind = codes
                        .iter()
                        .filter(|(code, _)| code.contains('_') || line.contains("kind"))
                        .find(|(code, _)| line.contains(&format!("\"{code}\"")))
                        .map(|(_, what)| *what);
                    // An outcome code is a common word ("given"): it counts where the
                    // line is about an outcome.
                    let outcome = (line.contains("outcome")
                        && outcomes.iter().any(|code| line.contains(&format!("\"{code}\""))))
                    .then_some("dispensing outcome");
                    kind.or(outcome)
                        .map(|what| format!("{name}:{n}: a {what} as a string literal: {}", line.trim()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_none(
        found,
        "a code written as text outside domain (use the domain enum's code())",
    );
}

#[test]
fn the_error_type_renders_no_page_and_access_and_privacy_do_not_import_each_other() {
    let mut found = Vec::new();
    for (name, text) in sources("crates/server/src") {
        if name.ends_with("server/src/error.rs") && text.contains("crate::pages") {
            found.push(format!("{name}: error.rs uses the page layer"));
        }
    }
    for (name, text) in sources("crates/domain/src") {
        if name.ends_with("domain/src/privacy.rs") && text.contains("crate::access") {
            found.push(format!("{name}: privacy imports access"));
        }
    }
    assert_none(found, "an import circle");
}

/// Rooms stay small: no source file has more than this many lines before its tests.
const MAX_CODE_LINES: usize = 850;

#[test]
fn no_source_file_outgrows_its_room() {
    let found = [
        "crates/domain/src",
        "crates/store/src",
        "crates/server/src",
        "crates/cli/src",
    ]
    .iter()
    .flat_map(|dir| sources(dir))
    .filter_map(|(name, text)| {
        let lines = text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
            .count();
        (lines > MAX_CODE_LINES).then(|| format!("{name}: {lines} lines before its tests"))
    })
    .collect();
    assert_none(found, "a file larger than a room (split it by area)");
}
