//! The responsibility group at HTTP level: meetings with invitations and minutes,
//! tasks to their owner and back, the individual plan in versions, the coordinator's
//! overview with a moving clock, consent deciding who sees it, and bad input.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, spawn_app};

impl TestApp {
    /// A patient whose group the municipal coordinator coordinates, with the GP as a
    /// member, and the plan shared with the centre (the coordinator's service).
    async fn patient_with_group(&self, n: u16) -> String {
        let w = &self.world;
        let patient = self.patient_on_daily_methadone(n).await;
        self.add_to_team(&patient, "koordinator", "coordinator").await;
        self.add_to_team(&patient, "fastlege", "member").await;
        self.consent(&w.konsulent, &patient, w.centre, "plan_and_goals", true)
            .await;
        patient
    }

    async fn schedule(&self, patient: &str, date: &str) -> Value {
        let (status, body) = self
            .post_json(
                &self.world.koordinator,
                &format!("/api/v1/patients/{patient}/meetings"),
                &json!({"date": date, "time": "10:00", "place": "Rådhuset, møterom 2",
                    "agenda": ["Status i behandlingen", "Bolig"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "schedule: {body}");
        body
    }

    async fn coordinator_row(&self, patient: &str) -> Value {
        let (status, body) = self
            .get_json(&self.world.koordinator, "/api/v1/coordinator/overview")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["patients"]
            .as_array()
            .expect("patients")
            .iter()
            .find(|p| p["patient"]["id"] == json!(patient))
            .cloned()
            .expect("the patient is on the overview")
    }
}

#[tokio::test]
async fn a_meeting_invites_the_group_its_minutes_record_attendance_and_a_task_reaches_its_owner_who_marks_it_done()
 {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(80).await;
    let meeting = app.schedule(&patient, "2026-11-23").await;
    let invited: Vec<&str> = meeting["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["user"]["id"].as_str().expect("user"))
        .collect();
    let koordinator = w.koordinator.id.to_string();
    let fastlege = w.fastlege.id.to_string();
    assert_eq!(invited.len(), 2, "{meeting}");
    assert!(invited.contains(&koordinator.as_str()) && invited.contains(&fastlege.as_str()));
    let id = meeting["id"].as_str().expect("id");
    // The invitation reaches the members' units as messages with read receipts; the
    // GP's office, without consent to the plan, sees that it came but not its content.
    for (staff, readable) in [(&w.koordinator, true), (&w.fastlege, false)] {
        let (_, inbox) = app.get_json(staff, "/api/v1/inbox").await;
        let invitation = inbox
            .as_array()
            .expect("inbox")
            .iter()
            .find(|m| m["kind"] == json!("meeting_invitation"))
            .unwrap_or_else(|| panic!("{}: {inbox}", staff.username))
            .clone();
        assert_eq!(invitation["subject"].is_string(), readable, "{invitation}");
    }

    let (status, body) = app
        .post_json(
            &w.koordinator,
            &format!("/api/v1/meetings/{id}/minutes"),
            &json!({
                "patient_present": true,
                "attendance": [{"user_id": koordinator, "present": true}, {"user_id": fastlege, "present": false}],
                "text": "Pasienten er stabil og ønsker egen bolig.",
                "decisions": ["Søke kommunal bolig"],
                "tasks": [{"description": "Sende søknad om kommunal bolig", "owner_id": fastlege, "due_on": "2026-12-01"}],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["meeting"]["minutes"]["patient_present"], json!(true));
    assert_eq!(
        body["meeting"]["minutes"]["next_meeting_proposed"],
        json!("2027-01-04"),
        "23 Nov + 42 days"
    );
    let task = body["tasks"][0]["id"].as_str().expect("task").to_string();

    // The meeting shows the invitations and the attendance.
    let (status, view) = app
        .get_json(&w.koordinator, &format!("/api/v1/patients/{patient}/meetings"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let attendance = &view["meetings"][0]["minutes"]["attendance"];
    assert_eq!(attendance.as_array().expect("attendance").len(), 2, "{view}");
    assert!(
        attendance
            .as_array()
            .expect("attendance")
            .iter()
            .any(|a| a["user"]["id"] == json!(fastlege) && a["present"] == json!(false))
    );
    let session = app.session_of("koordinator").await;
    let (status, html) = app.page(&session, &format!("/moter/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Invitert") && html.contains("Til stede") && html.contains("04.01.2027"));

    // The GP, the owner, sees it among their tasks once the plan is shared with the
    // GP office, and marks it done.
    let (status, mine) = app.get_json(&w.fastlege, "/api/v1/tasks/mine").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["tasks"].as_array().expect("tasks").len(), 0);
    assert_eq!(mine["hidden"], json!(1), "no consent yet: the task is not shown");
    app.consent(&w.konsulent, &patient, w.gp_office, "plan_and_goals", true)
        .await;
    let (_, mine) = app.get_json(&w.fastlege, "/api/v1/tasks/mine").await;
    assert_eq!(mine["tasks"][0]["id"], json!(task), "{mine}");
    assert_eq!(mine["tasks"][0]["status"], json!("open"));
    let gp = app.session_of("fastlege").await;
    let (_, html) = app.page(&gp, "/oppgaver").await;
    assert!(html.contains("Sende søknad om kommunal bolig"), "{html}");
    let (status, _, location) = app
        .submit(&gp, &format!("/oppgaver/{task}/status"), &[("status", "done")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/oppgaver"));
    let (_, mine) = app.get_json(&w.fastlege, "/api/v1/tasks/mine").await;
    assert_eq!(mine["tasks"][0]["status"], json!("done"), "{mine}");
    let history = mine["tasks"][0]["history"].as_array().expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["changed_by"]["id"], json!(fastlege));
    // Marking it done again changes nothing.
    let (status, body) = app
        .post_json(
            &w.fastlege,
            &format!("/api/v1/tasks/{task}/status"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Minutes are written once.
    let (status, body) = app
        .post_json(
            &w.koordinator,
            &format!("/api/v1/meetings/{id}/minutes"),
            &json!({"patient_present": false, "text": "Igjen"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["meeting"]);
}

#[tokio::test]
async fn a_member_from_another_service_sees_the_plan_and_meetings_only_with_the_patients_consent() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(81).await;
    app.schedule(&patient, "2026-11-30").await;
    // The plan was initiated at enrolment.
    let (_, plan) = app
        .get_json(&w.konsulent, &format!("/api/v1/patients/{patient}/plan"))
        .await;
    assert_eq!(plan["current"]["version"], json!(1), "{plan}");
    for path in [
        format!("/api/v1/patients/{patient}/plan"),
        format!("/api/v1/patients/{patient}/meetings"),
    ] {
        let (status, body) = app.get_json(&w.fastlege, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let gp = app.session_of("fastlege").await;
    let (status, _) = app.page(&gp, &format!("/pasienter/{patient}/plan")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A member cannot convene the group either, even with consent.
    app.consent(&w.konsulent, &patient, w.gp_office, "plan_and_goals", true)
        .await;
    for path in [
        format!("/api/v1/patients/{patient}/plan"),
        format!("/api/v1/patients/{patient}/meetings"),
    ] {
        let (status, body) = app.get_json(&w.fastlege, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, body) = app
        .post_json(
            &w.fastlege,
            &format!("/api/v1/patients/{patient}/meetings"),
            &json!({"date": "2026-12-01", "time": "10:00", "place": "Legekontoret", "agenda": ["Medisiner"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Someone without a seat sees nothing at all.
    let (status, _) = app
        .get_json(&w.fremmed_lege, &format!("/api/v1/patients/{patient}/plan"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_plan_is_initiated_declined_resumed_and_every_save_is_a_version_with_a_printable_view() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(82).await;
    let path = format!("/api/v1/patients/{patient}/plan");
    // The LAR unit initiated the plan when treatment started.
    let (_, plan) = app.get_json(&w.konsulent, &path).await;
    let v1 = plan["current"].clone();
    assert_eq!(
        (v1["version"].clone(), v1["status"].clone()),
        (json!(1), json!("active")),
        "{plan}"
    );
    assert_eq!(
        v1["reason"],
        json!("Individuell plan tilbudt ved innskrivning i LAR")
    );
    let (status, body) = app
        .post_json(&w.konsulent, &path, &json!({"action": "initiate"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "started once: {body}");
    // The patient declines; it is recorded with the day and who recorded it.
    let (status, v2) = app
        .post_json(
            &w.koordinator,
            &path,
            &json!({"action": "decline", "reason": "Vil ikke ha plan nå"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["status"], json!("declined"));
    assert_eq!(v2["declined_on"], json!("2026-11-23"));
    let (status, v3) = app
        .post_json(
            &w.koordinator,
            &path,
            &json!({"action": "resume", "reason": "Ønsker plan likevel"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v3}");
    let goals = json!([
        {"domain": "housing", "goal": "Jeg vil ha min egen leilighet før sommeren",
         "measures": [{"description": "Søke kommunal bolig", "responsible_organisation_id": w.centre.to_string()}],
         "evaluate_on": "2027-03-01"},
        {"domain": "work_activity", "goal": "Komme i gang med noe meningsfullt",
         "measures": [{"description": "Arbeidstrening", "responsible_organisation_id": w.nav_office.to_string()}]},
    ]);
    let (status, v4) = app
        .post_json(
            &w.koordinator,
            &path,
            &json!({"action": "save", "reason": "Mål fra møtet", "goals": goals}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v4}");
    assert_eq!(v4["version"], json!(4));
    assert_eq!(v4["goals"][0]["domain"], json!("housing"));
    let changed = json!([{"domain": "housing", "goal": "Egen leilighet, gjerne i sentrum", "evaluate_on": "2027-03-01"}]);
    let (status, v5) = app
        .post_json(
            &w.koordinator,
            &path,
            &json!({"action": "save", "reason": "Endret mål", "goals": changed}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v5}");
    let (_, plan) = app.get_json(&w.konsulent, &path).await;
    assert_eq!(plan["current"]["version"], json!(5));
    let history = plan["history"].as_array().expect("history");
    assert_eq!(history.len(), 5, "{plan}");
    assert_eq!(
        history[1]["goals"][0]["goal"],
        json!("Jeg vil ha min egen leilighet før sommeren")
    );
    assert_eq!(history[3]["status"], json!("declined"));
    assert_eq!(
        history[3]["recorded_by"]["id"],
        json!(w.koordinator.id.to_string())
    );

    let session = app.session_of("koordinator").await;
    let (status, html) = app.page(&session, &format!("/pasienter/{patient}/plan")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Egen leilighet, gjerne i sentrum") && html.contains("Versjon 4"));
    let (status, print) = app
        .page(&session, &format!("/pasienter/{patient}/plan/utskrift"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The print stylesheet is a file (the CSP refuses inline styles): A4, no
    // navigation or buttons on paper.
    assert!(
        print.contains("<link rel=\"stylesheet\" href=\"/static/utskrift.css\">"),
        "{print}"
    );
    assert!(
        !print.contains("<style") && !print.contains("style=\""),
        "{print}"
    );
    let css = app
        .client
        .get(app.url("/static/utskrift.css"))
        .send()
        .await
        .expect("css")
        .text()
        .await
        .expect("text");
    assert!(
        css.contains("@page { size: A4") && css.contains("@media print"),
        "{css}"
    );
    assert!(!print.contains("Hovedmeny"), "no navigation on the printout");
    assert!(print.contains("Egen leilighet, gjerne i sentrum") && print.contains("Bolig"));
    // Evaluation falls due on its date.
    app.clock.advance(SignedDuration::from_hours(24 * 100));
    let row = app.coordinator_row(&patient).await;
    assert_eq!(row["goals_due_for_evaluation"], json!(["housing"]), "{row}");
}

#[tokio::test]
async fn overdue_meetings_and_tasks_show_on_the_coordinator_overview_as_the_clock_moves() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(83).await;
    let row = app.coordinator_row(&patient).await;
    assert_eq!(row["overdue_meetings"], json!([]));
    let meeting = app.schedule(&patient, "2026-11-25").await;
    let (status, task) = app
        .post_json(
            &w.koordinator,
            &format!("/api/v1/patients/{patient}/tasks"),
            &json!({"description": "Ringe NAV om bostøtte", "owner_id": w.koordinator.id.to_string(), "due_on": "2026-11-27"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let row = app.coordinator_row(&patient).await;
    assert_eq!(row["next_meeting"]["id"], meeting["id"]);
    assert_eq!(row["overdue_tasks"], json!(0));
    // A week later: the meeting passed without minutes, the task is past due.
    app.clock.advance(SignedDuration::from_hours(24 * 7));
    let row = app.coordinator_row(&patient).await;
    assert_eq!(row["overdue_tasks"], json!(1), "{row}");
    let overdue = row["overdue_meetings"].as_array().expect("overdue");
    assert!(
        overdue
            .iter()
            .any(|o| o.as_str().expect("text").contains("mangler referat")),
        "{row}"
    );
    let session = app.session_of("koordinator").await;
    let (status, html) = app.page(&session, "/koordinator").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Ringe NAV om bostøtte") && html.contains("mangler referat"),
        "{html}"
    );
    // Minutes written: the meeting is held; 43 days later the interval has passed.
    let id = meeting["id"].as_str().expect("id");
    let (status, body) = app
        .post_json(
            &w.koordinator,
            &format!("/api/v1/meetings/{id}/minutes"),
            &json!({"patient_present": false, "text": "Pasienten møtte ikke; vi ringer."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let row = app.coordinator_row(&patient).await;
    assert_eq!(row["overdue_meetings"], json!([]), "{row}");
    app.clock.advance(SignedDuration::from_hours(24 * 43));
    let row = app.coordinator_row(&patient).await;
    assert!(
        row["overdue_meetings"][0]
            .as_str()
            .expect("text")
            .contains("Ingen møte siden 25.11.2026"),
        "{row}"
    );
    // The centre's leader sees the same on the leader's overview.
    let (status, o) = app.get_json(&w.centre_leader, "/api/v1/leader/overview").await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["overdue_meetings"][0]["id"], json!(patient), "{o}");
    assert_eq!(
        o["overdue_tasks"][0]["description"],
        json!("Ringe NAV om bostøtte"),
        "{o}"
    );
    let (_, html) = app.page(&app.session_of("stedleder").await, "/leder").await;
    assert!(html.contains("Ringe NAV om bostøtte"), "{html}");
}

#[tokio::test]
async fn bad_input_names_the_fields_and_changes_nothing() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(84).await;
    let meetings = format!("/api/v1/patients/{patient}/meetings");
    let (status, body) = app
        .post_json(
            &w.koordinator,
            &meetings,
            &json!({"date": "2026-11-01", "time": "25:00", "place": " ", "agenda": []}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["date", "time", "place", "agenda"]);
    let (status, body) = app
        .post_json(
            &w.koordinator,
            &format!("/api/v1/patients/{patient}/tasks"),
            &json!({"description": "", "owner_id": w.fremmed_lege.id.to_string(), "due_on": "i morgen"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["description", "owner_id", "due_on"]);
    let plan = format!("/api/v1/patients/{patient}/plan");
    let (status, body) = app
        .post_json(&w.koordinator, &plan, &json!({"action": "start"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), vec!["action"]);
    let (status, body) = app
        .post_json(
            &w.koordinator,
            &plan,
            &json!({"action": "save", "reason": "", "goals": [{"domain": "moon", "goal": "x"},
                {"domain": "housing", "goal": "", "measures": [{"description": "Bolig", "responsible_organisation_id": "nei"}]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = error_fields(&body);
    for field in ["reason", "goals", "measures"] {
        assert!(fields.contains(&field.to_string()), "{field}: {body}");
    }
    // Nothing changed.
    let (_, view) = app.get_json(&w.koordinator, &meetings).await;
    assert_eq!(view["meetings"], json!([]));
    assert_eq!(view["tasks"], json!([]));
    let (_, plan_view) = app.get_json(&w.koordinator, &plan).await;
    assert_eq!(plan_view["history"].as_array().expect("history").len(), 1);
    // In the UI, the same errors stand in Norwegian next to the fields.
    let session = app.session_of("koordinator").await;
    let (status, html, _) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/moter"),
            &[
                ("date", "01.11.2026"),
                ("time", "10:00"),
                ("place", ""),
                ("agenda", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Et møte kan ikke kalles inn til en dato som har vært."),
        "{html}"
    );
    assert!(html.contains("Skriv hvor møtet holdes."));
    let (_, view) = app.get_json(&w.koordinator, &meetings).await;
    assert_eq!(view["meetings"], json!([]));
}

#[tokio::test]
async fn a_gp_in_the_care_team_finds_the_patient_by_search_and_opens_the_meeting_she_is_invited_to() {
    let app = spawn_app().await;
    let w = &app.world;
    let patient = app.patient_with_group(84).await;
    let number = crate::helpers::national_id(84);
    // Found by full number and by name, through the care-team seat.
    for query in [number.as_str(), "Pasient84"] {
        let (status, found) = app
            .get_json(&w.fastlege, &format!("/api/v1/patients?q={query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert!(found.to_string().contains(&patient), "{query}: {found}");
    }
    // A doctor with no relation finds nothing.
    let (_, found) = app
        .get_json(&w.fremmed_lege, &format!("/api/v1/patients?q={number}"))
        .await;
    assert!(!found.to_string().contains(&patient), "{found}");

    // Invited without the plan shared: the page opens with time, place and who, not
    // the agenda.
    let meeting = app.schedule(&patient, "2026-11-30").await;
    let id = meeting["id"].as_str().expect("id");
    let gp = app.session_of("fastlege").await;
    let (status, html) = app.page(&gp, &format!("/moter/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Rådhuset, møterom 2"), "{html}");
    assert!(
        !html.contains("Status i behandlingen"),
        "the agenda is not shown: {html}"
    );
    // Someone not invited and without a relation is refused.
    let stranger = app.session_of("fremmed_lege").await;
    let (status, _) = app.page(&stranger, &format!("/moter/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
