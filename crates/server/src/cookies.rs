//! The cookies Samhand sets, built and read with the `cookie` crate. Every cookie is
//! HttpOnly. When cookies are Secure (`SAMHAND_COOKIE_SECURE`, the default) the
//! site-wide ones carry the `__Host-` prefix, so the browser accepts them only over
//! HTTPS, for this host, for every path: no subdomain and no plain-HTTP page can
//! set or shadow a session. The OpenID flow cookies are scoped to their paths, which
//! `__Host-` forbids; they carry `__Secure-`.

use axum::http::{HeaderMap, header};
use cookie::time::Duration;
use cookie::{Cookie, SameSite};

use crate::AppState;
use crate::oidc::LoginKind;

/// A staff member's login session.
pub const STAFF_SESSION: &str = "samhand_session";
/// A patient's portal session.
pub const PORTAL_SESSION: &str = "samhand_portal";
/// The CSRF token of a login form, before there is a session to hold it.
pub const LOGIN_CSRF: &str = "samhand_login_csrf";

/// The name a site-wide cookie is sent under.
pub fn host_name(secure: bool, base: &str) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The name a path-scoped cookie is sent under.
fn secure_name(secure: bool, base: &str) -> String {
    if secure {
        format!("__Secure-{base}")
    } else {
        base.to_string()
    }
}

/// The value of the cookie `name` in the request, if it came.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The value of the site-wide cookie `base` (under its name as sent).
pub fn get(state: &AppState, headers: &HeaderMap, base: &str) -> Option<String> {
    read(headers, &host_name(state.config.cookie_secure, base))
}

fn build(
    name: String,
    value: &str,
    path: &str,
    same_site: SameSite,
    max_age_seconds: i64,
    secure: bool,
) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(same_site)
        .max_age(Duration::seconds(max_age_seconds))
        .secure(secure)
        .build()
        .to_string()
}

/// A `Set-Cookie` value for the site-wide, SameSite=Strict cookie `base`; an empty
/// value with `max_age_seconds` 0 removes it.
pub fn set(state: &AppState, base: &str, value: &str, max_age_seconds: i64) -> String {
    let secure = state.config.cookie_secure;
    build(
        host_name(secure, base),
        value,
        "/",
        SameSite::Strict,
        max_age_seconds,
        secure,
    )
}

/// A `Set-Cookie` value that removes the site-wide cookie `base`.
pub fn clear(state: &AppState, base: &str) -> String {
    set(state, base, "", 0)
}

/// The OpenID flow cookie (an empty value with `max_age_seconds` 0 removes it). Lax,
/// not Strict: the provider's redirect back to the callback is a cross-site
/// navigation, and a Strict cookie would not come with it.
pub fn oidc_flow(state: &AppState, kind: LoginKind, value: &str, max_age_seconds: i64) -> String {
    let secure = state.config.cookie_secure;
    build(
        secure_name(secure, kind.flow_cookie_name()),
        value,
        kind.flow_cookie_path(),
        SameSite::Lax,
        max_age_seconds,
        secure,
    )
}

/// The OpenID flow cookie's value in the callback's request.
pub fn oidc_flow_value(state: &AppState, headers: &HeaderMap, kind: LoginKind) -> Option<String> {
    read(
        headers,
        &secure_name(state.config.cookie_secure, kind.flow_cookie_name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secure_session_cookie_is_a_host_cookie() {
        let header = build(
            host_name(true, STAFF_SESSION),
            "abc",
            "/",
            SameSite::Strict,
            60,
            true,
        );
        let parsed = Cookie::parse(header).expect("a valid Set-Cookie");
        assert_eq!(parsed.name(), "__Host-samhand_session");
        assert_eq!(parsed.value(), "abc");
        assert_eq!(parsed.secure(), Some(true));
        assert_eq!(parsed.http_only(), Some(true));
        assert_eq!(parsed.path(), Some("/"));
        assert_eq!(parsed.domain(), None);
        assert_eq!(parsed.same_site(), Some(SameSite::Strict));
        assert_eq!(parsed.max_age(), Some(Duration::seconds(60)));
    }

    #[test]
    fn without_https_the_cookie_keeps_its_plain_name_and_is_not_secure() {
        let header = build(
            host_name(false, STAFF_SESSION),
            "abc",
            "/",
            SameSite::Strict,
            60,
            false,
        );
        let parsed = Cookie::parse(header).expect("a valid Set-Cookie");
        assert_eq!(parsed.name(), "samhand_session");
        assert_ne!(parsed.secure(), Some(true));
    }

    #[test]
    fn a_path_scoped_cookie_cannot_be_a_host_cookie_and_is_secure_prefixed() {
        assert_eq!(secure_name(true, "samhand_oidc"), "__Secure-samhand_oidc");
        assert_eq!(secure_name(false, "samhand_oidc"), "samhand_oidc");
    }

    #[test]
    fn the_named_cookie_is_found_among_several_and_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "a=1; __Host-samhand_session=tok".parse().expect("header"),
        );
        headers.append(header::COOKIE, "samhand_login_csrf=x".parse().expect("header"));
        assert_eq!(read(&headers, "__Host-samhand_session").as_deref(), Some("tok"));
        assert_eq!(read(&headers, "samhand_login_csrf").as_deref(), Some("x"));
        // The plain name does not match the prefixed cookie.
        assert_eq!(read(&headers, "samhand_session"), None);
    }
}
