//! The drug tests section of the patient overview: read-only, as the laboratories
//! reported them through the FHIR API; a corrected result shows its latest version,
//! marked as corrected with the laboratory's reason.

use maud::{Markup, html};
use samhand_domain::drug_test::DrugTest;
use samhand_domain::format::date_nb;

pub fn section(tests: &[DrugTest], regime: Option<&crate::service::RegimeView>) -> Markup {
    html! {
        section.card aria-labelledby="drug-tests" data-testid="drug-tests" {
            h2 #drug-tests { "Rusmiddeltester" }
            @if let Some(regime) = regime { (crate::pages::drug_test_regime::summary(regime)) h3 { "Prøvesvar" } }
            @if tests.is_empty() {
                p { "Ingen prøvesvar er mottatt." }
            } @else {
                table {
                    thead { tr { th { "Prøvedato" } th { "Laboratorium" } th { "Prøvetaking" } th { "Resultat" } } }
                    tbody {
                        @for test in tests {
                            tr {
                                td {
                                    (date_nb(test.sample_date))
                                    @if test.version > 1 {
                                        br; span.badge { "Korrigert" } " " small { (test.reason) }
                                    }
                                }
                                td { (test.lab) }
                                td { @if test.supervised { "Overvåket" } @else { "Ikke overvåket" } }
                                td {
                                    @for result in &test.results {
                                        @if result.positive {
                                            span.badge.bad { (result.name) ": positiv" } " "
                                        } @else {
                                            span.badge { (result.name) ": negativ" } " "
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { "Prøvesvar mottas fra laboratoriet gjennom FHIR-grensesnittet og kan ikke endres her." }
        }
    }
}
