//! `samhand report`: the reports of issue 17 on standard output, made through the
//! same service operations (access policy and audit) as the web pages, in the name
//! of a staff user: `--as`, or by default each LAR unit's leader.

use std::sync::Arc;

use std::io::Write as _;

use anyhow::{Context as _, anyhow};
use clap::{Subcommand, ValueEnum};
use samhand_domain::organisation::{Organisation, Role, StaffUser};
use samhand_domain::time::SystemClock;
use samhand_server::service::{
    Service, StatusReport, csv_line, pharmacy_count_csv, status_report_table, status_report_xlsx,
};
use samhand_server::{AppState, Config};
use samhand_store::{organisations, users};

use crate::{Failure, app_failure, connect};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Xlsx,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// The yearly status report: a header row and one row per patient in LAR at
    /// the unit any day of the year (columns in README, «The yearly status report»).
    Status {
        #[arg(long)]
        year: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// The LAR unit's id or exact name; every LAR unit when left out.
        #[arg(long)]
        unit: Option<String>,
        /// The staff user the report is made (and audited) as; by default each
        /// unit's leader.
        #[arg(long = "as")]
        as_user: Option<String>,
        /// Where the XLSX workbook is written; standard output when left out.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// The pharmacy's count of a month: a header row and one row per patient of each
    /// pharmacy and LAR unit (columns in README, «The pharmacy's count»).
    Pharmacy {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// The LAR unit's id or exact name; every LAR unit when left out.
        #[arg(long)]
        unit: Option<String>,
        /// The staff user the count is read (and audited) as; by default each
        /// unit's leader.
        #[arg(long = "as")]
        as_user: Option<String>,
    },
}

pub async fn run(config: Config, command: ReportCommand) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let result = match command {
        ReportCommand::Status {
            year,
            format,
            unit,
            as_user,
            output,
        } => {
            let reports = status_reports(&state, &year, unit.as_deref(), as_user.as_deref()).await;
            match reports {
                Ok(reports) => write_status(&reports, format, output.as_deref()),
                Err(failure) => Err(failure),
            }
        }
        ReportCommand::Pharmacy {
            month,
            format,
            unit,
            as_user,
        } => pharmacy_counts(&state, &month, format, unit.as_deref(), as_user.as_deref()).await,
    };
    store.close().await;
    result
}

/// The units a report is made for, each with whom it is made as.
async fn units_and_actors(
    state: &AppState,
    unit: Option<&str>,
    as_user: Option<&str>,
) -> Result<Vec<(Organisation, StaffUser)>, Failure> {
    let mut conn = state.store.read().await?;
    let all = organisations::all(&mut conn).await?;
    let actor = match as_user {
        Some(name) => Some(
            users::by_username(&mut conn, name)
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| anyhow!("no active user {name}"))?
                .user,
        ),
        None => None,
    };
    let mut units: Vec<Organisation> = all
        .into_iter()
        .filter(|o| o.kind.is_lar_unit())
        .filter(|o| unit.is_none_or(|u| o.name == u || o.id.to_string() == u))
        .filter(|o| actor.as_ref().is_none_or(|a| a.organisation_id == o.id))
        .collect();
    if units.is_empty() {
        return Err(anyhow!("no LAR unit {}", unit.unwrap_or("with that user")).into());
    }
    units.sort_by(|a, b| a.name.cmp(&b.name));
    let mut chosen = Vec::new();
    for unit in units {
        let staff = match &actor {
            Some(a) => a.clone(),
            None => {
                let leader = users::by_organisation(&mut conn, unit.id)
                    .await?
                    .into_iter()
                    .filter(|u| u.role == Role::Leader)
                    .min_by(|a, b| a.username.cmp(&b.username));
                match leader {
                    Some(leader) => leader,
                    None => {
                        eprintln!("{}: no leader; give --as USER to report for it", unit.name);
                        continue;
                    }
                }
            }
        };
        chosen.push((unit, staff));
    }
    Ok(chosen)
}

/// The status report of each unit, each made through the service as its actor
/// (policy and audit per patient).
async fn status_reports(
    state: &AppState,
    year: &str,
    unit: Option<&str>,
    as_user: Option<&str>,
) -> Result<Vec<StatusReport>, Failure> {
    let mut reports = Vec::new();
    for (_, staff) in units_and_actors(state, unit, as_user).await? {
        let report = Service::new(state, &staff)
            .status_report(year)
            .await
            .map_err(app_failure)?;
        eprintln!(
            "{}: {} patients in {}, made as {}",
            report.unit.name,
            report.rows.len(),
            report.year.year,
            staff.username
        );
        reports.push(report);
    }
    if reports.is_empty() {
        return Err(anyhow!("no report was made").into());
    }
    Ok(reports)
}

/// The pharmacy's counts of each unit, made through the service as its actor (one
/// audited view per unit), written as one CSV to standard output.
async fn pharmacy_counts(
    state: &AppState,
    month: &str,
    format: Format,
    unit: Option<&str>,
    as_user: Option<&str>,
) -> Result<(), Failure> {
    if matches!(format, Format::Xlsx) {
        return Err(anyhow!("the pharmacy's count is written as CSV only (--format csv)").into());
    }
    let mut counts = Vec::new();
    for (unit, staff) in units_and_actors(state, unit, as_user).await? {
        let these = Service::new(state, &staff)
            .pharmacy_counts(month)
            .await
            .map_err(app_failure)?;
        eprintln!(
            "{}: {} pharmacies, {} patients, read as {}",
            unit.name,
            these.len(),
            these.iter().map(|c| c.lines.len()).sum::<usize>(),
            staff.username
        );
        counts.extend(these);
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(pharmacy_count_csv(&counts).as_bytes())
        .context("write to standard output")?;
    stdout.flush().context("write to standard output")?;
    Ok(())
}

/// Writes the reports as one CSV (one header row) to standard output, or as one
/// XLSX workbook to `output` or standard output.
fn write_status(
    reports: &[StatusReport],
    format: Format,
    output: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let bytes = match format {
        Format::Csv => {
            let mut text = String::new();
            for (n, report) in reports.iter().enumerate() {
                let (header, rows) = status_report_table(report);
                if n == 0 {
                    text.push_str(&csv_line(&header));
                }
                for row in rows {
                    text.push_str(&csv_line(&row));
                }
            }
            text.into_bytes()
        }
        Format::Xlsx => status_report_xlsx(reports).map_err(app_failure)?,
    };
    match output {
        Some(path) => std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes).context("write to standard output")?;
            stdout.flush().context("write to standard output")?;
        }
    }
    Ok(())
}
