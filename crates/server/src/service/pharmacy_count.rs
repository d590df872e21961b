//! The pharmacy's count (issue 17): per pharmacy, LAR unit and month, the
//! supervised intakes and take-home hand-outs per patient with their dates, the
//! basis for the pharmacy's claim to the LAR unit. The pharmacy sees its own; the
//! LAR unit sees what pharmacies handed out to its patients, and its leader
//! approves a month's count. An approved count is frozen (H70): a later correction
//! of a recording shows as a difference to it, never as a changed approval.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use samhand_domain::access::{self, DataCategory};
use samhand_domain::ids::{OrganisationId, PatientId, UserId};
use samhand_domain::organisation::{Organisation, OrganisationKind};
use samhand_domain::patient::Patient;
use samhand_domain::pharmacy_count::{self, CountDay, Difference, Month, PatientCount};
use samhand_domain::validation::FieldErrors;
use samhand_store::patients as patient_store;
use samhand_store::pharmacy_count::{self as store, Approval};

use super::{PatientData, Service, conflict_from, csv_line};
use crate::error::{AppError, AppResult};

/// One pharmacy's count for one LAR unit's patients in a month.
#[derive(Debug, Clone)]
pub struct PharmacyCount {
    pub month: Month,
    pub pharmacy: Organisation,
    pub unit: Organisation,
    /// By the patient's name.
    pub lines: Vec<(Patient, PatientCount)>,
    /// The recorded days behind the lines, as they stand now.
    pub days: Vec<CountDay>,
    /// Every approval of this count, oldest first.
    pub approvals: Vec<Approval>,
    /// Days where the count as it stands differs from the latest approval.
    pub differences: Vec<Difference>,
    /// Patients with hand-outs in the count whom the reader may no longer see (a
    /// pharmacy's patient who has moved on): left out of the lines, counted here.
    pub hidden_patients: usize,
    pub names: HashMap<UserId, String>,
}

impl PharmacyCount {
    pub fn supervised(&self) -> u32 {
        self.lines.iter().map(|(_, l)| l.supervised).sum()
    }

    pub fn take_home(&self) -> u32 {
        self.lines.iter().map(|(_, l)| l.take_home).sum()
    }

    /// Whether the latest approval is of the count as it stands.
    pub fn approved_as_is(&self) -> bool {
        !self.approvals.is_empty() && self.differences.is_empty()
    }

    fn patient_name(&self, id: PatientId) -> String {
        self.lines
            .iter()
            .find(|(p, _)| p.id == id)
            .map_or_else(|| id.to_string(), |(p, _)| p.full_name())
    }

    /// A difference's patient, by name where the reader sees them.
    pub fn difference_name(&self, difference: &Difference) -> String {
        self.patient_name(difference.patient)
    }
}

/// The counts as CSV (columns: `pharmacy_count::CSV_COLUMNS` and `lar_unit`),
/// one header row and one row per patient of each count.
pub fn pharmacy_count_csv(counts: &[PharmacyCount]) -> String {
    let mut header: Vec<String> = pharmacy_count::CSV_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .collect();
    header.push("lar_unit".into());
    let mut out = csv_line(&header);
    for count in counts {
        for (_, line) in &count.lines {
            let mut cells = pharmacy_count::csv_cells(
                count.month,
                &count.pharmacy.id.to_string(),
                &count.pharmacy.name,
                line,
            );
            cells.push(count.unit.name.clone());
            out.push_str(&csv_line(&cells));
        }
    }
    out
}

/// The unit whose patient the hand-out of `day` was: the responsible unit of the
/// episode running that day (or else of the latest one).
fn unit_on(data: Option<&PatientData>, day: Date) -> Option<OrganisationId> {
    data?.episode_on(day).map(|e| e.responsible_unit)
}

fn parse_month(month: &str) -> AppResult<Month> {
    Month::parse(month).map_err(AppError::Invalid)
}

impl Service<'_> {
    /// The places whose counts the actor sees, and the unit they see them for
    /// (`None`: every unit's, as the pharmacy sees its own).
    fn count_scope(
        &self,
        organisations: &HashMap<OrganisationId, Organisation>,
    ) -> AppResult<(Vec<OrganisationId>, Option<OrganisationId>)> {
        let staff = self.staff()?;
        if !access::may_see_pharmacy_count(staff) {
            return Err(AppError::Forbidden(
                "Apotekets telling er for apoteket og LAR-enheten.".into(),
            ));
        }
        if staff.organisation_kind == OrganisationKind::Pharmacy {
            return Ok((vec![staff.organisation_id], None));
        }
        let mut pharmacies: Vec<OrganisationId> = organisations
            .values()
            .filter(|o| o.kind == OrganisationKind::Pharmacy)
            .map(|o| o.id)
            .collect();
        pharmacies.sort();
        Ok((pharmacies, Some(staff.organisation_id)))
    }

    /// The month's counts the actor sees: the pharmacy's own (one per LAR unit), or
    /// the LAR unit's at every pharmacy. The patients' reads are one audited view.
    pub async fn pharmacy_counts(&self, month: &str) -> AppResult<Vec<PharmacyCount>> {
        let month = parse_month(month)?;
        let organisations = self.organisations().await?;
        let (places, for_unit) = self.count_scope(&organisations)?;
        let _permit = self.heavy_work().await?;
        let (days, approvals) = {
            let mut conn = self.state.store.read().await?;
            (
                store::days_at(&mut conn, &places, month.first_day(), month.last_day()).await?,
                store::approvals(&mut conn, &places, month).await?,
            )
        };
        let ids: Vec<PatientId> = days
            .iter()
            .map(|(_, d)| d.patient)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let data = self.load_data(&ids).await?;
        // Each day belongs to the count of its pharmacy and the patient's unit.
        let mut grouped: BTreeMap<(OrganisationId, OrganisationId), Vec<CountDay>> = BTreeMap::new();
        for (place, day) in days {
            let Some(unit) = unit_on(data.get(&day.patient), day.day) else {
                continue;
            };
            if for_unit.is_none_or(|u| u == unit) {
                grouped.entry((place, unit)).or_default().push(day);
            }
        }
        let shown: Vec<PatientId> = grouped
            .values()
            .flatten()
            .map(|d| d.patient)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let allowed = self.authorize_count_reads(&data, &shown, month).await?;
        let patients: HashMap<PatientId, Patient> = {
            let mut conn = self.state.store.read().await?;
            let allowed: Vec<PatientId> = allowed.iter().copied().collect();
            patient_store::patients_of(&mut conn, &allowed)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect()
        };
        let names = self.names(approvals.iter().map(|a| a.approved_by)).await?;
        let mut counts = Vec::new();
        for ((place, unit), days) in grouped {
            let (Some(pharmacy), Some(unit_org)) = (organisations.get(&place), organisations.get(&unit))
            else {
                continue;
            };
            let hidden: HashSet<PatientId> = days
                .iter()
                .map(|d| d.patient)
                .filter(|p| !patients.contains_key(p))
                .collect();
            let days: Vec<CountDay> = days
                .into_iter()
                .filter(|d| !hidden.contains(&d.patient))
                .collect();
            let these: Vec<Approval> = approvals
                .iter()
                .filter(|a| a.pharmacy_id == place && a.unit_id == unit)
                .cloned()
                .collect();
            let differences = match these.last() {
                Some(latest) => {
                    let mut conn = self.state.store.read().await?;
                    let frozen = store::approved_days(&mut conn, &latest.id).await?;
                    pharmacy_count::differences(&frozen, &days)
                }
                None => Vec::new(),
            };
            let mut lines: Vec<(Patient, PatientCount)> = pharmacy_count::count_month(month, &days)
                .into_iter()
                .filter_map(|line| patients.get(&line.patient).cloned().map(|p| (p, line)))
                .collect();
            lines.sort_by(|(a, _), (b, _)| {
                (a.family_name.as_str(), a.given_name.as_str(), a.id).cmp(&(
                    b.family_name.as_str(),
                    b.given_name.as_str(),
                    b.id,
                ))
            });
            counts.push(PharmacyCount {
                month,
                pharmacy: pharmacy.clone(),
                unit: unit_org.clone(),
                lines,
                days,
                approvals: these,
                differences,
                hidden_patients: hidden.len(),
                names: names.clone(),
            });
        }
        counts.sort_by(|a, b| (&a.pharmacy.name, &a.unit.name).cmp(&(&b.pharmacy.name, &b.unit.name)));
        Ok(counts)
    }

    /// Decides and records the count's reads: who the patients are and what was
    /// handed out to them, as one view each. The patients both were allowed for.
    async fn authorize_count_reads(
        &self,
        data: &HashMap<PatientId, PatientData>,
        shown: &[PatientId],
        month: Month,
    ) -> AppResult<HashSet<PatientId>> {
        let related = super::relations_of(data, shown, self.now());
        let detail = format!("pharmacy count {}", month.code());
        let mut allowed: HashSet<PatientId> = shown.iter().copied().collect();
        for category in [DataCategory::Identity, DataCategory::Dispensing] {
            let these: HashSet<PatientId> = self
                .repo
                .authorize_list_reads(&related, category, &detail)
                .await?
                .into_iter()
                .collect();
            allowed.retain(|p| these.contains(p));
        }
        Ok(allowed)
    }

    /// The LAR unit's leader approves a pharmacy's count for a month that is over,
    /// as it stands: a new version with the count frozen beside it.
    pub async fn approve_pharmacy_count(&self, month: &str, pharmacy: &str) -> AppResult<Approval> {
        let staff = self.staff()?.clone();
        if !access::may_lead(&staff) || !staff.organisation_kind.is_lar_unit() {
            return Err(AppError::Forbidden(
                "Bare lederen ved LAR-enheten kan godkjenne apotekets telling.".into(),
            ));
        }
        let parsed = parse_month(month)?;
        if parsed.last_day() >= self.today() {
            return Err(AppError::Invalid(FieldErrors::single(
                "month",
                "Måneden er ikke over ennå. Tellingen godkjennes etter månedens slutt.",
            )));
        }
        let pharmacy_id: OrganisationId = pharmacy
            .trim()
            .parse()
            .map_err(|_| AppError::Invalid(FieldErrors::single("pharmacy_id", "Velg et apotek.")))?;
        let count = self
            .pharmacy_counts(month)
            .await?
            .into_iter()
            .find(|c| c.pharmacy.id == pharmacy_id && c.unit.id == staff.organisation_id)
            .ok_or_else(|| {
                AppError::Invalid(FieldErrors::single(
                    "pharmacy_id",
                    "Apoteket har ingen utleveringer til enhetens pasienter denne måneden.",
                ))
            })?;
        if count.hidden_patients > 0 {
            return Err(AppError::Forbidden(
                "Tellingen har pasienter du ikke har tilgang til, og kan ikke godkjennes av deg.".into(),
            ));
        }
        if count.approved_as_is() {
            return Err(AppError::Conflict(
                "Tellingen er allerede godkjent slik den står.".into(),
            ));
        }
        let approval = Approval {
            id: uuid::Uuid::now_v7().to_string(),
            unit_id: staff.organisation_id,
            pharmacy_id,
            month: parsed,
            version: count.approvals.last().map_or(1, |a| a.version + 1),
            supervised: i64::from(count.supervised()),
            take_home: i64::from(count.take_home()),
            approved_by: staff.id,
            approved_at: self.now(),
        };
        let mut tx = self.state.store.write().await?;
        store::insert_approval(&mut tx, &approval, &count.days)
            .await
            .map_err(|e| {
                conflict_from(
                    e,
                    "Tellingen er nettopp godkjent av noen andre. Last siden på nytt.",
                )
            })?;
        tx.commit().await?;
        Ok(approval)
    }
}
