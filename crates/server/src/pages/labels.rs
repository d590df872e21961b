//! The Norwegian words pages share: names of dose forms, phases, end reasons and
//! intake modes, the week plan as text, an alert in a sentence, an instant as
//! «dd.mm.yyyy tt.mm», yes/no choices, and the identity photo. A domain type that
//! has its own `label_nb()` is named by that, not here.

use maud::{Markup, html};
use samhand_domain::access::DataCategory;
use samhand_domain::arrangement::{DayPlan, WeekPlan};
use samhand_domain::format::{WEEKDAYS_NB, count_nb, date_nb, time_nb};
use samhand_domain::patient::{EndReason, Patient, Phase};
use samhand_domain::schedule::IntakeMode;
use samhand_domain::substance::{Form as DoseForm, Substance};
use samhand_domain::time::oslo_datetime;

use crate::service::AlertKind;

/// The substances as choices for a select: code and name.
/// The dispensing places as the options of a select: (id, name).
pub async fn place_options(
    service: &crate::service::Service<'_>,
) -> crate::error::AppResult<Vec<(String, String)>> {
    Ok(service
        .dispensing_places()
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect())
}

pub fn substance_options() -> Vec<(String, String)> {
    Substance::ALL
        .iter()
        .map(|s| (s.code().to_string(), s.name().to_string()))
        .collect()
}

pub fn form_name(form: DoseForm) -> &'static str {
    match form {
        DoseForm::OralSolution => "Mikstur",
        DoseForm::SublingualTablet => "Sublingvaltablett",
        DoseForm::SublingualFilm => "Sublingvalfilm",
        DoseForm::Injection => "Injeksjon",
        DoseForm::ExtendedReleaseCapsule => "Depotkapsel",
        DoseForm::ExtendedReleaseTablet => "Depottablett",
    }
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Referral => "Henvisning",
        Phase::Planning => "Planlegging",
        Phase::Start => "Oppstart",
        Phase::Stabilisation => "Stabilisering",
        Phase::Continuation => "Videreføring",
        Phase::Ending => "Avslutning",
    }
}

pub fn end_reason_name(reason: EndReason) -> &'static str {
    match reason {
        EndReason::CompletedTaper => "Fullført nedtrapping",
        EndReason::VoluntaryDischarge => "Frivillig avslutning",
        EndReason::InvoluntaryDischarge => "Ufrivillig avslutning",
        EndReason::TransferredToOtherUnit => "Overført til annen enhet",
        EndReason::Death => "Død",
        EndReason::Other => "Annet",
    }
}

pub fn mode_name(mode: IntakeMode) -> &'static str {
    match mode {
        IntakeMode::Supervised => "Inntak under tilsyn",
        IntakeMode::TakeHome => "Ta-med-dose",
        IntakeMode::Injection => "Depotinjeksjon",
    }
}

/// The categories as one line: «Legemidler, Utlevering».
pub fn categories_text(categories: &[DataCategory]) -> String {
    categories
        .iter()
        .map(|c| c.label_nb())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An instant in Oslo time: «dd.mm.yyyy tt.mm».
pub fn instant_nb(at: jiff::Timestamp) -> String {
    let local = oslo_datetime(at);
    format!("{} {}", date_nb(local.date()), time_nb(local.time()))
}

/// A yes or no in a sentence or a table cell: «ja», «nei».
pub fn yes_no(value: bool) -> &'static str {
    if value { "ja" } else { "nei" }
}

/// «Ja» and «Nei» as choices for a select, with the values `ja` and `nei`.
pub fn yes_no_options() -> Vec<(String, String)> {
    vec![("ja".into(), "Ja".into()), ("nei".into(), "Nei".into())]
}

/// An alert about a patient in one sentence, with its badge.
pub fn alert_text(kind: &AlertKind) -> Markup {
    html! {
        @match kind {
            AlertKind::Blocked { days, .. } => {
                span.blocked { "Må revurderes av lege" } " " (count_nb(*days, "dag", "dager")) " på rad uten dose."
            }
            AlertKind::Missed { days, since } => {
                span.badge.warn { "Uteblitt" } " " (count_nb(*days, "dag", "dager")) " på rad"
                @if let Some(since) = since { " fra " (date_nb(*since)) }
                "."
            }
            AlertKind::Assessed { outcome, reason, .. } => {
                span.badge.bad { (outcome.label_nb(IntakeMode::Supervised)) } " i dag: " (reason)
            }
        }
    }
}

/// The week plan as seven badges: «man oppmøte», «tir ta med», …
pub fn week_text(week: &WeekPlan) -> Markup {
    html! {
        @for (i, day) in week.days().iter().enumerate() {
            span.badge.ok[*day == DayPlan::Attend] title=(WEEKDAYS_NB[i]) {
                (&WEEKDAYS_NB[i][..3]) " " @if *day == DayPlan::Attend { "oppmøte" } @else { "ta med" }
            }
            " "
        }
    }
}

/// The identity photo for checking who is at the window, or a placeholder.
pub fn photo_tag(patient: &Patient) -> Markup {
    html! {
        @if patient.has_photo {
            img.photo src={ "/pasienter/" (patient.id) "/foto" } alt={ "Bilde av " (patient.full_name()) } width="96" height="120";
        } @else {
            div.photo-placeholder role="img" aria-label="Mangler bilde" {}
        }
    }
}
