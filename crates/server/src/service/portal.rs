//! What the patient portal needs beyond the operations the patient shares with
//! staff: the one-time code the LAR unit hands out, and the patient's own start
//! page put together from the overview, the meetings and the plan — each read under
//! the policy as `Actor::Patient`, so a patient reaches their own record only.

use jiff::{SignedDuration, Timestamp};
use samhand_domain::access::DataCategory;
use samhand_domain::care::PatientRequestKind;
use samhand_domain::ids::PatientId;
use samhand_store::{portal as portal_store, privacy as privacy_store};

use super::Service;
use super::collaboration::{MeetingsView, PlanView};
use crate::error::{AppError, AppResult};

/// The patient's start page.
#[derive(Debug, Clone)]
pub struct PortalHome {
    pub overview: super::Overview,
    pub meetings: MeetingsView,
    pub plan: PlanView,
    /// Drug-test results the laboratory reported.
    pub drug_tests: Vec<samhand_domain::drug_test::DrugTest>,
    /// Messages from the team the patient has not opened.
    pub unread_messages: usize,
}

impl Service<'_> {
    /// A one-time code for the patient to set a portal password with; shown to the
    /// staff member once, stored hashed, valid for [`crate::portal::CODE_DAYS`].
    pub async fn issue_portal_code(&self, patient: PatientId) -> AppResult<(String, Timestamp)> {
        let staff = self.staff()?.clone();
        self.patient(patient).await?;
        let grant = self
            .repo
            .authorize_write(patient, DataCategory::Privacy, "portal one-time code issued")
            .await?;
        let code = crate::portal::new_code();
        let now = self.now();
        let expires = now + SignedDuration::from_hours(24 * crate::portal::CODE_DAYS);
        let mut tx = self.repo.begin_write(&grant).await?;
        let account = privacy_store::ensure_account(&mut tx, patient, staff.id, now).await?;
        portal_store::insert_code(
            &mut tx,
            account,
            &crate::auth::token_hash(&code),
            staff.id,
            now,
            expires,
        )
        .await?;
        tx.commit().await?;
        Ok((code, expires))
    }

    /// The patient's own start page: dose, arrangement and place, meetings, plan.
    pub async fn portal_home(&self) -> AppResult<PortalHome> {
        let Some(patient) = self.actor_patient() else {
            return Err(AppError::Forbidden("Siden er for pasienten selv.".into()));
        };
        Ok(PortalHome {
            overview: self.overview(patient).await?,
            meetings: self.meetings(patient).await?,
            plan: self.plan(patient).await?,
            drug_tests: self.drug_tests_where_allowed(patient).await?.unwrap_or_default(),
            unread_messages: self.unread_from_team().await?,
        })
    }

    /// The patient the actor is, when the actor is a patient.
    pub fn actor_patient(&self) -> Option<PatientId> {
        match self.actor() {
            samhand_domain::access::Actor::Patient(p) => Some(p.patient_id),
            samhand_domain::access::Actor::Staff(_) | samhand_domain::access::Actor::System(_) => None,
        }
    }
}

impl Service<'_> {
    /// A request from the patient becomes a task with an owner: the LAR consultant
    /// for a change of arrangement, the coordinator (or else the consultant) for an
    /// agenda item. The answer comes back as the task's status and note.
    pub async fn patient_request(&self, kind: &str, text: &str) -> AppResult<samhand_domain::care::Task> {
        let Some(patient) = self.actor_patient() else {
            return Err(AppError::Forbidden("Siden er for pasienten selv.".into()));
        };
        let mut errors = samhand_domain::validation::FieldErrors::default();
        let kind = PatientRequestKind::from_code(kind.trim());
        if kind.is_none() {
            errors.push("kind", "Velg hva du ønsker.");
        }
        if text.trim().is_empty() {
            errors.push("text", "Skriv hva du ønsker, og gjerne hvorfor.");
        }
        let Some(kind) = kind.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let data = self.patient_data(patient).await?;
        let today = self.today();
        let episode = data
            .episode_on(today)
            .cloned()
            .ok_or_else(|| AppError::Conflict("Du er ikke i LAR-behandling nå.".into()))?;
        let coordinator = data
            .privacy
            .care_team
            .iter()
            .find(|m| m.role == samhand_domain::privacy::TeamRole::Coordinator && m.is_active_at(self.now()))
            .map(|m| m.user_id);
        let (owner, due_in_days) = match kind {
            PatientRequestKind::ArrangementChange => (episode.consultant, 7),
            PatientRequestKind::AgendaItem => (coordinator.unwrap_or(episode.consultant), 14),
        };
        let due = today
            .checked_add(jiff::Span::new().days(due_in_days))
            .unwrap_or(today);
        let relations = data.relations(patient, self.now());
        let grant = self
            .repo
            .authorize_write_with(
                patient,
                &relations,
                DataCategory::PlanAndGoals,
                "request from the patient",
            )
            .await?;
        let content = samhand_domain::care::TaskInput {
            description: format!("{}: {}", kind.prefix(), text.trim()),
            owner: owner.to_string(),
            due_on: due.to_string(),
        }
        .parse(&[owner], today, ["text", "kind", "text"])
        .map_err(AppError::Invalid)?;
        // A task names a staff user as its creator: the owner who receives it; the
        // request row keeps that the patient asked.
        let task = samhand_domain::care::Task {
            id: samhand_domain::ids::TaskId::new(),
            patient_id: patient,
            meeting_id: None,
            description: content.description,
            owner: content.owner,
            due_on: content.due_on,
            created_by: owner,
            created_at: self.now(),
            changes: Vec::new(),
        };
        let code = kind.code();
        let mut tx = self.repo.begin_write(&grant).await?;
        samhand_store::collaboration::insert_task(&mut tx, &task).await?;
        portal_store::insert_request(&mut tx, patient, self.actor().id(), code, task.id, self.now()).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// The requests the patient made, with the answers: the tasks they created.
    pub async fn patient_requests(&self) -> AppResult<Vec<samhand_domain::care::Task>> {
        let Some(patient) = self.actor_patient() else {
            return Err(AppError::Forbidden("Siden er for pasienten selv.".into()));
        };
        let mine = {
            let mut conn = self.state.store.reader().await?;
            portal_store::request_tasks(&mut conn, patient).await?
        };
        let mut tasks: Vec<samhand_domain::care::Task> = self
            .meetings(patient)
            .await?
            .tasks
            .into_iter()
            .filter(|t| mine.contains(&t.id))
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        Ok(tasks)
    }
}

impl Service<'_> {
    /// The patient's own words per life domain, as they stand now (the latest per
    /// domain; an emptied goal and comment is the patient taking it back).
    pub async fn own_words(
        &self,
        patient: PatientId,
    ) -> AppResult<Vec<(samhand_domain::care::LifeDomain, portal_store::OwnWords)>> {
        self.patient(patient).await?;
        self.repo
            .authorize_read(
                patient,
                DataCategory::PlanAndGoals,
                "the patient's own words in the plan",
            )
            .await?;
        let all = {
            let mut conn = self.state.store.reader().await?;
            portal_store::own_words(&mut conn, patient).await?
        };
        Ok(samhand_domain::care::LifeDomain::ALL
            .into_iter()
            .filter_map(|d| {
                all.iter()
                    .rev()
                    .find(|w| w.domain == d.code())
                    .filter(|w| !w.goal.is_empty() || !w.comment.is_empty())
                    .map(|w| (d, w.clone()))
            })
            .collect())
    }

    /// The patient writes or edits their goals and comments in their own words; a
    /// domain whose text changed gets a new row.
    pub async fn save_own_words(
        &self,
        words: &[(samhand_domain::care::LifeDomain, String, String)],
    ) -> AppResult<usize> {
        let Some(patient) = self.actor_patient() else {
            return Err(AppError::Forbidden("Siden er for pasienten selv.".into()));
        };
        let mut errors = samhand_domain::validation::FieldErrors::default();
        for (domain, goal, comment) in words {
            if goal.chars().count() > 2000 || comment.chars().count() > 2000 {
                errors.push(domain.code(), "Teksten kan være høyst 2000 tegn.");
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let grant = self
            .repo
            .authorize_write(
                patient,
                DataCategory::PlanAndGoals,
                "the patient's own words in the plan",
            )
            .await?;
        let now_words = self.own_words(patient).await?;
        let now = self.now();
        let mut tx = self.repo.begin_write(&grant).await?;
        let mut changed = 0;
        for (domain, goal, comment) in words {
            let (goal, comment) = (goal.trim().to_string(), comment.trim().to_string());
            let before = now_words.iter().find(|(d, _)| d == domain).map(|(_, w)| w);
            let same = match before {
                Some(w) => w.goal == goal && w.comment == comment,
                None => goal.is_empty() && comment.is_empty(),
            };
            if same {
                continue;
            }
            portal_store::insert_own_words(
                &mut tx,
                patient,
                self.actor().id(),
                &portal_store::OwnWords {
                    domain: domain.code().to_string(),
                    goal,
                    comment,
                    written_at: now,
                },
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
