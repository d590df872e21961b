//! Layered configuration: defaults, then `SAMHAND_*` environment variables (and
//! `DATABASE_URL`), then `*_FILE` variables for secrets. Validated at start; a bad
//! value stops the start with a sentence naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// SAMHAND_DEMO_PASSWORD (or _FILE): the password of the demo logins.
    pub demo_password: Secret,
    /// SAMHAND_LOG: the log filter.
    pub log: String,
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
        Ok(Self {
            addr,
            data_dir: PathBuf::from(get("SAMHAND_DATA_DIR").unwrap_or_else(|| "./data".into())),
            database_url,
            db_max_connections: number("SAMHAND_DB_MAX_CONNECTIONS", 16, 1, 1000)? as u32,
            session_idle_minutes: number("SAMHAND_SESSION_IDLE_MINUTES", 30, 1, 24 * 60)?,
            cookie_secure: flag("SAMHAND_COOKIE_SECURE", true)?,
            token_days: number("SAMHAND_TOKEN_DAYS", 30, 1, 366)?,
            demo_password: secret("SAMHAND_DEMO_PASSWORD")?
                .unwrap_or_else(|| Secret::new(DEFAULT_DEMO_PASSWORD)),
            log: get("SAMHAND_LOG").unwrap_or_else(|| "info".into()),
        })
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
}
