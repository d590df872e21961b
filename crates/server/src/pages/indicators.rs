//! The unit's indicators for the leader (/indikatorer): per dispensing place and for
//! the unit over months, as charts drawn on the server (`pages::chart`), each with
//! its text summary and a table beside it, printable on A4, and the CSV to download.
//! All of it is made from the one `Indicators` value the service returns (H75, H81).

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{Markup, PreEscaped, html};
use samhand_domain::indicators::{self, CountKind, Indicators, MonthIndicators, Series, Share};
use serde::Deserialize;

use super::chart::{Line, LineChart, line_chart};
use super::layout::page;
use crate::AppState;
use crate::auth::UiStaff;
use crate::pages::PageResult;
use crate::service::Service;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub fra: String,
    #[serde(default)]
    pub til: String,
    #[serde(default)]
    pub sted: String,
}

impl Params {
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [("fra", &self.fra), ("til", &self.til), ("sted", &self.sted)] {
            if !value.trim().is_empty() {
                parts.push(format!("{key}={}", value.trim()));
            }
        }
        parts.join("&")
    }
}

/// The events the page charts, in the order of the table.
const EVENT_KINDS: [CountKind; 6] = [
    CountKind::WithheldDoses,
    CountKind::MissedDoses,
    CountKind::Blocks,
    CountKind::Overdoses,
    CountKind::Deaths,
    CountKind::Deviations,
];

/// The follow-up the page charts, each done beside what was due.
const FOLLOW_UP_KINDS: [CountKind; 4] = [
    CountKind::Discharges,
    CountKind::DischargeBundles,
    CountKind::DrugTestSamplesExpected,
    CountKind::DrugTestSamples,
];

fn series_name(series: &Series) -> String {
    series
        .place
        .as_ref()
        .map_or("Enheten".to_string(), |p| p.name.clone())
}

fn percent_value(share: Share) -> Option<f64> {
    share.percent().map(|p| (p * 10.0).round() / 10.0)
}

fn share_cell(share: Share) -> String {
    match share.percent() {
        Some(p) => format!("{} % ({} av {})", p.round(), share.part, share.whole),
        None => "–".into(),
    }
}

fn labels(found: &Indicators) -> Vec<String> {
    found.months.iter().map(|m| m.label()).collect()
}

/// Patients in treatment per place, with each place's capacity dashed.
fn load_chart(found: &Indicators) -> Markup {
    let months = labels(found);
    let mut lines = vec![Line {
        label: "Enheten".into(),
        values: found
            .unit
            .months
            .iter()
            .map(|m| Some(m.in_treatment as f64))
            .collect(),
        dashed: false,
    }];
    for series in &found.places {
        let name = series_name(series);
        lines.push(Line {
            label: name.clone(),
            values: series
                .months
                .iter()
                .map(|m| Some(m.in_treatment as f64))
                .collect(),
            dashed: false,
        });
        if let Some(capacity) = series.place.as_ref().and_then(|p| p.capacity) {
            lines.push(Line {
                label: format!("Kapasitet {name}"),
                values: vec![Some(f64::from(capacity)); months.len()],
                dashed: true,
            });
        }
    }
    let summary = std::iter::once(&found.unit)
        .chain(&found.places)
        .map(indicators::summary_nb)
        .collect::<Vec<_>>()
        .join(" ");
    let svg = line_chart(&LineChart {
        summary: &summary,
        x_labels: &months,
        y_label: "Pasienter",
        lines,
        y_max: None,
        ..LineChart::default()
    });
    figure(
        "load",
        "Pasienter i behandling, per sted mot kapasitet",
        &summary,
        &svg,
    )
}

fn shares_chart(found: &Indicators) -> Markup {
    let months = labels(found);
    let unit = &found.unit.months;
    let line = |label: &str, f: fn(&MonthIndicators) -> Share| Line {
        label: label.into(),
        values: unit.iter().map(|m| percent_value(f(m))).collect(),
        dashed: false,
    };
    let lines = vec![
        line("Tolv måneders retensjon", |m| m.retention),
        line("Ta-med-andel", |m| m.take_home),
        line("Møte innen seks uker", |m| m.meeting_in_time),
        line("Individuell plan i bruk", |m| m.plans_in_use),
    ];
    let summary = match unit.last() {
        Some(last) => format!(
            "Enheten, andeler i {}: tolv måneders retensjon {}, ta-med-andel {}, møte i ansvarsgruppen innen seks uker {}, individuell plan i bruk {}.",
            last.month.map(|m| m.label()).unwrap_or_default(),
            share_cell(last.retention),
            share_cell(last.take_home),
            share_cell(last.meeting_in_time),
            share_cell(last.plans_in_use),
        ),
        None => "Ingen måneder å vise.".into(),
    };
    let svg = line_chart(&LineChart {
        summary: &summary,
        x_labels: &months,
        y_label: "Prosent",
        lines,
        y_max: Some(100.0),
        ..LineChart::default()
    });
    figure("shares", "Andeler for enheten (prosent)", &summary, &svg)
}

fn events_chart(found: &Indicators) -> Markup {
    let months = labels(found);
    let unit = &found.unit.months;
    let lines = EVENT_KINDS
        .iter()
        .map(|kind| Line {
            label: kind.label_nb().into(),
            values: unit.iter().map(|m| Some(m.count(*kind) as f64)).collect(),
            dashed: false,
        })
        .collect();
    let summary = match unit.last() {
        Some(last) => format!(
            "Enheten i {}: {}.",
            last.month.map(|m| m.label()).unwrap_or_default(),
            EVENT_KINDS
                .iter()
                .map(|k| format!("{} {}", k.label_nb().to_lowercase(), last.count(*k)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "Ingen måneder å vise.".into(),
    };
    let svg = line_chart(&LineChart {
        summary: &summary,
        x_labels: &months,
        y_label: "Antall",
        lines,
        y_max: None,
        ..LineChart::default()
    });
    figure("events", "Hendelser for enheten per måned", &summary, &svg)
}

/// Discharges beside those with the bundle completed, and samples expected beside
/// those delivered: the unit's figures.
fn follow_up_chart(found: &Indicators) -> Markup {
    let months = labels(found);
    let unit = &found.unit.months;
    let lines = FOLLOW_UP_KINDS
        .iter()
        .map(|kind| Line {
            label: kind.label_nb().into(),
            values: unit.iter().map(|m| Some(m.count(*kind) as f64)).collect(),
            dashed: matches!(kind, CountKind::Discharges | CountKind::DrugTestSamplesExpected),
        })
        .collect();
    let summary = match unit.last() {
        Some(last) => follow_up_summary(last),
        None => "Ingen måneder å vise.".into(),
    };
    let svg = line_chart(&LineChart {
        summary: &summary,
        x_labels: &months,
        y_label: "Antall",
        lines,
        y_max: None,
        ..LineChart::default()
    });
    figure(
        "follow-up",
        "Tiltakspakke ved utskrivning og urinprøver mot forventet",
        &summary,
        &svg,
    )
}

/// The follow-up of one month in words: bundles completed of the discharges, and
/// samples delivered of those expected.
fn follow_up_summary(month: &MonthIndicators) -> String {
    let bundles = Share {
        part: month.count(CountKind::DischargeBundles),
        whole: month.count(CountKind::Discharges),
    };
    let samples = Share {
        part: month.count(CountKind::DrugTestSamples),
        whole: month.count(CountKind::DrugTestSamplesExpected),
    };
    format!(
        "Enheten i {}: tiltakspakken fullført ved {} av {} utskrivninger, {} urinprøver levert av {} forventet.",
        month.month.map(|m| m.label()).unwrap_or_default(),
        bundles.part,
        bundles.whole,
        samples.part,
        samples.whole,
    )
}

fn figure(id: &str, title: &str, summary: &str, svg: &str) -> Markup {
    html! {
        figure.chart data-testid={ "chart-" (id) } {
            figcaption { h2 { (title) } }
            (PreEscaped(svg))
            p.summary { (summary) }
        }
    }
}

/// Every indicator of one series, a column per month.
fn series_table(found: &Indicators, series: &Series) -> Markup {
    let name = series_name(series);
    let per_place = series.place.is_some();
    html! {
        section.indicator-table data-testid="indicator-table" {
            h2 { (name) }
            div.scroll tabindex="0" role="region" aria-label={ "Tabell: " (name) } {
                table {
                    caption { "Indikatorer for " (name) " per måned" }
                    thead { tr { th scope="col" { "Indikator" } @for m in &found.months { th scope="col" { (m.label()) } } } }
                    tbody {
                        tr { th scope="row" { "Pasienter i behandling" } @for m in &series.months { td { (m.in_treatment) @if let Some(c) = m.capacity { " av " (c) } } } }
                        tr { th scope="row" { "Tolv måneders retensjon" } @for m in &series.months { td { (share_cell(m.retention)) } } }
                        tr { th scope="row" { "Ta-med-andel" } @for m in &series.months { td { (share_cell(m.take_home)) } } }
                        tr { th scope="row" { "Møte i ansvarsgruppen innen seks uker" } @for m in &series.months { td { (share_cell(m.meeting_in_time)) } } }
                        tr { th scope="row" { "Individuell plan i bruk" } @for m in &series.months { td { (share_cell(m.plans_in_use)) } } }
                        @for kind in EVENT_KINDS.iter().chain(&FOLLOW_UP_KINDS).copied() {
                            @if !per_place || kind.per_place() {
                                tr { th scope="row" { (kind.label_nb()) } @for m in &series.months { td { (m.count(kind)) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn show(State(state): State<AppState>, staff: UiStaff, Query(params): Query<Params>) -> PageResult {
    let service = Service::new(&state, &staff.user);
    let found = service.indicators(&params.fra, &params.til, &params.sted).await?;
    // The waiting time from referral to assessment and start (issue 18), for the
    // same months, as on the waiting list.
    let waiting = match (found.months.first(), found.months.last()) {
        (Some(first), Some(last)) => {
            let to = last.last_day().min(state.clock.today());
            match service.referral_indicators(first.first_day(), to).await {
                Ok(rows) => Some(rows),
                Err(crate::error::AppError::Forbidden(_)) => None,
                Err(other) => return Err(other.into()),
            }
        }
        _ => None,
    };
    let first = found.months.first().map(|m| m.label()).unwrap_or_default();
    let last = found.months.last().map(|m| m.label()).unwrap_or_default();
    let query = params.query();
    let csv = if query.is_empty() {
        "/indikatorer.csv".to_string()
    } else {
        format!("/indikatorer.csv?{query}")
    };
    let body = html! {
        h1 { "Indikatorer " (first) "–" (last) }
        form.row.no-print method="get" action="/indikatorer" {
            label for="fra" { "Fra måned" }
            input #fra type="month" name="fra" value=(first);
            label for="til" { "Til måned" }
            input #til type="month" name="til" value=(last);
            button type="submit" { "Vis" }
        }
        p {
            a href=(csv) download data-testid="csv" { "Last ned som CSV" }
            " (kolonnene er beskrevet i README). Tallene er samlet for enheten; ingen pasient er navngitt."
        }
        p.note {
            "Uteblitte doser er dager pasienten skulle hatt dose etter forordning og utleveringsavtale uten at noe "
            "ble registrert (ikke dager med ta-med-dose, opphold på institusjon eller tilbakeholdt dose). "
            "Tiltakspakken er fullført når alle punktene er gjort; et fravalgt punkt teller som ikke fullført. "
            "Forventede urinprøver følger prøveregimet: prøvene i hver periode som endte i måneden. "
            "Overdoser, dødsfall, sperringer og urinprøver telles for enheten, ikke per sted."
        }
        (load_chart(&found))
        (shares_chart(&found))
        (events_chart(&found))
        (follow_up_chart(&found))
        @if let Some(rows) = &waiting { (crate::pages::referrals::indicators_table(rows)) }
        @for series in std::iter::once(&found.unit).chain(&found.places) {
            (series_table(&found, series))
        }
    };
    Ok(page("Indikatorer", &staff, body).into_response())
}

pub async fn csv(State(state): State<AppState>, staff: UiStaff, Query(params): Query<Params>) -> PageResult {
    let found = Service::new(&state, &staff.user)
        .indicators(&params.fra, &params.til, &params.sted)
        .await?;
    Ok(crate::api::csv_response(
        indicators::csv(&found),
        &crate::api::indicators_file_name(&found),
    ))
}

/// The leader's overview: a few key figures of the unit, the last full month
/// against the month before, and the way to the indicators page.
pub fn leader_card(found: &Indicators) -> Markup {
    let months = &found.unit.months;
    html! {
        section.card data-testid="indicators" {
            h2 { "Nøkkeltall" }
            @if let [before, last] = months.as_slice() {
                table {
                    caption { "Enheten, siste hele måned mot måneden før" }
                    thead { tr {
                        th scope="col" { "Indikator" }
                        th scope="col" { (last.month.map(|m| m.label()).unwrap_or_default()) }
                        th scope="col" { (before.month.map(|m| m.label()).unwrap_or_default()) }
                    } }
                    tbody {
                        tr { th scope="row" { "Pasienter i behandling" } td { (last.in_treatment) } td { (before.in_treatment) } }
                        tr { th scope="row" { "Ta-med-andel" } td { (share_cell(last.take_home)) } td { (share_cell(before.take_home)) } }
                        @for kind in [CountKind::WithheldDoses, CountKind::MissedDoses, CountKind::Overdoses, CountKind::Deviations] {
                            tr { th scope="row" { (kind.label_nb()) } td { (last.count(kind)) } td { (before.count(kind)) } }
                        }
                    }
                }
            }
            p { a href="/indikatorer" { "Alle indikatorer med diagrammer" } }
        }
    }
}
