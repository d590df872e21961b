//! The privacy operations: who can see what (the sharing summary), consents given
//! and withdrawn, care team seats, emergency access (akuttilgang) and its review,
//! and the patient's access log. Like every other operation, each goes through
//! [`crate::repo::PatientRepo`]'s decision and audit entry.

use std::collections::HashMap;

use jiff::SignedDuration;
use samhand_domain::access::{self, Action, Actor, AllowedBy, DataCategory, Decision, SharingLine};
use samhand_domain::ids::NamedPersonId;
use samhand_domain::ids::{
    CareTeamMemberId, ConsentId, EmergencyAccessId, OrganisationId, PatientId, UserId,
};
use samhand_domain::national_id::NationalId;
use samhand_domain::organisation::{Role, StaffUser};
use samhand_domain::patient::Patient;
use samhand_domain::privacy::{
    CareTeamMember, ConsentRecord, EmergencyAccess, EmergencyReview, MIN_EMERGENCY_REASON_CHARS,
    MembershipEnd, NamedPerson, NamedPersonInput, TeamRole, consents_in_force,
};
use samhand_domain::validation::FieldErrors;
use samhand_store::audit::{self, StoredEntry};
use samhand_store::{patients, privacy as privacy_store, users};

use super::Service;
use crate::error::{AppError, AppResult};

/// Everything the "who can see what about me" page shows.
#[derive(Debug, Clone)]
pub struct PrivacyView {
    pub patient: Patient,
    /// Who can read which categories now, as the policy decides it.
    pub sharing: Vec<SharingLine>,
    /// Consents in force: (organisation, category).
    pub consents: Vec<(OrganisationId, DataCategory)>,
    /// Every consent decision, newest first.
    pub consent_history: Vec<ConsentRecord>,
    /// Every care team seat, active ones first.
    pub care_team: Vec<CareTeamMember>,
    /// Every emergency access, newest first.
    pub emergency: Vec<EmergencyAccess>,
    /// Next of kin and others the patient named, active ones first.
    pub people: Vec<NamedPerson>,
    pub organisations: crate::directory::Organisations,
    pub names: HashMap<UserId, String>,
    pub now: jiff::Timestamp,
}

/// A consent to record, as typed.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    pub organisation: String,
    pub category: String,
    /// "give" or "withdraw".
    pub decision: String,
    pub note: String,
}

/// One line of the patient's access log.
#[derive(Debug, Clone)]
pub struct AccessLogLine {
    pub at: jiff::Timestamp,
    /// The user's id as the audit log has it (to group one person's lines).
    pub actor_id: String,
    pub who: String,
    pub role: String,
    pub organisation: String,
    pub category: Option<DataCategory>,
    pub action: String,
    pub relation: Option<AllowedBy>,
    pub detail: String,
}

impl AccessLogLine {
    pub fn is_emergency(&self) -> bool {
        self.relation == Some(AllowedBy::EmergencyAccess)
    }
}

/// The access log as people read it: one page view writes an entry per category
/// read, so the entries of one person, for one organisation, within one minute
/// are one line saying what was seen. An emergency access is never merged with
/// ordinary reads, so it stays marked.
#[derive(Debug, Clone)]
pub struct AccessLogGroup {
    /// The newest entry's time.
    pub at: jiff::Timestamp,
    pub who: String,
    pub role: String,
    pub organisation: String,
    /// What was seen or written, in the order first met, each once.
    pub categories: Vec<DataCategory>,
    pub read: bool,
    pub wrote: bool,
    pub relation: Option<AllowedBy>,
    pub emergency: bool,
    /// How many audit entries the line stands for.
    pub entries: usize,
}

impl AccessLogGroup {
    /// «Medisinering, Utlevering», or «journalen» when no category is named.
    pub fn categories_nb(&self) -> String {
        if self.categories.is_empty() {
            return "journalen".into();
        }
        self.categories
            .iter()
            .map(|c| c.label_nb())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// «lest», «registrert» or «lest og registrert».
    pub fn action_nb(&self) -> &'static str {
        match (self.read, self.wrote) {
            (true, true) => "lest og registrert",
            (false, true) => "registrert",
            _ => "lest",
        }
    }
}

/// Groups the log's lines (newest first): consecutive lines of the same person,
/// organisation, minute and kind of access (emergency or not) become one.
pub fn group_access_log(lines: &[AccessLogLine]) -> Vec<AccessLogGroup> {
    let minute = |at: jiff::Timestamp| at.as_second().div_euclid(60);
    let mut groups: Vec<(AccessLogGroup, String, i64)> = Vec::new();
    for line in lines {
        let same = groups.last().is_some_and(|(g, actor, m)| {
            *actor == line.actor_id
                && g.organisation == line.organisation
                && *m == minute(line.at)
                && g.emergency == line.is_emergency()
        });
        if !same {
            groups.push((
                AccessLogGroup {
                    at: line.at,
                    who: line.who.clone(),
                    role: line.role.clone(),
                    organisation: line.organisation.clone(),
                    categories: Vec::new(),
                    read: false,
                    wrote: false,
                    relation: line.relation,
                    emergency: line.is_emergency(),
                    entries: 0,
                },
                line.actor_id.clone(),
                minute(line.at),
            ));
        }
        let (group, _, _) = groups.last_mut().expect("a group was just pushed");
        group.entries += 1;
        if line.action == "write" {
            group.wrote = true;
        } else {
            group.read = true;
        }
        if let Some(category) = line.category
            && !group.categories.contains(&category)
        {
            group.categories.push(category);
        }
    }
    groups.into_iter().map(|(g, _, _)| g).collect()
}

/// An emergency access as a leader reviews it.
#[derive(Debug, Clone)]
pub struct EmergencyForReview {
    pub access: EmergencyAccess,
    pub user_name: String,
    pub organisation_name: String,
    /// The patient's name, when the reviewer may see it.
    pub patient_name: Option<String>,
    pub reviewer_name: Option<String>,
}

/// How many entries the access log shows.
const ACCESS_LOG_LIMIT: i64 = 500;

impl Service<'_> {
    /// The patient's privacy page: sharing summary, consents, care team, emergency
    /// accesses.
    pub async fn privacy_view(&self, patient_id: PatientId) -> AppResult<PrivacyView> {
        let patient = self.patient(patient_id).await?;
        let data = self.patient_data(patient_id).await?;
        let now = self.now();
        let relations = data.relations(patient_id, now);
        self.repo
            .authorize_read_all_with(
                patient_id,
                &relations,
                &[DataCategory::Identity, DataCategory::Privacy],
                "privacy: who can see what",
            )
            .await?;
        let organisations = self.organisations().await?;
        let kinds = organisations.iter().map(|(id, o)| (*id, o.kind)).collect();
        let sharing = access::sharing_summary(&relations, &kinds);
        let facts = data.privacy;
        let mut consent_history = facts.consents.clone();
        consent_history.reverse();
        let mut care_team = facts.care_team.clone();
        care_team.sort_by_key(|m| (!m.is_active_at(now), std::cmp::Reverse(m.added_at)));
        let mut emergency = facts.emergency.clone();
        emergency.reverse();
        let mut named_people = facts.people.clone();
        named_people.sort_by_key(|p| (p.ended.is_some(), std::cmp::Reverse(p.added_at)));
        let mut people: Vec<UserId> = care_team.iter().map(|m| m.user_id).collect();
        people.extend(emergency.iter().map(|e| e.user_id));
        people.extend(sharing.iter().filter_map(|l| l.user_id));
        people.extend(consent_history.iter().map(|c| c.recorded_by));
        let mut names = self.names(people).await?;
        // A consent the patient recorded names the patient, not a staff member.
        for consent in consent_history.iter().filter(|c| c.by_patient) {
            names.insert(consent.recorded_by, "pasienten selv".into());
        }
        Ok(PrivacyView {
            patient,
            sharing,
            consents: consents_in_force(&facts.consents),
            consent_history,
            care_team,
            emergency,
            people: named_people,
            organisations,
            names,
            now,
        })
    }

    /// Records the patient's consent (or its withdrawal) for one organisation and
    /// category; it takes effect at once.
    pub async fn record_consent(&self, patient: PatientId, input: &ConsentInput) -> AppResult<ConsentRecord> {
        self.patient(patient).await?;
        let mut errors = FieldErrors::default();
        let organisations = self.organisations().await?;
        let organisation = input
            .organisation
            .trim()
            .parse::<OrganisationId>()
            .ok()
            .filter(|id| organisations.contains_key(id));
        if organisation.is_none() {
            errors.push("organisation", "Velg virksomheten samtykket gjelder.");
        }
        let category = DataCategory::from_code(input.category.trim()).filter(|c| c.is_consentable());
        if category.is_none() {
            errors.push("category", "Velg hvilke opplysninger samtykket gjelder.");
        }
        let given = match input.decision.trim() {
            "give" => Some(true),
            "withdraw" => Some(false),
            _ => {
                errors.push("decision", "Velg om samtykket gis eller trekkes tilbake.");
                None
            }
        };
        if input.note.chars().count() > 1000 {
            errors.push("note", "Merknaden kan være høyst 1000 tegn.");
        }
        let (Some(organisation), Some(category), Some(given)) = (organisation, category, given) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let verb = if given { "given" } else { "withdrawn" };
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::Privacy,
                &format!("consent {verb}: {} to {organisation}", category.code()),
            )
            .await?;
        let record = ConsentRecord {
            id: ConsentId::new(),
            patient_id: patient,
            organisation_id: organisation,
            category,
            given,
            recorded_at: self.now(),
            recorded_by: self.actor().id(),
            by_patient: matches!(self.actor(), Actor::Patient(_)),
            note: input.note.trim().to_string(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::insert_consent(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Gives a staff member a seat in the patient's care team, for the organisation
    /// they work at. The seat shows who the patient is; anything more follows the
    /// patient's consents to that organisation.
    /// Who is to sit, as what, and what the patient consents to share with their
    /// organisation, checked field by field.
    async fn seat_input(
        &self,
        username: &str,
        role: &str,
        share: &[String],
    ) -> AppResult<(StaffUser, TeamRole, Vec<DataCategory>)> {
        let mut errors = FieldErrors::default();
        let user = {
            let mut conn = self.state.store.read().await?;
            users::by_username(&mut conn, username.trim()).await?
        }
        .filter(|r| r.active)
        .map(|r| r.user);
        match &user {
            None => errors.push("user", "Fant ingen aktiv ansatt med dette brukernavnet."),
            Some(u) if u.role == Role::Administrator => errors.push(
                "user",
                "En systemadministrator kan ikke sitte i en ansvarsgruppe.",
            ),
            Some(_) => {}
        }
        let role = TeamRole::from_code(role.trim());
        if role.is_none() {
            errors.push("role", "Velg rolle i ansvarsgruppen.");
        }
        let mut shared: Vec<DataCategory> = Vec::new();
        for code in share {
            match DataCategory::from_code(code.trim()).filter(|c| c.is_consentable()) {
                Some(category) if !shared.contains(&category) => shared.push(category),
                Some(_) => {}
                None => {
                    errors.push("share", "Velg opplysninger pasienten samtykker til å dele.");
                    break;
                }
            }
        }
        let (Some(user), Some(role)) = (user, role) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok((user, role, shared))
    }

    pub async fn add_care_team_member(
        &self,
        patient: PatientId,
        username: &str,
        role: &str,
        share: &[String],
    ) -> AppResult<CareTeamMember> {
        self.patient(patient).await?;
        let (user, role, shared) = self.seat_input(username, role, share).await?;
        let data = self.patient_data(patient).await?;
        let now = self.now();
        let relations = data.relations(patient, now);
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::Privacy,
                &format!("care team: {} added as {}", user.username, role.code()),
            )
            .await?;
        seat_allowed(&data, &relations, &user, role, &shared, now)?;
        let member = CareTeamMember {
            id: CareTeamMemberId::new(),
            patient_id: patient,
            user_id: user.id,
            organisation_id: user.organisation_id,
            role,
            added_at: now,
            added_by: self.actor().id(),
            ended: None,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::insert_member(&mut tx, &member).await?;
        for category in &shared {
            privacy_store::insert_consent(
                &mut tx,
                &ConsentRecord {
                    id: ConsentId::new(),
                    patient_id: patient,
                    organisation_id: user.organisation_id,
                    category: *category,
                    given: true,
                    recorded_at: now,
                    recorded_by: self.actor().id(),
                    by_patient: matches!(self.actor(), Actor::Patient(_)),
                    note: format!("Gitt da {} ble med i ansvarsgruppen", user.display_name),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(member)
    }

    /// Ends a care team seat; the member's access ends with it.
    pub async fn end_care_team_member(&self, member: CareTeamMemberId, reason: &str) -> AppResult<PatientId> {
        let found = {
            let mut conn = self.state.store.read().await?;
            privacy_store::member(&mut conn, member).await?
        }
        .ok_or_else(|| AppError::NotFound("plassen i ansvarsgruppen".into()))?;
        let reason = reason.trim();
        if reason.is_empty() {
            let mut errors = FieldErrors::default();
            errors.push("reason", "Skriv hvorfor plassen avsluttes.");
            return Err(AppError::Invalid(errors));
        }
        let grant = self
            .repo
            .authorize_write(
                found.patient_id,
                DataCategory::Privacy,
                &format!("care team: seat {member} ended"),
            )
            .await?;
        if found.ended.is_some() {
            return Err(AppError::Conflict(
                "Plassen i ansvarsgruppen er allerede avsluttet.".into(),
            ));
        }
        let end = MembershipEnd {
            at: self.now(),
            by: self.actor().id(),
            reason: reason.to_string(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::end_member(&mut tx, member, &end).await?;
        tx.commit().await?;
        Ok(found.patient_id)
    }

    /// Names a person for the patient: next of kin or a peer, with what they may be
    /// told, and whether the patient wants them in the responsibility group.
    pub async fn add_named_person(
        &self,
        patient: PatientId,
        input: &NamedPersonInput,
    ) -> AppResult<NamedPerson> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Privacy, "named person added")
            .await?;
        let (name, relation, phone, may_be_told) = input.parse().map_err(AppError::Invalid)?;
        let person = NamedPerson {
            id: NamedPersonId::new(),
            patient_id: patient,
            name,
            relation,
            phone,
            may_be_told,
            in_care_team: input.in_care_team,
            added_at: self.now(),
            added_by: self.actor().id(),
            ended: None,
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::insert_person(&mut tx, &person).await?;
        tx.commit().await?;
        Ok(person)
    }

    pub async fn end_named_person(&self, id: NamedPersonId, reason: &str) -> AppResult<PatientId> {
        let found = {
            let mut conn = self.state.store.read().await?;
            privacy_store::person(&mut conn, id).await?
        }
        .ok_or_else(|| AppError::NotFound("personen".into()))?;
        let grant = self
            .repo
            .authorize_write(found.patient_id, DataCategory::Privacy, "named person ended")
            .await?;
        if found.ended.is_some() {
            return Err(AppError::Conflict("Personen er allerede fjernet.".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid(FieldErrors::single("reason", "Skriv hvorfor.")));
        }
        let end = MembershipEnd {
            at: self.now(),
            by: self.actor().id(),
            reason: reason.to_string(),
        };
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::end_person(&mut tx, id, &end).await?;
        tx.commit().await?;
        Ok(found.patient_id)
    }

    /// Finds a patient by exact national identity number for someone who has no
    /// relation and may need emergency access. Only the id is returned: the name is
    /// not shown before the access is opened.
    pub async fn find_for_emergency(&self, national_id: &str) -> AppResult<PatientId> {
        let staff = self.staff()?;
        if !access::may_use_emergency_access(staff) {
            return Err(AppError::Forbidden(
                "Akuttilgang kan bare brukes av helsepersonell.".into(),
            ));
        }
        let parsed = NationalId::parse(national_id.trim()).map_err(|e| {
            let mut errors = FieldErrors::default();
            errors.push("national_id", samhand_domain::patient::national_id_message(e));
            AppError::Invalid(errors)
        })?;
        let mut conn = self.state.store.read().await?;
        patients::by_national_id(&mut conn, &parsed)
            .await?
            .map(|p| p.id)
            .ok_or_else(|| AppError::NotFound("noen pasient med dette fødselsnummeret".into()))
    }

    /// Opens an emergency access (akuttilgang) for a staff member without a relation:
    /// a reason is required, it lasts the policy's hours, is flagged in the audit log,
    /// shown to the patient and listed for review by the leader.
    pub async fn open_emergency_access(
        &self,
        patient: PatientId,
        reason: &str,
    ) -> AppResult<EmergencyAccess> {
        let staff = self.staff()?.clone();
        if !access::may_use_emergency_access(&staff) {
            self.repo
                .record_denial(
                    Some(patient),
                    DataCategory::Identity,
                    Action::Read,
                    "emergency access refused",
                )
                .await?;
            return Err(AppError::Forbidden(
                "Akuttilgang kan bare brukes av helsepersonell.".into(),
            ));
        }
        self.patient(patient).await?;
        let reason = reason.trim();
        if reason.chars().count() < MIN_EMERGENCY_REASON_CHARS {
            let mut errors = FieldErrors::default();
            errors.push(
                "reason",
                format!(
                    "Skriv en begrunnelse på minst {MIN_EMERGENCY_REASON_CHARS} tegn. Den vises for pasienten og kontrolleres av leder."
                ),
            );
            return Err(AppError::Invalid(errors));
        }
        let relations = self.repo.relations(patient).await?;
        if let Decision::Allow(by) = self
            .repo
            .decision(&relations, DataCategory::Identity, Action::Read)
        {
            return Err(AppError::Conflict(format!(
                "Du har allerede tilgang til pasienten ({}); akuttilgang trengs ikke.",
                by.label_nb()
            )));
        }
        let policy = self.policy().await?;
        let now = self.now();
        let opened = EmergencyAccess {
            id: EmergencyAccessId::new(),
            patient_id: patient,
            user_id: staff.id,
            organisation_id: staff.organisation_id,
            reason: reason.to_string(),
            started_at: now,
            expires_at: now + SignedDuration::from_hours(policy.emergency_access_hours),
            review: None,
        };
        let grant = self.repo.rule_grant(
            patient,
            DataCategory::Identity,
            Action::Read,
            AllowedBy::EmergencyAccess,
            &format!("emergency access opened: {reason}"),
        );
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::insert_emergency(&mut tx, &opened).await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// The emergency access the actor holds now on a patient, if any: shown as a
    /// banner on every page of the record.
    pub async fn running_emergency_access(&self, patient: PatientId) -> AppResult<Option<EmergencyAccess>> {
        let Actor::Staff(staff) = self.actor() else {
            return Ok(None);
        };
        let now = self.now();
        let mut conn = self.state.store.read().await?;
        Ok(privacy_store::emergency_of(&mut conn, &[patient])
            .await?
            .into_iter()
            .filter(|e| {
                e.user_id == staff.id && e.organisation_id == staff.organisation_id && e.is_active_at(now)
            })
            .max_by_key(|e| e.expires_at))
    }

    /// The emergency accesses a leader reviews: made by the leader's own staff, or to
    /// patients of the leader's LAR unit. Newest first.
    pub async fn emergency_accesses_for_review(&self) -> AppResult<Vec<EmergencyForReview>> {
        let staff = self.staff()?;
        if !access::may_lead(staff) {
            return Err(AppError::Forbidden(
                "Bare leder kan kontrollere akuttilganger.".into(),
            ));
        }
        let accesses = {
            let mut conn = self.state.store.read().await?;
            privacy_store::emergency_for_review(&mut conn, staff.organisation_id, 200).await?
        };
        let mut patient_ids: Vec<PatientId> = accesses.iter().map(|a| a.patient_id).collect();
        patient_ids.sort();
        patient_ids.dedup();
        let data = self.load_data(&patient_ids).await?;
        let now = self.now();
        let with_relations: Vec<_> = super::relations_of(&data, &patient_ids, now);
        let visible: std::collections::HashSet<PatientId> = self
            .repo
            .authorize_reads(
                &with_relations,
                DataCategory::Identity,
                "emergency access review list",
            )
            .await?
            .into_iter()
            .collect();
        let patients_found = {
            let mut conn = self.state.store.read().await?;
            patients::patients_of(&mut conn, &patient_ids).await?
        };
        let patient_names: HashMap<PatientId, String> = patients_found
            .into_iter()
            .filter(|p| visible.contains(&p.id))
            .map(|p| (p.id, format!("{} {}", p.given_name, p.family_name)))
            .collect();
        let mut people: Vec<UserId> = accesses.iter().map(|a| a.user_id).collect();
        people.extend(
            accesses
                .iter()
                .filter_map(|a| a.review.as_ref().map(|r| r.reviewed_by)),
        );
        let names = self.names(people).await?;
        let organisations = self.organisations().await?;
        Ok(accesses
            .into_iter()
            .map(|access| EmergencyForReview {
                user_name: names.get(&access.user_id).cloned().unwrap_or_default(),
                organisation_name: organisations
                    .get(&access.organisation_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                patient_name: patient_names.get(&access.patient_id).cloned(),
                reviewer_name: access
                    .review
                    .as_ref()
                    .and_then(|r| names.get(&r.reviewed_by).cloned()),
                access,
            })
            .collect())
    }

    /// A leader's review of an emergency access: recorded once, with a note.
    pub async fn review_emergency_access(&self, id: EmergencyAccessId, note: &str) -> AppResult<()> {
        let staff = self.staff()?.clone();
        let found = {
            let mut conn = self.state.store.read().await?;
            privacy_store::emergency(&mut conn, id).await?
        }
        .ok_or_else(|| AppError::NotFound("akuttilgangen".into()))?;
        let reviewable = self
            .emergency_accesses_for_review()
            .await?
            .iter()
            .any(|r| r.access.id == id);
        if !reviewable {
            self.repo
                .record_denial(
                    Some(found.patient_id),
                    DataCategory::Privacy,
                    Action::Write,
                    "emergency access review refused",
                )
                .await?;
            return Err(AppError::Forbidden(
                "Du kan bare kontrollere akuttilganger ved din egen enhet.".into(),
            ));
        }
        if found.review.is_some() {
            return Err(AppError::Conflict(
                "Akuttilgangen er allerede kontrollert.".into(),
            ));
        }
        let note = note.trim();
        if note.is_empty() {
            let mut errors = FieldErrors::default();
            errors.push("note", "Skriv vurderingen av akuttilgangen.");
            return Err(AppError::Invalid(errors));
        }
        let review = EmergencyReview {
            reviewed_by: staff.id,
            reviewed_at: self.now(),
            note: note.to_string(),
        };
        let grant = self.repo.rule_grant(
            found.patient_id,
            DataCategory::Privacy,
            Action::Write,
            AllowedBy::EmergencyReview,
            &format!("emergency access {id} reviewed"),
        );
        let mut tx = self.repo.begin_write(&grant).await?;
        privacy_store::insert_review(&mut tx, id, &review).await?;
        tx.commit().await?;
        Ok(())
    }

    /// "Hvem har sett journalen min": every allowed access to the patient's record by
    /// someone other than the patient, newest first, with emergency accesses flagged.
    pub async fn access_log(&self, patient: PatientId) -> AppResult<Vec<AccessLogLine>> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(patient, DataCategory::Privacy, "access log")
            .await?;
        let entries = {
            let mut conn = self.state.store.read().await?;
            audit::for_patient(&mut conn, patient, ACCESS_LOG_LIMIT).await?
        };
        let entries: Vec<StoredEntry> = entries
            .into_iter()
            .filter(|e| e.allowed && e.actor_role != "patient")
            .collect();
        let people: Vec<UserId> = entries.iter().filter_map(|e| e.actor_id.parse().ok()).collect();
        let names = self.names(people).await?;
        let organisations = self.organisations().await?;
        Ok(entries
            .into_iter()
            .map(|entry| {
                let system = entry.actor_id == samhand_domain::access::SYSTEM_ACTOR_ID;
                let who = entry
                    .actor_id
                    .parse::<UserId>()
                    .ok()
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_else(|| {
                        if system {
                            "Samhand (automatisk)".into()
                        } else {
                            "ukjent bruker".into()
                        }
                    });
                let organisation = entry
                    .actor_organisation
                    .parse::<OrganisationId>()
                    .ok()
                    .and_then(|id| organisations.get(&id).map(|o| o.name.clone()))
                    .unwrap_or_default();
                AccessLogLine {
                    at: entry.at,
                    actor_id: entry.actor_id,
                    who,
                    role: match Role::from_code(&entry.actor_role) {
                        Some(r) => r.label_nb().to_string(),
                        None if system => "Automatisk melding".to_string(),
                        None => entry.actor_role,
                    },
                    organisation,
                    category: DataCategory::from_code(&entry.category),
                    action: entry.action,
                    relation: AllowedBy::from_code(&entry.relation),
                    detail: entry.detail,
                }
            })
            .collect())
    }

    /// Issues the patient an API token for their own record (the portal's login
    /// comes later); staff of the responsible LAR unit do this.
    pub async fn issue_patient_token(&self, patient: PatientId) -> AppResult<(String, jiff::Timestamp)> {
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Privacy, "patient access token issued")
            .await?;
        let mut tx = self.repo.begin_write(&grant).await?;
        let (token, expires) =
            crate::auth::issue_patient_token(self.state, &mut tx, patient, self.actor().id()).await?;
        tx.commit().await?;
        Ok((token, expires))
    }
}

/// Whether the seat may be added: not twice, a member from another organisation
/// only with the patient's consent to what they see, one coordinator.
fn seat_allowed(
    data: &super::PatientData,
    relations: &samhand_domain::access::PatientRelations,
    user: &StaffUser,
    role: TeamRole,
    shared: &[DataCategory],
    now: jiff::Timestamp,
) -> AppResult<()> {
    let active: Vec<&CareTeamMember> = data
        .privacy
        .care_team
        .iter()
        .filter(|m| m.is_active_at(now))
        .collect();
    if active.iter().any(|m| m.user_id == user.id) {
        return Err(AppError::Conflict(format!(
            "{} er allerede med i ansvarsgruppen.",
            user.display_name
        )));
    }
    // A member from another organisation sees, beyond who the patient is, only
    // what the patient consents to share with that organisation: the patient's
    // consent comes with the seat, or is already in force.
    let from_elsewhere = !relations.responsible_units.contains(&user.organisation_id);
    let already_shared = relations
        .consents
        .iter()
        .any(|(org, _)| *org == user.organisation_id);
    if from_elsewhere && shared.is_empty() && !already_shared {
        return Err(AppError::Invalid(FieldErrors::single(
            "share",
            "Pasienten må samtykke til hva medlemmet skal se. Velg hvilke opplysninger som deles med medlemmets virksomhet.",
        )));
    }
    if role == TeamRole::Coordinator && active.iter().any(|m| m.role == TeamRole::Coordinator) {
        return Err(AppError::Conflict(
            "Ansvarsgruppen har allerede en koordinator. Avslutt den koordinatorens plass først.".into(),
        ));
    }
    Ok(())
}
