//! What the FHIR API needs stored: system clients and their access tokens (stored
//! hashed, looked up by hash; which scopes mean what is the server's business),
//! drug tests received from laboratories, and the candidate patients of a search.
//! Stays are in [`crate::stays`].

use jiff::Timestamp;
use samhand_domain::drug_test::{DrugTest, SubstanceResult};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use sqlx::AnyConnection;

use crate::PatientWrite;
use crate::codec::{date_text, instant, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};

/// A registered client as stored.
#[derive(Debug, Clone)]
pub struct FhirClient {
    pub id: String,
    pub name: String,
    pub user_id: UserId,
    pub secret_hash: String,
    pub scopes: String,
}

pub async fn insert_client(conn: &mut impl Fetch, client: &FhirClient, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO fhir_clients (id, name, user_id, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&client.id)
    .bind(&client.name)
    .bind(client.user_id.to_string())
    .bind(&client.secret_hash)
    .bind(&client.scopes)
    .bind(micros(at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// A client that has not been revoked.
pub async fn active_client(conn: &mut AnyConnection, id: &str) -> Result<Option<FhirClient>> {
    let row = sqlx::query(
        "SELECT id, name, user_id, secret_hash, scopes FROM fhir_clients WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(FhirClient {
            id: text(&r, "id")?,
            name: text(&r, "name")?,
            user_id: parsed(&r, "user_id")?,
            secret_hash: text(&r, "secret_hash")?,
            scopes: text(&r, "scopes")?,
        })
    })
    .transpose()
}

/// A registered client as the administrator lists it.
#[derive(Debug, Clone)]
pub struct ClientListing {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub organisation_name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Every client, revoked or not, by name.
pub async fn clients(conn: &mut AnyConnection) -> Result<Vec<ClientListing>> {
    let rows = sqlx::query(
        "SELECT c.id, c.name, c.scopes, c.created_at, c.revoked_at, o.name AS organisation_name
         FROM fhir_clients c JOIN users u ON u.id = c.user_id JOIN organisations o ON o.id = u.organisation_id
         ORDER BY c.name",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClientListing {
                id: text(r, "id")?,
                name: text(r, "name")?,
                scopes: text(r, "scopes")?,
                organisation_name: text(r, "organisation_name")?,
                created_at: instant(r, "created_at")?,
                revoked_at: crate::codec::instant_opt(r, "revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a client: its tokens stop at once (they are looked up with the client).
/// Whether it was active.
pub async fn revoke_client(conn: &mut impl Fetch, id: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE fhir_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(micros(at))
        .bind(id)
        .execute_on(conn)
        .await?;
    Ok(done == 1)
}

pub async fn insert_token(
    conn: &mut impl Fetch,
    token_hash: &str,
    client_id: &str,
    scopes: &str,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fhir_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(client_id)
    .bind(scopes)
    .bind(micros(issued_at))
    .bind(micros(expires_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The service user and granted scopes of a valid token of an active client.
pub async fn token(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<(UserId, String)>> {
    let row = sqlx::query(
        "SELECT c.user_id, t.scopes FROM fhir_tokens t JOIN fhir_clients c ON c.id = t.client_id
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((parsed(&r, "user_id")?, text(&r, "scopes")?)))
        .transpose()
}

/// Patients an organisation or a user is related to by any stored relation: the
/// candidates of a FHIR search without a patient; the policy decides each. The same
/// relations as the staff search ([`crate::patients::related_to`]).
pub async fn candidate_patients(
    conn: &mut AnyConnection,
    org: OrganisationId,
    user: UserId,
) -> Result<Vec<PatientId>> {
    crate::patients::related_to(conn, org, user).await
}

/// Stores a drug test result: the first version (its row id is the test's id), or
/// a correction (a new row of the same series with the next version and why). A
/// version that already exists is [`crate::StoreError::Conflict`]
/// (`drug_tests_version_once`): someone else corrected the result first.
pub async fn insert_drug_test(write: &mut PatientWrite, test: &DrugTest) -> Result<()> {
    let conn = write.of(test.patient_id)?;
    let row_id = if test.version == 1 {
        test.id.to_string()
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    sqlx::query(
        "INSERT INTO drug_tests (id, patient_id, sample_date, lab, supervised, recorded_by, recorded_at, series_id, version, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&row_id)
    .bind(test.patient_id.to_string())
    .bind(date_text(test.sample_date))
    .bind(&test.lab)
    .bind(i64::from(test.supervised))
    .bind(test.recorded_by.to_string())
    .bind(micros(test.recorded_at))
    .bind(test.id.to_string())
    .bind(test.version)
    .bind(&test.reason)
    .execute_on(&mut *conn)
    .await
    ?;
    for result in &test.results {
        sqlx::query(
            "INSERT INTO drug_test_results (drug_test_id, substance_code, substance_name, positive) VALUES ($1, $2, $3, $4)",
        )
        .bind(&row_id)
        .bind(&result.code)
        .bind(&result.name)
        .bind(i64::from(result.positive))
        .execute_on(&mut *conn)
        .await
        ?;
    }
    Ok(())
}

/// The drug tests of some patients as they stand now (the latest version of
/// each), oldest sample first.
pub async fn drug_tests_of(conn: &mut AnyConnection, patients: &[PatientId]) -> Result<Vec<DrugTest>> {
    drug_test_rows(
        conn,
        patients,
        "AND t.version = (SELECT MAX(l.version) FROM drug_tests l WHERE l.series_id = t.series_id)",
    )
    .await
}

/// Every version of the drug tests of some patients, the corrected ones included.
pub async fn drug_test_versions_of(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<Vec<DrugTest>> {
    drug_test_rows(conn, patients, "").await
}

/// Every version of the drug tests of some patients of which any version was
/// sampled in [from, to]: a search's date range in the database, whole series so
/// that the current version is always among them.
pub async fn drug_test_versions_sampled_in(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<Vec<DrugTest>> {
    drug_test_rows(conn, patients, &sampled_in(from, to)).await
}

/// Whether [`drug_test_versions_sampled_in`] would read more than `cap` versions:
/// counted by the database, each statement stopping at `cap + 1` (H103).
pub async fn drug_test_versions_sampled_in_exceed(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    (from, to): (jiff::civil::Date, jiff::civil::Date),
    cap: usize,
) -> Result<bool> {
    let select = format!(
        "SELECT 1 FROM drug_tests t WHERE t.patient_id IN ({{ids}}) {}",
        sampled_in(from, to)
    );
    crate::db::more_rows_than(conn, &select, &[], patients, cap).await
}

/// The series with a version sampled in [from, to]. Dates as text compare as
/// dates (ISO 8601); they are formatted here, not taken from the request.
fn sampled_in(from: jiff::civil::Date, to: jiff::civil::Date) -> String {
    format!(
        "AND t.series_id IN (SELECT s.series_id FROM drug_tests s WHERE s.sample_date >= '{}' AND s.sample_date <= '{}')",
        date_text(from),
        date_text(to)
    )
}

/// Which of some patients have any message about them.
pub async fn patients_with_messages(
    conn: &mut AnyConnection,
    patients: &[PatientId],
) -> Result<Vec<PatientId>> {
    let rows = rows_for_patients(
        conn,
        "SELECT DISTINCT patient_id FROM messages WHERE patient_id IN ({ids})",
        &[],
        patients,
    )
    .await?;
    let mut ids = rows
        .iter()
        .map(|r| parsed(r, "patient_id"))
        .collect::<Result<Vec<PatientId>>>()?;
    ids.sort();
    Ok(ids)
}

async fn drug_test_rows(
    conn: &mut AnyConnection,
    patients: &[PatientId],
    only: &str,
) -> Result<Vec<DrugTest>> {
    let rows = rows_for_patients(
        conn,
        &format!(
            "SELECT t.id AS row_id, t.series_id, t.version, t.reason, t.patient_id, t.sample_date, t.lab,
                    t.supervised, t.recorded_by, t.recorded_at, r.substance_code, r.substance_name, r.positive
             FROM drug_tests t JOIN drug_test_results r ON r.drug_test_id = t.id
             WHERE t.patient_id IN ({{ids}}) {only}
             ORDER BY t.sample_date, t.series_id, t.version, r.substance_code"
        ),
        &[],
        patients,
    )
    .await?;
    let mut tests: Vec<(String, DrugTest)> = Vec::new();
    for row in &rows {
        let row_id = text(row, "row_id")?;
        let result = SubstanceResult {
            code: text(row, "substance_code")?,
            name: text(row, "substance_name")?,
            positive: int(row, "positive")? != 0,
        };
        match tests.last_mut() {
            Some((last, test)) if *last == row_id => test.results.push(result),
            _ => tests.push((
                row_id,
                DrugTest {
                    id: parsed(row, "series_id")?,
                    patient_id: parsed(row, "patient_id")?,
                    sample_date: parsed(row, "sample_date")?,
                    lab: text(row, "lab")?,
                    supervised: int(row, "supervised")? != 0,
                    results: vec![result],
                    version: int(row, "version")?,
                    reason: text(row, "reason")?,
                    recorded_by: parsed(row, "recorded_by")?,
                    recorded_at: instant(row, "recorded_at")?,
                },
            )),
        }
    }
    Ok(tests.into_iter().map(|(_, t)| t).collect())
}

/// Where the patient of a record is found, by the record's own id (a FHIR
/// resource's, or a stay's follow-up appointment or hand-over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerTable {
    Episode,
    DispensingEvent,
    Consent,
    Message,
    AuditEntry,
    DrugTest,
    Stay,
    Appointment,
    Handover,
}

/// The patient a record belongs to; nothing else of it. For deciding a read of one
/// resource before anything of it is loaded.
pub async fn patient_of(conn: &mut AnyConnection, table: OwnerTable, id: &str) -> Result<Option<PatientId>> {
    let sql = match table {
        OwnerTable::Episode => "SELECT patient_id FROM episodes WHERE id = $1",
        OwnerTable::DispensingEvent => "SELECT patient_id FROM dispensing_events WHERE id = $1",
        OwnerTable::Consent => "SELECT patient_id FROM consents WHERE id = $1",
        OwnerTable::Message => "SELECT patient_id FROM messages WHERE id = $1",
        OwnerTable::DrugTest => "SELECT patient_id FROM drug_tests WHERE id = $1 AND version = 1",
        OwnerTable::Stay => "SELECT patient_id FROM stays WHERE id = $1",
        OwnerTable::Appointment => "SELECT patient_id FROM follow_up_appointments WHERE id = $1",
        OwnerTable::Handover => "SELECT patient_id FROM prescribing_handovers WHERE id = $1",
        OwnerTable::AuditEntry => {
            let Ok(seq) = id.parse::<i64>() else {
                return Ok(None);
            };
            let row = sqlx::query("SELECT patient_id FROM audit_log WHERE seq = $1")
                .bind(seq)
                .fetch_optional(conn)
                .await?;
            let patient: Option<String> = match row {
                Some(r) => sqlx::Row::try_get(&r, "patient_id")?,
                None => None,
            };
            return Ok(patient.and_then(|p| p.parse().ok()));
        }
    };
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.map(|r| parsed(&r, "patient_id")).transpose()
}
