//! The individual plan (individuell plan) in versions: initiation, every save a new
//! version with the patient's goals per life domain and the measures, a decline
//! recorded and revertible.

use jiff::Timestamp;
use jiff::civil::Date;

use super::{LifeDomain, MAX_LINE, MAX_TEXT};
use crate::ids::{OrganisationId, PatientId, PlanVersionId, UserId};
use crate::validation::{FieldErrors, parse_date};

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PlanStatus {
        Active = "active",
        /// The patient declined the plan; recorded, not overridden.
        Declined = "declined",
    }
}

impl PlanStatus {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::Active => "Aktiv",
            Self::Declined => "Pasienten har takket nei",
        }
    }
}

/// A measure (tiltak) and the service responsible for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub description: String,
    pub responsible: OrganisationId,
}

/// The patient's goal in one life domain, in their own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanGoal {
    pub domain: LifeDomain,
    pub goal: String,
    pub measures: Vec<Measure>,
    pub evaluate_on: Option<Date>,
}

/// One version of the whole plan. Every save is a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersion {
    pub id: PlanVersionId,
    pub patient_id: PatientId,
    pub version: i64,
    pub status: PlanStatus,
    /// The day the patient declined, on a declined version.
    pub declined_on: Option<Date>,
    pub goals: Vec<PlanGoal>,
    pub reason: String,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

impl PlanVersion {
    /// The goals whose evaluation date is on or before today, on an active plan.
    pub fn goals_due_for_evaluation(&self, today: Date) -> Vec<&PlanGoal> {
        if self.status != PlanStatus::Active {
            return Vec::new();
        }
        self.goals
            .iter()
            .filter(|g| g.evaluate_on.is_some_and(|d| d <= today))
            .collect()
    }
}

/// The latest version of a plan.
pub fn current_plan(versions: &[PlanVersion]) -> Option<&PlanVersion> {
    versions.iter().max_by_key(|v| v.version)
}

/// What is done to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    /// Offer the plan: the first version, active, no goals yet.
    Initiate,
    /// A new version with the goals as given.
    Save,
    /// The patient declines: a new version recording it, the goals kept.
    Decline,
    /// The patient wants the plan after all: a new active version.
    Resume,
}

impl PlanAction {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "initiate" => Some(Self::Initiate),
            "save" => Some(Self::Save),
            "decline" => Some(Self::Decline),
            "resume" => Some(Self::Resume),
            _ => None,
        }
    }
}

/// A goal as typed.
#[derive(Debug, Clone, Default)]
pub struct GoalInput {
    pub domain: String,
    pub goal: String,
    /// (description, responsible organisation id)
    pub measures: Vec<(String, String)>,
    pub evaluate_on: String,
}

/// A plan save as typed.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub action: String,
    pub reason: String,
    pub goals: Vec<GoalInput>,
}

/// What the new version holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanContent {
    pub version: i64,
    pub status: PlanStatus,
    pub declined_on: Option<Date>,
    pub goals: Vec<PlanGoal>,
    pub reason: String,
}

impl PlanInput {
    /// Checks a plan action against the current version and makes the next one.
    /// `organisations` are the services a measure can name.
    pub fn parse(
        &self,
        current: Option<&PlanVersion>,
        organisations: &[OrganisationId],
        today: Date,
    ) -> Result<PlanContent, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(action) = PlanAction::from_code(self.action.trim()) else {
            return Err(FieldErrors::single(
                "action",
                "Velg hva som skal gjøres med planen.",
            ));
        };
        let reason = self.reason.trim().to_string();
        if reason.chars().count() > MAX_LINE * 3 {
            errors.push(
                "reason",
                format!("Begrunnelsen kan være høyst {} tegn.", MAX_LINE * 3),
            );
        }
        let version = current.map_or(1, |c| c.version + 1);
        let (status, declined_on, goals, reason) = match (action, current) {
            (PlanAction::Initiate, None) => (
                PlanStatus::Active,
                None,
                Vec::new(),
                if reason.is_empty() {
                    "Individuell plan tilbudt og startet".to_string()
                } else {
                    reason
                },
            ),
            (PlanAction::Initiate, Some(_)) => {
                errors.push("action", "Planen er allerede startet.");
                return Err(errors);
            }
            (_, None) => {
                errors.push("action", "Start planen først.");
                return Err(errors);
            }
            (PlanAction::Save, Some(c)) => {
                if c.status == PlanStatus::Declined {
                    errors.push(
                        "action",
                        "Pasienten har takket nei til planen. Gjenoppta den først.",
                    );
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hva som er endret i planen.");
                }
                let goals = parse_goals(&mut errors, &self.goals, organisations);
                (PlanStatus::Active, None, goals, reason)
            }
            (PlanAction::Decline, Some(c)) => {
                if c.status == PlanStatus::Declined {
                    errors.push("action", "Pasienten har allerede takket nei til planen.");
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hva pasienten sa, eller hvorfor.");
                }
                (PlanStatus::Declined, Some(today), c.goals.clone(), reason)
            }
            (PlanAction::Resume, Some(c)) => {
                if c.status != PlanStatus::Declined {
                    errors.push("action", "Planen er allerede aktiv.");
                }
                if reason.is_empty() {
                    errors.push("reason", "Skriv hvorfor planen gjenopptas.");
                }
                (PlanStatus::Active, None, c.goals.clone(), reason)
            }
        };
        errors.into_result(PlanContent {
            version,
            status,
            declined_on,
            goals,
            reason,
        })
    }
}

fn parse_goals(
    errors: &mut FieldErrors,
    inputs: &[GoalInput],
    organisations: &[OrganisationId],
) -> Vec<PlanGoal> {
    let mut goals: Vec<PlanGoal> = Vec::new();
    for input in inputs {
        let blank = input.goal.trim().is_empty()
            && input.measures.iter().all(|(d, _)| d.trim().is_empty())
            && input.evaluate_on.trim().is_empty();
        let domain = LifeDomain::from_code(input.domain.trim());
        let Some(domain) = domain else {
            errors.push("goals", "Et mål gjelder et livsområde som ikke finnes.");
            continue;
        };
        if blank {
            continue;
        }
        if goals.iter().any(|g| g.domain == domain) {
            errors.push(
                "goals",
                format!(
                    "{} står to ganger; skriv ett mål per livsområde.",
                    domain.label_nb()
                ),
            );
            continue;
        }
        let goal = input.goal.trim().to_string();
        if goal.is_empty() {
            errors.push(
                "goals",
                format!(
                    "{}: skriv pasientens mål med pasientens egne ord.",
                    domain.label_nb()
                ),
            );
        } else if goal.chars().count() > MAX_TEXT {
            errors.push(
                "goals",
                format!("{}: målet kan være høyst {MAX_TEXT} tegn.", domain.label_nb()),
            );
        }
        let mut measures = Vec::new();
        for (description, responsible) in &input.measures {
            let description = description.trim();
            if description.is_empty() && responsible.trim().is_empty() {
                continue;
            }
            let responsible = responsible
                .trim()
                .parse::<OrganisationId>()
                .ok()
                .filter(|o| organisations.contains(o));
            match (description.is_empty(), responsible) {
                (true, _) => errors.push("measures", format!("{}: beskriv tiltaket.", domain.label_nb())),
                (false, None) => errors.push(
                    "measures",
                    format!(
                        "{}: velg hvilken tjeneste som har ansvaret for tiltaket.",
                        domain.label_nb()
                    ),
                ),
                (false, Some(responsible)) => measures.push(Measure {
                    description: description.to_string(),
                    responsible,
                }),
            }
        }
        let evaluate_on = match input.evaluate_on.trim() {
            "" => None,
            raw => {
                let parsed = parse_date(raw);
                if parsed.is_none() {
                    errors.push(
                        "evaluate_on",
                        format!("{}: skriv evalueringsdatoen som dd.mm.åååå.", domain.label_nb()),
                    );
                }
                parsed
            }
        };
        goals.push(PlanGoal {
            domain,
            goal,
            measures,
            evaluate_on,
        });
    }
    goals.sort_by_key(|g| g.domain);
    goals
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn version_from(content: PlanContent) -> PlanVersion {
        PlanVersion {
            id: PlanVersionId::new(),
            patient_id: PatientId::new(),
            version: content.version,
            status: content.status,
            declined_on: content.declined_on,
            goals: content.goals,
            reason: content.reason,
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_plan_is_initiated_once_versioned_on_every_save_and_a_decline_is_recorded_and_can_be_reverted() {
        let today = date(2026, 11, 23);
        let nav = OrganisationId::new();
        let action = |a: &str, reason: &str| PlanInput {
            action: a.into(),
            reason: reason.into(),
            goals: Vec::new(),
        };
        assert!(
            action("save", "x").parse(None, &[nav], today).is_err(),
            "initiate first"
        );
        let v1 = version_from(action("initiate", "").parse(None, &[nav], today).unwrap());
        assert_eq!((v1.version, v1.status), (1, PlanStatus::Active));
        assert!(action("initiate", "").parse(Some(&v1), &[nav], today).is_err());

        let save = PlanInput {
            action: "save".into(),
            reason: "Mål fra møtet".into(),
            goals: vec![
                GoalInput {
                    domain: "housing".into(),
                    goal: "Jeg vil ha min egen leilighet".into(),
                    measures: vec![("Søke kommunal bolig".into(), nav.to_string())],
                    evaluate_on: "01.03.2027".into(),
                },
                GoalInput {
                    domain: "economy".into(),
                    ..Default::default()
                },
            ],
        };
        let v2 = version_from(save.parse(Some(&v1), &[nav], today).unwrap());
        assert_eq!(v2.version, 2);
        assert_eq!(v2.goals.len(), 1, "a blank domain is left out");
        assert_eq!(v2.goals[0].domain, LifeDomain::Housing);
        assert!(v2.goals_due_for_evaluation(today).is_empty());
        assert_eq!(v2.goals_due_for_evaluation(date(2027, 3, 1)).len(), 1);

        let errors = action("decline", "").parse(Some(&v2), &[nav], today).unwrap_err();
        assert!(errors.for_field("reason").is_some());
        let v3 = version_from(
            action("decline", "Vil ikke ha plan nå")
                .parse(Some(&v2), &[nav], today)
                .unwrap(),
        );
        assert_eq!(
            (v3.version, v3.status, v3.declined_on),
            (3, PlanStatus::Declined, Some(today))
        );
        assert_eq!(v3.goals, v2.goals, "the goals are kept");
        assert!(v3.goals_due_for_evaluation(date(2027, 3, 1)).is_empty());
        assert!(
            save.parse(Some(&v3), &[nav], today).is_err(),
            "a declined plan is not edited"
        );
        let v4 = version_from(
            action("resume", "Ønsker plan likevel")
                .parse(Some(&v3), &[nav], today)
                .unwrap(),
        );
        assert_eq!((v4.version, v4.status), (4, PlanStatus::Active));
        assert_eq!(
            current_plan(&[v1, v2, v3, v4.clone()]).map(|v| v.version),
            Some(4)
        );
    }

    #[test]
    fn a_goal_needs_the_patients_words_and_a_measure_a_responsible_service() {
        let v1 = PlanVersion {
            id: PlanVersionId::new(),
            patient_id: PatientId::new(),
            version: 1,
            status: PlanStatus::Active,
            declined_on: None,
            goals: Vec::new(),
            reason: String::new(),
            recorded_by: UserId::new(),
            recorded_at: Timestamp::UNIX_EPOCH,
        };
        let input = PlanInput {
            action: "save".into(),
            reason: "Ny".into(),
            goals: vec![
                GoalInput {
                    domain: "housing".into(),
                    goal: "".into(),
                    measures: vec![("Søke bolig".into(), OrganisationId::new().to_string())],
                    evaluate_on: "snart".into(),
                },
                GoalInput {
                    domain: "nowhere".into(),
                    goal: "x".into(),
                    ..Default::default()
                },
            ],
        };
        let errors = input.parse(Some(&v1), &[], date(2026, 11, 23)).unwrap_err();
        for field in ["goals", "measures", "evaluate_on"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors}");
        }
    }
}
