//! The web forms of the walking system: a new dose order and its signing (with and
//! without dose-safety warnings), the dispensing arrangement, and the end of
//! treatment. Each error stands next to its field in Norwegian, what was typed is
//! kept, and a refused form changes nothing.

use jiff::civil::{Time, date};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, start_day};

/// The error shown next to a field (`<div class="field-error" id="{field}-error">`).
fn field_error(html: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</div>")? + start;
    Some(html[start..end].to_string())
}

fn option_selected(html: &str, value: &str) -> bool {
    html.contains(&format!("<option value=\"{value}\" selected>"))
}

#[tokio::test]
async fn the_new_dose_order_form_shows_errors_next_to_the_fields_keeps_the_typed_values_and_then_saves_a_draft()
 {
    let app = spawn_app().await;
    let patient = app.enrol(140, start_day()).await;
    let session = app.session_of("lege").await;
    let path = format!("/pasienter/{patient}/ordinasjon");
    let (status, html) = app.page(&session, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ny ordinasjon for Pasient140 Testesen"), "{html}");

    let bad = [
        ("substance", "methadone_oral_solution"),
        ("form", "sublingual_tablet"),
        ("parts", "abc"),
        ("parts", ""),
        ("parts", ""),
        ("parts", ""),
        ("effective_from", "2026-11-25"),
        ("step_from", "2026-11-24"),
        ("step_dose", "70"),
        ("step_from", ""),
        ("step_dose", ""),
        ("step_from", ""),
        ("step_dose", ""),
        ("reason", ""),
    ];
    let (status, html, _) = app.submit(&session, &path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let expected = [
        ("substance", None),
        (
            "form",
            Some("Legemiddelformen passer ikke til dette legemiddelet."),
        ),
        (
            "dose",
            Some("Dosen må være et tall i mg større enn null, f.eks. 60 eller 8,5."),
        ),
        ("effective_from", None),
        (
            "titration",
            Some("Hvert opptrappingstrinn må starte etter startdatoen."),
        ),
        ("reason", Some("Skriv en begrunnelse for ordinasjonen.")),
    ];
    for (field, message) in expected {
        assert_eq!(field_error(&html, field).as_deref(), message, "{field}: {html}");
    }
    assert!(html.contains("Skjemaet har feil:"), "{html}");
    assert!(option_selected(&html, "methadone_oral_solution"), "{html}");
    assert!(option_selected(&html, "sublingual_tablet"), "{html}");
    for typed in [
        "value=\"abc\"",
        "value=\"2026-11-25\"",
        "value=\"2026-11-24\"",
        "value=\"70\"",
    ] {
        assert!(html.contains(typed), "{typed} is kept: {html}");
    }
    assert!(app.order_history(&patient).await.is_empty(), "nothing stored");

    let good = [
        ("substance", "methadone_oral_solution"),
        ("form", "oral_solution"),
        ("parts", "40"),
        ("parts", "20"),
        ("parts", ""),
        ("parts", ""),
        ("effective_from", "2026-11-23"),
        ("step_from", "2026-11-30"),
        ("step_dose", "70"),
        ("step_from", ""),
        ("step_dose", ""),
        ("reason", "Oppstart, delt dose morgen og kveld"),
    ];
    let (status, _, location) = app.submit(&session, &path, &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("location");
    let history = app.order_history(&patient).await;
    assert_eq!(history.len(), 1);
    let draft = &history[0];
    assert_eq!(
        location,
        format!("/ordinasjoner/{}", draft["id"].as_str().expect("id"))
    );
    assert_eq!(draft["status"], json!("draft"));
    assert_eq!(draft["parts_mg"], json!([40.0, 20.0]));
    assert_eq!(
        draft["titration"],
        json!([{"from": "2026-11-30", "parts_mg": [35.0, 35.0], "total_mg": 70.0}])
    );

    // The first order raises no warnings: the sign page has no confirmation field.
    let (status, html) = app.page(&session, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Signer ordinasjonen"), "{html}");
    assert!(!html.contains("name=\"confirmation\""), "{html}");
    assert!(!html.contains("Dosesikkerhet"), "{html}");
    let (status, _, after) = app.submit(&session, &format!("{location}/signer"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let after = after.expect("back to the overview");
    assert_eq!(after, format!("/pasienter/{patient}?lagret=ordinasjon"));
    let (_, html) = app.page(&session, &after).await;
    assert!(
        html.contains("role=\"status\"") && html.contains("Ordinasjonen er signert"),
        "signing is confirmed: {html}"
    );
    assert_eq!(app.order_history(&patient).await[0]["version"], json!(1));
    let (_, html) = app.page(&session, &location).await;
    assert!(html.contains("Signert som versjon 1."), "{html}");
}

#[tokio::test]
async fn signing_in_the_form_despite_dose_safety_warnings_needs_a_written_reason() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(141).await;
    let wednesday = date(2026, 11, 25);
    app.set_oslo_time(wednesday, Time::constant(9, 0, 0, 0));
    let session = app.session_of("lege").await;
    let fields = [
        ("substance", "methadone_oral_solution"),
        ("form", "oral_solution"),
        ("parts", "90"),
        ("effective_from", "2026-11-25"),
        ("reason", "Sterkt sug, bruker heroin ved siden av"),
    ];
    let (status, _, location) = app
        .submit(&session, &format!("/pasienter/{patient}/ordinasjon"), &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("location");
    let warning = "Metadonøkning fra 60 mg til 90 mg fra 25.11.2026 er større enn anbefalt steg: \
                   økningen er 30 mg, grensen er 10 mg per økning.";
    let (status, html) = app.page(&session, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Dosesikkerhet"), "{html}");
    assert!(html.contains(warning), "{html}");
    assert!(html.contains("name=\"confirmation\""), "{html}");

    let sign = format!("{location}/signer");
    for confirmation in [None, Some(""), Some("  \r\n ")] {
        let fields: Vec<(&str, &str)> = confirmation.map(|c| ("confirmation", c)).into_iter().collect();
        let (status, html, _) = app.submit(&session, &sign, &fields).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{confirmation:?}: {html}"
        );
        assert!(
            html.contains("Bekreft med begrunnelse for å signere likevel."),
            "{html}"
        );
        let next_to_field = field_error(&html, "confirmation").unwrap_or_default();
        assert!(next_to_field.contains(warning), "{next_to_field}");
        assert!(
            next_to_field.contains("Bekreft med begrunnelse"),
            "every message is next to the field: {next_to_field}"
        );
        assert!(html.contains("name=\"confirmation\""), "the field is still there");
    }
    let history = app.order_history(&patient).await;
    assert_eq!(history.last().expect("draft")["status"], json!("draft"));

    let reason = "Tett oppfølging avtalt, ny vurdering om en uke";
    let (status, _, after) = app.submit(&session, &sign, &[("confirmation", reason)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        after.as_deref(),
        Some(format!("/pasienter/{patient}?lagret=ordinasjon").as_str())
    );
    let (_, html) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert!(html.contains(&format!("Advarsel bekreftet: {reason}")), "{html}");
    let overview = app.overview(&patient).await;
    assert_eq!(overview["effective_order"]["version"], json!(2));
    assert_eq!(overview["effective_order"]["warnings_confirmed"], json!(reason));
    assert_eq!(overview["dose_today_mg"], json!(90.0));
}

#[tokio::test]
async fn the_arrangement_form_shows_errors_next_to_the_fields_and_keeps_the_typed_values() {
    let app = spawn_app().await;
    let patient = app.enrol(142, start_day()).await;
    app.sign_methadone(&patient, &["60"], start_day()).await;
    let session = app.session_of("lege").await;
    let path = format!("/pasienter/{patient}/ordning");
    let (status, _) = app.page(&session, &path).await;
    assert_eq!(status, StatusCode::OK);

    let other_centre = app.world.other_centre.to_string();
    let centre = app.world.centre.to_string();
    let group = app.world.group.to_string();
    let mut bad: Vec<(String, String)> = vec![("place_id".into(), other_centre.clone())];
    bad.extend((0..7).map(|i| (format!("day{i}"), "take_home".to_string())));
    bad.extend(
        [
            ("valid_from", "2026-11-30"),
            ("review_on", "2026-11-29"),
            ("group_id", group.as_str()),
            ("window_start", "25.00"),
            ("window_end", "09.30"),
            ("reason", "Ny jobb på dagtid"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, html, _) = app.submit(&session, &path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let expected = [
        ("place_id", None),
        (
            "days",
            Some("Minst én dag i uken må være oppmøte med inntak under tilsyn."),
        ),
        ("valid_from", None),
        ("review_on", Some("Revurderingsdato må være etter startdatoen.")),
        ("group_id", Some("Gruppen hører til et annet utleveringssted.")),
        (
            "window_start",
            Some("Skriv tidsvinduet som fra–til, f.eks. 08.00 og 09.30."),
        ),
        ("reason", None),
    ];
    for (field, message) in expected {
        assert_eq!(field_error(&html, field).as_deref(), message, "{field}: {html}");
    }
    assert!(option_selected(&html, &other_centre), "{html}");
    assert!(option_selected(&html, &group), "{html}");
    assert_eq!(html.matches("value=\"take_home\" checked").count(), 7, "{html}");
    for typed in [
        "value=\"2026-11-30\"",
        "value=\"2026-11-29\"",
        "value=\"25.00\"",
        ">Ny jobb på dagtid</textarea>",
    ] {
        assert!(html.contains(typed), "{typed} is kept: {html}");
    }
    assert!(app.overview(&patient).await["arrangement"].is_null());

    // Corrected: weekdays at the other centre with its own window.
    let mut good: Vec<(String, String)> = vec![("place_id".into(), other_centre.clone())];
    good.extend((0..7).map(|i| {
        let plan = if i < 5 { "attend" } else { "take_home" };
        (format!("day{i}"), plan.to_string())
    }));
    good.extend(
        [
            ("valid_from", "2026-11-23"),
            ("review_on", "2027-02-23"),
            ("group_id", ""),
            ("window_start", "10.00"),
            ("window_end", "11.00"),
            ("reason", "Ny jobb på dagtid"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, html, location) = app.submit(&session, &path, &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/pasienter/{patient}?lagret=ordning").as_str())
    );
    let arrangement = &app.overview(&patient).await["arrangement"];
    assert_eq!(arrangement["version"], json!(1));
    assert_eq!(arrangement["place_id"], json!(other_centre));
    assert_eq!(
        arrangement["week"],
        json!([
            "attend",
            "attend",
            "attend",
            "attend",
            "attend",
            "take_home",
            "take_home"
        ])
    );
    assert_eq!(arrangement["window"], json!({"start": "10:00", "end": "11:00"}));

    // The form starts from the current version; a second version with a group.
    let (_, html) = app.page(&session, &path).await;
    assert!(option_selected(&html, &other_centre), "{html}");
    assert!(html.contains("value=\"10.00\""), "{html}");
    let mut next: Vec<(String, String)> = vec![("place_id".into(), centre.clone())];
    next.extend((0..7).map(|i| (format!("day{i}"), "attend".to_string())));
    next.extend(
        [
            ("valid_from", "2026-11-30"),
            ("review_on", "2027-02-28"),
            ("group_id", group.as_str()),
            ("window_start", ""),
            ("window_end", ""),
            ("reason", "Tilbake til daglig oppmøte"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let next: Vec<(&str, &str)> = next.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, html, _) = app.submit(&session, &path, &next).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert!(html.contains("Ordninger (historikk)"), "{html}");
    assert!(
        html.contains("Ny jobb på dagtid") && html.contains("Tilbake til daglig oppmøte"),
        "both versions are listed: {html}"
    );
}

#[tokio::test]
async fn the_end_of_treatment_form_needs_the_note_for_an_involuntary_discharge() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(143).await;
    let session = app.session_of("lege").await;
    let path = format!("/pasienter/{patient}/avslutt");
    let (status, html) = app.page(&session, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Avslutning av LAR øker risikoen for overdose"),
        "{html}"
    );

    let (status, html, _) = app
        .submit(&session, &path, &[("ended_on", ""), ("reason", ""), ("note", "")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert_eq!(
        field_error(&html, "ended_on").as_deref(),
        Some("Skriv inn en gyldig sluttdato (dd.mm.åååå).")
    );
    assert_eq!(
        field_error(&html, "reason").as_deref(),
        Some("Velg årsak til avslutning.")
    );
    assert_eq!(field_error(&html, "note"), None);

    let involuntary = [
        ("ended_on", "2026-11-25"),
        ("reason", "involuntary_discharge"),
        ("note", ""),
    ];
    let (status, html, _) = app.submit(&session, &path, &involuntary).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        field_error(&html, "note")
            .expect("note error")
            .contains("informert skriftlig om retten til ny vurdering og til å klage"),
        "{html}"
    );
    assert!(html.contains("value=\"2026-11-25\""), "{html}");
    assert!(option_selected(&html, "involuntary_discharge"), "{html}");
    assert!(app.overview(&patient).await["episode"]["ended"].is_null());

    let note = "Informert skriftlig om rett til ny vurdering og klage.";
    let done = [
        ("ended_on", "2026-11-25"),
        ("reason", "involuntary_discharge"),
        ("note", note),
    ];
    let (status, _, location) = app.submit(&session, &path, &done).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("/pasienter/{patient}").as_str())
    );
    let (_, html) = app.page(&session, &format!("/pasienter/{patient}")).await;
    assert!(
        html.contains("Avsluttet 25.11.2026: Ufrivillig avslutning"),
        "{html}"
    );
    assert_eq!(
        app.overview(&patient).await["episode"]["ended"]["note"],
        json!(note)
    );

    let (status, html, _) = app.submit(&session, &path, &done).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("Behandlingen er allerede avsluttet."), "{html}");
}

#[tokio::test]
async fn a_consultant_cannot_save_a_dose_order_through_the_form() {
    let app = spawn_app().await;
    let patient = app.enrol(144, start_day()).await;
    let session = app.session_of("konsulent").await;
    let fields = [
        ("substance", "methadone_oral_solution"),
        ("form", "oral_solution"),
        ("parts", "60"),
        ("effective_from", "2026-11-23"),
        ("reason", "Oppstart"),
    ];
    let (status, html, _) = app
        .submit(&session, &format!("/pasienter/{patient}/ordinasjon"), &fields)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(
        html.contains("Du har ikke tilgang til denne pasientens opplysninger."),
        "{html}"
    );
    assert!(app.order_history(&patient).await.is_empty());
}

/// The text of the confirmation notice on a page, if it has one.
fn notice_of(html: &str) -> Option<String> {
    let marker = "data-testid=\"notice\">";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find("</div>")? + start;
    Some(html[start..end].to_string())
}

#[tokio::test]
async fn a_saved_arrangement_and_a_saved_cover_are_confirmed_and_the_cover_is_on_the_overview() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(143).await;
    let session = app.session_of("lege").await;
    let overview_path = format!("/pasienter/{patient}");
    let (_, html) = app.page(&session, &overview_path).await;
    assert_eq!(notice_of(&html), None, "no notice without a change");
    assert!(!html.contains("Kommende dekninger"), "{html}");

    let centre = app.world.centre.to_string();
    let mut fields: Vec<(String, String)> = vec![("place_id".into(), centre)];
    fields.extend((0..7).map(|i| {
        let plan = if i == 6 { "take_home" } else { "attend" };
        (format!("day{i}"), plan.to_string())
    }));
    fields.extend(
        [
            ("valid_from", "2026-11-30"),
            ("review_on", "2027-02-28"),
            ("window_start", "08.00"),
            ("window_end", "09.30"),
            ("reason", "Stabil, søndag hjemme"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, html, location) = app
        .submit(&session, &format!("/pasienter/{patient}/ordning"), &fields)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let location = location.expect("back to the overview");
    assert_eq!(location, format!("{overview_path}?lagret=ordning"));
    let (_, html) = app.page(&session, &location).await;
    assert_eq!(
        notice_of(&html).as_deref(),
        Some("Utleveringsordningen er lagret som en ny versjon. Utleveringsstedet har fått melding.")
    );

    // Christmas Day: the centre is closed, the other centre is open.
    let other_centre = app.world.other_centre.to_string();
    let (status, html, location) = app
        .submit(
            &session,
            &format!("/pasienter/{patient}/dekning"),
            &[
                ("cover_date", "2026-12-25"),
                ("take_home_from", ""),
                ("place_id", &other_centre),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let location = location.expect("back to the overview");
    assert_eq!(location, format!("{overview_path}?lagret=dekning"));
    let (_, html) = app.page(&session, &location).await;
    assert_eq!(
        notice_of(&html).as_deref(),
        Some("Dekningen er lagret og står under «Kommende dekninger».")
    );
    let covers = html
        .split("data-testid=\"covers\"")
        .nth(1)
        .expect("the upcoming covers on the overview");
    let covers = &covers[..covers.find("</section>").expect("end of the section")];
    assert!(covers.contains("Kommende dekninger"), "{covers}");
    assert!(
        covers.contains("fredag 25.12.2026") && covers.contains("hentes ved LAR-senteret Øst"),
        "{covers}"
    );

    // A cover in the past is no longer upcoming.
    app.set_oslo_time(date(2026, 12, 26), Time::constant(9, 0, 0, 0));
    let session = app.session_of("lege").await;
    let (_, html) = app.page(&session, &overview_path).await;
    assert!(!html.contains("Kommende dekninger"), "{html}");
}

#[tokio::test]
async fn a_draft_is_discarded_from_its_page_and_shown_as_discarded_in_the_history() {
    let app = spawn_app().await;
    let patient = app.patient_on_daily_methadone(144).await;
    let draft = app
        .draft(
            &patient,
            "methadone_oral_solution",
            "oral_solution",
            &["65"],
            start_day(),
        )
        .await;
    let id = draft["id"].as_str().expect("id");
    let session = app.session_of("lege").await;
    let order_path = format!("/ordinasjoner/{id}");
    let (_, html) = app.page(&session, &order_path).await;
    assert!(html.contains("Forkast utkastet"), "{html}");
    assert!(html.contains("Signer ordinasjonen"), "{html}");

    let (status, html, location) = app
        .submit(
            &session,
            &format!("{order_path}/forkast"),
            &[("discard_reason", "Skrevet på feil pasient")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let location = location.expect("back to the overview");
    assert_eq!(location, format!("/pasienter/{patient}?lagret=forkastet"));
    let (_, html) = app.page(&session, &location).await;
    assert_eq!(
        notice_of(&html).as_deref(),
        Some("Utkastet er forkastet. Det står som «Forkastet» i historikken og kan ikke signeres.")
    );
    assert!(
        html.contains("data-testid=\"discarded\">Forkastet</span>"),
        "{html}"
    );
    assert!(html.contains("Begrunnelse: Skrevet på feil pasient"), "{html}");
    assert!(
        !html.contains("Se og signer"),
        "the draft is no longer offered: {html}"
    );

    // The order's own page no longer offers signing, and signing is refused.
    let (_, html) = app.page(&session, &order_path).await;
    assert!(html.contains("Forkastet"), "{html}");
    assert!(!html.contains("Signer ordinasjonen"), "{html}");
    let (status, html, _) = app.submit(&session, &format!("{order_path}/signer"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(
        html.contains("Utkastet er forkastet og kan ikke signeres."),
        "{html}"
    );
    assert_eq!(
        app.overview(&patient).await["effective_order"]["version"],
        json!(1)
    );
}
