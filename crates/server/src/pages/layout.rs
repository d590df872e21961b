//! The page frame: head, navigation by role, the stylesheet and the one small script
//! (Norwegian messages for the browser's own form validation). Built for a tablet at
//! the dispensing window: large targets, high contrast, nothing needs the script.

use maud::{DOCTYPE, Markup, html};
use samhand_domain::access;
use samhand_domain::organisation::StaffUser;

use crate::auth::UiStaff;

pub const STYLESHEET: &str = include_str!("style.css");

/// The print stylesheet of printouts such as the individual plan (A4).
pub const PRINT_STYLESHEET: &str = include_str!("print.css");

/// Sets Norwegian messages on the browser's own validation (`required`, types,
/// patterns, ranges); served as a file, since the CSP allows no inline script.
pub const VALIDATION_SCRIPT: &str = include_str!("validation.js");

/// The icon browsers show in the tab (and ask for as /favicon.ico).
pub const FAVICON: &str = include_str!("favicon.svg");

/// The script tag every page carries.
pub fn validation_script() -> Markup {
    html! { script src="/static/skjema.js" defer {} }
}

fn head(title: &str, forward_to: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(path) = forward_to {
                meta http-equiv="refresh" content={ "0; url=" (path) };
            }
            title { (title) " – Samhand" }
            link rel="stylesheet" href="/static/style.css";
            link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            (validation_script())
        }
    }
}

/// A page without navigation (login, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    bare_page(title, None, body)
}

/// A page without navigation that the browser leaves at once for `path` (a same-site
/// path), as its own navigation: unlike a redirect, that one carries Strict cookies
/// even when this page was reached from another site.
pub fn bare_forwarding(title: &str, path: &str, body: Markup) -> Markup {
    bare_page(title, Some(path), body)
}

fn bare_page(title: &str, forward_to: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nb" {
            (head(title, forward_to))
            body { (body) }
        }
    }
}

/// The roles to choose between, for a user who holds more than one.
fn role_switch(staff: &UiStaff) -> Markup {
    html! {
        @if staff.roles.len() > 1 {
            form.role-switch method="post" action="/rolle" {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="acting-role" { "Arbeider som" }
                select #acting-role name="role" {
                    @for (i, choice) in staff.roles.iter().enumerate() {
                        option value=(if i == 0 { "home".to_string() } else { format!("{}:{}", choice.organisation_id, choice.role.code()) }) selected[choice.current] {
                            (choice.role.label_nb()) ", " (choice.organisation_name)
                        }
                    }
                }
                button.link type="submit" { "Bytt" }
            }
        }
    }
}

fn nav(user: &StaffUser, csrf: &str) -> Markup {
    // The daily work stays in the bar; the rest is under «Mer», so the header fits
    // one line on a tablet (1024 px) whatever the role.
    let mut more: Vec<(&str, &str)> = Vec::new();
    if access::works_with_patients(user) {
        more.push(("/revurderinger", "Revurderinger"));
    }
    if access::may_lead(user) {
        more.push(("/akuttilganger", "Kontroll av akuttilganger"));
    }
    if access::may_see_indicators(user) {
        more.push(("/indikatorer", "Indikatorer"));
    }
    if access::may_report_status(user) {
        more.push(("/statusrapport", "Årlig statusrapport"));
    }
    if access::may_see_pharmacy_count(user) {
        more.push(("/apotektelling", "Apotekets telling"));
    }
    if access::may_use_emergency_access(user) {
        more.push(("/akuttilgang", "Akuttilgang til journal"));
    }
    if samhand_domain::referral::may_refer(user) {
        more.push(("/henvisninger", "Henvisninger til LAR"));
    }
    html! {
        header.top {
            nav.main aria-label="Hovedmeny" {
                a.brand href="/" { "Samhand" }
                @if access::works_at_window(user) {
                    a href="/utlevering" { "Dagens liste" }
                }
                @if access::may_keep_stock(user) {
                    a href="/lager" { "Lager" }
                }
                @if access::admits_patients(user) {
                    a href="/innlagte" { "Innlagte" }
                }
                @if access::works_with_patients(user) {
                    a href="/pasienter" { "Pasienter" }
                    a href="/innboks" { "Innboks" }
                }
                @if access::may_take_tasks(user) {
                    a href="/oppgaver" { "Oppgaver" }
                }
                @if access::may_coordinate(user) {
                    a href="/koordinator" { "Koordinator" }
                }
                @if access::may_lead(user) {
                    a href="/leder" { "Leders oversikt" }
                }
                @if access::may_administer(user) {
                    a href="/admin" { "Administrasjon" }
                }
                @if !more.is_empty() {
                    details.more {
                        summary { "Mer" }
                        ul {
                            @for (href, label) in &more {
                                li { a href=(href) { (label) } }
                            }
                        }
                    }
                }
            }
            form.logout method="post" action="/logout" {
                span.who title=(user.display_name) { (user.display_name) }
                input type="hidden" name="csrf" value=(csrf);
                button.link type="submit" { "Logg ut" }
            }
        }
    }
}

/// A page for a logged-in staff member.
pub fn page(title: &str, staff: &UiStaff, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nb" {
            (head(title, None))
            body {
                (nav(&staff.user, &staff.csrf))
                (role_switch(staff))
                @if let Some((connected, text)) = &staff.edge_banner {
                    div.edge-link.connected[*connected] role="status" data-testid="edge-link" { (text) }
                }
                main { (body) }
            }
        }
    }
}

/// The page for an address that does not exist: in the staff frame when someone is
/// logged in, otherwise a plain page with the way back.
pub fn not_found(staff: Option<&UiStaff>, home: &str) -> Markup {
    let body = html! {
        h1 { "Fant ikke siden" }
        p { "Adressen finnes ikke i Samhand. Den kan være skrevet feil, eller siden kan være flyttet." }
        p { a href=(home) { "Til forsiden" } }
    };
    match staff {
        Some(staff) => page("Fant ikke siden", staff, body),
        None => bare("Fant ikke siden", html! { main.narrow { (body) } }),
    }
}

/// A confirmation notice, read out by screen readers when the page opens.
pub fn notice(text: &str) -> Markup {
    html! { div.notice role="status" data-testid="notice" { (text) } }
}
