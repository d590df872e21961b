//! The test app: the real server on port 0 against a fresh database (SQLite in a
//! temporary directory, or a new PostgreSQL database when DATABASE_URL is set), a
//! fixed clock, a small seeded world, and typed helpers to drive it.

use std::sync::Arc;

use jiff::civil::{Date, Time, date};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use samhand_domain::arrangement::{PatientGroup, TimeWindow};
use samhand_domain::ids::{OrganisationId, PatientGroupId, UserId};
use samhand_domain::national_id::NationalId;
use samhand_domain::organisation::{Organisation, OrganisationKind, Role};
use samhand_domain::time::FixedClock;
use samhand_server::{AppState, Config};
use samhand_store::{Store, organisations, users};
use serde_json::{Value, json};

/// Monday 23 November 2026, 09:00 in Oslo, unless a test moves the clock.
pub fn start_day() -> Date {
    date(2026, 11, 23)
}

pub struct Staff {
    pub id: UserId,
    pub username: &'static str,
    pub token: String,
}

pub struct World {
    pub unit: OrganisationId,
    pub other_unit: OrganisationId,
    pub centre: OrganisationId,
    pub other_centre: OrganisationId,
    pub pharmacy: OrganisationId,
    pub group: PatientGroupId,
    pub lege: Staff,
    pub konsulent: Staff,
    pub utdeler: Staff,
    pub utdeler2: Staff,
    pub apotek: Staff,
    pub koordinator: Staff,
    pub leder: Staff,
    pub admin: Staff,
    pub fremmed_lege: Staff,
    /// A GP (fastlege) at a GP office, and a colleague at the same office.
    pub gp_office: OrganisationId,
    pub fastlege: Staff,
    pub fastlege2: Staff,
    /// A doctor at a hospital's emergency department, with no relation to anyone.
    pub hospital: OrganisationId,
    pub akuttlege: Staff,
    pub nav_office: OrganisationId,
    pub nav: Staff,
    pub hospital_leader: Staff,
    /// The leader of the first centre.
    pub centre_leader: Staff,
}

pub struct TestApp {
    pub base: String,
    /// The database's URL, for a second server on the same database.
    pub database_url: String,
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub client: Client,
    pub world: World,
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "riktig-passord";

fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            // Logs only when asked, so a failing test's output stays readable.
            eprintln!(
                "TEST_LOG set: server errors are printed by the app's tracing if a subscriber is installed"
            );
        }
    });
}

/// A free port for the app, bound before its configuration is built, so that the
/// configuration (and an OpenID provider's client registration) can name the app's
/// own address.
pub struct AppListener {
    listener: tokio::net::TcpListener,
    pub base: String,
}

pub async fn app_listener() -> AppListener {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    AppListener { listener, base }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(app_listener().await, &[]).await
}

/// The app behind a reverse proxy on this machine (`SAMHAND_TRUSTED_PROXIES` is
/// 127.0.0.1), so that a test names each request's client address in
/// `X-Forwarded-For` (see [`TestApp::login_from`]), with `overrides` on top.
pub async fn spawn_app_behind_proxy(overrides: &[(&str, String)]) -> TestApp {
    let mut all = vec![("SAMHAND_TRUSTED_PROXIES", "127.0.0.1".to_string())];
    all.extend(overrides.iter().cloned());
    spawn_app_on(app_listener().await, &all).await
}

/// The app on `listener`, configured with the test defaults and `overrides`
/// (configuration keys and values) on top.
pub async fn spawn_app_on(listener: AppListener, overrides: &[(&str, String)]) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let database = samhand_store::testing::fresh_database_url(dir.path()).await;
    let store = Store::connect(&database, 10)
        .await
        .expect("connect and migrate")
        .with_audit_key(samhand_store::testing::audit_key());
    let clock = Arc::new(FixedClock::at_oslo(start_day(), Time::constant(9, 0, 0, 0)));
    let data_dir = dir.path().display().to_string();
    let config = Config::from_lookup(|key| {
        if let Some((_, value)) = overrides.iter().find(|(k, _)| *k == key) {
            return Some(value.clone());
        }
        match key {
            "SAMHAND_COOKIE_SECURE" => Some("false".into()),
            // Tests move the clock months ahead; tokens must outlive that.
            "SAMHAND_TOKEN_DAYS" => Some("366".into()),
            // Files the server writes (FHIR exports, audit checkpoints) stay in the
            // test's directory.
            "SAMHAND_DATA_DIR" => Some(data_dir.clone()),
            _ => None,
        }
    })
    .expect("config");
    let state = AppState::new(store.clone(), clock.clone(), config);
    let world = seed(&state).await;
    let AppListener { listener, base } = listener;
    // Served as `samhand serve` serves: each request knows its peer address, within
    // the connection limits. The stop sender is dropped: this server never stops.
    let (_, never_stop) = tokio::sync::watch::channel(false);
    tokio::spawn(samhand_server::serve_app(listener, state.clone(), never_stop));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        base,
        database_url: database,
        state,
        clock,
        client,
        world,
        _dir: dir,
    }
}

fn org(name: &str, kind: OrganisationKind, open_on_holidays: bool) -> Organisation {
    Organisation {
        id: OrganisationId::new(),
        name: name.into(),
        kind,
        municipality: "Fjordvik".into(),
        open_on_public_holidays: open_on_holidays,
        open_weekdays: [true; 7],
        closed_days: Vec::new(),
    }
}

async fn seed(state: &AppState) -> World {
    let now = state.clock.now();
    let unit = org(
        "LAR-enheten Fjordvik",
        OrganisationKind::HealthTrustLarUnit,
        false,
    );
    let other_unit = org("LAR-enheten Nordvik", OrganisationKind::HealthTrustLarUnit, false);
    let centre = org(
        "LAR-senteret Sentrum",
        OrganisationKind::MunicipalLarCentre,
        false,
    );
    let other_centre = org("LAR-senteret Øst", OrganisationKind::MunicipalLarCentre, true);
    let mut pharmacy = org("Apotek Torget", OrganisationKind::Pharmacy, false);
    pharmacy.open_weekdays = [true, true, true, true, true, true, false];
    let gp_office = org("Brygga legekontor", OrganisationKind::GpOffice, false);
    let hospital = org(
        "Fjordvik sykehus, akuttmottak",
        OrganisationKind::Institution,
        true,
    );
    let nav_office = org("NAV Fjordvik", OrganisationKind::NavOffice, false);
    let group = PatientGroup {
        id: PatientGroupId::new(),
        place_id: centre.id,
        name: "Rehabilitering".into(),
        window: TimeWindow::new(Time::constant(8, 0, 0, 0), Time::constant(9, 30, 0, 0)).expect("window"),
    };
    let hash = samhand_server::auth::hash_password(PASSWORD).expect("hash");
    let mut tx = state.store.write().await.expect("tx");
    for o in [
        &unit,
        &other_unit,
        &centre,
        &other_centre,
        &pharmacy,
        &gp_office,
        &hospital,
        &nav_office,
    ] {
        organisations::insert(&mut tx, o, now).await.expect("org");
    }
    organisations::insert_group(&mut tx, &group).await.expect("group");
    let people = [
        ("lege", "Lege Lise", Role::Prescriber, unit.id),
        ("konsulent", "Konsulent Kari", Role::LarConsultant, unit.id),
        ("utdeler", "Utdeler Ulla", Role::DispensingStaff, centre.id),
        ("utdeler2", "Utdeler Ulf", Role::DispensingStaff, other_centre.id),
        ("apotek", "Farmasøyt Frida", Role::DispensingStaff, pharmacy.id),
        ("koordinator", "Koordinator Kåre", Role::Coordinator, centre.id),
        ("leder", "Leder Lars", Role::Leader, unit.id),
        ("admin", "Admin Anne", Role::Administrator, unit.id),
        ("fremmed_lege", "Lege Nils Nord", Role::Prescriber, other_unit.id),
        ("fastlege", "Fastlege Frode", Role::Prescriber, gp_office.id),
        ("fastlege2", "Fastlege Guro", Role::Prescriber, gp_office.id),
        ("akuttlege", "Akuttlege Astrid", Role::Prescriber, hospital.id),
        ("nav", "NAV-veileder Nora", Role::Coordinator, nav_office.id),
        ("sykehusleder", "Leder Siri", Role::Leader, hospital.id),
        ("stedleder", "Leder Sol", Role::Leader, centre.id),
    ];
    let mut ids = Vec::new();
    for (username, name, role, organisation_id) in people {
        let id = UserId::new();
        users::insert(
            &mut tx,
            &users::NewUser {
                id,
                username,
                display_name: name,
                role,
                organisation_id,
                password_hash: Some(&hash),
            },
            now,
        )
        .await
        .expect("user");
        ids.push((id, username));
    }
    tx.commit().await.expect("commit");
    let mut staff = Vec::new();
    for (id, username) in ids {
        let (token, _) = samhand_server::auth::issue_api_token(state, username)
            .await
            .expect("token");
        staff.push(Staff { id, username, token });
    }
    let mut staff = staff.into_iter();
    let mut next = || staff.next().expect("staff");
    World {
        unit: unit.id,
        other_unit: other_unit.id,
        centre: centre.id,
        other_centre: other_centre.id,
        pharmacy: pharmacy.id,
        group: group.id,
        lege: next(),
        konsulent: next(),
        utdeler: next(),
        utdeler2: next(),
        apotek: next(),
        koordinator: next(),
        leder: next(),
        admin: next(),
        fremmed_lege: next(),
        gp_office: gp_office.id,
        fastlege: next(),
        fastlege2: next(),
        hospital: hospital.id,
        akuttlege: next(),
        nav_office: nav_office.id,
        nav: next(),
        hospital_leader: next(),
        centre_leader: next(),
    }
}

/// A synthetic fødselsnummer, different for each `n`.
pub fn national_id(n: u16) -> String {
    let birth = date(1970 + (n % 30) as i16, 1 + (n % 12) as i8, 1 + (n % 28) as i8);
    (0..500u16)
        .find_map(|i| NationalId::synthetic(birth, (n * 7 + i) % 500))
        .expect("a synthetic number exists")
        .as_str()
        .to_string()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, staff: &Staff, path: &str) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&staff.token)
    }

    pub fn post(&self, staff: &Staff, path: &str, body: &Value) -> RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(&staff.token)
            .json(body)
    }

    /// Moves the clock to a wall-clock time in Oslo.
    pub fn set_oslo_time(&self, day: Date, time: Time) {
        self.clock
            .set(samhand_domain::time::oslo_timestamp(day.to_datetime(time)));
    }

    /// Enrols a patient through the API; returns the patient id.
    pub async fn enrol(&self, n: u16, started_on: Date) -> String {
        let body = json!({
            "national_id": national_id(n),
            "given_name": format!("Pasient{n}"),
            "family_name": "Testesen",
            "phone": "40000000",
            "address": "Gata 1",
            "doctor_id": self.world.lege.id.to_string(),
            "consultant_id": self.world.konsulent.id.to_string(),
            "started_on": started_on.to_string(),
            "phase": "stabilisation",
        });
        let response = self
            .post(&self.world.lege, "/api/v1/patients", &body)
            .send()
            .await
            .expect("enrol");
        let (status, json) = read(response).await;
        assert_eq!(status, StatusCode::CREATED, "enrol: {json}");
        json["id"].as_str().expect("id").to_string()
    }

    /// Drafts and signs an order of `mg` methadone from `from`.
    pub async fn sign_methadone(&self, patient: &str, parts: &[&str], from: Date) -> Value {
        let order = self
            .draft(patient, "methadone_oral_solution", "oral_solution", parts, from)
            .await;
        let id = order["id"].as_str().expect("order id");
        let response = self
            .post(
                &self.world.lege,
                &format!("/api/v1/dose-orders/{id}/sign"),
                &json!({"confirmation": "Vurdert"}),
            )
            .send()
            .await
            .expect("sign");
        let (status, json) = read(response).await;
        assert_eq!(status, StatusCode::OK, "sign: {json}");
        json
    }

    pub async fn draft(
        &self,
        patient: &str,
        substance: &str,
        form: &str,
        parts: &[&str],
        from: Date,
    ) -> Value {
        let body = json!({
            "substance": substance,
            "form": form,
            "parts_mg": parts,
            "effective_from": from.to_string(),
            "reason": "Oppstart",
        });
        let response = self
            .post(
                &self.world.lege,
                &format!("/api/v1/patients/{patient}/dose-orders"),
                &body,
            )
            .send()
            .await
            .expect("draft");
        let (status, json) = read(response).await;
        assert_eq!(status, StatusCode::CREATED, "draft: {json}");
        json
    }

    /// Sets an arrangement at the centre with a week code like "AAAAAAA".
    pub async fn arrange(&self, patient: &str, place: OrganisationId, week: &str, from: Date) -> Value {
        let days: Vec<&str> = week
            .chars()
            .map(|c| if c == 'A' { "attend" } else { "take_home" })
            .collect();
        let review = from.checked_add(jiff::Span::new().months(3)).expect("date");
        let body = json!({
            "place_id": place.to_string(),
            "days": days,
            "valid_from": from.to_string(),
            "review_on": review.to_string(),
            "window_start": "08.00",
            "window_end": "09.30",
            "reason": "Stabil",
        });
        let response = self
            .post(
                &self.world.lege,
                &format!("/api/v1/patients/{patient}/arrangements"),
                &body,
            )
            .send()
            .await
            .expect("arrange");
        let (status, json) = read(response).await;
        assert_eq!(status, StatusCode::CREATED, "arrange: {json}");
        json
    }

    /// A patient on 60 mg methadone, daily supervised at the centre, from the start day.
    pub async fn patient_on_daily_methadone(&self, n: u16) -> String {
        let patient = self.enrol(n, start_day()).await;
        self.sign_methadone(&patient, &["60"], start_day()).await;
        self.arrange(&patient, self.world.centre, "AAAAAAA", start_day())
            .await;
        patient
    }

    pub async fn dispense(
        &self,
        staff: &Staff,
        patient: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut body = body;
        body["patient_id"] = json!(patient);
        if body.get("identity_confirmed").is_none() {
            body["identity_confirmed"] = json!(true);
        }
        let response = self
            .post(staff, "/api/v1/dispensings", &body)
            .header("Idempotency-Key", key)
            .send()
            .await
            .expect("dispense");
        read(response).await
    }

    pub async fn today_list(&self, staff: &Staff) -> Value {
        let (status, json) = read(
            self.get(staff, "/api/v1/dispensing/today")
                .send()
                .await
                .expect("list"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "list: {json}");
        json
    }

    /// Logs in through the login form; returns a browser-like session.
    pub async fn login(&self, username: &str, password: &str) -> (StatusCode, Option<WebSession>) {
        let (status, _, session) = self.login_from(None, username, password).await;
        (status, session)
    }

    /// Logs in through the login form, as from `client` when given (in
    /// `X-Forwarded-For`, which counts only behind [`spawn_app_behind_proxy`]);
    /// returns the status, the page's text and the session.
    pub async fn login_from(
        &self,
        client: Option<&str>,
        username: &str,
        password: &str,
    ) -> (StatusCode, String, Option<WebSession>) {
        let page = self
            .client
            .get(self.url("/login"))
            .send()
            .await
            .expect("login page");
        let login_cookie = set_cookie(&page, "samhand_login_csrf").expect("login csrf cookie");
        let html = page.text().await.expect("html");
        let csrf = csrf_in(&html).expect("csrf field");
        let mut request = self
            .client
            .post(self.url("/login"))
            .header("Cookie", format!("samhand_login_csrf={login_cookie}"));
        if let Some(client) = client {
            request = request.header("X-Forwarded-For", client);
        }
        let response = request
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("login");
        let status = response.status();
        let Some(cookie) = set_cookie(&response, "samhand_session").filter(|c| !c.is_empty()) else {
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| format!("Retry-After: {}\n", v.to_str().unwrap_or("")))
                .unwrap_or_default();
            return (status, retry_after + &response.text().await.expect("html"), None);
        };
        let mut session = WebSession {
            cookie,
            csrf: String::new(),
        };
        let html = self.page(&session, "/pasienter").await.1;
        session.csrf = csrf_in(&html).expect("csrf on pages");
        (status, String::new(), Some(session))
    }

    pub async fn page(&self, session: &WebSession, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("Cookie", format!("samhand_session={}", session.cookie))
            .send()
            .await
            .expect("page");
        (response.status(), response.text().await.expect("html"))
    }

    /// Posts a form with the session's CSRF token unless `fields` has its own.
    pub async fn submit(
        &self,
        session: &WebSession,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            form.push(("csrf", &session.csrf));
        }
        let response = self
            .client
            .post(self.url(path))
            .header("Cookie", format!("samhand_session={}", session.cookie))
            .form(&form)
            .send()
            .await
            .expect("submit");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, response.text().await.expect("body"), location)
    }

    /// Counts audit entries about a patient (allowed, denied).
    pub async fn audit_counts(&self, patient: &str) -> (usize, usize) {
        let mut conn = self.state.store.read().await.expect("conn");
        let entries = samhand_store::audit::for_patient(&mut conn, patient.parse().expect("id"), 10_000)
            .await
            .expect("audit");
        (
            entries.iter().filter(|e| e.allowed).count(),
            entries.iter().filter(|e| !e.allowed).count(),
        )
    }
}

pub struct WebSession {
    pub cookie: String,
    pub csrf: String,
}

pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status.is_client_error() || status.is_server_error() {
        assert!(
            content_type.starts_with("application/problem+json"),
            "an API error must be problem+json, got {content_type:?}: {json}"
        );
    }
    (status, json)
}

/// The fields a 422 problem names, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().expect("field").to_string())
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// Posts JSON as `staff` and reads the answer.
    pub async fn post_json(&self, staff: &Staff, path: &str, body: &Value) -> (StatusCode, Value) {
        read(self.post(staff, path, body).send().await.expect("post")).await
    }

    /// Gets JSON as `staff` and reads the answer.
    pub async fn get_json(&self, staff: &Staff, path: &str) -> (StatusCode, Value) {
        read(self.get(staff, path).send().await.expect("get")).await
    }

    /// The patient overview as the responsible doctor reads it through the API.
    pub async fn overview(&self, patient: &str) -> Value {
        let (status, json) = self
            .get_json(&self.world.lege, &format!("/api/v1/patients/{patient}"))
            .await;
        assert_eq!(status, StatusCode::OK, "overview: {json}");
        json
    }

    /// Every version and draft of the patient's dose orders, oldest first.
    pub async fn order_history(&self, patient: &str) -> Vec<Value> {
        let (status, json) = self
            .get_json(
                &self.world.lege,
                &format!("/api/v1/patients/{patient}/dose-orders"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "history: {json}");
        json.as_array().expect("a list of orders").clone()
    }

    /// The patient's row on `staff`'s list today, if they are on it.
    pub async fn row_on_list(&self, staff: &Staff, patient: &str) -> Option<Value> {
        let list = self.today_list(staff).await;
        list["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|row| row["patient"]["id"] == json!(patient))
            .cloned()
    }

    /// Runs the scheduler's due jobs once at the test clock's time, as the server's
    /// scheduler would on its next tick; what each job did.
    pub async fn run_scheduler(&self) -> Vec<(&'static str, u64)> {
        samhand_server::scheduler::run_due(&self.state, "test")
            .await
            .expect("the scheduler runs")
            .into_iter()
            .map(|ran| (ran.job.name(), ran.outcome.expect("the job succeeds")))
            .collect()
    }

    /// Sets a value of the clinical policy as the leader, straight in the store.
    pub async fn set_policy(&self, key: &str, value: i64) {
        let mut tx = self.state.store.write().await.expect("tx");
        samhand_store::stock::set_policy_value(
            &mut tx,
            key,
            value,
            Some(self.world.leder.id),
            self.state.clock.now(),
        )
        .await
        .expect("policy");
        tx.commit().await.expect("commit");
    }

    /// Runs a statement as another process would: straight on the database, with
    /// `value` as its one parameter.
    pub async fn elsewhere(&self, sql: &str, value: &str) {
        let mut conn = self.state.store.read().await.expect("conn");
        sqlx::query(sql).bind(value).execute(&mut *conn).await.expect(sql);
    }

    /// A logged-in browser session for one of the seeded users.
    pub async fn session_of(&self, username: &str) -> WebSession {
        let (status, session) = self.login(username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "login as {username}");
        session.expect("session")
    }
}
