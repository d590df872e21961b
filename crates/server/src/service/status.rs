//! Status assessments in versions (staff, or the patient's self-reported parts from
//! the portal) and the yearly status report of a LAR unit: its rows pre-filled
//! from the record in a few set-based reads for the whole unit, the totals, the
//! CSV, and the leader's sign-off.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use samhand_domain::access::{Actor, DataCategory, PatientRelations};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::{Organisation, OrganisationKind};
use samhand_domain::patient::Patient;
use samhand_domain::status::{self, StatusAssessment, StatusAssessmentId, StatusField, StatusInput};
use samhand_domain::status_report::{
    self, Column, PatientHistory, PlanStatusAt, ReportRow, ReportYear, TotalLine,
};
use samhand_domain::validation::FieldErrors;
use samhand_store::status::{self as store, SignOff};
use samhand_store::{overdose as overdose_store, patients as patient_store};

use super::{Service, conflict_from};
use crate::error::{AppError, AppResult};

/// A patient's status assessments: every version, newest first, and the status in
/// force with the version each answer came from.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub patient: Patient,
    pub history: Vec<StatusAssessment>,
    /// Per question: the answer in force and the version (its index in `history`).
    pub current: BTreeMap<StatusField, (&'static str, usize)>,
    /// When the next assessment is due, while in treatment.
    pub next_due: Option<Date>,
    pub names: HashMap<UserId, String>,
}

/// A unit's yearly status report.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub unit: Organisation,
    pub year: ReportYear,
    /// By the patient's name.
    pub rows: Vec<(Patient, ReportRow)>,
    pub totals: Vec<TotalLine>,
    /// Every sign-off of this report, oldest first.
    pub signoffs: Vec<SignOff>,
    /// The SHA-256 of the report's CSV as it stands now.
    pub digest: String,
    pub names: HashMap<UserId, String>,
}

impl StatusReport {
    /// Whether the latest sign-off is of the report as it stands.
    pub fn signed_as_is(&self) -> bool {
        self.signoffs.last().is_some_and(|s| s.digest == self.digest)
    }
}

/// The categories the report reads of each patient.
const REPORT_CATEGORIES: [DataCategory; 5] = [
    DataCategory::Identity,
    DataCategory::Medication,
    DataCategory::DrugTests,
    DataCategory::HealthInformation,
    DataCategory::PlanAndGoals,
];

/// The report's table: the header (`unit`, `patient_id`, then each column's code
/// and after the columns each one's `_source`) and one row per patient. The CSV and
/// the XLSX are this table.
pub fn status_report_table(report: &StatusReport) -> (Vec<String>, Vec<Vec<String>>) {
    let columns = Column::all();
    let mut header = vec!["unit".to_string(), "patient_id".to_string()];
    header.extend(columns.iter().map(|c| c.code().to_string()));
    header.extend(columns.iter().map(|c| format!("{}_source", c.code())));
    let rows = report
        .rows
        .iter()
        .map(|(_, row)| {
            let mut cells = vec![report.unit.name.clone(), row.patient_id.to_string()];
            cells.extend(
                columns
                    .iter()
                    .map(|c| row.value(*c).map(|v| v.code.clone()).unwrap_or_default()),
            );
            cells.extend(
                columns
                    .iter()
                    .map(|c| row.value(*c).map(|v| v.source.code()).unwrap_or_default()),
            );
            cells
        })
        .collect();
    (header, rows)
}

/// The reports' tables as one XLSX workbook: a sheet «Pasienter» with the CSV's
/// columns (every cell as text, so codes and ids are never read as numbers), and a
/// sheet «Totaler» with each unit's totals.
pub fn status_report_xlsx(reports: &[StatusReport]) -> AppResult<Vec<u8>> {
    xlsx_workbook(reports).map_err(|e| AppError::Internal(format!("the status report as XLSX: {e}")))
}

fn xlsx_workbook(reports: &[StatusReport]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet().set_name("Pasienter")?;
    let mut line: u32 = 0;
    for (n, report) in reports.iter().enumerate() {
        let (header, rows) = status_report_table(report);
        if n == 0 {
            for (col, cell) in header.iter().enumerate() {
                sheet.write_string_with_format(line, col as u16, cell, &bold)?;
            }
            line += 1;
        }
        for row in rows {
            for (col, cell) in row.iter().enumerate() {
                sheet.write_string(line, col as u16, cell)?;
            }
            line += 1;
        }
    }
    let sheet = workbook.add_worksheet().set_name("Totaler")?;
    for (col, title) in ["Enhet", "Gruppe", "Tall", "Antall", "Av"].iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, &bold)?;
    }
    let mut line: u32 = 1;
    for report in reports {
        for total in &report.totals {
            sheet.write_string(line, 0, &report.unit.name)?;
            sheet.write_string(line, 1, total.group)?;
            sheet.write_string(line, 2, &total.label_nb)?;
            match total.value {
                Some(value) => sheet.write_number(line, 3, value),
                None => sheet.write_number(line, 3, total.count as f64),
            }?;
            sheet.write_number(line, 4, total.of as f64)?;
            line += 1;
        }
    }
    workbook.save_to_buffer()
}

/// The report's CSV: a header row (`unit`, `patient_id`, then each column's code
/// and after the columns each one's `_source`), and one row per patient.
pub fn status_report_csv(report: &StatusReport) -> String {
    let (header, rows) = status_report_table(report);
    let mut out = csv_line(&header);
    for row in rows {
        out.push_str(&csv_line(&row));
    }
    out
}

/// One CSV line (RFC 4180): a cell with a comma, quote or line break is quoted.
pub fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The category a version is written under: a staff member's assessment is health
/// information; the patient's own report from the portal is, like their goals,
/// their own account of how things go (the one category the policy lets a patient
/// write besides their consents).
fn write_category(actor: &Actor) -> DataCategory {
    match actor {
        Actor::Patient(_) => DataCategory::PlanAndGoals,
        Actor::Staff(_) | Actor::System(_) => DataCategory::HealthInformation,
    }
}

impl Service<'_> {
    pub async fn status_assessments(&self, patient_id: PatientId) -> AppResult<StatusView> {
        let patient = self.patient(patient_id).await?;
        let category = write_category(self.actor());
        self.repo
            .authorize_read(patient_id, category, "status assessments")
            .await?;
        let (mut history, episodes) = {
            let mut conn = self.state.store.read().await?;
            (
                store::assessments_of(&mut conn, &[patient_id]).await?,
                patient_store::episodes(&mut conn, patient_id).await?,
            )
        };
        history.sort_by_key(|a| std::cmp::Reverse(a.version));
        let current = status::current_answers(&history, None)
            .into_iter()
            .map(|(field, (code, from))| {
                let index = history.iter().position(|a| a.id == from.id).unwrap_or(0);
                (field, (code, index))
            })
            .collect();
        let today = self.today();
        let next_due = episodes
            .iter()
            .filter(|e| e.is_active_on(today))
            .map(|e| status::next_due_on(&history, e.started_on))
            .min();
        let names = self.names(history.iter().map(|a| a.recorded_by)).await?;
        Ok(StatusView {
            patient,
            history,
            current,
            next_due,
            names,
        })
    }

    /// Saves a new version, by staff or (the self-reported parts) by the patient.
    pub async fn save_status_assessment(
        &self,
        patient: PatientId,
        input: &StatusInput,
    ) -> AppResult<StatusAssessment> {
        self.patient(patient).await?;
        let by_patient = matches!(self.actor(), Actor::Patient(_));
        let grant = self
            .repo
            .authorize_write(patient, write_category(self.actor()), "status assessment saved")
            .await?;
        let history = {
            let mut conn = self.state.store.read().await?;
            store::assessments_of(&mut conn, &[patient]).await?
        };
        let content = input
            .parse(self.today(), by_patient, status::latest_version(&history))
            .map_err(AppError::Invalid)?;
        let assessment = StatusAssessment {
            id: StatusAssessmentId::new(),
            patient_id: patient,
            version: content.version,
            occasion: content.occasion,
            assessed_on: content.assessed_on,
            answers: content.answers,
            note: content.note,
            by_patient,
            recorded_by: self.actor().id(),
            recorded_at: self.now(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        store::insert_assessment(&mut tx, &assessment)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Statusvurderingen er nettopp lagret av noen andre. Last siden på nytt.",
                )
            })?;
        tx.commit().await?;
        Ok(assessment)
    }

    /// The actor's LAR unit, for its reports.
    fn report_unit(&self) -> AppResult<OrganisationId> {
        let staff = self.staff()?;
        if !samhand_domain::access::may_report_status(staff) {
            return Err(AppError::Forbidden(
                "Statusrapporten lages av LAR-enheten.".into(),
            ));
        }
        Ok(staff.organisation_id)
    }

    /// The unit's yearly status report: every patient in treatment at the actor's
    /// LAR unit any day of `year`, each read audited. A few reads for the whole
    /// unit, whatever its size.
    pub async fn status_report(&self, year: &str) -> AppResult<StatusReport> {
        let unit_id = self.report_unit()?;
        let year = year
            .trim()
            .parse::<i16>()
            .ok()
            .and_then(ReportYear::new)
            .ok_or_else(|| {
                AppError::Invalid(FieldErrors::single(
                    "year",
                    "Skriv året med fire sifre, f.eks. 2026.",
                ))
            })?;
        let _permit = self.heavy_work().await?;
        let organisations = self.organisations().await?;
        let unit = organisations
            .get(&unit_id)
            .cloned()
            .ok_or_else(|| AppError::NotFound("enheten".into()))?;
        let ids = {
            let mut conn = self.state.store.read().await?;
            patient_store::ids_of_unit(&mut conn, unit_id).await?
        };
        let data = self.load_data(&ids).await?;
        let covered: Vec<PatientId> = ids
            .iter()
            .filter(|id| {
                data.get(id).is_some_and(|d| {
                    d.episodes
                        .iter()
                        .any(|e| e.responsible_unit == unit_id && year.covers(e))
                })
            })
            .copied()
            .collect();
        let allowed = self.authorize_report_reads(&data, &covered, year).await?;
        let rows = self
            .report_rows(year, unit_id, &organisations, &data, &allowed)
            .await?;
        let totals = status_report::unit_totals(&rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>());
        let signoffs = {
            let mut conn = self.state.store.read().await?;
            store::signoffs(&mut conn, unit_id, i64::from(year.year)).await?
        };
        let names = self.names(signoffs.iter().map(|s| s.signed_by)).await?;
        let mut report = StatusReport {
            unit,
            year,
            rows,
            totals,
            signoffs,
            digest: String::new(),
            names,
        };
        report.digest = digest(&status_report_csv(&report));
        Ok(report)
    }

    /// Decides and records the report's reads of each patient, one entry per
    /// category read; the patients every category was allowed for.
    async fn authorize_report_reads(
        &self,
        data: &HashMap<PatientId, super::PatientData>,
        covered: &[PatientId],
        year: ReportYear,
    ) -> AppResult<Vec<PatientId>> {
        let related: Vec<(PatientId, PatientRelations)> = super::relations_of(data, covered, self.now());
        let detail = format!("yearly status report {}", year.year);
        let mut allowed: HashSet<PatientId> = covered.iter().copied().collect();
        for category in REPORT_CATEGORIES {
            let these: HashSet<PatientId> = self
                .repo
                .authorize_reads(&related, category, &detail)
                .await?
                .into_iter()
                .collect();
            allowed.retain(|p| these.contains(p));
        }
        Ok(covered.iter().copied().filter(|p| allowed.contains(p)).collect())
    }

    /// The rows of the allowed patients, read in a few queries for them all.
    async fn report_rows(
        &self,
        year: ReportYear,
        unit: OrganisationId,
        organisations: &HashMap<OrganisationId, Organisation>,
        data: &HashMap<PatientId, super::PatientData>,
        allowed: &[PatientId],
    ) -> AppResult<Vec<(Patient, ReportRow)>> {
        let mut conn = self.state.store.read().await?;
        let patients = patient_store::patients_of(&mut conn, allowed).await?;
        let mut tests: HashMap<PatientId, Vec<Date>> = HashMap::new();
        let earliest = year
            .first
            .checked_sub(jiff::Span::new().years(1))
            .unwrap_or(year.first);
        for (patient, day) in store::drug_test_days_of(&mut conn, allowed, earliest, year.last).await? {
            tests.entry(patient).or_default().push(day);
        }
        let mut regimes: HashMap<PatientId, Vec<_>> = HashMap::new();
        for regime in samhand_store::drug_test_regimes::of_patients(&mut conn, allowed).await? {
            regimes.entry(regime.patient_id).or_default().push(regime);
        }
        let mut overdoses: HashMap<PatientId, Vec<_>> = HashMap::new();
        for event in overdose_store::overdoses_of(&mut conn, allowed).await? {
            overdoses.entry(event.patient_id).or_default().push(event);
        }
        let mut plans: HashMap<PatientId, Vec<PlanStatusAt>> = HashMap::new();
        for (patient, plan) in store::plan_statuses_of(&mut conn, allowed).await? {
            plans.entry(patient).or_default().push(plan);
        }
        let mut assessments: HashMap<PatientId, Vec<StatusAssessment>> = HashMap::new();
        for assessment in store::assessments_of(&mut conn, allowed).await? {
            assessments
                .entry(assessment.patient_id)
                .or_default()
                .push(assessment);
        }
        drop(conn);
        let kinds: HashMap<OrganisationId, OrganisationKind> =
            organisations.iter().map(|(id, o)| (*id, o.kind)).collect();
        let today = self.today();
        let empty = super::PatientData::default();
        let mut rows: Vec<(Patient, ReportRow)> = patients
            .into_iter()
            .filter_map(|patient| {
                let id = patient.id;
                let d = data.get(&id).unwrap_or(&empty);
                let history = PatientHistory {
                    patient: &patient,
                    episodes: &d.episodes,
                    orders: &d.orders,
                    arrangements: &d.arrangements,
                    place_kinds: &kinds,
                    drug_test_days: tests.get(&id).map_or(&[][..], Vec::as_slice),
                    regimes: regimes.get(&id).map_or(&[][..], Vec::as_slice),
                    overdoses: overdoses.get(&id).map_or(&[][..], Vec::as_slice),
                    stays: &d.privacy.stays,
                    plans: plans.get(&id).map_or(&[][..], Vec::as_slice),
                    assessments: assessments.get(&id).map_or(&[][..], Vec::as_slice),
                };
                let row = status_report::report_row(year, unit, today, history)?;
                Some((patient, row))
            })
            .collect();
        rows.sort_by(|(a, _), (b, _)| {
            (a.family_name.as_str(), a.given_name.as_str(), a.id).cmp(&(
                b.family_name.as_str(),
                b.given_name.as_str(),
                b.id,
            ))
        });
        Ok(rows)
    }

    /// The leader signs the unit's report off as it stands: a new version of the
    /// sign-off with the number of patients and the CSV's digest.
    pub async fn sign_off_status_report(&self, year: &str) -> AppResult<SignOff> {
        let staff = self.staff()?.clone();
        if !samhand_domain::access::may_lead(&staff) || !staff.organisation_kind.is_lar_unit() {
            return Err(AppError::Forbidden(
                "Bare lederen ved LAR-enheten kan godkjenne statusrapporten.".into(),
            ));
        }
        let report = self.status_report(year).await?;
        let signoff = SignOff {
            id: uuid::Uuid::now_v7().to_string(),
            unit_id: staff.organisation_id,
            year: i64::from(report.year.year),
            version: report.signoffs.last().map_or(1, |s| s.version + 1),
            patients: report.rows.len() as i64,
            digest: report.digest.clone(),
            signed_by: staff.id,
            signed_at: self.now(),
        };
        let mut tx = self.state.store.write().await?;
        store::insert_signoff(&mut tx, &signoff).await.map_err(|e| {
            conflict_from(
                e,
                "Rapporten er nettopp godkjent av noen andre. Last siden på nytt.",
            )
        })?;
        tx.commit().await?;
        Ok(signoff)
    }
}
