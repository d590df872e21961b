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

/// The tables that hold a patient's record: every table the migrations create with
/// a `patient_id` column, and `patients` itself.
fn patient_tables() -> Vec<String> {
    let mut tables = vec!["patients".to_string()];
    let dir = root().join("crates/store/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read migrations")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for file in files {
        let sql = std::fs::read_to_string(&file).expect("read migration");
        for statement in sql.split(';') {
            let Some(at) = statement.find("CREATE TABLE ") else {
                continue;
            };
            let rest = statement[at + "CREATE TABLE ".len()..].trim_start_matches("IF NOT EXISTS ");
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if statement.contains("patient_id") && !tables.contains(&name) {
                tables.push(name);
            }
        }
    }
    tables
}

/// The tables a piece of SQL inserts into or updates.
fn written_tables(text: &str) -> Vec<String> {
    ["INSERT INTO ", "UPDATE "]
        .iter()
        .flat_map(|verb| text.match_indices(verb).map(move |(at, _)| at + verb.len()))
        .map(|at| {
            text[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The store's public functions: (name, parameters, body), each from its
/// `pub async fn` / `pub fn` line to the closing brace in the first column.
fn public_store_functions(text: &str) -> Vec<(String, String, String)> {
    let code: Vec<&str> = text
        .lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .collect();
    let mut found = Vec::new();
    for (i, line) in code.iter().enumerate() {
        let Some(rest) = line
            .strip_prefix("pub async fn ")
            .or_else(|| line.strip_prefix("pub fn "))
        else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = code[i..]
            .iter()
            .position(|l| *l == "}")
            .map_or(code.len(), |n| i + n);
        let body = code[i..end].join("\n");
        let params = body
            .split_once('(')
            .map_or("", |(_, after)| after)
            .split(") ->")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        found.push((name, params, body));
    }
    found
}

/// Store functions that write a patient's table with a bare connection among their
/// parameters, on purpose: (file, function, why).
const WRITES_WITHOUT_A_PATIENT_WRITE: &[(&str, &str, &str)] = &[
    (
        "store/src/audit.rs",
        "append_all",
        "the audit log itself: PatientWrite::commit and the repository write it",
    ),
    (
        "store/src/bench.rs",
        "insert_history",
        "the bench's bulk synthetic history, under the PatientWrite of its patients",
    ),
    (
        "store/src/messages.rs",
        "insert_patient_receipt",
        "a read receipt, recorded with the read it goes with (PatientRepo::record_read)",
    ),
    (
        "store/src/pharmacy_count.rs",
        "insert_approval",
        "the leader's approval freezes the count that the same request's reads decided and audited \
         (one list view per category); no clinical record is written, and the copy is append-only",
    ),
    (
        "store/src/portal.rs",
        "activate",
        "the patient sets their own password with a one-time code: an account, not the record",
    ),
];

#[test]
fn a_patients_table_is_written_only_through_a_patient_write() {
    let tables = patient_tables();
    assert!(
        ["stays", "messages", "care_tasks", "episodes"]
            .iter()
            .all(|t| tables.iter().any(|found| found == t)),
        "the migrations were not read: {tables:?}"
    );
    let found: Vec<String> = sources("crates/store/src")
        .iter()
        .flat_map(|(name, text)| {
            let tables = &tables;
            public_store_functions(text)
                .into_iter()
                .filter(move |(function, params, body)| {
                    let bare = params.contains("AnyConnection") || params.contains("Conn");
                    let writes = written_tables(body).iter().any(|t| tables.contains(t));
                    let excepted = WRITES_WITHOUT_A_PATIENT_WRITE
                        .iter()
                        .any(|(file, f, _)| name.ends_with(file) && f == function);
                    bare && writes && !excepted
                })
                .map(move |(function, params, _)| format!("{name}: {function}({params})"))
        })
        .collect();
    assert_none(
        found,
        "a store function writes a patient's table on a bare connection (take &mut PatientWrite \
         and begin with write.of(patient))",
    );
}

#[test]
fn only_the_scheduler_sends_a_notice_outside_a_patient_write() {
    let found = server_store_cli()
        .iter()
        .filter(|(name, _)| {
            // timed.rs: the clock's notices; edi.rs: a received EDI message put in
            // the unit's inbox by the scheduler's EDI job (nobody in Samhand wrote it).
            !name.ends_with("server/src/service/timed.rs")
                && !name.ends_with("server/src/service/edi.rs")
                && !name.ends_with("store/src/messages.rs")
        })
        .flat_map(|(name, text)| {
            code_lines(text)
                .filter(|(_, line)| line.contains("insert_notice("))
                .map(move |(n, line)| format!("{name}:{n}: {}", line.trim()))
        })
        .collect();
    assert_none(
        found,
        "a message sent as Samhand's own notice outside the scheduler (send it in the PatientWrite)",
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

/// utoipa keys the OpenAPI document's components by the type's name: two types of
/// one name silently share one schema, and answers of one are then checked against
/// the other's (schemathesis found a deviation's follow-up checked as a drug test's).
#[test]
fn every_openapi_schema_has_a_name_of_its_own() {
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (file, text) in ["crates/server/src", "crates/domain/src"]
        .iter()
        .flat_map(|dir| sources(dir))
    {
        let lines: Vec<(usize, &str)> = code_lines(&text).collect();
        for (i, (_, line)) in lines.iter().enumerate() {
            if !(line.contains("derive(") && line.contains("ToSchema")) {
                continue;
            }
            let named = lines[i + 1..].iter().take(8).find_map(|(number, next)| {
                let next = next.trim();
                let renamed = next
                    .strip_prefix("#[schema(as = ")
                    .and_then(|r| r.split(')').next());
                let declared = ["pub struct ", "pub enum ", "struct ", "enum "]
                    .iter()
                    .find_map(|p| next.strip_prefix(p))
                    .map(|r| {
                        r.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap_or(r)
                    });
                renamed.or(declared).map(|name| (name.to_string(), *number))
            });
            if let Some((name, number)) = named {
                seen.entry(name).or_default().push(format!("{file}:{number}"));
            }
        }
    }
    let twice: Vec<String> = seen
        .into_iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    assert_none(twice, "OpenAPI schema names declared twice");
}
