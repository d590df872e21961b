//! Staff login, and the patients' portal login as through ID-porten, through a real
//! OpenID provider: the certified `oidc-provider` package (tests/oidc/provider.mjs,
//! run with node) on a free port, and the whole authorization code flow driven over
//! HTTP by a browser-like client that keeps cookies and posts the provider's login
//! and consent forms.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode, Url};

use crate::helpers::{TestApp, app_listener, national_id, spawn_app, spawn_app_on};
use samhand_store::native::FetchOn;

/// How long node may take to start the provider.
const PROVIDER_START: Duration = Duration::from_secs(30);

/// The provider's node process, killed when the test ends, however it ends. (It
/// also stops by itself when its standard input closes, should this process die
/// without dropping it.)
struct Provider {
    child: Child,
    issuer: String,
    client_id: String,
    client_secret: String,
    /// With --private-key-jwt: the client's private key as a JWK.
    client_jwk: Option<String>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc")
}

/// Installs tests/oidc's npm packages from its lock file when they are missing
/// (scripts/test does this first; this is for a plain `cargo test`). One install
/// for all the tests in this binary.
fn ensure_node_modules() {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = oidc_dir();
    if dir.join("node_modules/oidc-provider").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .arg("--prefix")
        .arg(&dir)
        .status()
        .expect("run npm (install Debian's nodejs and npm)");
    assert!(status.success(), "npm ci --prefix tests/oidc failed: {status}");
}

/// Starts the provider with Samhand's callback as its client's redirect URI, and
/// waits until its discovery document answers.
async fn start_provider(redirect_uri: String) -> Provider {
    start_provider_as(redirect_uri, false).await
}

/// As [`start_provider`]; with `idporten`, the provider acts as ID-porten does.
async fn start_provider_as(redirect_uri: String, idporten: bool) -> Provider {
    start_provider_with(redirect_uri, if idporten { &["--idporten"] } else { &[] }).await
}

/// As [`start_provider`], with the provider's options (`--idporten`,
/// `--private-key-jwt`).
async fn start_provider_with(redirect_uri: String, options: &[&str]) -> Provider {
    ensure_node_modules();
    let mut child = Command::new("node")
        .arg(oidc_dir().join("provider.mjs"))
        .arg(&redirect_uri)
        .args(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node (install Debian's nodejs)");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    // Its warnings go to our stderr when asked, and are drained either way so a
    // full pipe can never block it.
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        if std::env::var("TEST_LOG").is_ok() {
            eprintln!("{text}");
        }
    });
    let first_line = tokio::task::spawn_blocking(move || {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next().and_then(Result::ok).unwrap_or_default());
            // Drained to the end, for the same reason as stderr.
            for line in lines.map_while(Result::ok) {
                if std::env::var("TEST_LOG").is_ok() {
                    eprintln!("{line}");
                }
            }
        });
        receiver.recv_timeout(PROVIDER_START).unwrap_or_default()
    })
    .await
    .expect("read the provider's first line");
    let mut provider = Provider {
        child,
        issuer: String::new(),
        client_id: String::new(),
        client_secret: String::new(),
        client_jwk: None,
    };
    let started: serde_json::Value = serde_json::from_str(&first_line).unwrap_or_else(|_| {
        panic!(
            "the OpenID provider did not start (got {first_line:?}); run with TEST_LOG=1 to see node's output"
        )
    });
    let field = |name: &str| started[name].as_str().expect(name).to_string();
    provider.issuer = field("issuer");
    provider.client_id = field("client_id");
    provider.client_secret = field("client_secret");
    provider.client_jwk = started["client_jwk"]
        .is_object()
        .then(|| started["client_jwk"].to_string());
    let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
    let client = Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(&discovery).send().await
            && response.status() == StatusCode::OK
        {
            return provider;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the OpenID provider's discovery at {discovery} did not answer");
}

/// The app configured to log in through a fresh provider.
async fn app_with_provider() -> (TestApp, Provider) {
    app_with_provider_and(&[]).await
}

/// The app configured to log in through a fresh provider, and with `more`.
async fn app_with_provider_and(more: &[(&str, String)]) -> (TestApp, Provider) {
    let listener = app_listener().await;
    let redirect = format!("{}/login/oidc/callback", listener.base);
    let provider = start_provider(redirect.clone()).await;
    let mut config = vec![
        ("SAMHAND_OIDC_ISSUER", provider.issuer.clone()),
        ("SAMHAND_OIDC_CLIENT_ID", provider.client_id.clone()),
        ("SAMHAND_OIDC_CLIENT_SECRET", provider.client_secret.clone()),
        ("SAMHAND_OIDC_REDIRECT_URL", redirect),
    ];
    config.extend(more.iter().cloned());
    let app = spawn_app_on(listener, &config).await;
    (app, provider)
}

/// The app configured to log patients in to the portal through a fresh provider
/// acting as ID-porten (and with no staff OIDC login).
async fn app_with_id_porten() -> (TestApp, Provider) {
    let listener = app_listener().await;
    let redirect = format!("{}/portal/oidc/callback", listener.base);
    let provider = start_provider_as(redirect.clone(), true).await;
    let config = vec![
        ("SAMHAND_PORTAL_OIDC_ISSUER", provider.issuer.clone()),
        ("SAMHAND_PORTAL_OIDC_CLIENT_ID", provider.client_id.clone()),
        (
            "SAMHAND_PORTAL_OIDC_CLIENT_SECRET",
            provider.client_secret.clone(),
        ),
        ("SAMHAND_PORTAL_OIDC_REDIRECT_URL", redirect),
    ];
    let app = spawn_app_on(listener, &config).await;
    (app, provider)
}

/// A browser: keeps cookies (the app's and the provider's), and follows redirects
/// one at a time so a test can stop at any of them.
struct Browser {
    client: Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { client, jar }
    }

    async fn get(&self, url: &str) -> Response {
        self.client.get(url).send().await.expect("get")
    }

    /// Follows redirects while `keep_going` says so for the next URL.
    async fn follow_while(&self, mut response: Response, keep_going: impl Fn(&Url) -> bool) -> Response {
        for _ in 0..20 {
            let Some(next) = redirect_target(&response) else {
                return response;
            };
            if !keep_going(&next) {
                return response;
            }
            response = self.get(next.as_str()).await;
        }
        panic!("more than 20 redirects");
    }

    async fn follow(&self, response: Response) -> Response {
        self.follow_while(response, |_| true).await
    }

    /// Posts the page's (first) form with its hidden fields and `fields`.
    async fn submit_form(&self, page: Response, fields: &[(&str, &str)]) -> Response {
        let url = page.url().clone();
        let html = page.text().await.expect("html");
        let action = attribute(&html, "<form", "action").unwrap_or_else(|| panic!("a form on {url}: {html}"));
        let mut form = hidden_fields(&html);
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let target = url.join(&action).expect("form action");
        self.client
            .post(target)
            .form(&form)
            .send()
            .await
            .expect("post form")
    }

    /// The cookie `name` the browser would send to `url`, if it has one.
    fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&url.parse().expect("url"))?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn redirect_target(response: &Response) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get("location")?.to_str().ok()?;
    Some(response.url().join(location).expect("location"))
}

/// The value of `name` in the first tag that starts with `tag`.
fn attribute(html: &str, tag: &str, name: &str) -> Option<String> {
    let start = html.find(tag)?;
    let end = html[start..].find('>')? + start;
    let marker = format!("{name}=\"");
    let from = html[start..end].find(&marker)? + start + marker.len();
    let to = html[from..].find('"')? + from;
    Some(html[from..to].replace("&amp;", "&"))
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input type=\"hidden\"")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            Some((
                attribute(rest, "<input", "name")?,
                attribute(rest, "<input", "value")?,
            ))
        })
        .collect()
}

/// From Samhand's login page through the provider's login (as `login`) and consent
/// pages, up to the provider's redirect back to Samhand's callback, not followed.
async fn log_in_at_provider(app: &TestApp, provider: &Provider, browser: &Browser, login: &str) -> Url {
    let start = browser.get(&app.url("/login/oidc")).await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let to_provider = redirect_target(&start).expect("a redirect to the provider");
    assert!(
        to_provider
            .as_str()
            .starts_with(&format!("{}/auth?", provider.issuer)),
        "{to_provider}"
    );
    let query: Vec<(String, String)> = to_provider.query_pairs().into_owned().collect();
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", "samhand"),
        ("code_challenge_method", "S256"),
    ] {
        assert!(
            query.iter().any(|(k, v)| k == name && v == value),
            "{name}={value} in {to_provider}"
        );
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert!(query.iter().any(|(k, _)| k == name), "{name} in {to_provider}");
    }
    let flow_cookie = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("samhand_oidc="))
        .expect("the flow cookie")
        .to_string();
    assert!(
        flow_cookie.contains("HttpOnly") && flow_cookie.contains("SameSite=Lax"),
        "{flow_cookie}"
    );

    let is_provider = |url: &Url| url.as_str().starts_with(&provider.issuer);
    let login_page = browser.follow_while(start, is_provider).await;
    assert_eq!(login_page.status(), StatusCode::OK, "the provider's login page");
    let after_login = browser
        .submit_form(login_page, &[("login", login), ("password", "hva-som-helst")])
        .await;
    let consent_page = browser.follow_while(after_login, is_provider).await;
    assert_eq!(
        consent_page.status(),
        StatusCode::OK,
        "the provider's consent page"
    );
    let after_consent = browser.submit_form(consent_page, &[]).await;
    let back = browser.follow_while(after_consent, is_provider).await;
    let callback = redirect_target(&back).expect("the provider sends the browser back");
    assert!(
        callback.as_str().starts_with(&app.url("/login/oidc/callback?")),
        "{callback}"
    );
    callback
}

#[tokio::test]
async fn a_staff_user_logs_in_through_the_openid_provider_and_gets_the_same_session_as_with_a_password() {
    let (app, provider) = app_with_provider().await;
    let browser = Browser::new();
    let login_page = browser.get(&app.url("/login")).await.text().await.expect("html");
    assert!(
        login_page.contains("href=\"/login/oidc\"") && login_page.contains("Logg inn med HelseID"),
        "{login_page}"
    );

    let callback = log_in_at_provider(&app, &provider, &browser, "utdeler").await;
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let cookies: Vec<String> = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("samhand_session=") && !c.starts_with("samhand_session=;"))
        .unwrap_or_else(|| panic!("a session cookie in {cookies:?}"));
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"),
        "the same cookie as a password login sets: {session_cookie}"
    );
    let html = answer.text().await.expect("html");
    assert!(
        html.contains("http-equiv=\"refresh\" content=\"0; url=/\""),
        "{html}"
    );
    assert_eq!(
        browser.cookie(&app.url("/login/oidc/callback"), "samhand_oidc"),
        None,
        "the flow cookie is gone"
    );

    let front = browser.follow(browser.get(&app.url("/")).await).await;
    assert_eq!(front.status(), StatusCode::OK);
    assert_eq!(
        front.url().path(),
        "/utlevering",
        "dispensing staff start at today's list"
    );
    let html = front.text().await.expect("html");
    assert!(html.contains("Utdeler Ulla"), "{html}");
    assert!(html.contains("LAR-senteret Sentrum"), "{html}");
}

#[tokio::test]
async fn with_private_key_jwt_samhand_authenticates_with_its_own_key_as_helseid_requires() {
    let listener = app_listener().await;
    let redirect = format!("{}/login/oidc/callback", listener.base);
    let provider = start_provider_with(redirect.clone(), &["--private-key-jwt"]).await;
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("samhand-client.jwk");
    std::fs::write(
        &key_file,
        provider.client_jwk.as_deref().expect("the client's key"),
    )
    .expect("write");
    let config = vec![
        ("SAMHAND_OIDC_ISSUER", provider.issuer.clone()),
        ("SAMHAND_OIDC_CLIENT_ID", provider.client_id.clone()),
        ("SAMHAND_OIDC_CLIENT_JWK_FILE", key_file.display().to_string()),
        ("SAMHAND_OIDC_REDIRECT_URL", redirect),
    ];
    let app = spawn_app_on(listener, &config).await;
    let browser = Browser::new();
    let callback = log_in_at_provider(&app, &provider, &browser, "lege").await;
    // The provider only takes the code with an assertion signed by the registered key.
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "{}",
        answer.text().await.unwrap_or_default()
    );
    let front = browser.follow(browser.get(&app.url("/")).await).await;
    assert_eq!(front.url().path(), "/pasienter");
    assert!(front.text().await.expect("html").contains("Lege Lise"));
}

#[tokio::test]
async fn with_a_key_the_provider_does_not_know_the_login_is_refused_and_starts_no_session() {
    let listener = app_listener().await;
    let redirect = format!("{}/login/oidc/callback", listener.base);
    let provider = start_provider_with(redirect.clone(), &["--private-key-jwt"]).await;
    // Another provider's key: well formed, but not the one registered.
    let other = start_provider_with(redirect.clone(), &["--private-key-jwt"]).await;
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("wrong.jwk");
    std::fs::write(&key_file, other.client_jwk.as_deref().expect("a key")).expect("write");
    let config = vec![
        ("SAMHAND_OIDC_ISSUER", provider.issuer.clone()),
        ("SAMHAND_OIDC_CLIENT_ID", provider.client_id.clone()),
        ("SAMHAND_OIDC_CLIENT_JWK_FILE", key_file.display().to_string()),
        ("SAMHAND_OIDC_REDIRECT_URL", redirect),
    ];
    let app = spawn_app_on(listener, &config).await;
    let browser = Browser::new();
    let callback = log_in_at_provider(&app, &provider, &browser, "lege").await;
    let answer = browser.get(callback.as_str()).await;
    assert_ne!(answer.status(), StatusCode::OK);
    let cookies: Vec<String> = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("samhand_session=") && !c.starts_with("samhand_session=;")),
        "no session: {cookies:?}"
    );
    assert!(
        answer
            .text()
            .await
            .expect("html")
            .contains("godtok ikke innloggingen")
    );
}

#[tokio::test]
async fn the_username_can_be_the_subject_of_the_id_token() {
    // The provider keeps profile claims out of its ID tokens, so the default
    // (preferred_username) is read from its userinfo endpoint, and `sub` from the
    // ID token itself: this test covers the second way.
    let (app, provider) = app_with_provider_and(&[("SAMHAND_OIDC_USERNAME_CLAIM", "sub".into())]).await;
    let browser = Browser::new();
    let callback = log_in_at_provider(&app, &provider, &browser, "lege").await;
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let front = browser.follow(browser.get(&app.url("/")).await).await;
    assert_eq!(front.url().path(), "/pasienter");
    assert!(front.text().await.expect("html").contains("Lege Lise"));
}

#[tokio::test]
async fn an_identity_that_is_no_active_samhand_user_is_refused_in_norwegian_and_gets_no_session() {
    let (app, provider) = app_with_provider().await;
    {
        let mut tx = app.state.store.write().await.expect("tx");
        sqlx::query("UPDATE users SET active = 0 WHERE username = 'utdeler2'")
            .execute_on(&mut tx)
            .await
            .expect("deactivate");
        tx.commit().await.expect("commit");
    }
    for login in ["ukjent-person", "utdeler2"] {
        let browser = Browser::new();
        let callback = log_in_at_provider(&app, &provider, &browser, login).await;
        let answer = browser.get(callback.as_str()).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{login}");
        let html = answer.text().await.expect("html");
        assert!(
            html.contains(&format!(
                "Du er logget inn hos HelseID som «{login}», men har ingen aktiv brukerkonto i Samhand."
            )),
            "{html}"
        );
        assert_eq!(browser.cookie(&app.url("/"), "samhand_session"), None, "{login}");
        let front = browser.get(&app.url("/")).await;
        assert_eq!(front.headers()["location"], "/login", "{login} is not logged in");
    }
}

#[tokio::test]
async fn a_callback_whose_state_was_tampered_with_is_refused_and_starts_no_session() {
    let (app, provider) = app_with_provider().await;
    let browser = Browser::new();
    let mut callback = log_in_at_provider(&app, &provider, &browser, "utdeler").await;
    let tampered: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    callback.query_pairs_mut().clear().extend_pairs(tampered);
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let html = answer.text().await.expect("html");
    assert!(
        html.contains("svaret fra HelseID hørte ikke til denne innloggingen"),
        "{html}"
    );
    assert_eq!(browser.cookie(&app.url("/"), "samhand_session"), None);
    assert_eq!(
        browser.cookie(&app.url("/login/oidc/callback"), "samhand_oidc"),
        None,
        "the flow is over: the same code cannot be tried again with the cookie"
    );
}

#[tokio::test]
async fn a_login_cancelled_at_the_provider_is_refused_in_norwegian() {
    let (app, provider) = app_with_provider().await;
    let browser = Browser::new();
    let start = browser.get(&app.url("/login/oidc")).await;
    let is_provider = |url: &Url| url.as_str().starts_with(&provider.issuer);
    let login_page = browser.follow_while(start, is_provider).await;
    let url = login_page.url().clone();
    let html = login_page.text().await.expect("html");
    // The development login page's <a href="...">[ Cancel ]</a>.
    let link_end = html.find("\">[ Cancel ]").expect("the provider's cancel link");
    let cancel = &html[html[..link_end].rfind("href=\"").expect("href") + 6..link_end];
    let back = browser
        .follow_while(
            browser.get(url.join(cancel).expect("url").as_str()).await,
            is_provider,
        )
        .await;
    let callback = redirect_target(&back).expect("back to Samhand");
    assert!(
        callback
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "access_denied"),
        "{callback}"
    );
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let html = answer.text().await.expect("html");
    assert!(html.contains("HelseID fullførte ikke innloggingen."), "{html}");
    assert_eq!(browser.cookie(&app.url("/"), "samhand_session"), None);
}

#[tokio::test]
async fn without_an_issuer_there_is_no_oidc_login() {
    let app = spawn_app().await;
    let login_page = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(!login_page.contains("HelseID"), "{login_page}");
    let portal_login = app
        .client
        .get(app.url("/portal/logg-inn"))
        .send()
        .await
        .expect("portal login")
        .text()
        .await
        .expect("html");
    assert!(!portal_login.contains("ID-porten"), "{portal_login}");
    for path in [
        "/login/oidc",
        "/login/oidc/callback?code=x&state=y",
        "/portal/oidc",
        "/portal/oidc/callback?code=x&state=y",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_provider_that_does_not_answer_gives_a_norwegian_page_and_the_password_still_works() {
    // A port that nothing listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let listener = app_listener().await;
    let redirect = format!("{}/login/oidc/callback", listener.base);
    let app = spawn_app_on(
        listener,
        &[
            ("SAMHAND_OIDC_ISSUER", format!("http://127.0.0.1:{closed}")),
            ("SAMHAND_OIDC_CLIENT_ID", "samhand".into()),
            ("SAMHAND_OIDC_CLIENT_SECRET", "hemmelig".into()),
            ("SAMHAND_OIDC_REDIRECT_URL", redirect),
        ],
    )
    .await;
    let response = app.client.get(app.url("/login/oidc")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let html = response.text().await.expect("html");
    assert!(html.contains("Innloggingstjenesten svarer ikke"), "{html}");
    assert!(!html.contains("hemmelig"));
    let (status, session) = app.login("utdeler", crate::helpers::PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session.is_some());
}

/// From the portal's login through "ID-porten" as the person `pid`, at the level
/// `level` (high, substantial or low), up to the provider's redirect back to the
/// portal's callback, not followed.
async fn log_in_at_id_porten(
    app: &TestApp,
    provider: &Provider,
    browser: &Browser,
    pid: &str,
    level: &str,
) -> Url {
    let start = browser.get(&app.url("/portal/oidc")).await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let to_provider = redirect_target(&start).expect("a redirect to the provider");
    let query: Vec<(String, String)> = to_provider.query_pairs().into_owned().collect();
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", "samhand-portal"),
        ("code_challenge_method", "S256"),
        ("acr_values", "idporten-loa-substantial"),
    ] {
        assert!(
            query.iter().any(|(k, v)| k == name && v == value),
            "{name}={value} in {to_provider}"
        );
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert!(query.iter().any(|(k, _)| k == name), "{name} in {to_provider}");
    }
    assert!(
        browser
            .cookie(&app.url("/portal/oidc/callback"), "samhand_portal_oidc")
            .is_some(),
        "the portal's own flow cookie"
    );
    let is_provider = |url: &Url| url.as_str().starts_with(&provider.issuer);
    let login_page = browser.follow_while(start, is_provider).await;
    assert_eq!(login_page.status(), StatusCode::OK, "the provider's login page");
    let after_login = browser
        .submit_form(login_page, &[("login", pid), ("password", level)])
        .await;
    let back = browser.follow_while(after_login, is_provider).await;
    let callback = redirect_target(&back).unwrap_or_else(|| panic!("back to Samhand: {}", back.url()));
    assert!(
        callback.as_str().starts_with(&app.url("/portal/oidc/callback?")),
        "{callback}"
    );
    callback
}

/// A patient on daily methadone whose LAR unit has set up the portal (a one-time
/// code made, never used: ID-porten needs no password).
async fn patient_with_portal_access(app: &TestApp, n: u16) -> String {
    let patient = app.patient_on_daily_methadone(n).await;
    app.portal_code(&patient).await;
    patient
}

#[tokio::test]
async fn a_patient_logs_in_to_the_portal_through_id_porten_and_gets_the_same_session_as_with_a_password() {
    let (app, provider) = app_with_id_porten().await;
    patient_with_portal_access(&app, 140).await;
    let browser = Browser::new();
    let login_page = browser
        .get(&app.url("/portal/logg-inn"))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        login_page.contains("href=\"/portal/oidc\"") && login_page.contains("Logg inn med ID-porten"),
        "{login_page}"
    );
    let staff_login = browser.get(&app.url("/login")).await.text().await.expect("html");
    assert!(
        !staff_login.contains("HelseID"),
        "the staff login is set up apart"
    );

    let callback = log_in_at_id_porten(&app, &provider, &browser, &national_id(140), "high").await;
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let portal_cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("samhand_portal=") && !c.starts_with("samhand_portal=;"))
        .expect("a portal session cookie")
        .to_string();
    assert!(
        portal_cookie.contains("HttpOnly") && portal_cookie.contains("SameSite=Strict"),
        "the same cookie as a password login sets: {portal_cookie}"
    );
    assert!(
        answer
            .text()
            .await
            .expect("html")
            .contains("http-equiv=\"refresh\" content=\"0; url=/portal\"")
    );
    assert_eq!(
        browser.cookie(&app.url("/portal/oidc/callback"), "samhand_portal_oidc"),
        None,
        "the flow cookie is gone"
    );
    let home = browser.get(&app.url("/portal")).await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.expect("html");
    assert!(
        html.contains("Hei, Pasient140") && html.contains("Medisinen din"),
        "{html}"
    );
    // A staff session it is not.
    let staff = browser.get(&app.url("/pasienter")).await;
    assert_eq!(staff.headers()["location"], "/login");
}

#[tokio::test]
async fn id_porten_logins_without_portal_access_or_below_substantial_are_refused_in_norwegian_and_audited() {
    let (app, provider) = app_with_id_porten().await;
    let with_access = patient_with_portal_access(&app, 141).await;
    let without_access = app.patient_on_daily_methadone(142).await;
    let refused = "men har ikke tilgang til pasientportalen i Samhand. Ingen økt ble startet.";
    // A number no patient has, and a patient whose LAR unit never set up the portal.
    for (n, patient) in [(143, None), (142, Some(&without_access))] {
        let denied_before = match patient {
            Some(p) => app.audit_counts(p).await.1,
            None => 0,
        };
        let browser = Browser::new();
        let callback = log_in_at_id_porten(&app, &provider, &browser, &national_id(n), "substantial").await;
        let answer = browser.get(callback.as_str()).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{n}");
        let html = answer.text().await.expect("html");
        assert!(html.contains(refused), "{html}");
        assert_eq!(browser.cookie(&app.url("/portal"), "samhand_portal"), None);
        if let Some(p) = patient {
            assert_eq!(
                app.audit_counts(p).await.1,
                denied_before + 1,
                "audited under the patient"
            );
        }
    }
    let mut conn = app.state.store.read().await.expect("conn");
    let unnamed: i64 = sqlx::Row::get(
        &sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE patient_id IS NULL AND allowed = 0 AND detail LIKE '%ID-porten refused%'",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("count"),
        "n",
    );
    drop(conn);
    assert_eq!(unnamed, 1, "the unknown number's attempt is audited too");

    // A login below substantial does not open the portal, even with access.
    let browser = Browser::new();
    let callback = log_in_at_id_porten(&app, &provider, &browser, &national_id(141), "low").await;
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(
        answer
            .text()
            .await
            .expect("html")
            .contains("for lavt sikkerhetsnivå"),
        "{with_access}"
    );
    assert_eq!(browser.cookie(&app.url("/portal"), "samhand_portal"), None);
}

#[tokio::test]
async fn a_portal_callback_whose_state_was_tampered_with_is_refused_and_starts_no_session() {
    let (app, provider) = app_with_id_porten().await;
    patient_with_portal_access(&app, 144).await;
    let browser = Browser::new();
    let mut callback = log_in_at_id_porten(&app, &provider, &browser, &national_id(144), "high").await;
    let tampered: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    callback.query_pairs_mut().clear().extend_pairs(tampered);
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let html = answer.text().await.expect("html");
    assert!(
        html.contains("svaret fra ID-porten hørte ikke til denne innloggingen"),
        "{html}"
    );
    assert_eq!(browser.cookie(&app.url("/portal"), "samhand_portal"), None);
    assert_eq!(
        browser.cookie(&app.url("/portal/oidc/callback"), "samhand_portal_oidc"),
        None,
        "the flow is over"
    );
}
