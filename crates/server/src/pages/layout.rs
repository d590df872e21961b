//! The page frame: head, navigation by role, and the stylesheet. Built for a tablet
//! at the dispensing window: large targets, high contrast, no scripts needed.

use maud::{DOCTYPE, Markup, html};
use samhand_domain::organisation::{Role, StaffUser};

use crate::auth::UiStaff;

pub const STYLESHEET: &str = include_str!("style.css");

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

fn nav(user: &StaffUser, csrf: &str) -> Markup {
    let dispenses = matches!(
        user.role,
        Role::DispensingStaff | Role::Leader | Role::Coordinator
    ) && user.organisation_kind.can_dispense();
    html! {
        header.top {
            nav aria-label="Hovedmeny" {
                a.brand href="/" { "Samhand" }
                @if dispenses {
                    a href="/utlevering" { "Dagens liste" }
                }
                @if matches!(user.role, Role::DispensingStaff | Role::Leader) && user.organisation_kind.can_dispense() {
                    a href="/lager" { "Lager" }
                }
                @if user.organisation_kind.is_institution() {
                    a href="/innlagte" { "Innlagte" }
                }
                a href="/pasienter" { "Pasienter" }
                a href="/innboks" { "Innboks" }
                a href="/revurderinger" { "Revurderinger" }
                @if user.role != Role::Administrator {
                    a href="/oppgaver" { "Mine oppgaver" }
                }
                @if user.role == Role::Coordinator {
                    a href="/koordinator" { "Koordinator" }
                }
                @if user.role == Role::Leader {
                    a href="/leder" { "Leders oversikt" }
                    a href="/akuttilganger" { "Akuttilganger" }
                }
                @if samhand_domain::access::may_use_emergency_access(user) {
                    a href="/akuttilgang" { "Akuttilgang" }
                }
            }
            form.logout method="post" action="/logout" {
                span.who { (user.display_name) }
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
                main { (body) }
            }
        }
    }
}
