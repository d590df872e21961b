//! Layered configuration: defaults, then `SAMHAND_*` environment variables (and
//! `DATABASE_URL`), then `*_FILE` variables for secrets. Validated at start; a bad
//! value stops the start with a sentence naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use openidconnect::url::{self, Url};

pub use crate::client::TrustedProxies;
use openidconnect::{IssuerUrl, RedirectUrl};
use samhand_store::anchor::AuditKey;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// SAMHAND_ADDR: where to listen.
    pub addr: SocketAddr,
    /// SAMHAND_DATA_DIR: the SQLite database and other files.
    pub data_dir: PathBuf,
    /// DATABASE_URL (or DATABASE_URL_FILE): selects PostgreSQL when set.
    pub database_url: Option<Secret>,
    /// SAMHAND_DB_MAX_CONNECTIONS.
    pub db_max_connections: u32,
    /// SAMHAND_SESSION_IDLE_MINUTES: a session ends after this long without use.
    pub session_idle_minutes: i64,
    /// SAMHAND_COOKIE_SECURE: whether the session cookie is marked Secure (HTTPS only).
    pub cookie_secure: bool,
    /// SAMHAND_TOKEN_DAYS: how long an API token from `samhand token` lives.
    pub token_days: i64,
    /// SAMHAND_SCHEDULER_SECONDS: how often the scheduler looks for due work
    /// (planning notices, missed-dose notices, expired sessions); 0 turns it off
    /// in this server (another server on the same database may run it).
    pub scheduler_seconds: u64,
    /// SAMHAND_EXPORT_JOBS: how many FHIR bulk exports may run at once in this
    /// server, all clients together; a further kick-off is answered 429.
    pub export_jobs: usize,
    /// SAMHAND_EXPORT_JOBS_PER_CLIENT: how many of them one client (or staff
    /// member) may have running at once.
    pub export_jobs_per_client: usize,
    /// SAMHAND_EXPORT_EXPIRE_MINUTES: how long a finished export's files are kept
    /// (in `<data_dir>/exports/`) before they are removed and its URLs answer 404.
    pub export_expire_minutes: i64,
    /// SAMHAND_FHIR_SEARCH_MAX_MATCHES: the most records a FHIR search may match
    /// before it is refused as too costly (400, `too-costly`): a search over a whole
    /// population's dispensings or drug tests is to be narrowed by patient or
    /// period, or made a bulk export (H103).
    pub fhir_search_max_matches: usize,
    /// SAMHAND_DEMO_PASSWORD (or _FILE): the password of the demo logins.
    pub demo_password: Secret,
    /// SAMHAND_LOG: the log filter.
    pub log: String,
    /// SAMHAND_OIDC_*: staff login through an OpenID provider such as HelseID; off
    /// (`None`) when SAMHAND_OIDC_ISSUER is unset.
    pub oidc: Option<OidcConfig>,
    /// SAMHAND_OIDC_USERNAME_CLAIM: which claim names the Samhand staff user.
    pub oidc_username_claim: UsernameClaim,
    /// SAMHAND_PORTAL_OIDC_*: the patients' login to the portal through ID-porten
    /// (or another OpenID provider that sends the fødselsnummer as `pid`); off
    /// (`None`) when SAMHAND_PORTAL_OIDC_ISSUER is unset.
    pub portal_oidc: Option<OidcConfig>,
    /// SAMHAND_AUDIT_KEY_FILE: the key the audit chain and its checkpoints are
    /// MACed with, kept outside the database. Unset: `audit.key` in the data
    /// directory, created at the first start (see [`Config::audit_key`]).
    pub audit_key_file: Option<PathBuf>,
    /// SAMHAND_AUDIT_CHECKPOINT_DIR: where the scheduler writes the signed audit
    /// checkpoints. Unset: `audit-checkpoints` in the data directory.
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// SAMHAND_EDI_OUTBOX: where outgoing EDI messages (Hodemelding, AppRec) are
    /// written for the communication module. Unset: `edi/out` in the data directory.
    pub edi_outbox: Option<PathBuf>,
    /// SAMHAND_EDI_INBOX: where received EDI messages are read from. Unset: `edi/in`
    /// in the data directory.
    pub edi_inbox: Option<PathBuf>,
    /// SAMHAND_AUDIT_CHECKPOINT_SECONDS: how often a server checkpoints the audit
    /// chain when it has grown (default 10; 0: only at the scheduler's runs and
    /// at shutdown). Entries after the last checkpoint are the ones whose removal
    /// from the end cannot be told.
    pub audit_checkpoint_seconds: u64,
    /// SAMHAND_TRUSTED_PROXIES: reverse proxies (addresses or networks, comma
    /// separated) whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed;
    /// none by default (`crate::client`).
    pub trusted_proxies: TrustedProxies,
    /// SAMHAND_LOGIN_ATTEMPTS_PER_ADDRESS: login attempts one client address may
    /// make per minute (all accounts together) before it is answered 429.
    pub login_attempts_per_address: u32,
    /// SAMHAND_LOGIN_ATTEMPTS_PER_ACCOUNT: password checks one account may have per
    /// minute (from all addresses together) before it is answered 429.
    pub login_attempts_per_account: u32,
    /// The connections the server takes (`crate::serve`).
    pub connections: ConnectionLimits,
}

/// How the server bounds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// SAMHAND_MAX_CONNECTIONS: open connections at most; at the cap the one that
    /// has waited longest for a request is closed to make room.
    pub max_connections: usize,
    /// SAMHAND_HEADER_TIMEOUT_SECONDS: how long a client may take to send a
    /// request's head, from its first byte (or from the connection's opening).
    pub header_timeout: std::time::Duration,
    /// SAMHAND_IDLE_TIMEOUT_SECONDS: how long a kept-alive connection may wait
    /// for its next request.
    pub idle_timeout: std::time::Duration,
}

/// Samhand as a client of one OpenID provider (`{prefix}` is SAMHAND_OIDC for
/// staff, SAMHAND_PORTAL_OIDC for patients).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// {prefix}_ISSUER: the provider's issuer URL, exactly as the provider spells
    /// it in its tokens; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: IssuerUrl,
    /// {prefix}_CLIENT_ID: Samhand's client id at the provider.
    pub client_id: String,
    /// How Samhand proves it is the client at the token endpoint.
    pub client_auth: ClientAuth,
    /// {prefix}_REDIRECT_URL: the callback (`/login/oidc/callback`, or
    /// `/portal/oidc/callback`) as the provider sees it.
    pub redirect_url: RedirectUrl,
}

/// How the client authenticates at the provider's token endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// {prefix}_CLIENT_SECRET (or _FILE): a shared secret (client_secret_basic or
    /// client_secret_post, as the provider offers).
    Secret(Secret),
    /// {prefix}_CLIENT_JWK_FILE: a JWT signed with Samhand's own private key
    /// (private_key_jwt), as HelseID requires in production.
    PrivateKeyJwt(std::sync::Arc<crate::client_key::ClientKey>),
}

/// The claim of the provider's identity that is a Samhand username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameClaim {
    PreferredUsername,
    Subject,
}

impl UsernameClaim {
    pub fn name(self) -> &'static str {
        match self {
            Self::PreferredUsername => "preferred_username",
            Self::Subject => "sub",
        }
    }
}

/// The path of the staff OIDC callback route; the redirect URL must end with it.
pub const OIDC_CALLBACK_PATH: &str = "/login/oidc/callback";
/// The path of the portal's OIDC callback route.
pub const PORTAL_OIDC_CALLBACK_PATH: &str = "/portal/oidc/callback";

/// Reads one OpenID client's settings under `prefix`: off (`None`) without
/// `{prefix}_ISSUER`; a half-done setup stops the start naming its key.
fn oidc_client(
    prefix: &str,
    callback_path: &str,
    get: &dyn Fn(&str) -> Option<String>,
    secret: &dyn Fn(&str) -> Result<Option<Secret>, ConfigError>,
) -> Result<Option<OidcConfig>, ConfigError> {
    let key = |name: &str| format!("{prefix}_{name}");
    let issuer_key = key("ISSUER");
    let Some(issuer) = get(&issuer_key) else {
        // A half-done setup should not silently leave OIDC login off.
        for name in [
            "CLIENT_ID",
            "CLIENT_SECRET",
            "CLIENT_SECRET_FILE",
            "CLIENT_JWK_FILE",
            "REDIRECT_URL",
        ] {
            if get(&key(name)).is_some() {
                return Err(bad(
                    &key(name),
                    format!(
                        "is set but {issuer_key} is not; set the issuer to turn this OIDC login on, or remove this key"
                    ),
                ));
            }
        }
        return Ok(None);
    };
    let required = |name: &str| {
        get(&key(name)).ok_or_else(|| bad(&key(name), format!("must be set when {issuer_key} is set")))
    };
    web_url(&issuer_key, &issuer)?;
    // Kept as written: the issuer in the provider's tokens must match it
    // character for character, and a parsed URL would gain a slash.
    let issuer = IssuerUrl::new(issuer).map_err(|e| bad(&issuer_key, e.to_string()))?;
    let client_id = required("CLIENT_ID")?;
    let secret_key = key("CLIENT_SECRET");
    let jwk_key = key("CLIENT_JWK_FILE");
    let client_auth = match (get(&jwk_key), secret(&secret_key)?) {
        (Some(_), Some(_)) => {
            return Err(bad(
                &jwk_key,
                format!("set either {jwk_key} (private_key_jwt) or {secret_key}, not both"),
            ));
        }
        (Some(path), None) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad(&jwk_key, format!("cannot read {path}: {e}")))?;
            let client_key = crate::client_key::ClientKey::from_jwk(&text).map_err(|e| bad(&jwk_key, e))?;
            ClientAuth::PrivateKeyJwt(std::sync::Arc::new(client_key))
        }
        (None, Some(client_secret)) => ClientAuth::Secret(client_secret),
        (None, None) => {
            return Err(bad(
                &secret_key,
                format!(
                    "must be set (or {secret_key}_FILE, or {jwk_key} for private_key_jwt) when {issuer_key} is set"
                ),
            ));
        }
    };
    let redirect_key = key("REDIRECT_URL");
    let redirect_url = required("REDIRECT_URL")?;
    if !web_url(&redirect_key, &redirect_url)?
        .path()
        .ends_with(callback_path)
    {
        return Err(bad(
            &redirect_key,
            format!("expected Samhand's callback, a URL ending in {callback_path}, got {redirect_url}"),
        ));
    }
    let redirect_url = RedirectUrl::new(redirect_url).map_err(|e| bad(&redirect_key, e.to_string()))?;
    Ok(Some(OidcConfig {
        issuer,
        client_id,
        client_auth,
        redirect_url,
    }))
}

/// An http(s) URL. Plain http only to this machine (for tests and development):
/// anywhere else the client secret and the tokens would cross the network unencrypted.
fn web_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| bad(key, format!("expected a URL, got {value:?} ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                key,
                format!("expected an https:// URL (http:// only for localhost), got {value:?}"),
            ));
        }
        _ => return Err(bad(key, format!("expected an https:// URL, got {value:?}"))),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(key, format!("expected a URL without ? or #, got {value:?}")));
    }
    Ok(url)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        problem: problem.into(),
    }
}

pub const DEFAULT_DEMO_PASSWORD: &str = "samhand-demo";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the configuration from a lookup of variables (the environment, or a map
    /// in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let secret = |key: &str| -> Result<Option<Secret>, ConfigError> {
            let file_key = format!("{key}_FILE");
            match (get(key), get(&file_key)) {
                (Some(_), Some(_)) => Err(bad(
                    &file_key,
                    format!("set either {key} or {file_key}, not both"),
                )),
                (Some(value), None) => Ok(Some(Secret::new(value))),
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map(|v| Some(Secret::new(v.trim())))
                    .map_err(|e| bad(&file_key, format!("cannot read {path}: {e}"))),
                (None, None) => Ok(None),
            }
        };
        let number = |key: &str, default: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        bad(
                            key,
                            format!("expected a whole number from {min} to {max}, got {v:?}"),
                        )
                    }),
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool, ConfigError> {
            match get(key).as_deref() {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(v) => Err(bad(key, format!("expected true or false, got {v:?}"))),
            }
        };
        let addr = match get("SAMHAND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().map_err(|_| {
                bad(
                    "SAMHAND_ADDR",
                    format!("expected host:port like 127.0.0.1:8080, got {v:?}"),
                )
            })?,
        };
        let database_url = secret("DATABASE_URL")?;
        if let Some(url) = &database_url
            && !url.expose().starts_with("postgres://")
            && !url.expose().starts_with("postgresql://")
        {
            return Err(bad(
                "DATABASE_URL",
                "expected a postgres:// URL (leave it unset for the embedded SQLite database)",
            ));
        }
        let username_claim = match get("SAMHAND_OIDC_USERNAME_CLAIM").as_deref() {
            None | Some("preferred_username") => UsernameClaim::PreferredUsername,
            Some("sub") => UsernameClaim::Subject,
            Some(other) => {
                return Err(bad(
                    "SAMHAND_OIDC_USERNAME_CLAIM",
                    format!("expected preferred_username or sub, got {other:?}"),
                ));
            }
        };
        let trusted_proxies = TrustedProxies::parse(&get("SAMHAND_TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|problem| bad("SAMHAND_TRUSTED_PROXIES", problem))?;
        let seconds = |key: &str, default: i64, max: i64| -> Result<std::time::Duration, ConfigError> {
            Ok(std::time::Duration::from_secs(
                number(key, default, 1, max)? as u64
            ))
        };
        let connections = ConnectionLimits {
            max_connections: number("SAMHAND_MAX_CONNECTIONS", 1000, 2, 100_000)? as usize,
            header_timeout: seconds("SAMHAND_HEADER_TIMEOUT_SECONDS", 10, 300)?,
            idle_timeout: seconds("SAMHAND_IDLE_TIMEOUT_SECONDS", 75, 3600)?,
        };
        let oidc = oidc_client("SAMHAND_OIDC", OIDC_CALLBACK_PATH, &get, &secret)?;
        let portal_oidc = oidc_client("SAMHAND_PORTAL_OIDC", PORTAL_OIDC_CALLBACK_PATH, &get, &secret)?;
        Ok(Self {
            addr,
            data_dir: PathBuf::from(get("SAMHAND_DATA_DIR").unwrap_or_else(|| "./data".into())),
            database_url,
            db_max_connections: number("SAMHAND_DB_MAX_CONNECTIONS", 16, 1, 1000)? as u32,
            session_idle_minutes: number("SAMHAND_SESSION_IDLE_MINUTES", 30, 1, 24 * 60)?,
            cookie_secure: flag("SAMHAND_COOKIE_SECURE", true)?,
            token_days: number("SAMHAND_TOKEN_DAYS", 30, 1, 366)?,
            scheduler_seconds: number("SAMHAND_SCHEDULER_SECONDS", 30, 0, 3600)? as u64,
            export_jobs: number("SAMHAND_EXPORT_JOBS", 4, 1, 64)? as usize,
            export_jobs_per_client: number("SAMHAND_EXPORT_JOBS_PER_CLIENT", 1, 1, 64)? as usize,
            export_expire_minutes: number("SAMHAND_EXPORT_EXPIRE_MINUTES", 60, 1, 7 * 24 * 60)?,
            fhir_search_max_matches: number("SAMHAND_FHIR_SEARCH_MAX_MATCHES", 10_000, 1, 1_000_000)?
                as usize,
            demo_password: secret("SAMHAND_DEMO_PASSWORD")?
                .unwrap_or_else(|| Secret::new(DEFAULT_DEMO_PASSWORD)),
            log: get("SAMHAND_LOG").unwrap_or_else(|| "info".into()),
            oidc,
            oidc_username_claim: username_claim,
            portal_oidc,
            audit_key_file: get("SAMHAND_AUDIT_KEY_FILE").map(PathBuf::from),
            audit_checkpoint_dir: get("SAMHAND_AUDIT_CHECKPOINT_DIR").map(PathBuf::from),
            edi_outbox: get("SAMHAND_EDI_OUTBOX").map(PathBuf::from),
            edi_inbox: get("SAMHAND_EDI_INBOX").map(PathBuf::from),
            audit_checkpoint_seconds: number("SAMHAND_AUDIT_CHECKPOINT_SECONDS", 10, 0, 3600)? as u64,
            trusted_proxies,
            login_attempts_per_address: number("SAMHAND_LOGIN_ATTEMPTS_PER_ADDRESS", 60, 1, 100_000)? as u32,
            login_attempts_per_account: number("SAMHAND_LOGIN_ATTEMPTS_PER_ACCOUNT", 10, 1, 100_000)? as u32,
            connections,
        })
    }

    /// Where the audit checkpoints are written.
    pub fn audit_checkpoints(&self) -> PathBuf {
        self.audit_checkpoint_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints"))
    }

    /// The EDI outbox and inbox directories.
    pub fn edi_dirs(&self) -> crate::edi::EdiDirs {
        crate::edi::EdiDirs {
            outbox: self
                .edi_outbox
                .clone()
                .unwrap_or_else(|| self.data_dir.join("edi").join("out")),
            inbox: self
                .edi_inbox
                .clone()
                .unwrap_or_else(|| self.data_dir.join("edi").join("in")),
        }
    }

    /// The audit key. From SAMHAND_AUDIT_KEY_FILE when set (it must exist);
    /// otherwise from `audit.key` in the data directory, which is created with 32
    /// random bytes (readable by the owner only) when `create` is true and it is
    /// missing. `None` only when it is missing and not to be created: a check of a
    /// log written without a key.
    pub fn audit_key(&self, create: bool) -> Result<Option<AuditKey>, ConfigError> {
        let key_error = |problem: String| bad("SAMHAND_AUDIT_KEY_FILE", problem);
        if let Some(path) = &self.audit_key_file {
            return AuditKey::from_file(path).map(Some).map_err(key_error);
        }
        let path = self.data_dir.join("audit.key");
        if !path.exists() {
            if !create {
                return Ok(None);
            }
            create_key_file(&path).map_err(key_error)?;
            tracing::warn!(
                path = %path.display(),
                "created an audit key in the data directory; in production keep it outside, in SAMHAND_AUDIT_KEY_FILE"
            );
        }
        AuditKey::from_file(&path).map(Some).map_err(key_error)
    }

    /// The database to connect to: PostgreSQL when configured, else SQLite in the data
    /// directory (created if missing).
    pub fn database_url(&self) -> Result<String, ConfigError> {
        match &self.database_url {
            Some(url) => Ok(url.expose().to_string()),
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    bad(
                        "SAMHAND_DATA_DIR",
                        format!("cannot create {}: {e}", self.data_dir.display()),
                    )
                })?;
                Ok(samhand_store::Store::sqlite_url(&self.data_dir))
            }
        }
    }
}

/// Writes a new random key (64 hex characters) to `path`, which must not exist,
/// readable and writable by the owner only.
fn create_key_file(path: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the audit key: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    writeln!(file, "{hex}")
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_without_configuration() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(c.database_url.is_none());
        assert_eq!(c.session_idle_minutes, 30);
        assert!(c.trusted_proxies.is_empty(), "no header is believed by default");
        assert_eq!(c.connections.max_connections, 1000);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let cases = [
            (("SAMHAND_ADDR", "nowhere"), "SAMHAND_ADDR"),
            (
                ("SAMHAND_SESSION_IDLE_MINUTES", "0"),
                "SAMHAND_SESSION_IDLE_MINUTES",
            ),
            (("SAMHAND_COOKIE_SECURE", "perhaps"), "SAMHAND_COOKIE_SECURE"),
            (
                ("SAMHAND_TRUSTED_PROXIES", "10.0.0.0/8, proxy"),
                "SAMHAND_TRUSTED_PROXIES",
            ),
            (("SAMHAND_MAX_CONNECTIONS", "1"), "SAMHAND_MAX_CONNECTIONS"),
            (
                ("SAMHAND_HEADER_TIMEOUT_SECONDS", "0"),
                "SAMHAND_HEADER_TIMEOUT_SECONDS",
            ),
            (("DATABASE_URL", "mysql://x"), "DATABASE_URL"),
            (("DATABASE_URL_FILE", "/does/not/exist"), "DATABASE_URL_FILE"),
        ];
        for ((key, value), named) in cases {
            let error = config(&[(key, value)]).expect_err(key);
            assert_eq!(error.key, named);
        }
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        std::fs::write(&path, "postgres://u:hemmelig@localhost/db\n").expect("write");
        let c = config(&[("DATABASE_URL_FILE", path.to_str().expect("path"))]).expect("config");
        assert_eq!(
            c.database_url.as_ref().map(Secret::expose),
            Some("postgres://u:hemmelig@localhost/db")
        );
        assert!(!format!("{c:?}").contains("hemmelig"));
    }

    const OIDC: [(&str, &str); 4] = [
        ("SAMHAND_OIDC_ISSUER", "https://helseid-sts.nhn.no"),
        ("SAMHAND_OIDC_CLIENT_ID", "samhand"),
        ("SAMHAND_OIDC_CLIENT_SECRET", "hemmelig"),
        (
            "SAMHAND_OIDC_REDIRECT_URL",
            "https://samhand.example.no/login/oidc/callback",
        ),
    ];

    #[test]
    fn private_key_jwt_takes_a_jwk_file_instead_of_the_secret_never_both() {
        let both = with(&OIDC, "SAMHAND_OIDC_CLIENT_JWK_FILE", "/no/such.jwk");
        let error = config(&both).expect_err("both");
        assert_eq!(error.key, "SAMHAND_OIDC_CLIENT_JWK_FILE");
        let missing = with(
            &with(&OIDC, "SAMHAND_OIDC_CLIENT_SECRET", ""),
            "SAMHAND_OIDC_CLIENT_JWK_FILE",
            "/no/such.jwk",
        );
        let error = config(&missing).expect_err("no file");
        assert!(error.problem.contains("cannot read"), "{error:?}");
        let dir = tempfile::tempdir().expect("dir");
        let public_only = dir.path().join("public.jwk");
        std::fs::write(&public_only, r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#).expect("write");
        let path: &'static str = Box::leak(public_only.display().to_string().into_boxed_str());
        let error = config(&with(
            &with(&OIDC, "SAMHAND_OIDC_CLIENT_SECRET", ""),
            "SAMHAND_OIDC_CLIENT_JWK_FILE",
            path,
        ))
        .expect_err("a public key cannot sign");
        assert!(error.problem.contains("`d`"), "{error:?}");
    }

    fn with(
        base: &[(&'static str, &'static str)],
        key: &'static str,
        value: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = base.iter().filter(|(k, _)| *k != key).copied().collect();
        if !value.is_empty() {
            vars.push((key, value));
        }
        vars
    }

    #[test]
    fn oidc_login_is_off_without_an_issuer_and_on_with_a_complete_setup() {
        assert!(config(&[]).expect("defaults").oidc.is_none());
        let claim_only = config(&[("SAMHAND_OIDC_USERNAME_CLAIM", "preferred_username")]);
        assert!(claim_only.expect("the claim's default alone").oidc.is_none());
        let c = config(&OIDC).expect("oidc");
        let oidc = c.oidc.as_ref().expect("oidc on");
        assert_eq!(oidc.issuer.as_str(), "https://helseid-sts.nhn.no");
        assert_eq!(c.oidc_username_claim, UsernameClaim::PreferredUsername);
        assert!(c.portal_oidc.is_none(), "the portal's login is set up apart");
        assert!(!format!("{c:?}").contains("hemmelig"));
        let by_sub = config(&with(&OIDC, "SAMHAND_OIDC_USERNAME_CLAIM", "sub")).expect("sub");
        assert_eq!(by_sub.oidc_username_claim, UsernameClaim::Subject);
        let local = config(&with(
            &with(&OIDC, "SAMHAND_OIDC_ISSUER", "http://127.0.0.1:4000"),
            "SAMHAND_OIDC_REDIRECT_URL",
            "http://localhost:8080/login/oidc/callback",
        ));
        assert!(local.is_ok(), "plain http is allowed to this machine: {local:?}");
    }

    #[test]
    fn an_incomplete_or_wrong_oidc_setup_names_its_key() {
        let cases = [
            (
                with(&OIDC, "SAMHAND_OIDC_CLIENT_ID", ""),
                "SAMHAND_OIDC_CLIENT_ID",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_CLIENT_SECRET", ""),
                "SAMHAND_OIDC_CLIENT_SECRET",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_REDIRECT_URL", ""),
                "SAMHAND_OIDC_REDIRECT_URL",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_ISSUER", "helseid"),
                "SAMHAND_OIDC_ISSUER",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_ISSUER", "http://helseid-sts.nhn.no"),
                "SAMHAND_OIDC_ISSUER",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_REDIRECT_URL", "https://samhand.example.no/"),
                "SAMHAND_OIDC_REDIRECT_URL",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_USERNAME_CLAIM", "email"),
                "SAMHAND_OIDC_USERNAME_CLAIM",
            ),
            (
                with(&OIDC, "SAMHAND_OIDC_CLIENT_SECRET_FILE", "/does/not/exist"),
                "SAMHAND_OIDC_CLIENT_SECRET_FILE",
            ),
            (
                vec![("SAMHAND_OIDC_CLIENT_ID", "samhand")],
                "SAMHAND_OIDC_CLIENT_ID",
            ),
        ];
        for (vars, named) in cases {
            let error = config(&vars).expect_err(named);
            assert_eq!(error.key, named, "{error}");
        }
    }

    const PORTAL_OIDC: [(&str, &str); 4] = [
        ("SAMHAND_PORTAL_OIDC_ISSUER", "https://idporten.no"),
        ("SAMHAND_PORTAL_OIDC_CLIENT_ID", "samhand-portal"),
        ("SAMHAND_PORTAL_OIDC_CLIENT_SECRET", "hemmelig"),
        (
            "SAMHAND_PORTAL_OIDC_REDIRECT_URL",
            "https://samhand.example.no/portal/oidc/callback",
        ),
    ];

    #[test]
    fn the_portals_id_porten_login_is_its_own_client_and_names_its_keys() {
        let c = config(&PORTAL_OIDC).expect("portal oidc");
        assert!(c.oidc.is_none(), "staff OIDC stays off");
        let portal = c.portal_oidc.expect("portal oidc on");
        assert_eq!(portal.issuer.as_str(), "https://idporten.no");
        assert_eq!(portal.client_id, "samhand-portal");
        assert!(!format!("{portal:?}").contains("hemmelig"));
        let cases = [
            (
                with(
                    &PORTAL_OIDC,
                    "SAMHAND_PORTAL_OIDC_REDIRECT_URL",
                    "https://samhand.example.no/login/oidc/callback",
                ),
                "SAMHAND_PORTAL_OIDC_REDIRECT_URL",
            ),
            (
                with(&PORTAL_OIDC, "SAMHAND_PORTAL_OIDC_CLIENT_SECRET", ""),
                "SAMHAND_PORTAL_OIDC_CLIENT_SECRET",
            ),
            (
                vec![("SAMHAND_PORTAL_OIDC_CLIENT_ID", "samhand-portal")],
                "SAMHAND_PORTAL_OIDC_CLIENT_ID",
            ),
        ];
        for (vars, named) in cases {
            let error = config(&vars).expect_err(named);
            assert_eq!(error.key, named, "{error}");
        }
    }
}
