//! Dose orders: a draft becomes an order only when a prescriber of the responsible
//! LAR unit signs it; every change is a new signed version with a reason, and the
//! version in effect on a day is derived from the history, never overwritten.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::dose::Dose;
use crate::ids::{DoseOrderId, EpisodeId, OrganisationId, PatientId, UserId};
use crate::organisation::{Role, StaffUser};
use crate::substance::{Form, Substance};
use crate::validation::FieldErrors;

/// The most parts one day's dose may be split into.
pub const MAX_SPLIT_PARTS: usize = 4;

/// One day's dose, split into parts given at different times (most orders have one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDose(Vec<Dose>);

impl DailyDose {
    pub fn new(parts: Vec<Dose>) -> Option<Self> {
        let valid = !parts.is_empty() && parts.len() <= MAX_SPLIT_PARTS && parts.iter().all(|d| !d.is_zero());
        valid.then_some(Self(parts))
    }

    pub fn parts(&self) -> &[Dose] {
        &self.0
    }

    pub fn total(&self) -> Dose {
        self.0.iter().copied().sum()
    }
}

/// A planned change of dose from a date, part of the signed order (titration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitrationStep {
    pub from: Date,
    pub dose: DailyDose,
}

/// What a prescriber orders. Valid by construction: see [`DoseOrderContent::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseOrderContent {
    pub substance: Substance,
    pub form: Form,
    pub dose: DailyDose,
    pub effective_from: Date,
    /// Sorted by date, all after `effective_from`.
    pub titration: Vec<TitrationStep>,
    pub reason: String,
}

/// What a form or an API body gives for a dose order, before validation.
#[derive(Debug, Clone, Default)]
pub struct DoseOrderInput {
    pub substance: String,
    pub form: String,
    /// Each part of a split dose, in milligrams as typed.
    pub parts: Vec<String>,
    pub effective_from: String,
    /// (from date, dose in mg) pairs as typed; each step is one undivided daily dose
    /// split like the base dose is.
    pub titration: Vec<(String, String)>,
    pub reason: String,
}

impl DoseOrderContent {
    pub fn parse(input: &DoseOrderInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let substance = Substance::from_code(input.substance.trim());
        if substance.is_none() {
            errors.push("substance", "Velg et legemiddel fra listen.");
        }
        let form = Form::from_code(input.form.trim());
        match (substance, form) {
            (_, None) => errors.push("form", "Velg legemiddelform."),
            (Some(s), Some(f)) if !s.allowed_forms().contains(&f) => {
                errors.push("form", "Legemiddelformen passer ikke til dette legemiddelet.")
            }
            _ => {}
        }
        let typed: Vec<&str> = input
            .parts
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        let mut parts = Vec::new();
        for part in &typed {
            match Dose::parse_mg(part) {
                Ok(dose) => parts.push(dose),
                Err(_) => {
                    errors.push(
                        "dose",
                        "Dosen må være et tall i mg større enn null, f.eks. 60 eller 8,5.",
                    );
                    break;
                }
            }
        }
        if typed.is_empty() {
            errors.push("dose", "Skriv inn dosen i mg.");
        } else if typed.len() > MAX_SPLIT_PARTS {
            errors.push(
                "dose",
                format!("En dose kan deles i høyst {MAX_SPLIT_PARTS} deler."),
            );
        }
        if substance.is_some_and(Substance::is_depot) && typed.len() > 1 {
            errors.push("dose", "Depotinjeksjon kan ikke deles.");
        }
        let effective_from = crate::validation::parse_date(&input.effective_from);
        if effective_from.is_none() {
            errors.push("effective_from", "Skriv inn en gyldig startdato (dd.mm.åååå).");
        }
        let mut titration = Vec::new();
        for (from, dose) in &input.titration {
            if from.trim().is_empty() && dose.trim().is_empty() {
                continue;
            }
            let step_from = crate::validation::parse_date(from);
            let step_dose = Dose::parse_mg(dose).ok();
            match (step_from, step_dose, effective_from) {
                (Some(f), Some(d), Some(start)) if f > start => {
                    titration.push((f, d));
                }
                (Some(_), Some(_), _) => {
                    errors.push(
                        "titration",
                        "Hvert opptrappingstrinn må starte etter startdatoen.",
                    );
                }
                _ => errors.push("titration", "Hvert opptrappingstrinn trenger dato og dose i mg."),
            }
        }
        titration.sort_by_key(|(from, _)| *from);
        if titration.windows(2).any(|w| w[0].0 == w[1].0) {
            errors.push("titration", "To opptrappingstrinn kan ikke starte samme dag.");
        }
        let reason = crate::validation::required_text(
            &mut errors,
            "reason",
            &input.reason,
            "Skriv en begrunnelse for ordinasjonen.",
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        let parts_count = parts.len();
        let dose = DailyDose::new(parts).expect("parts checked above");
        let titration = titration
            .into_iter()
            .map(|(from, total)| TitrationStep {
                from,
                dose: split_like(total, parts_count),
            })
            .collect();
        Ok(Self {
            substance: substance.expect("checked"),
            form: form.expect("checked"),
            dose,
            effective_from: effective_from.expect("checked"),
            titration,
            reason,
        })
    }

    /// The daily dose this order gives on a date (the base dose, or the titration
    /// step in effect), or None before it starts.
    pub fn dose_on(&self, date: Date) -> Option<&DailyDose> {
        if date < self.effective_from {
            return None;
        }
        Some(
            self.titration
                .iter()
                .rev()
                .find(|step| step.from <= date)
                .map(|step| &step.dose)
                .unwrap_or(&self.dose),
        )
    }

    /// Every daily total the order goes through, from its start, in date order.
    pub fn planned_totals(&self) -> Vec<(Date, Dose)> {
        std::iter::once((self.effective_from, self.dose.total()))
            .chain(self.titration.iter().map(|s| (s.from, s.dose.total())))
            .collect()
    }
}

/// Splits a titration step's total into as many equal parts as the base dose has,
/// rounding to whole micrograms with the remainder on the first part.
fn split_like(total: Dose, parts: usize) -> DailyDose {
    let parts = parts.max(1) as u64;
    let each = total.micrograms() / parts;
    let remainder = total.micrograms() - each * parts;
    let doses = (0..parts)
        .map(|i| Dose::from_micrograms(if i == 0 { each + remainder } else { each }))
        .collect();
    DailyDose::new(doses).unwrap_or_else(|| DailyDose(vec![total]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseOrderStatus {
    Draft,
    Signed,
    /// A draft that was set aside unsigned; it stays in the history.
    Discarded,
}

/// A dose order as stored: a draft, or a signed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseOrder {
    pub id: DoseOrderId,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub content: DoseOrderContent,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub signature: Option<Signature>,
    /// Set when the draft was discarded instead of signed.
    pub discard: Option<Discard>,
}

/// Who set a draft aside unsigned, when, and why (the reason may be empty). The
/// draft is kept; the discard is a record of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discard {
    pub discarded_by: UserId,
    pub discarded_at: Timestamp,
    pub reason: String,
}

/// Who signed a version, when, and the reason they gave for overriding dose-safety
/// warnings, if any were raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub version: u32,
    pub signed_by: UserId,
    pub signed_at: Timestamp,
    pub warnings_confirmed: Option<String>,
}

impl DoseOrder {
    pub fn status(&self) -> DoseOrderStatus {
        match (&self.signature, &self.discard) {
            (Some(_), _) => DoseOrderStatus::Signed,
            (None, Some(_)) => DoseOrderStatus::Discarded,
            (None, None) => DoseOrderStatus::Draft,
        }
    }
}

/// A dose order that has been signed. Only [`sign`] and [`SignedDoseOrder::from_stored`]
/// make one, so holding one means the signature is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDoseOrder(DoseOrder);

impl SignedDoseOrder {
    /// A stored order that carries a signature.
    pub fn from_stored(order: DoseOrder) -> Option<Self> {
        order.signature.is_some().then_some(Self(order))
    }

    pub fn order(&self) -> &DoseOrder {
        &self.0
    }

    pub fn signature(&self) -> &Signature {
        self.0.signature.as_ref().expect("a signed order has a signature")
    }

    pub fn version(&self) -> u32 {
        self.signature().version
    }

    pub fn content(&self) -> &DoseOrderContent {
        &self.0.content
    }

    pub fn into_order(self) -> DoseOrder {
        self.0
    }
}

/// The signed version in effect on a date: of the versions that have started by then,
/// the one signed last. A later version replaces all earlier ones from its start.
pub fn effective_order(versions: &[SignedDoseOrder], date: Date) -> Option<&SignedDoseOrder> {
    versions
        .iter()
        .filter(|v| v.content().effective_from <= date)
        .max_by_key(|v| v.version())
}

/// The dose in effect on a date from a history of signed versions.
pub fn dose_on(versions: &[SignedDoseOrder], date: Date) -> Option<(&SignedDoseOrder, &DailyDose)> {
    let order = effective_order(versions, date)?;
    order.content().dose_on(date).map(|dose| (order, dose))
}

/// A dose-safety concern that needs an explicit confirmation with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoseWarning {
    /// A methadone increase larger than the policy's step (`limit`).
    LargeMethadoneIncrease {
        from: Dose,
        to: Dose,
        on: Date,
        limit: Dose,
    },
    /// A methadone increase sooner after the last one than the policy allows in
    /// build-up (`min_days`).
    MethadoneIncreaseTooSoon {
        on: Date,
        previous_increase: Date,
        min_days: i64,
    },
    /// A daily dose above the substance's usual range.
    AboveUsualRange { dose: Dose, usual_max: Dose },
}

impl DoseWarning {
    /// The warning as the prescriber reads it, with the limit it applies.
    pub fn message_nb(&self) -> String {
        use crate::format::{count_nb, date_nb};
        match self {
            Self::LargeMethadoneIncrease { from, to, on, limit } => format!(
                "Metadonøkning fra {from} til {to} fra {} er større enn anbefalt steg: \
                 økningen er {}, grensen er {limit} per økning.",
                date_nb(*on),
                to.saturating_sub(*from)
            ),
            Self::MethadoneIncreaseTooSoon {
                on,
                previous_increase,
                min_days,
            } => format!(
                "Metadonøkning {} kommer {} etter forrige økning ({}): \
                 i oppstartsfasen skal det gå minst {} mellom økningene.",
                date_nb(*on),
                count_nb(crate::time::days_between(*previous_increase, *on), "dag", "dager"),
                date_nb(*previous_increase),
                count_nb(*min_days, "dag", "dager")
            ),
            Self::AboveUsualRange { dose, usual_max } => {
                format!("Dosen {dose} er over vanlig maksimum ({usual_max}) for legemiddelet.")
            }
        }
    }
}

/// The thresholds of the dose-safety checks (a policy table, not constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoseSafetyPolicy {
    pub methadone_max_increase: Dose,
    pub methadone_min_days_between_increases: i64,
}

impl Default for DoseSafetyPolicy {
    fn default() -> Self {
        Self {
            methadone_max_increase: Dose::from_mg(10),
            methadone_min_days_between_increases: 14,
        }
    }
}

/// Checks a new order against the signed history (DOMAIN.md, Medication).
/// `in_build_up` says whether the episode is in its start phase, where the
/// minimum time between methadone increases applies.
pub fn dose_safety_warnings(
    history: &[SignedDoseOrder],
    new: &DoseOrderContent,
    in_build_up: bool,
    policy: &DoseSafetyPolicy,
) -> Vec<DoseWarning> {
    let mut warnings = Vec::new();
    let (_, usual_max) = new.substance.usual_range();
    for (_, total) in new.planned_totals() {
        if total > usual_max {
            warnings.push(DoseWarning::AboveUsualRange {
                dose: total,
                usual_max,
            });
            break;
        }
    }
    if !new.substance.is_methadone() {
        return warnings;
    }
    // The daily total the patient had the day before the new order, or, when the new
    // order replaces one that starts the same day, that order's dose; then the plan.
    let before = crate::time::previous_day(new.effective_from);
    let methadone_total = |date| {
        dose_on(history, date)
            .filter(|(order, _)| order.content().substance.is_methadone())
            .map(|(_, dose)| dose.total())
    };
    let mut previous_total = methadone_total(before).or_else(|| methadone_total(new.effective_from));
    let mut last_increase = last_methadone_increase(history, before);
    for (on, total) in new.planned_totals() {
        if let Some(previous) = previous_total
            && total > previous
        {
            if total.saturating_sub(previous) > policy.methadone_max_increase {
                warnings.push(DoseWarning::LargeMethadoneIncrease {
                    from: previous,
                    to: total,
                    on,
                    limit: policy.methadone_max_increase,
                });
            }
            if let Some(previous_increase) = last_increase
                && in_build_up
                && crate::time::days_between(previous_increase, on)
                    < policy.methadone_min_days_between_increases
            {
                warnings.push(DoseWarning::MethadoneIncreaseTooSoon {
                    on,
                    previous_increase,
                    min_days: policy.methadone_min_days_between_increases,
                });
            }
            last_increase = Some(on);
        }
        previous_total = Some(total);
    }
    warnings
}

/// The last date on or before `until` when the methadone dose in effect went up.
fn last_methadone_increase(history: &[SignedDoseOrder], until: Date) -> Option<Date> {
    let mut change_days: Vec<Date> = history
        .iter()
        .flat_map(|v| v.content().planned_totals().into_iter().map(|(d, _)| d))
        .filter(|d| *d <= until)
        .collect();
    change_days.sort();
    change_days.dedup();
    let mut last = None;
    let mut previous: Option<Dose> = None;
    for day in change_days {
        let total = dose_on(history, day).map(|(_, d)| d.total());
        if let (Some(p), Some(t)) = (previous, total)
            && t > p
        {
            last = Some(day);
        }
        previous = total.or(previous);
    }
    last
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("only a prescriber may sign a dose order")]
    NotAPrescriber,
    #[error("only a prescriber of the responsible LAR unit may sign")]
    NotOfResponsibleUnit,
    #[error("the order is already signed")]
    AlreadySigned,
    #[error("the draft was discarded")]
    Discarded,
    #[error("dose-safety warnings need a confirmation with a reason")]
    NeedsConfirmation(Vec<DoseWarning>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscardError {
    #[error("a signed order cannot be discarded")]
    AlreadySigned,
    #[error("the draft is already discarded")]
    AlreadyDiscarded,
    #[error("only a prescriber of the responsible unit or the draft's author may discard it")]
    NotAllowed,
}

/// Sets a draft aside unsigned. Only a draft can be: a signed version is part of
/// the treatment and is replaced by a new version, never withdrawn. A prescriber
/// of the responsible unit, or whoever wrote the draft, may discard it.
pub fn discard(
    draft: &DoseOrder,
    actor: &StaffUser,
    responsible_unit: OrganisationId,
    reason: &str,
    now: Timestamp,
) -> Result<Discard, DiscardError> {
    if draft.signature.is_some() {
        return Err(DiscardError::AlreadySigned);
    }
    if draft.discard.is_some() {
        return Err(DiscardError::AlreadyDiscarded);
    }
    let prescriber_of_unit = actor.role == Role::Prescriber && actor.organisation_id == responsible_unit;
    if !prescriber_of_unit && actor.id != draft.created_by {
        return Err(DiscardError::NotAllowed);
    }
    Ok(Discard {
        discarded_by: actor.id,
        discarded_at: now,
        reason: reason.trim().to_string(),
    })
}

/// Signs a draft, making it the next version. The signer must be a prescriber of the
/// responsible unit; warnings must be confirmed with a reason.
pub fn sign(
    draft: DoseOrder,
    signer: &StaffUser,
    responsible_unit: OrganisationId,
    history: &[SignedDoseOrder],
    warnings: &[DoseWarning],
    confirmation: Option<&str>,
    now: Timestamp,
) -> Result<SignedDoseOrder, SignError> {
    if draft.signature.is_some() {
        return Err(SignError::AlreadySigned);
    }
    if draft.discard.is_some() {
        return Err(SignError::Discarded);
    }
    if signer.role != Role::Prescriber {
        return Err(SignError::NotAPrescriber);
    }
    if signer.organisation_id != responsible_unit {
        return Err(SignError::NotOfResponsibleUnit);
    }
    let confirmation = confirmation.map(str::trim).filter(|c| !c.is_empty());
    if !warnings.is_empty() && confirmation.is_none() {
        return Err(SignError::NeedsConfirmation(warnings.to_vec()));
    }
    let version = history.iter().map(SignedDoseOrder::version).max().unwrap_or(0) + 1;
    let mut order = draft;
    order.signature = Some(Signature {
        version,
        signed_by: signer.id,
        signed_at: now,
        warnings_confirmed: if warnings.is_empty() {
            None
        } else {
            confirmation.map(str::to_string)
        },
    });
    Ok(SignedDoseOrder(order))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::organisation::OrganisationKind;
    use jiff::civil::date;

    pub fn input(substance: &str, parts: &[&str], from: &str) -> DoseOrderInput {
        DoseOrderInput {
            substance: substance.into(),
            form: Substance::from_code(substance)
                .map(|s| s.allowed_forms()[0].code().to_string())
                .unwrap_or_default(),
            parts: parts.iter().map(|p| p.to_string()).collect(),
            effective_from: from.into(),
            titration: vec![],
            reason: "Oppstart".into(),
        }
    }

    pub fn prescriber(unit: OrganisationId) -> StaffUser {
        StaffUser {
            id: UserId::new(),
            username: "lege".into(),
            display_name: "Lege".into(),
            role: Role::Prescriber,
            organisation_id: unit,
            organisation_kind: OrganisationKind::HealthTrustLarUnit,
        }
    }

    pub fn draft(content: DoseOrderContent) -> DoseOrder {
        DoseOrder {
            id: DoseOrderId::new(),
            patient_id: PatientId::new(),
            episode_id: EpisodeId::new(),
            content,
            created_by: UserId::new(),
            created_at: Timestamp::UNIX_EPOCH,
            signature: None,
            discard: None,
        }
    }

    pub fn signed_history(orders: &[DoseOrderContent]) -> Vec<SignedDoseOrder> {
        let unit = OrganisationId::new();
        let lege = prescriber(unit);
        let mut history = Vec::new();
        for content in orders {
            let signed = sign(
                draft(content.clone()),
                &lege,
                unit,
                &history,
                &[],
                None,
                Timestamp::UNIX_EPOCH,
            )
            .expect("signs");
            history.push(signed);
        }
        history
    }

    fn methadone(mg: &str, from: &str) -> DoseOrderContent {
        DoseOrderContent::parse(&input("methadone_oral_solution", &[mg], from)).expect("valid")
    }

    #[test]
    fn a_dose_order_form_reports_every_wrong_field_in_norwegian() {
        let cases: &[(DoseOrderInput, &[&str])] = &[
            (input("methadone_oral_solution", &["60"], "2026-11-24"), &[]),
            (input("aspirin", &["60"], "2026-11-24"), &["substance", "form"]),
            (input("methadone_oral_solution", &[], "2026-11-24"), &["dose"]),
            (input("methadone_oral_solution", &["-3"], "2026-11-24"), &["dose"]),
            (
                input("methadone_oral_solution", &["60"], "i morgen"),
                &["effective_from"],
            ),
            (
                input(
                    "methadone_oral_solution",
                    &["20", "20", "10", "5", "5"],
                    "2026-11-24",
                ),
                &["dose"],
            ),
            (
                input("depot_buprenorphine_weekly", &["8", "8"], "2026-11-24"),
                &["dose"],
            ),
            (
                DoseOrderInput {
                    reason: " ".into(),
                    ..input("methadone_oral_solution", &["60"], "2026-11-24")
                },
                &["reason"],
            ),
            (
                DoseOrderInput {
                    form: "injection".into(),
                    ..input("methadone_oral_solution", &["60"], "2026-11-24")
                },
                &["form"],
            ),
        ];
        for (case, fields) in cases {
            let got: Vec<&str> = match DoseOrderContent::parse(case) {
                Ok(_) => vec![],
                Err(errors) => errors.0.iter().map(|e| e.field).collect(),
            };
            assert_eq!(&got, fields, "case {case:?}");
        }
    }

    #[test]
    fn a_titration_plan_gives_the_dose_of_each_day() {
        let mut typed = input("methadone_oral_solution", &["30"], "2026-11-01");
        typed.titration = vec![
            ("2026-11-15".into(), "40".into()),
            ("2026-11-29".into(), "50".into()),
        ];
        let order = DoseOrderContent::parse(&typed).expect("valid");
        let total = |d| order.dose_on(d).map(|dose| dose.total());
        assert_eq!(total(date(2026, 10, 31)), None);
        assert_eq!(total(date(2026, 11, 1)), Some(Dose::from_mg(30)));
        assert_eq!(total(date(2026, 11, 14)), Some(Dose::from_mg(30)));
        assert_eq!(total(date(2026, 11, 15)), Some(Dose::from_mg(40)));
        assert_eq!(total(date(2026, 12, 31)), Some(Dose::from_mg(50)));
    }

    #[test]
    fn a_titration_step_is_split_like_the_base_dose() {
        let mut typed = input("methadone_oral_solution", &["20", "10"], "2026-11-01");
        typed.titration = vec![("2026-11-15".into(), "45".into())];
        let order = DoseOrderContent::parse(&typed).expect("valid");
        let step = order.dose_on(date(2026, 11, 15)).expect("in effect");
        assert_eq!(
            step.parts(),
            &[Dose::from_micrograms(22_500), Dose::from_micrograms(22_500)]
        );
    }

    #[test]
    fn the_last_signed_version_that_has_started_is_in_effect() {
        let history = signed_history(&[
            methadone("30", "2026-11-01"),
            methadone("40", "2026-12-01"),
            // A correction signed later that starts earlier replaces version 2 entirely.
            methadone("35", "2026-11-20"),
        ]);
        let version_on = |d| effective_order(&history, d).map(SignedDoseOrder::version);
        assert_eq!(version_on(date(2026, 10, 31)), None);
        assert_eq!(version_on(date(2026, 11, 19)), Some(1));
        assert_eq!(version_on(date(2026, 11, 20)), Some(3));
        assert_eq!(version_on(date(2026, 12, 5)), Some(3));
    }

    #[test]
    fn only_a_prescriber_of_the_responsible_unit_can_sign() {
        let unit = OrganisationId::new();
        let content = methadone("60", "2026-11-24");
        let mut nurse = prescriber(unit);
        nurse.role = Role::DispensingStaff;
        let other_unit_doctor = prescriber(OrganisationId::new());
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            sign(draft(content.clone()), &nurse, unit, &[], &[], None, now),
            Err(SignError::NotAPrescriber)
        );
        assert_eq!(
            sign(
                draft(content.clone()),
                &other_unit_doctor,
                unit,
                &[],
                &[],
                None,
                now
            ),
            Err(SignError::NotOfResponsibleUnit)
        );
        let signed = sign(draft(content), &prescriber(unit), unit, &[], &[], None, now).expect("signs");
        assert_eq!(signed.version(), 1);
    }

    #[test]
    fn dose_safety_warnings_follow_the_methadone_start_regime() {
        let policy = DoseSafetyPolicy::default();
        let history = signed_history(&[methadone("30", "2026-11-01")]);
        let kinds = |content: &DoseOrderContent, build_up: bool| -> Vec<&'static str> {
            dose_safety_warnings(&history, content, build_up, &policy)
                .iter()
                .map(|w| match w {
                    DoseWarning::LargeMethadoneIncrease { .. } => "large",
                    DoseWarning::MethadoneIncreaseTooSoon { .. } => "soon",
                    DoseWarning::AboveUsualRange { .. } => "range",
                })
                .collect()
        };
        assert_eq!(kinds(&methadone("40", "2026-11-20"), true), Vec::<&str>::new());
        assert_eq!(kinds(&methadone("45", "2026-11-20"), true), vec!["large"]);
        assert_eq!(kinds(&methadone("25", "2026-11-03"), true), Vec::<&str>::new());
        assert_eq!(
            kinds(&methadone("200", "2026-12-20"), false),
            vec!["range", "large"]
        );
        // An increase within 14 days of the previous increase, during build-up only.
        let history = signed_history(&[methadone("30", "2026-11-01"), methadone("40", "2026-11-10")]);
        let soon = dose_safety_warnings(&history, &methadone("45", "2026-11-15"), true, &policy);
        assert!(
            matches!(soon.as_slice(), [DoseWarning::MethadoneIncreaseTooSoon { .. }]),
            "{soon:?}"
        );
        assert!(dose_safety_warnings(&history, &methadone("45", "2026-11-15"), false, &policy).is_empty());
        // A correction of an order from its own first day is compared with that order.
        let first_day = signed_history(&[methadone("60", "2026-11-23")]);
        let same_day = dose_safety_warnings(&first_day, &methadone("80", "2026-11-23"), false, &policy);
        assert!(
            matches!(same_day.as_slice(), [DoseWarning::LargeMethadoneIncrease { .. }]),
            "{same_day:?}"
        );
        // Titration steps in the same order are checked one after the other.
        let mut typed = input("methadone_oral_solution", &["40"], "2026-11-20");
        typed.titration = vec![("2026-11-25".into(), "50".into())];
        let plan = DoseOrderContent::parse(&typed).expect("valid");
        let history = signed_history(&[methadone("30", "2026-11-01")]);
        let warnings = dose_safety_warnings(&history, &plan, true, &policy);
        assert!(
            matches!(
                warnings.as_slice(),
                [DoseWarning::MethadoneIncreaseTooSoon { .. }]
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_dose_safety_warning_states_the_limit_it_applies() {
        let policy = DoseSafetyPolicy {
            methadone_max_increase: Dose::from_mg(15),
            methadone_min_days_between_increases: 21,
        };
        let history = signed_history(&[methadone("30", "2026-11-01"), methadone("40", "2026-11-10")]);
        let messages: Vec<String> =
            dose_safety_warnings(&history, &methadone("60", "2026-11-15"), true, &policy)
                .iter()
                .map(DoseWarning::message_nb)
                .collect();
        assert_eq!(
            messages,
            vec![
                "Metadonøkning fra 40 mg til 60 mg fra 15.11.2026 er større enn anbefalt steg: \
                 økningen er 20 mg, grensen er 15 mg per økning."
                    .to_string(),
                "Metadonøkning 15.11.2026 kommer 5 dager etter forrige økning (10.11.2026): \
                 i oppstartsfasen skal det gå minst 21 dager mellom økningene."
                    .to_string(),
            ]
        );
    }

    #[test]
    fn only_a_draft_can_be_discarded_and_a_discarded_draft_cannot_be_signed() {
        let unit = OrganisationId::new();
        let lege = prescriber(unit);
        let now = Timestamp::UNIX_EPOCH;
        let mut order = draft(methadone("60", "2026-11-24"));
        assert_eq!(order.status(), DoseOrderStatus::Draft);

        let mut consultant = prescriber(unit);
        consultant.role = Role::LarConsultant;
        assert_eq!(
            discard(&order, &consultant, unit, "", now),
            Err(DiscardError::NotAllowed),
            "neither a prescriber nor the author"
        );
        assert_eq!(
            discard(&order, &prescriber(OrganisationId::new()), unit, "", now),
            Err(DiscardError::NotAllowed),
            "a prescriber of another unit"
        );
        consultant.id = order.created_by;
        assert!(
            discard(&order, &consultant, unit, "", now).is_ok(),
            "the author may"
        );

        let discarded = discard(&order, &lege, unit, "  Feil legemiddelform  ", now).expect("a draft");
        assert_eq!(discarded.reason, "Feil legemiddelform");
        assert_eq!(discarded.discarded_by, lege.id);
        order.discard = Some(discarded);
        assert_eq!(order.status(), DoseOrderStatus::Discarded);
        assert_eq!(
            discard(&order, &lege, unit, "", now),
            Err(DiscardError::AlreadyDiscarded)
        );
        assert_eq!(
            sign(order, &lege, unit, &[], &[], None, now),
            Err(SignError::Discarded)
        );

        let signed = sign(
            draft(methadone("60", "2026-11-24")),
            &lege,
            unit,
            &[],
            &[],
            None,
            now,
        )
        .expect("signs")
        .into_order();
        assert_eq!(
            discard(&signed, &lege, unit, "", now),
            Err(DiscardError::AlreadySigned)
        );
    }

    #[test]
    fn warnings_block_signing_until_confirmed_with_a_reason() {
        let unit = OrganisationId::new();
        let warning = DoseWarning::AboveUsualRange {
            dose: Dose::from_mg(200),
            usual_max: Dose::from_mg(150),
        };
        let content = methadone("200", "2026-11-24");
        let now = Timestamp::UNIX_EPOCH;
        let refused = sign(
            draft(content.clone()),
            &prescriber(unit),
            unit,
            &[],
            std::slice::from_ref(&warning),
            Some("  "),
            now,
        );
        assert!(matches!(refused, Err(SignError::NeedsConfirmation(_))));
        let signed = sign(
            draft(content),
            &prescriber(unit),
            unit,
            &[],
            &[warning],
            Some("Høy toleranse"),
            now,
        )
        .expect("signs");
        assert_eq!(
            signed.signature().warnings_confirmed.as_deref(),
            Some("Høy toleranse")
        );
    }
}
