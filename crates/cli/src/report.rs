//! `samhand report`: the reports of issue 17 on standard output, made through the
//! same service operations (access policy and audit) as the web pages, in the name
//! of a staff user: `--as`, or by default each LAR unit's leader.

use std::sync::Arc;

use anyhow::anyhow;
use clap::{Subcommand, ValueEnum};
use samhand_domain::organisation::{Organisation, Role, StaffUser};
use samhand_domain::time::SystemClock;
use samhand_server::service::{Service, status_report_csv};
use samhand_server::{AppState, Config};
use samhand_store::{organisations, users};

use crate::{Failure, app_failure, connect};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
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
    },
}

pub async fn run(config: Config, command: ReportCommand) -> Result<(), Failure> {
    let store = connect(&config).await?;
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config);
    let result = match command {
        ReportCommand::Status {
            year,
            format: Format::Csv,
            unit,
            as_user,
        } => status(&state, &year, unit.as_deref(), as_user.as_deref()).await,
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

async fn status(
    state: &AppState,
    year: &str,
    unit: Option<&str>,
    as_user: Option<&str>,
) -> Result<(), Failure> {
    let mut header_written = false;
    for (_, staff) in units_and_actors(state, unit, as_user).await? {
        let report = Service::new(state, &staff)
            .status_report(year)
            .await
            .map_err(app_failure)?;
        let csv = status_report_csv(&report);
        let (header, rows) = csv.split_once("\r\n").unwrap_or((&csv, ""));
        if !header_written {
            print!("{header}\r\n");
            header_written = true;
        }
        print!("{rows}");
        eprintln!(
            "{}: {} patients in {}, made as {}",
            report.unit.name,
            report.rows.len(),
            report.year.year,
            staff.username
        );
    }
    if !header_written {
        return Err(anyhow!("no report was made").into());
    }
    Ok(())
}
