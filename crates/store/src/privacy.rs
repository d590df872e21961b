//! Consents, care team seats, emergency accesses and patient accounts: the records
//! the access decision reads besides the clinical ones. Append-only, like them.

use jiff::Timestamp;
use samhand_domain::access::DataCategory;
use samhand_domain::ids::{CareTeamMemberId, EmergencyAccessId, OrganisationId, PatientId, UserId};
use samhand_domain::privacy::{
    CareTeamMember, ConsentRecord, EmergencyAccess, EmergencyReview, MembershipEnd, NamedPerson, PatientUser,
    PersonRelation, PrivacyFacts, TeamRole,
};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::PatientWrite;
use crate::codec::{corrupt, instant, instant_opt, int, micros, parsed, text};
use crate::db::{Result, rows_for_patients};
use crate::native::{Fetch, FetchOn};
use crate::patient_write::Owner;

// ------------------------------------------------------------------ consents

pub async fn insert_consent(write: &mut PatientWrite, record: &ConsentRecord) -> Result<()> {
    let conn = write.of(record.patient_id)?;
    sqlx::query(
        "INSERT INTO consents (id, patient_id, organisation_id, category, given, recorded_at, recorded_by, by_patient, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(record.id.to_string())
    .bind(record.patient_id.to_string())
    .bind(record.organisation_id.to_string())
    .bind(record.category.code())
    .bind(i64::from(record.given))
    .bind(micros(record.recorded_at))
    .bind(record.recorded_by.to_string())
    .bind(i64::from(record.by_patient))
    .bind(&record.note)
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

fn consent_from_row(row: &AnyRow) -> Result<ConsentRecord> {
    let category = text(row, "category")?;
    Ok(ConsentRecord {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        organisation_id: parsed(row, "organisation_id")?,
        category: DataCategory::from_code(&category)
            .ok_or_else(|| corrupt(format!("category {category}")))?,
        given: int(row, "given")? != 0,
        recorded_at: instant(row, "recorded_at")?,
        recorded_by: parsed(row, "recorded_by")?,
        by_patient: int(row, "by_patient")? != 0,
        note: text(row, "note")?,
    })
}

/// Every consent decision of some patients, oldest first.
pub async fn consents_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<ConsentRecord>> {
    let rows = rows_for_patients(
        conn,
        "SELECT id, patient_id, organisation_id, category, given, recorded_at, recorded_by, by_patient, note
         FROM consents WHERE patient_id IN ({ids}) ORDER BY recorded_at, id",
        &[],
        patients,
    )
    .await?;
    rows.iter().map(consent_from_row).collect()
}

// ----------------------------------------------------------------- care team

pub async fn insert_member(write: &mut PatientWrite, member: &CareTeamMember) -> Result<()> {
    let conn = write.of(member.patient_id)?;
    sqlx::query(
        "INSERT INTO care_team_members (id, patient_id, user_id, organisation_id, team_role, added_at, added_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(member.id.to_string())
    .bind(member.patient_id.to_string())
    .bind(member.user_id.to_string())
    .bind(member.organisation_id.to_string())
    .bind(member.role.code())
    .bind(micros(member.added_at))
    .bind(member.added_by.to_string())
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// Ends a seat; a seat ends once (a second end is a conflict).
pub async fn end_member(
    write: &mut PatientWrite,
    member: CareTeamMemberId,
    end: &MembershipEnd,
) -> Result<()> {
    let conn = write.of_owner(Owner::CareTeamMember, &member.to_string()).await?;
    sqlx::query(
        "INSERT INTO care_team_member_ends (member_id, ended_at, ended_by, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(member.to_string())
    .bind(micros(end.at))
    .bind(end.by.to_string())
    .bind(&end.reason)
    .execute_on(conn)
    .await?;
    Ok(())
}

fn member_from_row(row: &AnyRow) -> Result<CareTeamMember> {
    let role = text(row, "team_role")?;
    let ended = match instant_opt(row, "ended_at")? {
        Some(at) => Some(MembershipEnd {
            at,
            by: parsed(row, "ended_by")?,
            reason: text(row, "end_reason")?,
        }),
        None => None,
    };
    Ok(CareTeamMember {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        user_id: parsed(row, "user_id")?,
        organisation_id: parsed(row, "organisation_id")?,
        role: TeamRole::from_code(&role).ok_or_else(|| corrupt(format!("team role {role}")))?,
        added_at: instant(row, "added_at")?,
        added_by: parsed(row, "added_by")?,
        ended,
    })
}

/// One care team seat, ended or not.
pub async fn member(conn: &mut AnyConnection, id: CareTeamMemberId) -> Result<Option<CareTeamMember>> {
    let row = sqlx::query(
        "SELECT m.id, m.patient_id, m.user_id, m.organisation_id, m.team_role, m.added_at, m.added_by,
                e.ended_at, e.ended_by, e.reason AS end_reason
         FROM care_team_members m LEFT JOIN care_team_member_ends e ON e.member_id = m.id
         WHERE m.id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(member_from_row).transpose()
}

/// Every care team seat of some patients, ended ones included, oldest first.
pub async fn members_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<CareTeamMember>> {
    let rows = rows_for_patients(
        conn,
        "SELECT m.id, m.patient_id, m.user_id, m.organisation_id, m.team_role, m.added_at, m.added_by,
                e.ended_at, e.ended_by, e.reason AS end_reason
         FROM care_team_members m LEFT JOIN care_team_member_ends e ON e.member_id = m.id
         WHERE m.patient_id IN ({ids}) ORDER BY m.added_at, m.id",
        &[],
        patients,
    )
    .await?;
    rows.iter().map(member_from_row).collect()
}

// ---------------------------------------------------------- emergency access

pub async fn insert_emergency(write: &mut PatientWrite, access: &EmergencyAccess) -> Result<()> {
    let conn = write.of(access.patient_id)?;
    sqlx::query(
        "INSERT INTO emergency_accesses (id, patient_id, user_id, organisation_id, reason, started_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(access.id.to_string())
    .bind(access.patient_id.to_string())
    .bind(access.user_id.to_string())
    .bind(access.organisation_id.to_string())
    .bind(&access.reason)
    .bind(micros(access.started_at))
    .bind(micros(access.expires_at))
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

/// Records a leader's review; an access is reviewed once.
pub async fn insert_review(
    write: &mut PatientWrite,
    access: EmergencyAccessId,
    review: &EmergencyReview,
) -> Result<()> {
    let conn = write
        .of_owner(Owner::EmergencyAccess, &access.to_string())
        .await?;
    sqlx::query(
        "INSERT INTO emergency_access_reviews (access_id, reviewed_by, reviewed_at, note) VALUES ($1, $2, $3, $4)",
    )
    .bind(access.to_string())
    .bind(review.reviewed_by.to_string())
    .bind(micros(review.reviewed_at))
    .bind(&review.note)
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

const EMERGENCY_SELECT: &str =
    "SELECT a.id, a.patient_id, a.user_id, a.organisation_id, a.reason, a.started_at,
    a.expires_at, r.reviewed_by, r.reviewed_at, r.note AS review_note
    FROM emergency_accesses a LEFT JOIN emergency_access_reviews r ON r.access_id = a.id";

fn emergency_from_row(row: &AnyRow) -> Result<EmergencyAccess> {
    let review = match instant_opt(row, "reviewed_at")? {
        Some(reviewed_at) => Some(EmergencyReview {
            reviewed_by: parsed(row, "reviewed_by")?,
            reviewed_at,
            note: text(row, "review_note")?,
        }),
        None => None,
    };
    Ok(EmergencyAccess {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        user_id: parsed(row, "user_id")?,
        organisation_id: parsed(row, "organisation_id")?,
        reason: text(row, "reason")?,
        started_at: instant(row, "started_at")?,
        expires_at: instant(row, "expires_at")?,
        review,
    })
}

/// Every emergency access to some patients, oldest first.
pub async fn emergency_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<EmergencyAccess>> {
    let sql = format!("{EMERGENCY_SELECT} WHERE a.patient_id IN ({{ids}}) ORDER BY a.started_at, a.id");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(emergency_from_row).collect()
}

pub async fn emergency(conn: &mut AnyConnection, id: EmergencyAccessId) -> Result<Option<EmergencyAccess>> {
    let sql = format!("{EMERGENCY_SELECT} WHERE a.id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(emergency_from_row).transpose()
}

/// Emergency accesses a leader of `organisation` reviews: those its own staff made,
/// and those made to patients it is the responsible LAR unit for. Newest first.
pub async fn emergency_for_review(
    conn: &mut AnyConnection,
    organisation: OrganisationId,
    limit: i64,
) -> Result<Vec<EmergencyAccess>> {
    let sql = format!(
        "{EMERGENCY_SELECT} WHERE a.organisation_id = $1
            OR a.patient_id IN (SELECT patient_id FROM episodes WHERE responsible_unit = $1)
         ORDER BY a.started_at DESC, a.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(organisation.to_string())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(emergency_from_row).collect()
}

// -------------------------------------------------------------- named people

pub async fn insert_person(write: &mut PatientWrite, person: &NamedPerson) -> Result<()> {
    let conn = write.of(person.patient_id)?;
    sqlx::query(
        "INSERT INTO named_people (id, patient_id, name, relation, phone, may_be_told, in_care_team, added_at, added_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(person.id.to_string())
    .bind(person.patient_id.to_string())
    .bind(&person.name)
    .bind(person.relation.code())
    .bind(&person.phone)
    .bind(&person.may_be_told)
    .bind(i64::from(person.in_care_team))
    .bind(micros(person.added_at))
    .bind(person.added_by.to_string())
    .execute_on(conn)
    .await
    ?;
    Ok(())
}

pub async fn end_person(
    write: &mut PatientWrite,
    person: samhand_domain::ids::NamedPersonId,
    end: &MembershipEnd,
) -> Result<()> {
    let conn = write.of_owner(Owner::NamedPerson, &person.to_string()).await?;
    sqlx::query(
        "INSERT INTO named_people_ends (person_id, ended_at, ended_by, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(person.to_string())
    .bind(micros(end.at))
    .bind(end.by.to_string())
    .bind(&end.reason)
    .execute_on(conn)
    .await?;
    Ok(())
}

const PEOPLE_SELECT: &str =
    "SELECT n.id, n.patient_id, n.name, n.relation, n.phone, n.may_be_told, n.in_care_team,
    n.added_at, n.added_by, e.ended_at, e.ended_by, e.reason AS end_reason
    FROM named_people n LEFT JOIN named_people_ends e ON e.person_id = n.id";

fn person_from_row(row: &AnyRow) -> Result<NamedPerson> {
    let relation = text(row, "relation")?;
    let ended = match instant_opt(row, "ended_at")? {
        Some(at) => Some(MembershipEnd {
            at,
            by: parsed(row, "ended_by")?,
            reason: text(row, "end_reason")?,
        }),
        None => None,
    };
    Ok(NamedPerson {
        id: parsed(row, "id")?,
        patient_id: parsed(row, "patient_id")?,
        name: text(row, "name")?,
        relation: PersonRelation::from_code(&relation)
            .ok_or_else(|| corrupt(format!("relation {relation}")))?,
        phone: text(row, "phone")?,
        may_be_told: text(row, "may_be_told")?,
        in_care_team: int(row, "in_care_team")? != 0,
        added_at: instant(row, "added_at")?,
        added_by: parsed(row, "added_by")?,
        ended,
    })
}

/// Every person some patients named, ended ones included, oldest first.
pub async fn people_of(conn: &mut impl Fetch, patients: &[PatientId]) -> Result<Vec<NamedPerson>> {
    let sql = format!("{PEOPLE_SELECT} WHERE n.patient_id IN ({{ids}}) ORDER BY n.added_at, n.id");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(person_from_row).collect()
}

pub async fn person(
    conn: &mut AnyConnection,
    id: samhand_domain::ids::NamedPersonId,
) -> Result<Option<NamedPerson>> {
    let sql = format!("{PEOPLE_SELECT} WHERE n.id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(person_from_row).transpose()
}

/// The kinds of privacy fact some patients have any rows of, in one statement:
/// most patients have no emergency access, named person, stay or hand-over, and
/// reading each kind only where there is one saves a request up to four
/// statements (issue 16).
async fn fact_kinds_present(
    conn: &mut impl Fetch,
    patients: &[PatientId],
) -> Result<std::collections::HashSet<String>> {
    let sql = fact_kind_probes("IN ({ids})").join(" UNION ALL ");
    let rows = rows_for_patients(conn, &sql, &[], patients).await?;
    rows.iter().map(|row| text(row, "fact_kind")).collect()
}

/// The kinds of privacy fact, each with the table that says whether a patient has any.
pub(crate) const FACT_KINDS: [(&str, &str); 6] = [
    ("care_team", "care_team_members"),
    ("consents", "consents"),
    ("emergency", "emergency_accesses"),
    ("people", "named_people"),
    ("stays", "stays"),
    ("handovers", "prescribing_handovers"),
];

/// One SELECT per kind of privacy fact, each giving the kind as `fact_kind` in one
/// row if the patients (`patient_id {cond}`) have any row of it, else no row.
pub(crate) fn fact_kind_probes(cond: &str) -> Vec<String> {
    FACT_KINDS
        .iter()
        .map(|(kind, table)| {
            format!("SELECT CAST('{kind}' AS TEXT) AS fact_kind FROM (SELECT 1 AS one FROM {table} WHERE patient_id {cond} LIMIT 1) {kind}_any")
        })
        .collect()
}

/// An expression (a scalar SELECT) giving the kinds of privacy fact the patient
/// (`patient_id {cond}`) has any rows of, each followed by a comma; empty when
/// none: [`fact_kind_probes`] as one column of a row of the patient's statement
/// (`one_patient`: six branches of a UNION, each as wide as the statement, cost
/// PostgreSQL more to start than to run; issue 16).
pub(crate) fn fact_kinds_listed(cond: &str) -> String {
    let listed = FACT_KINDS
        .iter()
        .map(|(kind, table)| {
            format!("COALESCE((SELECT '{kind},' FROM {table} WHERE patient_id {cond} LIMIT 1), '')")
        })
        .collect::<Vec<_>>()
        .join(" || ");
    format!("SELECT CAST({listed} AS TEXT) AS fact_kinds")
}

/// Everything the access decision needs about some patients' privacy.
pub async fn facts_of(
    conn: &mut impl Fetch,
    patients: &[PatientId],
) -> Result<std::collections::HashMap<PatientId, PrivacyFacts>> {
    let facts: std::collections::HashMap<PatientId, PrivacyFacts> =
        patients.iter().map(|p| (*p, PrivacyFacts::default())).collect();
    if patients.is_empty() {
        return Ok(facts);
    }
    let present = fact_kinds_present(conn, patients).await?;
    facts_of_kinds(conn, patients, &present, facts).await
}

/// [`facts_of`] once the kinds of fact the patients have any rows of are known
/// (`present`, as [`fact_kind_probes`] name them): reads those kinds only, into
/// `facts`.
pub(crate) async fn facts_of_kinds(
    conn: &mut impl Fetch,
    patients: &[PatientId],
    present: &std::collections::HashSet<String>,
    mut facts: std::collections::HashMap<PatientId, PrivacyFacts>,
) -> Result<std::collections::HashMap<PatientId, PrivacyFacts>> {
    let has = |kind: &str| present.contains(kind);
    if has("care_team") {
        for member in members_of(conn, patients).await? {
            facts.entry(member.patient_id).or_default().care_team.push(member);
        }
    }
    if has("consents") {
        for consent in consents_of(conn, patients).await? {
            facts
                .entry(consent.patient_id)
                .or_default()
                .consents
                .push(consent);
        }
    }
    if has("emergency") {
        for access in emergency_of(conn, patients).await? {
            facts.entry(access.patient_id).or_default().emergency.push(access);
        }
    }
    if has("people") {
        for person in people_of(conn, patients).await? {
            facts.entry(person.patient_id).or_default().people.push(person);
        }
    }
    if has("stays") {
        for stay in crate::stays::stays_of(conn, patients).await? {
            facts.entry(stay.stay.patient_id).or_default().stays.push(stay);
        }
    }
    if !has("handovers") {
        return Ok(facts);
    }
    for handover in crate::stays::handovers_of(conn, patients).await? {
        facts
            .entry(handover.patient_id)
            .or_default()
            .handovers
            .push(handover);
    }
    Ok(facts)
}

// ---------------------------------------------------------- patient accounts

/// The patient's account, made on first need; returns its id.
pub async fn ensure_account(
    write: &mut PatientWrite,
    patient: PatientId,
    created_by: UserId,
    now: Timestamp,
) -> Result<UserId> {
    let conn = write.of(patient)?;
    let existing = sqlx::query("SELECT id FROM patient_accounts WHERE patient_id = $1")
        .bind(patient.to_string())
        .fetch_optional_on(&mut *conn)
        .await?;
    if let Some(row) = existing {
        return parsed(&row, "id");
    }
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO patient_accounts (id, patient_id, active, created_at, created_by) VALUES ($1, $2, 1, $3, $4)",
    )
    .bind(id.to_string())
    .bind(patient.to_string())
    .bind(micros(now))
    .bind(created_by.to_string())
    .execute_on(conn)
    .await
    ?;
    Ok(id)
}

pub async fn insert_patient_token(
    conn: &mut impl Fetch,
    token_hash: &str,
    account: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO patient_api_tokens (id, token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(token_hash)
    .bind(account.to_string())
    .bind(micros(now))
    .bind(micros(expires_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The active patient account of a valid (unexpired, unrevoked) patient token.
pub async fn patient_by_token(
    conn: &mut impl Fetch,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<PatientUser>> {
    let row = sqlx::query(
        "SELECT a.id, a.patient_id, p.given_name, p.family_name
         FROM patient_api_tokens t JOIN patient_accounts a ON a.id = t.account_id JOIN patients p ON p.id = a.patient_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND a.active = 1",
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional_on(conn)
    .await?;
    row.map(|r| {
        Ok(PatientUser {
            id: parsed(&r, "id")?,
            patient_id: parsed(&r, "patient_id")?,
            display_name: format!("{} {}", text(&r, "given_name")?, text(&r, "family_name")?),
        })
    })
    .transpose()
}

/// Revokes every token of a patient's account; returns how many were revoked.
pub async fn revoke_patient_tokens(
    conn: &mut AnyConnection,
    patient: PatientId,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE patient_api_tokens SET revoked_at = $1
         WHERE revoked_at IS NULL AND account_id IN (SELECT id FROM patient_accounts WHERE patient_id = $2)",
    )
    .bind(micros(now))
    .bind(patient.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
