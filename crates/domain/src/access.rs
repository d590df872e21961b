//! The access policy: one decision for every read and write of patient data.
//! (user, role, organisation, relation to the patient, category, action) → allow with
//! the reason, or deny. Deny by default.

use jiff::Timestamp;

pub use crate::category::DataCategory;
use crate::ids::{OrganisationId, PatientId, UserId};
use crate::organisation::{OrganisationKind, Role, StaffUser};
use crate::privacy::{PatientUser, PrivacyFacts};

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Action {
        Read = "read",
        Write = "write",
        /// Correcting a record written earlier, perhaps by someone else (a recording at
        /// the window). For every category but dispensing it is the same as a write.
        Correct = "correct",
    }
}

/// Who is asking: a staff member, or the patient for themself; or Samhand itself,
/// acting on the clock without anyone (a block after missed doses told by EDI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Staff(StaffUser),
    Patient(PatientUser),
    System(SystemActor),
}

/// Samhand acting by itself on behalf of a unit (the scheduler's notices). It is
/// no user: the policy allows it nothing, and the audit log names it as
/// [`SYSTEM_ACTOR_ID`] with the role `system`, never as a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemActor {
    /// The unit it acts for (the patient's responsible LAR unit).
    pub organisation_id: OrganisationId,
    /// What it does, e.g. "scheduler".
    pub job: &'static str,
}

/// The actor id the audit log records for Samhand acting by itself.
pub const SYSTEM_ACTOR_ID: &str = "samhand-system";

impl Actor {
    /// The user acting; Samhand acting by itself is no user and has the nil id
    /// (the audit log records [`Self::audit_id`]).
    pub fn id(&self) -> UserId {
        match self {
            Self::Staff(s) => s.id,
            Self::Patient(p) => p.id,
            Self::System(_) => UserId::from_uuid(uuid::Uuid::nil()),
        }
    }

    /// The actor as written to the audit log.
    pub fn audit_id(&self) -> String {
        match self {
            Self::System(_) => SYSTEM_ACTOR_ID.to_string(),
            other => other.id().to_string(),
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Self::Staff(s) => &s.display_name,
            Self::Patient(p) => &p.display_name,
            Self::System(_) => "Samhand (automatisk)",
        }
    }

    /// The role as written to the audit log.
    pub fn role_code(&self) -> &'static str {
        match self {
            Self::Staff(s) => s.role.code(),
            Self::Patient(_) => "patient",
            Self::System(_) => "system",
        }
    }

    /// The organisation as written to the audit log; a patient acts for no one.
    pub fn organisation_code(&self) -> String {
        match self {
            Self::Staff(s) => s.organisation_id.to_string(),
            Self::Patient(_) => String::new(),
            Self::System(s) => s.organisation_id.to_string(),
        }
    }

    pub fn staff(&self) -> Option<&StaffUser> {
        match self {
            Self::Staff(s) => Some(s),
            Self::Patient(_) | Self::System(_) => None,
        }
    }
}

impl From<&StaffUser> for Actor {
    fn from(user: &StaffUser) -> Self {
        Self::Staff(user.clone())
    }
}

impl From<&Actor> for Actor {
    fn from(actor: &Actor) -> Self {
        actor.clone()
    }
}

/// How the patient is related to organisations and people, as the store finds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientRelations {
    pub patient: Option<PatientId>,
    /// Responsible LAR units of the patient's episodes (current and earlier).
    pub responsible_units: Vec<OrganisationId>,
    /// Dispensing places of the current arrangement, and of covers in the coming days.
    pub dispensing_places: Vec<OrganisationId>,
    /// Active care team seats: (user, the organisation they sit for).
    pub care_team: Vec<(UserId, OrganisationId)>,
    /// Consents in force: (recipient organisation, category).
    pub consents: Vec<(OrganisationId, DataCategory)>,
    /// Emergency accesses running now: (user, the organisation they acted for).
    pub emergency_users: Vec<(UserId, OrganisationId)>,
    /// Organisations whose staff made an emergency access not yet reviewed: their
    /// leaders may see who the patient is, to review it.
    pub emergency_reviewers: Vec<OrganisationId>,
    /// Institutions where the patient is admitted (from the admission is recorded to
    /// the discharge day): during a stay they have the medication.
    pub stay_institutions: Vec<OrganisationId>,
    /// Messages about the patient addressed to a unit: (the unit, the message's
    /// category). Filled in only where messages are read: the unit reads who the
    /// patient is and, for medication and dispensing, the message, for the purpose it
    /// was sent, even when its relation has ended (a place told of high overdose risk
    /// after LAR ended). Notes, plans and health information still need consent.
    pub addressed_messages: Vec<(OrganisationId, DataCategory)>,
    /// Services prescribing responsibility was handed over to: their prescribers.
    pub prescribing_services: Vec<OrganisationId>,
}

impl PatientRelations {
    fn consented(&self, organisation: OrganisationId, category: DataCategory) -> bool {
        self.consents.contains(&(organisation, category))
    }
}

/// The relations as they follow from the patient's episodes, arrangements, covers
/// and privacy records at a moment: every responsible unit, the place of the
/// arrangement in effect today or decided for later, places covering days from
/// today, active care team seats, consents in force and running emergency accesses.
pub fn relations_from(
    patient: PatientId,
    episodes: &[crate::patient::Episode],
    arrangements: &[crate::arrangement::Arrangement],
    covers: &[crate::schedule::Cover],
    privacy: &PrivacyFacts,
    now: Timestamp,
) -> PatientRelations {
    let today = crate::time::oslo_date(now);
    let mut responsible_units: Vec<OrganisationId> = episodes.iter().map(|e| e.responsible_unit).collect();
    responsible_units.sort();
    responsible_units.dedup();
    let care_team = privacy
        .care_team
        .iter()
        .filter(|m| m.is_active_at(now))
        .map(|m| (m.user_id, m.organisation_id))
        .collect();
    let consents = crate::privacy::consents_in_force(&privacy.consents);
    let emergency_users = privacy
        .emergency
        .iter()
        .filter(|e| e.is_active_at(now))
        .map(|e| (e.user_id, e.organisation_id))
        .collect();
    let mut emergency_reviewers: Vec<OrganisationId> = privacy
        .emergency
        .iter()
        .filter(|e| e.review.is_none())
        .map(|e| e.organisation_id)
        .collect();
    emergency_reviewers.sort();
    emergency_reviewers.dedup();
    let mut stay_institutions: Vec<OrganisationId> = privacy
        .stays
        .iter()
        .filter(|s| s.discharge().is_none_or(|d| today <= d.on))
        .filter_map(|s| s.stay.institution_id)
        .collect();
    stay_institutions.sort();
    stay_institutions.dedup();
    // The latest hand-over holds: prescribing moved to its receiving service.
    let prescribing_services = privacy
        .handovers
        .iter()
        .max_by_key(|h| h.recorded_at)
        .map(|h| vec![h.to_organisation])
        .unwrap_or_default();
    let mut relations = PatientRelations {
        patient: Some(patient),
        responsible_units,
        dispensing_places: Vec::new(),
        care_team,
        consents,
        emergency_users,
        emergency_reviewers,
        stay_institutions,
        prescribing_services,
        addressed_messages: Vec::new(),
    };
    // A dispensing place's relation lasts while treatment does: once every episode
    // has ended, the places the patient used to collect at see nothing more.
    let in_treatment = episodes
        .iter()
        .any(|e| e.ended.as_ref().is_none_or(|end| end.on > today));
    if !in_treatment {
        return relations;
    }
    let mut dispensing_places: Vec<OrganisationId> = arrangements
        .iter()
        .filter(|a| a.content.valid_from > today)
        .map(|a| a.content.place_id)
        .chain(crate::arrangement::effective_arrangement(arrangements, today).map(|a| a.content.place_id))
        .chain(
            covers
                .iter()
                .filter(|c| c.date >= today)
                .filter_map(|c| match c.kind {
                    crate::schedule::CoverKind::AtPlace(place) => Some(place),
                    crate::schedule::CoverKind::TakeHomeFrom(_) => None,
                }),
        )
        .collect();
    dispensing_places.sort();
    dispensing_places.dedup();
    relations.dispensing_places = dispensing_places;
    relations
}

mod allowed_by;
pub use allowed_by::AllowedBy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(AllowedBy),
    Deny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Self::Allow(_))
    }

    fn or_else(self, next: impl FnOnce() -> Decision) -> Decision {
        if self.is_allowed() { self } else { next() }
    }
}

fn allow_if(condition: bool, by: AllowedBy) -> Decision {
    if condition {
        Decision::Allow(by)
    } else {
        Decision::Deny
    }
}

/// Roles that do clinical work with patients at a LAR unit.
fn is_clinical_at_lar_unit(role: Role) -> bool {
    matches!(
        role,
        Role::Prescriber | Role::LarConsultant | Role::Coordinator | Role::Leader
    )
}

/// The categories an emergency access opens: what is needed to treat someone now.
/// NAV information, notes and the patient's privacy records stay closed.
const EMERGENCY_CATEGORIES: [DataCategory; 6] = [
    DataCategory::Identity,
    DataCategory::Medication,
    DataCategory::Dispensing,
    DataCategory::DrugTests,
    DataCategory::HealthInformation,
    DataCategory::PlanAndGoals,
];

/// Whether a staff member is health personnel who may use emergency access: not an
/// administrator, and not at NAV (which is not a health service).
pub fn may_use_emergency_access(actor: &StaffUser) -> bool {
    actor.role != Role::Administrator && actor.organisation_kind != OrganisationKind::NavOffice
}

/// The decision for one access. Deny unless a relation, a consent on top of a
/// relation, the patient themself, or a running emergency access allows it.
pub fn decide(
    actor: &Actor,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    match (actor, action) {
        (Actor::Staff(staff), Action::Correct) => decide_correction(staff, relations, category),
        (_, Action::Correct) => decide(actor, relations, category, Action::Write),
        (Actor::Patient(patient), _) => decide_for_patient(patient, relations, category, action),
        (Actor::Staff(staff), _) => decide_for_staff(staff, relations, category, action),
        // Samhand by itself reads nothing through the policy: what it sends is
        // recorded as the disclosure that allows it (`AllowedBy::EdiConsent`).
        (Actor::System(_), _) => Decision::Deny,
    }
}

/// A correction of a recording at the window: those who record there, and also the
/// place's leader and a prescriber of the responsible LAR unit, who are the ones to
/// correct once the recorders' own window has passed (`dispensing::may_correct`).
/// Any other correction is a write.
fn decide_correction(actor: &StaffUser, relations: &PatientRelations, category: DataCategory) -> Decision {
    let write = decide_for_staff(actor, relations, category, Action::Write);
    if category != DataCategory::Dispensing || write.is_allowed() {
        return write;
    }
    let org = actor.organisation_id;
    let place_leader = actor.role == Role::Leader
        && actor.organisation_kind.can_dispense()
        && relations.dispensing_places.contains(&org);
    let prescriber = actor.role == Role::Prescriber
        && actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
        && relations.responsible_units.contains(&org);
    if place_leader {
        Decision::Allow(AllowedBy::DispensingPlace)
    } else if prescriber {
        Decision::Allow(AllowedBy::ResponsibleLarUnit)
    } else {
        Decision::Deny
    }
}

/// The patient reads all of their own record and writes their goals and consents.
fn decide_for_patient(
    patient: &PatientUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    let own = relations.patient == Some(patient.patient_id);
    let allowed = own
        && match action {
            Action::Read => true,
            Action::Write | Action::Correct => {
                matches!(category, DataCategory::PlanAndGoals | DataCategory::Privacy)
            }
        };
    allow_if(allowed, AllowedBy::PatientSelf)
}

fn decide_for_staff(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    if actor.role == Role::Administrator {
        // Administrators run the system; they do not treat patients.
        return Decision::Deny;
    }
    let org = actor.organisation_id;
    if actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
        && relations.responsible_units.contains(&org)
        && is_clinical_at_lar_unit(actor.role)
    {
        let allowed = match action {
            Action::Read => true,
            Action::Write | Action::Correct => match category {
                // Only prescribers write medication.
                Medication => actor.role == Role::Prescriber,
                // Doses are recorded where they are handed out.
                Dispensing => false,
                // Leaders oversee but do not chart.
                _ => actor.role != Role::Leader,
            },
        };
        return allow_if(allowed, AllowedBy::ResponsibleLarUnit);
    }
    // Otherwise each relation the actor's service may have with the patient, in turn.
    by_dispensing_place(actor, relations, category, action)
        .or_else(|| by_stay_institution(actor, relations, category, action))
        .or_else(|| by_prescribing_handover(actor, relations, category, action))
        .or_else(|| by_care_team(actor, relations, category, action))
        .or_else(|| by_emergency_access(actor, relations, category, action))
        .or_else(|| by_emergency_review(actor, relations, category, action))
        .or_else(|| by_addressed_message(actor, relations, category, action))
}

/// Staff at the place the patient collects from: what the window needs, and more
/// where the patient consents.
fn by_dispensing_place(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    let org = actor.organisation_id;
    let at_dispensing_place = actor.organisation_kind.can_dispense()
        && relations.dispensing_places.contains(&org)
        && matches!(
            actor.role,
            Role::DispensingStaff | Role::Leader | Role::Coordinator
        );
    if !at_dispensing_place {
        return Decision::Deny;
    }
    match (category, action) {
        (Identity | Medication | Dispensing, Action::Read) => Decision::Allow(AllowedBy::DispensingPlace),
        (Dispensing, Action::Write | Action::Correct) => {
            allow_if(actor.role == Role::DispensingStaff, AllowedBy::DispensingPlace)
        }
        (_, Action::Read) => allow_if(
            category.is_consentable() && relations.consented(org, category),
            AllowedBy::DispensingPlaceConsent,
        ),
        (_, Action::Write | Action::Correct) => Decision::Deny,
    }
}

/// A member of the patient's care team: who the patient is, and what the patient
/// shares with the member's service.
fn by_care_team(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    let org = actor.organisation_id;
    if !relations.care_team.contains(&(actor.id, org)) {
        return Decision::Deny;
    }
    match (category, action) {
        (Identity, Action::Read) => Decision::Allow(AllowedBy::CareTeam),
        (_, Action::Read) => allow_if(
            category.is_consentable() && relations.consented(org, category),
            AllowedBy::CareTeamConsent,
        ),
        // Members contribute to the plan and write notes where the patient has
        // shared those with their service.
        (PlanAndGoals | Notes, Action::Write | Action::Correct) => {
            allow_if(relations.consented(org, category), AllowedBy::CareTeamConsent)
        }
        (_, Action::Write | Action::Correct) => Decision::Deny,
    }
}

/// A running emergency access: reads of what an emergency needs.
fn by_emergency_access(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    allow_if(
        action == Action::Read
            && EMERGENCY_CATEGORIES.contains(&category)
            && may_use_emergency_access(actor)
            && relations
                .emergency_users
                .contains(&(actor.id, actor.organisation_id)),
        AllowedBy::EmergencyAccess,
    )
}

/// The leader who reviews an emergency access: who the patient is.
fn by_emergency_review(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    allow_if(
        action == Action::Read
            && category == DataCategory::Identity
            && actor.role == Role::Leader
            && relations.emergency_reviewers.contains(&actor.organisation_id),
        AllowedBy::EmergencyReview,
    )
}

/// The institution of a stay in progress.
fn by_stay_institution(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    let org = actor.organisation_id;
    if !relations.stay_institutions.contains(&org) || !actor.organisation_kind.is_institution() {
        return Decision::Deny;
    }
    match (category, action) {
        // The institution has the medication during the stay and carries the
        // overdose-prevention bundle (crisis plan, stay records).
        (Identity | Medication | Dispensing | PlanAndGoals, Action::Read) => {
            Decision::Allow(AllowedBy::StayInstitution)
        }
        (_, Action::Read) => allow_if(
            category.is_consentable() && relations.consented(org, category),
            AllowedBy::DispensingPlaceConsent,
        ),
        (Medication, Action::Write | Action::Correct) => {
            allow_if(actor.role == Role::Prescriber, AllowedBy::StayInstitution)
        }
        (Identity | Dispensing | PlanAndGoals, Action::Write | Action::Correct) => {
            allow_if(actor.role != Role::Leader, AllowedBy::StayInstitution)
        }
        (_, Action::Write | Action::Correct) => Decision::Deny,
    }
}

/// A prescriber at a service the prescribing was handed over to.
fn by_prescribing_handover(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    allow_if(
        actor.role == Role::Prescriber
            && relations.prescribing_services.contains(&actor.organisation_id)
            && match action {
                Action::Read => matches!(category, Identity | Medication | Dispensing),
                Action::Write | Action::Correct => category == Medication,
            },
        AllowedBy::PrescribingHandover,
    )
}

/// A unit a message about the patient was sent to: who the patient is, and what the
/// message is about.
fn by_addressed_message(
    actor: &StaffUser,
    relations: &PatientRelations,
    category: DataCategory,
    action: Action,
) -> Decision {
    use DataCategory::*;
    let org = actor.organisation_id;
    let to_us = relations.addressed_messages.iter().any(|(unit, _)| *unit == org);
    allow_if(
        action == Action::Read
            && to_us
            && actor.role != Role::Administrator
            && (category == Identity
                || (matches!(category, Medication | Dispensing)
                    && relations.addressed_messages.contains(&(org, category)))),
        AllowedBy::AddressedMessage,
    )
}

/// Whether the actor may register an admission to their own institution for a
/// patient they have no relation with yet (the admission makes the relation, as
/// enrolment does for a LAR unit; it is audited and the LAR unit is told).
pub fn may_admit(actor: &StaffUser) -> Decision {
    allow_if(
        actor.organisation_kind.is_institution() && actor.role != Role::Administrator,
        AllowedBy::Admission,
    )
}

/// Whether the actor may register a new patient and enrol them at their own unit.
pub fn may_enrol(actor: &StaffUser) -> Decision {
    allow_if(
        actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
            && matches!(actor.role, Role::Prescriber | Role::LarConsultant),
        AllowedBy::Enrolment,
    )
}

// What a staff member's role and place let them do at all, before any patient.
// Pages ask these to decide which links and buttons to offer, so that a page and
// the policy cannot disagree; whether an action is allowed for one patient is
// still `decide`'s, through the repository.

/// Whether the actor prescribes: drafts, signs and discards dose orders, changes
/// arrangements and covers, ends treatment, and hands prescribing over. For one
/// patient it is `decide` over `Medication` that allows it.
pub fn may_prescribe(actor: &StaffUser) -> bool {
    actor.role == Role::Prescriber
}

/// Whether the actor may acknowledge a prescribing hand-over to `receiving`: a
/// prescriber of the receiving service.
pub fn may_take_over_prescribing(actor: &StaffUser, receiving: OrganisationId) -> bool {
    may_prescribe(actor) && actor.organisation_id == receiving
}

/// Whether the actor works at a dispensing window: sees the place's list of the
/// day (dispensing staff, and the place's leader and coordinator).
pub fn works_at_window(actor: &StaffUser) -> bool {
    actor.organisation_kind.can_dispense()
        && matches!(
            actor.role,
            Role::DispensingStaff | Role::Leader | Role::Coordinator
        )
}

/// Whether the actor records doses at the window: dispensing staff at a place that
/// dispenses, the only ones `decide` lets write `Dispensing`. Their day starts at
/// the list.
pub fn may_record_dispensing(actor: &StaffUser) -> bool {
    actor.organisation_kind.can_dispense() && actor.role == Role::DispensingStaff
}

/// Whether the actor keeps the place's stock: receives, counts and witnesses
/// counts (dispensing staff and the place's leader).
pub fn may_keep_stock(actor: &StaffUser) -> bool {
    actor.organisation_kind.can_dispense() && matches!(actor.role, Role::DispensingStaff | Role::Leader)
}

/// Whether the actor leads their service: sees the leader's overview and reviews
/// the emergency accesses opened there.
pub fn may_lead(actor: &StaffUser) -> bool {
    actor.role == Role::Leader
}

/// Whether the actor sees the unit's indicators (counts per dispensing place and
/// month, no patient named): the leader of a LAR unit, for their own unit only.
pub fn may_see_indicators(actor: &StaffUser) -> bool {
    may_lead(actor) && actor.organisation_kind == OrganisationKind::HealthTrustLarUnit
}

/// Whether the actor makes the LAR unit's yearly status report: clinical staff of
/// a LAR unit (its leader signs it off, [`may_lead`]).
pub fn may_report_status(actor: &StaffUser) -> bool {
    actor.organisation_kind == OrganisationKind::HealthTrustLarUnit && is_clinical_at_lar_unit(actor.role)
}

/// Whether the actor sees the pharmacy's monthly count: staff at a pharmacy (their
/// own) and those who make the LAR unit's reports (what pharmacies handed out to
/// the unit's patients).
pub fn may_see_pharmacy_count(actor: &StaffUser) -> bool {
    (actor.organisation_kind == OrganisationKind::Pharmacy && works_with_patients(actor))
        || may_report_status(actor)
}

/// Whether the actor coordinates responsibility groups and has the coordinator's
/// overview.
pub fn may_coordinate(actor: &StaffUser) -> bool {
    actor.role == Role::Coordinator
}

/// Whether the actor administers Samhand: organisations, dispensing places, users,
/// system clients and the policy thresholds. No patient data comes with it.
pub fn may_administer(actor: &StaffUser) -> bool {
    actor.role == Role::Administrator
}

/// Whether the actor works with patients: everyone but administrators, who run
/// the system. Patient search, the inbox and reviews are theirs.
pub fn works_with_patients(actor: &StaffUser) -> bool {
    actor.role != Role::Administrator
}

/// Whether the actor may be given tasks from responsibility groups: everyone who
/// works with patients.
pub fn may_take_tasks(actor: &StaffUser) -> bool {
    works_with_patients(actor)
}

/// Whether the actor's place admits patients for stays: the actor sees who is
/// admitted there, and an admission they register is to their own place. Whether
/// they may register one for a new patient is [`may_admit`].
pub fn admits_patients(actor: &StaffUser) -> bool {
    actor.organisation_kind.is_institution()
}

/// One line of "who can see what about me": an organisation (or one member of it),
/// the relation, and the categories it can read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingLine {
    pub organisation_id: OrganisationId,
    /// Set when the access is one person's (a care team seat, an emergency access).
    pub user_id: Option<UserId>,
    pub relation: AllowedBy,
    pub categories: Vec<DataCategory>,
}

/// Who can read what about the patient, derived from [`decide`] itself so that the
/// summary the patient sees can never differ from what the policy does. `kinds`
/// gives the kind of each organisation named in the relations.
pub fn sharing_summary(
    relations: &PatientRelations,
    kinds: &std::collections::HashMap<OrganisationId, OrganisationKind>,
) -> Vec<SharingLine> {
    let readable = |actor: &StaffUser| -> Vec<(DataCategory, AllowedBy)> {
        DataCategory::ALL
            .into_iter()
            .filter_map(|c| match decide_for_staff(actor, relations, c, Action::Read) {
                Decision::Allow(by) => Some((c, by)),
                Decision::Deny => None,
            })
            .collect()
    };
    let probe = |org: OrganisationId, role: Role, user: UserId| StaffUser {
        id: user,
        username: String::new(),
        display_name: String::new(),
        role,
        organisation_id: org,
        organisation_kind: kinds.get(&org).copied().unwrap_or(OrganisationKind::GpOffice),
    };
    let mut lines = Vec::new();
    let mut push = |org: OrganisationId, user: Option<UserId>, found: Vec<(DataCategory, AllowedBy)>| {
        if let Some((_, first)) = found.first() {
            lines.push(SharingLine {
                organisation_id: org,
                user_id: user,
                relation: *first,
                categories: found.iter().map(|(c, _)| *c).collect(),
            });
        }
    };
    // A probe user id that no real user has: only organisation-wide relations apply.
    let nobody = UserId::from_uuid(uuid::Uuid::nil());
    for org in &relations.responsible_units {
        push(*org, None, readable(&probe(*org, Role::LarConsultant, nobody)));
    }
    for org in &relations.dispensing_places {
        push(*org, None, readable(&probe(*org, Role::DispensingStaff, nobody)));
    }
    for (user, org) in &relations.care_team {
        push(
            *org,
            Some(*user),
            readable(&probe(*org, Role::Coordinator, *user)),
        );
    }
    for org in &relations.stay_institutions {
        push(*org, None, readable(&probe(*org, Role::Prescriber, nobody)));
    }
    for org in &relations.prescribing_services {
        push(*org, None, readable(&probe(*org, Role::Prescriber, nobody)));
    }
    for (user, org) in &relations.emergency_users {
        push(*org, Some(*user), readable(&probe(*org, Role::Prescriber, *user)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn staff(role: Role, kind: OrganisationKind, org: OrganisationId) -> StaffUser {
        StaffUser {
            id: UserId::new(),
            username: "x".into(),
            display_name: "X".into(),
            role,
            organisation_id: org,
            organisation_kind: kind,
        }
    }

    fn allowed(
        actor: &StaffUser,
        relations: &PatientRelations,
        category: DataCategory,
        action: Action,
    ) -> bool {
        decide(&Actor::Staff(actor.clone()), relations, category, action).is_allowed()
    }

    /// Every role at every kind of place, for the capability tables below.
    fn everyone() -> Vec<StaffUser> {
        OrganisationKind::ALL
            .iter()
            .flat_map(|kind| {
                Role::ALL
                    .iter()
                    .map(|role| staff(*role, *kind, OrganisationId::new()))
            })
            .collect()
    }

    #[test]
    fn only_prescribers_prescribe_and_take_over_prescribing_for_their_own_service() {
        for actor in everyone() {
            assert_eq!(may_prescribe(&actor), actor.role == Role::Prescriber, "{actor:?}");
            assert_eq!(
                may_take_over_prescribing(&actor, actor.organisation_id),
                actor.role == Role::Prescriber,
                "{actor:?}"
            );
            assert!(
                !may_take_over_prescribing(&actor, OrganisationId::new()),
                "{actor:?}"
            );
        }
    }

    #[test]
    fn the_window_is_for_dispensing_places_and_only_dispensing_staff_record_there() {
        use OrganisationKind::*;
        use Role::*;
        let cases = [
            (DispensingStaff, Pharmacy, true, true, true),
            (DispensingStaff, MunicipalLarCentre, true, true, true),
            (Leader, HomeService, true, false, true),
            (Coordinator, MunicipalLarCentre, true, false, false),
            (Prescriber, MunicipalLarCentre, false, false, false),
            (Administrator, Pharmacy, false, false, false),
            (DispensingStaff, HealthTrustLarUnit, false, false, false),
            (Leader, NavOffice, false, false, false),
        ];
        for (role, kind, window, record, stock) in cases {
            let actor = staff(role, kind, OrganisationId::new());
            assert_eq!(works_at_window(&actor), window, "{role:?} at {kind:?}");
            assert_eq!(may_record_dispensing(&actor), record, "{role:?} at {kind:?}");
            assert_eq!(may_keep_stock(&actor), stock, "{role:?} at {kind:?}");
        }
    }

    #[test]
    fn recording_at_the_window_is_what_the_policy_lets_write_dispensing() {
        // Whoever may record at the window is let write `Dispensing` by `decide`
        // at a place that dispenses to the patient, and nobody else is.
        for actor in everyone() {
            let relations = PatientRelations {
                patient: Some(PatientId::new()),
                dispensing_places: vec![actor.organisation_id],
                ..Default::default()
            };
            assert_eq!(
                may_record_dispensing(&actor),
                allowed(&actor, &relations, DataCategory::Dispensing, Action::Write),
                "{actor:?}"
            );
        }
    }

    #[test]
    fn leaders_lead_coordinators_coordinate_and_administrators_take_no_tasks() {
        for actor in everyone() {
            assert_eq!(may_lead(&actor), actor.role == Role::Leader, "{actor:?}");
            assert_eq!(
                may_coordinate(&actor),
                actor.role == Role::Coordinator,
                "{actor:?}"
            );
            assert_eq!(
                may_take_tasks(&actor),
                actor.role != Role::Administrator,
                "{actor:?}"
            );
        }
    }

    #[test]
    fn institutions_and_prisons_admit_patients() {
        for actor in everyone() {
            let expected = matches!(
                actor.organisation_kind,
                OrganisationKind::Institution | OrganisationKind::PrisonHealthService
            );
            assert_eq!(admits_patients(&actor), expected, "{actor:?}");
        }
    }

    #[test]
    fn access_follows_the_care_relation() {
        let unit = OrganisationId::new();
        let place = OrganisationId::new();
        let other = OrganisationId::new();
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            responsible_units: vec![unit],
            dispensing_places: vec![place],
            ..Default::default()
        };
        use Action::*;
        use DataCategory::*;
        use OrganisationKind::*;
        let cases = [
            (
                Role::Prescriber,
                HealthTrustLarUnit,
                unit,
                Medication,
                Write,
                true,
            ),
            (
                Role::LarConsultant,
                HealthTrustLarUnit,
                unit,
                Medication,
                Write,
                false,
            ),
            (Role::LarConsultant, HealthTrustLarUnit, unit, Notes, Read, true),
            (
                Role::LarConsultant,
                HealthTrustLarUnit,
                unit,
                Privacy,
                Write,
                true,
            ),
            (
                Role::Prescriber,
                HealthTrustLarUnit,
                unit,
                Dispensing,
                Write,
                false,
            ),
            (Role::Leader, HealthTrustLarUnit, unit, Medication, Read, true),
            (Role::Leader, HealthTrustLarUnit, unit, Privacy, Write, false),
            (
                Role::Administrator,
                HealthTrustLarUnit,
                unit,
                Identity,
                Read,
                false,
            ),
            (
                Role::Prescriber,
                HealthTrustLarUnit,
                other,
                Medication,
                Read,
                false,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                place,
                Dispensing,
                Write,
                true,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                place,
                Medication,
                Read,
                true,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                place,
                Medication,
                Write,
                false,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                place,
                HealthInformation,
                Read,
                false,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                place,
                Privacy,
                Read,
                false,
            ),
            (
                Role::DispensingStaff,
                MunicipalLarCentre,
                other,
                Identity,
                Read,
                false,
            ),
            (Role::DispensingStaff, NavOffice, place, Identity, Read, false),
        ];
        for (role, kind, org, category, action, expected) in cases {
            assert_eq!(
                allowed(&staff(role, kind, org), &relations, category, action),
                expected,
                "{role:?} {kind:?} {category:?} {action:?}"
            );
        }
    }

    #[test]
    fn consent_widens_what_a_relation_sees_and_withdrawal_narrows_it_at_once() {
        let place = OrganisationId::new();
        let gp = OrganisationId::new();
        let dispenser = staff(Role::DispensingStaff, OrganisationKind::Pharmacy, place);
        let doctor = staff(Role::Prescriber, OrganisationKind::GpOffice, gp);
        let colleague = staff(Role::Prescriber, OrganisationKind::GpOffice, gp);
        let mut relations = PatientRelations {
            patient: Some(PatientId::new()),
            dispensing_places: vec![place],
            care_team: vec![(doctor.id, gp)],
            ..Default::default()
        };
        assert!(!allowed(
            &dispenser,
            &relations,
            DataCategory::HealthInformation,
            Action::Read
        ));
        assert!(allowed(&doctor, &relations, DataCategory::Identity, Action::Read));
        assert!(!allowed(
            &doctor,
            &relations,
            DataCategory::Medication,
            Action::Read
        ));
        relations.consents = vec![
            (place, DataCategory::HealthInformation),
            (gp, DataCategory::Medication),
            (gp, DataCategory::PlanAndGoals),
        ];
        assert_eq!(
            decide(
                &Actor::Staff(dispenser.clone()),
                &relations,
                DataCategory::HealthInformation,
                Action::Read
            ),
            Decision::Allow(AllowedBy::DispensingPlaceConsent)
        );
        assert!(!allowed(
            &dispenser,
            &relations,
            DataCategory::HealthInformation,
            Action::Write
        ));
        assert_eq!(
            decide(
                &Actor::Staff(doctor.clone()),
                &relations,
                DataCategory::Medication,
                Action::Read
            ),
            Decision::Allow(AllowedBy::CareTeamConsent)
        );
        assert!(allowed(
            &doctor,
            &relations,
            DataCategory::PlanAndGoals,
            Action::Write
        ));
        assert!(!allowed(
            &doctor,
            &relations,
            DataCategory::Medication,
            Action::Write
        ));
        // A colleague at the same office is not in the team: the office's consent
        // gives them nothing.
        for category in DataCategory::ALL {
            assert!(
                !allowed(&colleague, &relations, category, Action::Read),
                "{category:?}"
            );
        }
        relations.consents.clear();
        assert!(!allowed(
            &dispenser,
            &relations,
            DataCategory::HealthInformation,
            Action::Read
        ));
        assert!(!allowed(
            &doctor,
            &relations,
            DataCategory::Medication,
            Action::Read
        ));
    }

    #[test]
    fn samhand_acting_by_itself_is_allowed_nothing_and_is_audited_as_no_user() {
        let unit = OrganisationId::new();
        let system = Actor::System(SystemActor {
            organisation_id: unit,
            job: "scheduler",
        });
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            responsible_units: vec![unit],
            consents: vec![(unit, DataCategory::Notes)],
            ..Default::default()
        };
        for category in DataCategory::ALL {
            for action in [Action::Read, Action::Write, Action::Correct] {
                assert_eq!(decide(&system, &relations, category, action), Decision::Deny);
            }
        }
        assert_eq!(system.audit_id(), SYSTEM_ACTOR_ID);
        assert_eq!(system.role_code(), "system");
        assert_eq!(system.organisation_code(), unit.to_string());
        assert!(system.staff().is_none());
    }

    #[test]
    fn the_patient_sees_their_own_record_and_nobody_else_s() {
        let me = PatientId::new();
        let account = PatientUser {
            id: UserId::new(),
            patient_id: me,
            display_name: "Meg".into(),
        };
        let mine = PatientRelations {
            patient: Some(me),
            ..Default::default()
        };
        let theirs = PatientRelations {
            patient: Some(PatientId::new()),
            ..Default::default()
        };
        let actor = Actor::Patient(account);
        for category in DataCategory::ALL {
            assert!(decide(&actor, &mine, category, Action::Read).is_allowed());
            assert!(!decide(&actor, &theirs, category, Action::Read).is_allowed());
            assert!(!decide(&actor, &theirs, category, Action::Write).is_allowed());
        }
        assert!(decide(&actor, &mine, DataCategory::Privacy, Action::Write).is_allowed());
        assert!(decide(&actor, &mine, DataCategory::PlanAndGoals, Action::Write).is_allowed());
        assert!(!decide(&actor, &mine, DataCategory::Medication, Action::Write).is_allowed());
        assert!(!decide(&actor, &mine, DataCategory::Dispensing, Action::Write).is_allowed());
    }

    #[test]
    fn the_institution_of_a_stay_has_the_medication_and_the_bundle_and_nothing_after_discharge() {
        let institution = OrganisationId::new();
        let nurse = staff(Role::DispensingStaff, OrganisationKind::Institution, institution);
        let doctor = staff(Role::Prescriber, OrganisationKind::Institution, institution);
        let during = PatientRelations {
            patient: Some(PatientId::new()),
            stay_institutions: vec![institution],
            ..Default::default()
        };
        for category in [
            DataCategory::Identity,
            DataCategory::Medication,
            DataCategory::Dispensing,
            DataCategory::PlanAndGoals,
        ] {
            assert!(allowed(&nurse, &during, category, Action::Read), "{category:?}");
        }
        assert!(allowed(
            &nurse,
            &during,
            DataCategory::PlanAndGoals,
            Action::Write
        ));
        assert!(!allowed(&nurse, &during, DataCategory::Medication, Action::Write));
        assert!(allowed(&doctor, &during, DataCategory::Medication, Action::Write));
        // Health information only with consent; NAV information and notes never.
        assert!(!allowed(
            &nurse,
            &during,
            DataCategory::HealthInformation,
            Action::Read
        ));
        assert!(!allowed(
            &nurse,
            &during,
            DataCategory::NavInformation,
            Action::Read
        ));
        let consented = PatientRelations {
            consents: vec![(institution, DataCategory::HealthInformation)],
            ..during.clone()
        };
        assert!(allowed(
            &nurse,
            &consented,
            DataCategory::HealthInformation,
            Action::Read
        ));
        // A pharmacy named as the institution of a stay gets nothing through it.
        let pharmacy = staff(Role::DispensingStaff, OrganisationKind::Pharmacy, institution);
        assert!(!allowed(
            &pharmacy,
            &during,
            DataCategory::PlanAndGoals,
            Action::Read
        ));
        // After the discharge the relation is gone.
        let after = PatientRelations {
            stay_institutions: vec![],
            ..during
        };
        for category in DataCategory::ALL {
            assert!(!allowed(&doctor, &after, category, Action::Read));
        }
    }

    #[test]
    fn the_receiving_prescriber_of_a_hand_over_prescribes_and_nobody_else_there() {
        let gp_office = OrganisationId::new();
        let gp = staff(Role::Prescriber, OrganisationKind::GpOffice, gp_office);
        let secretary = staff(Role::Coordinator, OrganisationKind::GpOffice, gp_office);
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            prescribing_services: vec![gp_office],
            ..Default::default()
        };
        assert!(allowed(&gp, &relations, DataCategory::Medication, Action::Write));
        assert!(allowed(&gp, &relations, DataCategory::Dispensing, Action::Read));
        assert!(!allowed(
            &gp,
            &relations,
            DataCategory::HealthInformation,
            Action::Read
        ));
        for category in DataCategory::ALL {
            assert!(!allowed(&secretary, &relations, category, Action::Read));
        }
    }

    #[test]
    fn emergency_access_opens_clinical_reads_only_and_not_for_nav() {
        let hospital = OrganisationId::new();
        let nav = OrganisationId::new();
        let doctor = staff(Role::Prescriber, OrganisationKind::Institution, hospital);
        let adviser = staff(Role::Coordinator, OrganisationKind::NavOffice, nav);
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            emergency_users: vec![(doctor.id, hospital), (adviser.id, nav)],
            ..Default::default()
        };
        assert_eq!(
            decide(
                &Actor::Staff(doctor.clone()),
                &relations,
                DataCategory::Medication,
                Action::Read
            ),
            Decision::Allow(AllowedBy::EmergencyAccess)
        );
        assert!(allowed(
            &doctor,
            &relations,
            DataCategory::HealthInformation,
            Action::Read
        ));
        assert!(!allowed(
            &doctor,
            &relations,
            DataCategory::NavInformation,
            Action::Read
        ));
        assert!(!allowed(&doctor, &relations, DataCategory::Notes, Action::Read));
        assert!(!allowed(&doctor, &relations, DataCategory::Privacy, Action::Read));
        assert!(!allowed(
            &doctor,
            &relations,
            DataCategory::Medication,
            Action::Write
        ));
        for category in DataCategory::ALL {
            assert!(!allowed(&adviser, &relations, category, Action::Read));
        }
        // The same person acting for another organisation has no emergency access.
        let mut moved = doctor.clone();
        moved.organisation_id = OrganisationId::new();
        assert!(!allowed(
            &moved,
            &relations,
            DataCategory::Medication,
            Action::Read
        ));
    }

    #[test]
    fn the_sharing_summary_is_what_the_policy_allows() {
        let unit = OrganisationId::new();
        let place = OrganisationId::new();
        let gp = OrganisationId::new();
        let member = UserId::new();
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            responsible_units: vec![unit],
            dispensing_places: vec![place],
            care_team: vec![(member, gp)],
            consents: vec![
                (place, DataCategory::HealthInformation),
                (gp, DataCategory::Medication),
            ],
            ..Default::default()
        };
        let kinds = [
            (unit, OrganisationKind::HealthTrustLarUnit),
            (place, OrganisationKind::MunicipalLarCentre),
            (gp, OrganisationKind::GpOffice),
        ]
        .into_iter()
        .collect();
        let summary = sharing_summary(&relations, &kinds);
        let line = |org| summary.iter().find(|l| l.organisation_id == org).unwrap();
        assert_eq!(line(unit).categories, DataCategory::ALL.to_vec());
        assert_eq!(
            line(place).categories,
            vec![
                DataCategory::Identity,
                DataCategory::Medication,
                DataCategory::Dispensing,
                DataCategory::HealthInformation
            ]
        );
        assert_eq!(line(gp).user_id, Some(member));
        assert_eq!(
            line(gp).categories,
            vec![DataCategory::Identity, DataCategory::Medication]
        );
    }

    fn any_category() -> impl Strategy<Value = DataCategory> {
        (0..DataCategory::ALL.len()).prop_map(|i| DataCategory::ALL[i])
    }

    fn any_action() -> impl Strategy<Value = Action> {
        (0..3u8).prop_map(|i| match i {
            0 => Action::Read,
            1 => Action::Write,
            _ => Action::Correct,
        })
    }

    /// Relations among organisations, users and patients drawn from pools that
    /// never include the actor's own; consents may name anyone, the actor's
    /// organisation included.
    fn unrelated(
        actor_org: OrganisationId,
        pool_orgs: Vec<OrganisationId>,
        pool_users: Vec<UserId>,
        picks: Vec<(usize, usize, usize)>,
    ) -> PatientRelations {
        let org = |i: usize| pool_orgs[i % pool_orgs.len()];
        let user = |i: usize| pool_users[i % pool_users.len()];
        let mut consent_orgs = pool_orgs.clone();
        consent_orgs.push(actor_org);
        PatientRelations {
            patient: Some(PatientId::new()),
            responsible_units: picks.iter().map(|(a, _, _)| org(*a)).collect(),
            dispensing_places: picks.iter().map(|(_, b, _)| org(*b)).collect(),
            care_team: picks.iter().map(|(a, b, _)| (user(*a), org(*b))).collect(),
            consents: picks
                .iter()
                .flat_map(|(a, _, c)| {
                    let org = consent_orgs[(a + c) % consent_orgs.len()];
                    DataCategory::ALL.into_iter().map(move |cat| (org, cat))
                })
                .collect(),
            emergency_users: picks.iter().map(|(_, b, c)| (user(*c), org(*b))).collect(),
            emergency_reviewers: picks.iter().map(|(_, _, c)| org(*c)).collect(),
            stay_institutions: picks.iter().map(|(a, _, _)| org(*a)).collect(),
            prescribing_services: picks.iter().map(|(_, _, c)| org(*c)).collect(),
            addressed_messages: picks
                .iter()
                .map(|(_, b, _)| (org(*b), DataCategory::Identity))
                .collect(),
        }
    }

    #[test]
    fn a_unit_reads_a_message_addressed_to_it_and_who_it_is_about_but_nothing_else() {
        let place = OrganisationId::new();
        let staff = |org| StaffUser {
            id: UserId::new(),
            username: "u".into(),
            display_name: "U".into(),
            role: Role::DispensingStaff,
            organisation_id: org,
            organisation_kind: OrganisationKind::MunicipalLarCentre,
        };
        let relations = PatientRelations {
            patient: Some(PatientId::new()),
            addressed_messages: vec![(place, DataCategory::Dispensing), (place, DataCategory::Notes)],
            ..PatientRelations::default()
        };
        let at_place = Actor::Staff(staff(place));
        for (category, action, allowed) in [
            (DataCategory::Identity, Action::Read, true),
            (DataCategory::Dispensing, Action::Read, true),
            // Notes are shared by consent, whoever they are addressed to.
            (DataCategory::Notes, Action::Read, false),
            (DataCategory::Medication, Action::Read, false),
            (DataCategory::Dispensing, Action::Write, false),
        ] {
            assert_eq!(
                decide(&at_place, &relations, category, action)
                    == Decision::Allow(AllowedBy::AddressedMessage),
                allowed,
                "{category:?} {action:?}"
            );
        }
        let elsewhere = Actor::Staff(staff(OrganisationId::new()));
        assert_eq!(
            decide(&elsewhere, &relations, DataCategory::Identity, Action::Read),
            Decision::Deny
        );
        assert_eq!(
            decide(
                &at_place,
                &PatientRelations::default(),
                DataCategory::Identity,
                Action::Read
            ),
            Decision::Deny,
            "without the message, nothing"
        );
    }

    proptest! {
        /// Without a relation, consent on top of a relation, emergency access or being
        /// the patient, nobody gets anything, whatever the role, organisation kind,
        /// category, action and consents.
        #[test]
        fn no_relation_means_no_access(
            role in 0usize..Role::ALL.len(),
            kind in 0usize..OrganisationKind::ALL.len(),
            category in any_category(),
            action in any_action(),
            picks in proptest::collection::vec((0usize..8, 0usize..8, 0usize..8), 0..6),
            as_patient in any::<bool>(),
        ) {
            let pool_orgs: Vec<OrganisationId> = (0..4).map(|_| OrganisationId::new()).collect();
            let pool_users: Vec<UserId> = (0..4).map(|_| UserId::new()).collect();
            let actor_staff = staff(Role::ALL[role], OrganisationKind::ALL[kind], OrganisationId::new());
            let relations = unrelated(actor_staff.organisation_id, pool_orgs, pool_users, picks);
            let actor = if as_patient {
                Actor::Patient(PatientUser { id: actor_staff.id, patient_id: PatientId::new(), display_name: "P".into() })
            } else {
                Actor::Staff(actor_staff)
            };
            prop_assert_eq!(decide(&actor, &relations, category, action), Decision::Deny);
        }

        /// Whatever the relations, withdrawing every consent never gives more.
        #[test]
        fn withdrawing_consent_never_widens_access(
            role in 0usize..Role::ALL.len(),
            kind in 0usize..OrganisationKind::ALL.len(),
            category in any_category(),
            action in any_action(),
            in_team in any::<bool>(),
            at_place in any::<bool>(),
        ) {
            let actor = staff(Role::ALL[role], OrganisationKind::ALL[kind], OrganisationId::new());
            let mut relations = PatientRelations {
                patient: Some(PatientId::new()),
                consents: DataCategory::ALL.iter().map(|c| (actor.organisation_id, *c)).collect(),
                ..Default::default()
            };
            if in_team { relations.care_team.push((actor.id, actor.organisation_id)); }
            if at_place { relations.dispensing_places.push(actor.organisation_id); }
            let with = allowed(&actor, &relations, category, action);
            relations.consents.clear();
            let without = allowed(&actor, &relations, category, action);
            prop_assert!(with || !without);
        }
    }
}
