//! Running one export: the caller's related patients in batches of [`BATCH`], each
//! batch decided by the policy per type, its resources written line by line to
//! `<Type>.ndjson` in the job's directory, and the patients whose data was written
//! recorded as read. Nothing holds more than one batch of one type in memory; the
//! audit log is paged through in sequence order, [`AUDIT_PAGE`] entries at a time.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::Value;

use super::super::load::{build, current_versions};
use super::super::outcome::FhirResult;
use super::super::search::grants_returned;
use super::super::{FhirCaller, Kind, audit_event};
use crate::AppState;
use crate::error::AppError;
use crate::service::{Granted, PatientScope, Period, Service};

/// Patients per batch.
const BATCH: usize = 100;
/// Audit entries per page.
const AUDIT_PAGE: i64 = 1000;

/// The open NDJSON files of a job, one per type, created at the first line.
struct Files {
    dir: PathBuf,
    open: HashMap<&'static str, (BufWriter<File>, u64)>,
}

impl Files {
    /// Appends resources of the type `name` to its file.
    fn write(&mut self, name: &'static str, resources: &[Value]) -> FhirResult<()> {
        if resources.is_empty() {
            return Ok(());
        }
        let io = |e: std::io::Error| AppError::Internal(format!("writing the export's {name}: {e}"));
        if !self.open.contains_key(name) {
            let file = File::create(self.dir.join(format!("{name}.ndjson"))).map_err(io)?;
            self.open.insert(name, (BufWriter::new(file), 0));
        }
        let Some((writer, count)) = self.open.get_mut(name) else {
            return Ok(());
        };
        for resource in resources {
            serde_json::to_writer(&mut *writer, resource)
                .map_err(|e| AppError::Internal(format!("writing the export: {e}")))?;
            writer.write_all(b"\n").map_err(io)?;
            *count += 1;
        }
        Ok(())
    }

    /// Flushes every file; what each holds, in the order the types were asked for.
    fn close(self, names: &[&'static str]) -> FhirResult<Vec<(&'static str, u64)>> {
        let mut open = self.open;
        let mut files = Vec::new();
        for name in names {
            if let Some((mut writer, count)) = open.remove(name) {
                writer
                    .flush()
                    .map_err(|e| AppError::Internal(format!("writing the export: {e}")))?;
                files.push((*name, count));
            }
        }
        Ok(files)
    }
}

/// Whether a resource changed at or after `since` (`_since`; all when none). At
/// or after, not only after: a change in the same instant as the last export's
/// `transactionTime` is sent again rather than missed.
fn changed_since(resource: &Value, since: Option<Timestamp>) -> bool {
    let Some(since) = since else {
        return true;
    };
    resource["meta"]["lastUpdated"]
        .as_str()
        .and_then(|text| text.parse::<Timestamp>().ok())
        .is_none_or(|updated| updated >= since)
}

/// Runs the export of `kinds` changed since `since` into `dir`; the files and how
/// many resources each holds.
pub async fn run(
    state: &AppState,
    caller: &FhirCaller,
    (kinds, directory, since): (&[Kind], &[&'static str], Option<Timestamp>),
    dir: PathBuf,
) -> FhirResult<Vec<(&'static str, u64)>> {
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Internal(format!("creating {}: {e}", dir.display())))?;
    let service = Service::new(state, caller.actor());
    let mut files = Files {
        dir,
        open: HashMap::new(),
    };
    let patients = service.fhir_candidate_ids(&PatientScope::Related).await?;
    for batch in patients.chunks(BATCH) {
        let candidates = service
            .fhir_candidates(&PatientScope::Listed(batch.to_vec()))
            .await?;
        for kind in kinds {
            let grants = service.fhir_permitted(&candidates, kind.category());
            if grants.is_empty() {
                continue;
            }
            if *kind == Kind::AuditEvent {
                export_audit_log(&service, (&grants, since), &mut files).await?;
                continue;
            }
            let mut resources = current_versions(build(&service, *kind, &grants, Period::ALL).await?);
            resources.retain(|r| changed_since(r, since));
            // Communication is read through the messages' own operation, which
            // has recorded each patient it read.
            if *kind != Kind::Communication {
                let written = grants_returned(*kind, &resources, &grants);
                service
                    .fhir_record_reads(&written, &format!("FHIR export {}", kind.name()))
                    .await?;
            }
            files.write(kind.name(), &resources)?;
        }
    }
    // The directory the references lead to: no patient's data, one read each.
    for name in directory {
        let mut resources = super::super::directory::for_export(&service, name).await?;
        resources.retain(|r| changed_since(r, since));
        files.write(name, &resources)?;
    }
    let names: Vec<&'static str> = kinds
        .iter()
        .map(|k| k.name())
        .chain(directory.iter().copied())
        .collect();
    files.close(&names)
}

/// The audit log of a batch's patients, paged through in sequence order.
async fn export_audit_log(
    service: &Service<'_>,
    (grants, since): (&[Granted], Option<Timestamp>),
    files: &mut Files,
) -> FhirResult<()> {
    let mut after = 0;
    let mut read: Vec<Granted> = Vec::new();
    loop {
        let page = service.fhir_audit_page(grants, after, AUDIT_PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        let mut events = audit_event::audit_events(&page);
        events.retain(|e| changed_since(e, since));
        for grant in grants_returned(Kind::AuditEvent, &events, grants) {
            if !read.contains(&grant) {
                read.push(grant);
            }
        }
        files.write(Kind::AuditEvent.name(), &events)?;
        if (page.len() as i64) < AUDIT_PAGE {
            break;
        }
    }
    service.fhir_record_reads(&read, "FHIR export AuditEvent").await?;
    Ok(())
}
