//! Importing organisations and users from a CSV file (`domain::import` reads it):
//! a dry run first, which checks every row as the import would, then the import.
//! Both run every row in one transaction, each row under a savepoint, so a later
//! row sees an organisation an earlier row made and a refused row leaves nothing;
//! a dry run rolls the whole transaction back. Users are invited by a one-time link
//! each; passwords are never imported.

use samhand_domain::import::{self, Row, RowKind};
use samhand_domain::organisation::StaffUser;

use super::organisations::insert_organisation;
use super::users::insert_user;
use super::{AppResult, NewUserInput, OrganisationInput, check_administrator};
use crate::AppState;
use crate::error::AppError;

/// What became of one row.
#[derive(Debug, Clone)]
pub struct RowOutcome {
    pub line: usize,
    /// What the row is about: «organisasjon X», «bruker y».
    pub what: String,
    /// Created (or would be), with the invitation path of a user; or refused, and why.
    pub result: Result<Option<String>, String>,
}

/// The report of an import or a dry run.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub applied: bool,
    pub rows: Vec<RowOutcome>,
}

impl ImportReport {
    pub fn created(&self) -> usize {
        self.rows.iter().filter(|r| r.result.is_ok()).count()
    }

    pub fn refused(&self) -> usize {
        self.rows.iter().filter(|r| r.result.is_err()).count()
    }
}

fn why(error: AppError) -> String {
    match error {
        AppError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.message_nb(),
    }
}

fn organisation_input(row: &Row) -> OrganisationInput {
    OrganisationInput {
        name: row.get("name").into(),
        kind: row.get("kind").into(),
        municipality: row.get("municipality").into(),
        org_number: row.get("org_number").into(),
        her_id: row.get("her_id").into(),
        address: row.get("address").into(),
        phone: row.get("phone").into(),
        responsible_unit: row.get("responsible_unit").into(),
    }
}

fn user_input(row: &Row) -> NewUserInput {
    NewUserInput {
        username: row.get("username").into(),
        name: row.get("name").into(),
        role: row.get("role").into(),
        organisation: row.get("organisation").into(),
        hpr_number: row.get("hpr_number").into(),
        password: None,
    }
}

/// Imports the file, or with `apply` false checks it and changes nothing.
pub async fn import(
    state: &AppState,
    by: Option<&StaffUser>,
    text: &str,
    apply: bool,
) -> AppResult<ImportReport> {
    check_administrator(by)?;
    let rows = import::read(text).map_err(|message| {
        AppError::Invalid(samhand_domain::validation::FieldErrors::single("file", message))
    })?;
    let now = state.clock.now();
    let mut tx = state.store.write().await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in &rows {
        sqlx_savepoint(&mut tx, "SAVEPOINT import_row").await?;
        let (what, result) = match &row.kind {
            Ok(RowKind::Organisation) => (
                format!("organisasjon «{}»", row.get("name")),
                insert_organisation(&mut tx, &organisation_input(row), now)
                    .await
                    .map(|_| None),
            ),
            Ok(RowKind::User) => (
                format!("bruker «{}»", row.get("username")),
                insert_user(&mut tx, by, &user_input(row), None, now)
                    .await
                    .map(|added| added.invitation.map(|t| format!("/invitasjon/{t}"))),
            ),
            Err(message) => (
                format!("linje {}", row.line),
                Err(AppError::Conflict(message.clone())),
            ),
        };
        let statement = if result.is_ok() {
            "RELEASE SAVEPOINT import_row"
        } else {
            "ROLLBACK TO SAVEPOINT import_row"
        };
        sqlx_savepoint(&mut tx, statement).await?;
        outcomes.push(RowOutcome {
            line: row.line,
            what,
            // A dry run's invitations are rolled back with it: none is shown.
            result: result.map(|invitation| invitation.filter(|_| apply)).map_err(why),
        });
    }
    if apply {
        tx.commit().await?;
        tracing::info!(
            rows = outcomes.len(),
            by = by.map(|u| u.username.as_str()).unwrap_or("command line"),
            "organisations and users imported"
        );
    } else {
        tx.rollback().await?;
    }
    Ok(ImportReport {
        applied: apply,
        rows: outcomes,
    })
}

async fn sqlx_savepoint(tx: &mut samhand_store::WriteTx, statement: &str) -> AppResult<()> {
    samhand_store::db::execute(tx, statement).await?;
    Ok(())
}
