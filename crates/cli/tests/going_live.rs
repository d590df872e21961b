//! README «Going live», run as a new health trust would: the real `samhand` binary
//! on an empty database (SQLite in a temporary directory, or a fresh PostgreSQL
//! database when DATABASE_URL points at a PostgreSQL server), without the demo.
//! Migrate, register the LAR unit and a municipal place, add the first staff, serve,
//! enrol a patient and sign the first dose order over the API; then deactivate the
//! prescriber and find their API token and web session ended at once, and
//! reactivate them.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "et-langt-passord-for-lege";
/// A synthetic fødselsnummer (month + 80), as README «Going live» uses.
const NATIONAL_ID: &str = "15838512086";

struct Env<'a> {
    dir: &'a Path,
    database_url: Option<&'a str>,
}

impl Env<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_samhand"));
        command
            .args(args)
            .env("SAMHAND_DATA_DIR", self.dir)
            .env("SAMHAND_LOG", "warn")
            .env_remove("SAMHAND_NEW_PASSWORD");
        match self.database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL").env_remove("DATABASE_URL_FILE"),
        };
        command
    }

    /// Runs a command to its end; panics with its output unless it succeeded.
    fn run(&self, args: &[&str]) -> String {
        let output = self.output(args, None);
        assert!(
            output.status.success(),
            "samhand {} failed: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn output(&self, args: &[&str], new_password: Option<&str>) -> Output {
        let mut command = self.command(args);
        if let Some(password) = new_password {
            command.env("SAMHAND_NEW_PASSWORD", password);
        }
        command.output().expect("run samhand")
    }
}

async fn fresh_database(dir: &Path) -> Option<String> {
    let url = samhand_store::testing::fresh_database_url(dir).await;
    url.starts_with("postgres").then_some(url)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local address")
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(env: &Env<'_>, port: u16) -> Server {
    let log = File::create(env.dir.join("server.log")).expect("log file");
    let mut command = env.command(&["serve"]);
    command
        .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let mut server = Server(command.spawn().expect("start samhand serve"));
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ready {
            return server;
        }
        if let Some(status) = server.0.try_wait().expect("poll") {
            panic!(
                "samhand serve exited with {status}: {}",
                std::fs::read_to_string(env.dir.join("server.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "samhand serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of a cookie set by a response, by its name as sent.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
}

/// Logs in through the web form; the session cookie's value.
async fn web_login(client: &reqwest::Client, base: &str, username: &str) -> Option<String> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page");
    let csrf = set_cookie(&page, "__Host-samhand_login_csrf").expect("the login form's CSRF cookie");
    let response = client
        .post(format!("{base}/login"))
        .header("Cookie", format!("__Host-samhand_login_csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("log in");
    set_cookie(&response, "__Host-samhand_session").filter(|c| !c.is_empty())
}

async fn api(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("API request");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_health_trust_goes_live_without_the_demo_and_cuts_a_leaver_off_at_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database_url = fresh_database(dir.path()).await;
    let env = Env {
        dir: dir.path(),
        database_url: database_url.as_deref(),
    };

    // 1. The database.
    let migrated = env.run(&["migrate"]);
    assert!(migrated.contains("migrations applied"), "{migrated}");

    // 2. Nobody can be added before an organisation exists, and the message says how.
    let refused = env.output(
        &[
            "user",
            "add",
            "--username",
            "lege",
            "--name",
            "Lege",
            "--role",
            "prescriber",
            "--organisation",
            "LAR Vestfjord",
        ],
        Some(PASSWORD),
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("samhand organisation add"));

    // 3. The organisations: the LAR unit, and a municipal place it is responsible for.
    let bad = env.output(
        &[
            "organisation",
            "add",
            "--name",
            "LAR Vestfjord",
            "--kind",
            "health_trust_lar_unit",
            "--org-number",
            "974760674",
        ],
        None,
    );
    assert!(!bad.status.success(), "a wrong check digit is refused");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("kontrollsifferet"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    env.run(&[
        "organisation",
        "add",
        "--name",
        "LAR Vestfjord",
        "--kind",
        "health_trust_lar_unit",
        "--org-number",
        "974760673",
        "--her-id",
        "8094",
    ]);
    env.run(&[
        "organisation",
        "add",
        "--name",
        "LAR-senteret Fjordvik",
        "--kind",
        "municipal_lar_centre",
        "--responsible-unit",
        "LAR Vestfjord",
        "--municipality",
        "Fjordvik",
    ]);
    let twice = env.output(
        &[
            "organisation",
            "add",
            "--name",
            "LAR Vestfjord",
            "--kind",
            "health_trust_lar_unit",
        ],
        None,
    );
    assert!(
        !twice.status.success(),
        "a second organisation of the same name is refused"
    );
    let listed = env.run(&["organisation", "list"]);
    assert!(
        listed.contains("LAR Vestfjord") && listed.contains("LAR-senteret Fjordvik"),
        "{listed}"
    );

    // 4. The first staff.
    for (username, name, role) in [
        ("lege", "Lege Lise", "prescriber"),
        ("konsulent", "Konsulent Kari", "lar_consultant"),
    ] {
        let output = env.output(
            &[
                "user",
                "add",
                "--username",
                username,
                "--name",
                name,
                "--role",
                role,
                "--organisation",
                "LAR Vestfjord",
            ],
            Some(PASSWORD),
        );
        assert!(
            output.status.success(),
            "user add {username}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let token_output = env.run(&["token", "--user", "lege"]);
    let token = token_output
        .lines()
        .last()
        .expect("the token is the last line")
        .trim()
        .to_string();

    // 5. Serve, without the demo.
    let port = free_port();
    let _server = serve(&env, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let api_base = format!("{base}/api/v1");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let (status, staff) = api(
        &client,
        &token,
        reqwest::Method::GET,
        format!("{api_base}/staff"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{staff}");
    let id_of = |username: &str| -> String {
        staff
            .as_array()
            .expect("a list of staff")
            .iter()
            .find(|s| s["username"] == json!(username))
            .and_then(|s| s["id"].as_str())
            .unwrap_or_else(|| panic!("{username} in {staff}"))
            .to_string()
    };
    let (lege, konsulent) = (id_of("lege"), id_of("konsulent"));

    // 6. The first patient and the first signed dose order.
    // Today as the server counts days: in Oslo.
    let today = jiff::Timestamp::now()
        .in_tz("Europe/Oslo")
        .expect("the Oslo time zone")
        .date();
    let (status, patient) = api(
        &client,
        &token,
        reqwest::Method::POST,
        format!("{api_base}/patients"),
        Some(json!({
            "national_id": NATIONAL_ID,
            "given_name": "Første",
            "family_name": "Pasient",
            "phone": "40000000",
            "address": "Fjordgata 1",
            "doctor_id": lege,
            "consultant_id": konsulent,
            "started_on": today.to_string(),
            "phase": "stabilisation",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "enrol: {patient}");
    let patient = patient["id"].as_str().expect("patient id").to_string();
    let (status, order) = api(
        &client,
        &token,
        reqwest::Method::POST,
        format!("{api_base}/patients/{patient}/dose-orders"),
        Some(json!({
            "substance": "methadone_oral_solution",
            "form": "oral_solution",
            "parts_mg": ["30"],
            "effective_from": today.to_string(),
            "reason": "Oppstart",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "draft: {order}");
    let order = order["id"].as_str().expect("order id").to_string();
    let (status, signed) = api(
        &client,
        &token,
        reqwest::Method::POST,
        format!("{api_base}/dose-orders/{order}/sign"),
        Some(json!({"confirmation": "Vurdert"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "sign: {signed}");

    // 7. The prescriber in the web UI too.
    let session = web_login(&client, &base, "lege").await.expect("a web session");
    let page = client
        .get(format!("{base}/pasienter"))
        .header("Cookie", format!("__Host-samhand_session={session}"))
        .send()
        .await
        .expect("the patient list");
    assert_eq!(page.status(), StatusCode::OK);

    // 8. She leaves: deactivated on the command line while the server runs.
    env.run(&[
        "user",
        "deactivate",
        "--user",
        "lege",
        "--reason",
        "Sluttet i stillingen",
    ]);
    let (status, _) = api(
        &client,
        &token,
        reqwest::Method::GET,
        format!("{api_base}/staff"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the API token ended at once");
    let front = client
        .get(format!("{base}/"))
        .header("Cookie", format!("__Host-samhand_session={session}"))
        .send()
        .await
        .expect("front page");
    assert!(
        front.status().is_redirection(),
        "the web session ended at once: {}",
        front.status()
    );
    assert_eq!(
        front.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/login")
    );
    assert!(
        web_login(&client, &base, "lege").await.is_none(),
        "a deactivated user cannot log in"
    );
    let again = env.output(&["user", "deactivate", "--user", "lege"], None);
    assert!(!again.status.success(), "deactivating twice is refused");

    // 9. She comes back: a new login works; the old token stays revoked.
    env.run(&[
        "user",
        "reactivate",
        "--user",
        "lege",
        "--reason",
        "Tilbake i stillingen",
    ]);
    assert!(
        web_login(&client, &base, "lege").await.is_some(),
        "the reactivated user logs in"
    );
    let (status, _) = api(
        &client,
        &token,
        reqwest::Method::GET,
        format!("{api_base}/staff"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a token revoked at deactivation stays revoked"
    );
}
