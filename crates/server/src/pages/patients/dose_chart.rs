//! The patient overview's dose history: the ordered daily dose over the last 90
//! days as a chart, with the drug-test results and the stays at institutions on the
//! same timeline, a text summary and a table of the same events. Drawn only from
//! what the overview already read under the access policy (the orders), the drug
//! tests the page was allowed, and the stays when the actor may see them.

use jiff::ToSpan;
use jiff::civil::Date;
use maud::{Markup, PreEscaped, html};
use samhand_domain::dose_order::dose_on;
use samhand_domain::drug_test::DrugTest;
use samhand_domain::format::date_nb;
use samhand_domain::stay::StayRecord;

use crate::pages::chart::{Line, LineChart, line_chart};
use crate::service::Overview;

/// How many days the chart shows, ending today.
pub const DAYS: i64 = 90;

fn mg(micrograms: u64) -> f64 {
    micrograms as f64 / 1000.0
}

fn mg_text(value: f64) -> String {
    let text = format!("{value:.1}");
    text.trim_end_matches(".0").replace('.', ",")
}

/// One event on the timeline, for the table.
struct Event {
    on: Date,
    what: String,
}

pub fn section(o: &Overview, tests: Option<&[DrugTest]>) -> Markup {
    let first = o.today.checked_sub((DAYS - 1).days()).unwrap_or(o.today);
    let days: Vec<Date> = first.series(1.day()).take_while(|d| *d <= o.today).collect();
    let doses: Vec<Option<f64>> = days
        .iter()
        .map(|day| dose_on(&o.data.orders, *day).map(|(_, dose)| mg(dose.total().micrograms())))
        .collect();
    let mut events = Vec::new();
    let mut previous: Option<Option<f64>> = None;
    for (day, dose) in days.iter().zip(&doses) {
        if previous != Some(*dose) {
            events.push(Event {
                on: *day,
                what: match dose {
                    Some(v) => format!("Døgndose {} mg", mg_text(*v)),
                    None => "Ingen forordnet dose".into(),
                },
            });
        }
        previous = Some(*dose);
    }
    let index = |day: Date| days.iter().position(|d| *d == day);
    let mut marks = Vec::new();
    let (mut positive, mut negative) = (0, 0);
    for test in tests.unwrap_or_default() {
        let Some(i) = index(test.sample_date) else {
            continue;
        };
        let found: Vec<&str> = test
            .results
            .iter()
            .filter(|r| r.positive)
            .map(|r| r.name.as_str())
            .collect();
        marks.push((i, !found.is_empty()));
        if found.is_empty() {
            negative += 1;
        } else {
            positive += 1;
        }
        events.push(Event {
            on: test.sample_date,
            what: if found.is_empty() {
                "Rusmiddeltest: negativ".into()
            } else {
                format!("Rusmiddeltest: positiv for {}", found.join(", "))
            },
        });
    }
    let stays: &[StayRecord] = if o.offers.plan { &o.data.privacy.stays } else { &[] };
    let mut bands = Vec::new();
    for record in stays {
        let inside: Vec<usize> = days
            .iter()
            .enumerate()
            .filter(|(_, d)| record.is_ongoing_on(**d))
            .map(|(i, _)| i)
            .collect();
        if let (Some(a), Some(b)) = (inside.first(), inside.last()) {
            bands.push((*a, *b));
            events.push(Event {
                on: days[*a],
                what: format!(
                    "Opphold: {} til {}",
                    record.stay.institution,
                    if *b + 1 == days.len() && record.is_ongoing_on(o.today) {
                        "i dag".to_string()
                    } else {
                        date_nb(days[*b])
                    }
                ),
            });
        }
    }
    events.sort_by_key(|e| e.on);
    let dosed: Vec<f64> = doses.iter().flatten().copied().collect();
    let summary = format!(
        "Døgndose de siste {DAYS} dagene: {}. {} rusmiddeltester ({} positive, {} negative){}.",
        match (dosed.first(), dosed.last()) {
            (Some(a), Some(b)) if a == b => format!("{} mg hele tiden med forordning", mg_text(*a)),
            (Some(a), Some(b)) => format!("fra {} mg til {} mg", mg_text(*a), mg_text(*b)),
            _ => "ingen forordnet dose".into(),
        },
        positive + negative,
        positive,
        negative,
        if o.offers.plan {
            format!(", {} opphold i institusjon", bands.len())
        } else {
            String::new()
        }
    );
    let labels: Vec<String> = days.iter().map(|d| d.strftime("%d.%m").to_string()).collect();
    let svg = line_chart(&LineChart {
        summary: &summary,
        x_labels: &labels,
        y_label: "mg per døgn",
        lines: vec![Line {
            label: "Forordnet døgndose".into(),
            values: doses,
            dashed: false,
        }],
        y_max: None,
        bands,
        bands_label: "Opphold i institusjon",
        marks,
        marks_labels: ("Positiv rusmiddeltest", "Negativ rusmiddeltest"),
    });
    html! {
        section.card aria-labelledby="dose-history" data-testid="dose-history" {
            h2 #dose-history { "Dosehistorikk" }
            figure.chart {
                (PreEscaped(svg))
                figcaption.summary { (summary) }
            }
            details {
                summary { "Vis som tabell" }
                table {
                    caption { "Endringer i dose, rusmiddeltester og opphold de siste " (DAYS) " dagene" }
                    thead { tr { th scope="col" { "Dato" } th scope="col" { "Hendelse" } } }
                    tbody {
                        @for event in &events {
                            tr { td { (date_nb(event.on)) } td { (event.what) } }
                        }
                    }
                }
            }
        }
    }
}
