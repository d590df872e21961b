//! Operations on the database itself: `samhand backup`, `samhand restore`,
//! `samhand import`, `samhand verify-state` and `samhand audit verify|checkpoint`.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use samhand_domain::time::{Clock, SystemClock};
use samhand_server::Config;
use samhand_store::Store;
use samhand_store::anchor::{self, AuditKey, Verification};
use samhand_store::backup::{DATABASE_FILE, backup_sqlite, replaced_name};

use crate::{Failure, connect, connect_without_key, describe_database};

const POSTGRES_BACKUP: &str = "Samhand on PostgreSQL is backed up with PostgreSQL's own tools: \
    pg_dump --format=custom --file=samhand.dump \"$DATABASE_URL\", and restored into an empty database with \
    pg_restore --dbname=\"$DATABASE_URL\" samhand.dump (see README, «Running it»)";

/// `samhand backup --to FILE`: a consistent copy of the running database.
pub async fn backup(config: &Config, target: &Path) -> Result<(), Failure> {
    if config.database_url.is_some() {
        return Err(anyhow!(POSTGRES_BACKUP).into());
    }
    // Opened as it is: a backup never migrates the database a server runs on.
    let url = config.database_url()?;
    let store = Store::open(&url, 2)
        .await
        .with_context(|| format!("cannot open the database ({})", describe_database(config)))?;
    let size = backup_sqlite(&store, target).await;
    store.close().await;
    let size = size.map_err(|e| anyhow!("the backup failed: {e}"))?;
    println!(
        "backed up {} to {} ({:.1} MB)",
        describe_database(config),
        target.display(),
        size as f64 / 1_000_000.0
    );
    Ok(())
}

/// `samhand restore --from FILE [--force]`: checks the copy (a Samhand database whose
/// migrations apply and whose audit chain is intact), then puts it in place of the
/// database in SAMHAND_DATA_DIR; a database already there is kept beside it, renamed,
/// and only with `--force`. The server must be stopped.
pub async fn restore(config: &Config, source: &Path, force: bool) -> Result<(), Failure> {
    if config.database_url.is_some() {
        return Err(anyhow!(POSTGRES_BACKUP).into());
    }
    if !source.is_file() {
        return Err(anyhow!("{} is not a file", source.display()).into());
    }
    let target = config.data_dir.join(DATABASE_FILE);
    if target.exists() && !force {
        return Err(anyhow!(
            "{} exists; stop the server and give --force to replace it (it is kept beside, renamed)",
            target.display()
        )
        .into());
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let staging = config.data_dir.join(format!("{DATABASE_FILE}.restoring-{stamp}"));
    std::fs::copy(source, &staging).with_context(|| format!("cannot copy {}", source.display()))?;
    let checked = check_copy(&staging, config.audit_key(false)?).await;
    let (entries, dispensings) = match checked {
        Ok(found) => found,
        Err(error) => {
            let _ = std::fs::remove_file(&staging);
            return Err(error);
        }
    };
    // Write-ahead files beside the target belong to the database they were made
    // for; SQLite would read them into the restored one.
    if !target.exists() {
        for suffix in ["-wal", "-shm"] {
            let side = sidecar(&target, suffix);
            if side.exists() {
                std::fs::remove_file(&side)
                    .with_context(|| format!("cannot remove the stale {}", side.display()))?;
            }
        }
    }
    if target.exists() {
        let kept = replaced_name(&target, &stamp);
        std::fs::rename(&target, &kept).with_context(|| format!("cannot move {} aside", target.display()))?;
        for suffix in ["-wal", "-shm"] {
            let side = sidecar(&target, suffix);
            if side.exists() {
                std::fs::rename(&side, sidecar(&kept, suffix)).context("cannot move the old WAL aside")?;
            }
        }
        println!("kept the database it replaces as {}", kept.display());
    }
    std::fs::rename(&staging, &target)
        .with_context(|| format!("cannot put the copy in {}", target.display()))?;
    set_checkpoints_aside(config, &stamp)?;
    println!(
        "restored {} into {}: the audit log is intact ({entries} entries), {dispensings} dispensings",
        source.display(),
        target.display()
    );
    Ok(())
}

/// The checkpoints saw the log of the database that was replaced, which may reach
/// further than the copy's: they are kept beside, renamed, and the server starts
/// a new file with its first checkpoint.
fn set_checkpoints_aside(config: &Config, stamp: &str) -> Result<(), Failure> {
    let file = config.audit_checkpoints().join(anchor::CHECKPOINT_FILE);
    if file.exists() {
        let kept = sidecar(&file, &format!(".before-restore-{stamp}"));
        std::fs::rename(&file, &kept).with_context(|| format!("cannot move {} aside", file.display()))?;
        println!(
            "kept the audit checkpoints of the replaced database as {}",
            kept.display()
        );
    }
    Ok(())
}

fn sidecar(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens the copy as it is, without migrating it: it must be a Samhand database
/// (its migrations recorded, none changed since it was applied; an older copy
/// lacking the newest is migrated when the server starts); then verifies its audit
/// chain and counts its dispensings.
async fn check_copy(path: &Path, key: Option<AuditKey>) -> Result<(i64, i64), Failure> {
    let url = format!("sqlite://{}?mode=rw", path.display());
    let mut store = Store::open(&url, 2)
        .await
        .map_err(|e| anyhow!("{} cannot be opened as a database: {e}", path.display()))?;
    if let Some(key) = key {
        store = store.with_audit_key(key);
    }
    let problems = samhand_store::migrate::readiness(&store).await;
    let refusal = match &problems {
        Err(_) => Some(format!(
            "{} is not a Samhand database (it has no migrations)",
            path.display()
        )),
        Ok(problems) if problems.iter().any(|p| p.contains("changed")) => Some(format!(
            "the copy does not fit this Samhand: {}",
            problems.join("; ")
        )),
        Ok(problems) if problems.len() == samhand_store::migrate::embedded().count() => Some(format!(
            "{} is not a Samhand database (no migration applied)",
            path.display()
        )),
        Ok(_) => None,
    };
    if let Some(refusal) = refusal {
        store.close().await;
        return Err(anyhow!("{refusal}; not restored").into());
    }
    // The copy is older than this installation's checkpoints: its chain is checked
    // against the key alone.
    let verification = anchor::verify(&store, None).await;
    let dispensings = samhand_store::backup::dispensing_count(&store).await;
    store.close().await;
    let entries = match verification.map_err(|e| anyhow!("cannot verify the audit log: {e}"))? {
        Verification::Intact { entries, .. } => entries,
        Verification::Broken { seq, problem } => {
            let at = seq.map(|seq| format!(" at entry {seq}")).unwrap_or_default();
            return Err(anyhow!("the copy's audit log is broken{at}: {problem}; not restored").into());
        }
    };
    Ok((
        entries,
        dispensings.map_err(|e| anyhow!("cannot read the copy: {e}"))?,
    ))
}

/// `samhand import --file F [--apply]`: a dry run, or the import; the report either
/// way, a line per row.
pub async fn import(config: Config, file: &Path, apply: bool) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = connect(&config).await?;
    let state = samhand_server::AppState::new(
        store.clone(),
        std::sync::Arc::new(samhand_domain::time::SystemClock),
        config,
    );
    let report = samhand_server::admin::import(&state, None, &text, apply).await;
    store.close().await;
    let report = report.map_err(crate::app_failure)?;
    for row in &report.rows {
        match &row.result {
            Ok(invitation) => println!(
                "line {}: {} {}{}",
                row.line,
                row.what,
                if apply { "created" } else { "would be created" },
                invitation
                    .as_deref()
                    .map(|i| format!("; invitation {i}"))
                    .unwrap_or_default()
            ),
            Err(why) => println!("line {}: {} refused: {why}", row.line, row.what),
        }
    }
    println!(
        "{}: {} {}, {} refused",
        if apply {
            "imported"
        } else {
            "dry run, nothing changed"
        },
        report.created(),
        if apply { "created" } else { "would be created" },
        report.refused()
    );
    if report.refused() > 0 && !apply {
        return Err(Failure::Reported);
    }
    Ok(())
}

/// `samhand verify-state`: every patient's kept dosing state against the state
/// derived from their whole history (H68), and every place's kept stock balances
/// against its ledger (H104). Exit 0 with a summary when all are equal; exit 1
/// naming each patient or product that differs and how.
pub async fn verify_state(config: &Config, rebuild: bool) -> Result<(), Failure> {
    let store = connect_without_key(config).await?;
    let result = async {
        if rebuild {
            let patients = samhand_store::day_state::rebuild(&store).await?;
            println!("derived the kept dosing state of {patients} patients from the history");
            let places = samhand_store::stock_balance::rebuild(&store).await?;
            println!("derived the kept stock balances of {places} places from the ledger");
        }
        let mut conn = store.read().await?;
        let dosing = samhand_store::day_state::verify(&mut conn).await?;
        let stock = samhand_store::stock_balance::verify(&mut conn).await?;
        Ok::<_, samhand_store::StoreError>((dosing, stock))
    }
    .await;
    store.close().await;
    let ((patients, mismatches), (places, stock_mismatches)) =
        result.context("cannot verify the kept state")?;
    if mismatches.is_empty() {
        println!(
            "kept dosing state intact: {patients} patients, each equal to the state derived from the history"
        );
    } else {
        for mismatch in &mismatches {
            println!(
                "patient {}: kept: {}; derived from the history: {}",
                mismatch.patient, mismatch.kept, mismatch.derived
            );
        }
        println!(
            "kept dosing state differs from the history for {} of {patients} patients: \
             missed-dose alerts and blocks of these patients may be wrong until it is rebuilt \
             (`samhand verify-state --rebuild`)",
            mismatches.len()
        );
    }
    if stock_mismatches.is_empty() {
        println!("kept stock balances intact: {places} places, each equal to its ledger");
    } else {
        let shown = |row: &Option<samhand_store::stock_balance::KeptBalance>| {
            row.as_ref()
                .map_or_else(|| "none".to_string(), ToString::to_string)
        };
        for mismatch in &stock_mismatches {
            println!(
                "place {}, product {}: kept: {}; derived from the ledger: {}",
                mismatch.place,
                mismatch.product.code,
                shown(&mismatch.kept),
                shown(&mismatch.derived)
            );
        }
        println!(
            "kept stock balances differ from the ledger for {} products: the products a \
             dispensing takes and the balance a count is compared with may be wrong until they \
             are rebuilt (`samhand verify-state --rebuild`)",
            stock_mismatches.len()
        );
    }
    if mismatches.is_empty() && stock_mismatches.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

/// `samhand audit verify`: the chain against its key and the checkpoints. The key
/// is not created here: a log that needs one it cannot find is an error.
pub async fn verify_audit(config: &Config) -> Result<(), Failure> {
    let mut store = connect_without_key(config).await?;
    if let Some(key) = config.audit_key(false)? {
        store = store.with_audit_key(key);
    }
    let checkpoints = config.audit_checkpoints();
    let verification = anchor::verify(&store, Some(&checkpoints)).await;
    store.close().await;
    match verification.context("cannot verify the audit log")? {
        Verification::Intact {
            entries,
            unkeyed,
            checkpoints: checked,
            parked,
        } => {
            println!("audit log intact: {entries} entries");
            if parked > 0 {
                println!(
                    "  {parked} more were written with their writes and wait to be chained: a server's start chains them"
                );
            }
            if unkeyed > 0 {
                println!(
                    "  the first {unkeyed} entries were written before the audit key was set: chained, not keyed"
                );
            }
            if checked == 0 {
                println!(
                    "  no checkpoints in {}: removals from the end cannot be told",
                    checkpoints.display()
                );
            } else {
                println!(
                    "  checked against {checked} checkpoints in {}",
                    checkpoints.display()
                );
            }
            Ok(())
        }
        Verification::Broken {
            seq: Some(seq),
            problem,
        } => {
            println!("audit log broken at entry {seq}: {problem}");
            Err(Failure::Reported)
        }
        Verification::Broken { seq: None, problem } => {
            println!("audit checkpoints broken: {problem}");
            Err(Failure::Reported)
        }
    }
}

/// `samhand audit checkpoint`: writes a signed checkpoint of the chain's head now
/// (the scheduler does so on its own while the server runs).
pub async fn checkpoint_audit(config: &Config) -> Result<(), Failure> {
    let store = connect(config).await?;
    let dir = config.audit_checkpoints();
    let written = anchor::write_checkpoint(&store, &dir, SystemClock.now()).await;
    store.close().await;
    match written.context("cannot write the audit checkpoint")? {
        Some(checkpoint) => println!(
            "audit checkpoint written to {}: entry {} at {}",
            dir.display(),
            checkpoint.seq,
            checkpoint.at
        ),
        None => println!(
            "no new audit entries since the last checkpoint in {}",
            dir.display()
        ),
    }
    Ok(())
}
