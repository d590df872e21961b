//! What nearly every request reads and few change — the organisations, the patient
//! groups, the clinical policy, users with their extra roles, API tokens — kept in
//! memory. Each request reads one row, the database's `config_version`, which any
//! change to those tables moves on (triggers, migration 0025, so also a change made
//! by another server process or by hand); while it stands still, what is kept is
//! what the database holds, and when it moves, everything kept is dropped and read
//! again as it is needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use samhand_domain::arrangement::PatientGroup;
use samhand_domain::ids::{OrganisationId, UserId};
use samhand_domain::organisation::Organisation;
use samhand_domain::policy::ClinicalPolicy;
use samhand_store::native::Fetch;
use samhand_store::users::{ExtraRole, UserRecord};
use samhand_store::{organisations, users};
use tokio::sync::OnceCell;

use crate::error::AppResult;

/// Every organisation by id, as the directory keeps them: shared by the requests
/// that ask, never copied per request.
pub type Organisations = Arc<HashMap<OrganisationId, Organisation>>;

/// The process's kept copy, replaced whenever the version moves.
pub struct Directory {
    current: Mutex<Arc<Snapshot>>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            current: Mutex::new(Arc::new(Snapshot::new(-1))),
        }
    }
}

impl Directory {
    /// The copy as of the database's version now (one statement).
    pub async fn current(&self, conn: &mut impl Fetch) -> AppResult<Arc<Snapshot>> {
        let version = users::config_version(conn).await?;
        let mut current = self.current.lock().expect("the directory's lock");
        if current.version != version {
            // A request that read an older version meanwhile keeps its own copy.
            if version > current.version {
                *current = Arc::new(Snapshot::new(version));
            } else {
                return Ok(Arc::new(Snapshot::new(version)));
            }
        }
        Ok(current.clone())
    }
}

/// One version's copy, each part read the first time it is needed.
pub struct Snapshot {
    version: i64,
    organisations: OnceCell<Organisations>,
    groups: OnceCell<Arc<Vec<PatientGroup>>>,
    policy: OnceCell<ClinicalPolicy>,
    users: Mutex<HashMap<UserId, Option<UserRecord>>>,
    extra_roles: Mutex<HashMap<UserId, Vec<ExtraRole>>>,
    /// Tokens found (not revoked): their user and expiry. Unknown tokens are not
    /// kept, so guessing fills nothing.
    tokens: Mutex<HashMap<String, (UserId, Timestamp)>>,
}

impl Snapshot {
    fn new(version: i64) -> Self {
        Self {
            version,
            organisations: OnceCell::new(),
            groups: OnceCell::new(),
            policy: OnceCell::new(),
            users: Mutex::default(),
            extra_roles: Mutex::default(),
            tokens: Mutex::default(),
        }
    }

    pub async fn organisations(&self, conn: &mut impl Fetch) -> AppResult<Organisations> {
        let all = self
            .organisations
            .get_or_try_init(|| async {
                let all = organisations::all(conn).await?;
                Ok::<_, crate::error::AppError>(Arc::new(all.into_iter().map(|o| (o.id, o)).collect()))
            })
            .await?;
        Ok(all.clone())
    }

    pub async fn groups(&self, conn: &mut impl Fetch) -> AppResult<Arc<Vec<PatientGroup>>> {
        let groups = self
            .groups
            .get_or_try_init(|| async {
                Ok::<_, crate::error::AppError>(Arc::new(organisations::groups(conn).await?))
            })
            .await?;
        Ok(groups.clone())
    }

    pub async fn policy(&self, conn: &mut impl Fetch) -> AppResult<ClinicalPolicy> {
        let policy = self
            .policy
            .get_or_try_init(|| async {
                let values = samhand_store::stock::policy_values(conn).await?;
                Ok::<_, crate::error::AppError>(ClinicalPolicy::from_values(&values))
            })
            .await?;
        Ok(*policy)
    }

    /// Users by id (also those not found, as `None`), reading the unknown in one query.
    pub async fn users(
        &self,
        conn: &mut impl Fetch,
        ids: &[UserId],
    ) -> AppResult<HashMap<UserId, Option<UserRecord>>> {
        let missing: Vec<UserId> = {
            let kept = self.users.lock().expect("the directory's lock");
            ids.iter().filter(|id| !kept.contains_key(id)).copied().collect()
        };
        if !missing.is_empty() {
            let found = users::by_ids(conn, &missing).await?;
            let mut kept = self.users.lock().expect("the directory's lock");
            for id in missing {
                kept.insert(id, found.iter().find(|r| r.user.id == id).cloned());
            }
        }
        let kept = self.users.lock().expect("the directory's lock");
        Ok(ids
            .iter()
            .map(|id| (*id, kept.get(id).cloned().flatten()))
            .collect())
    }

    pub async fn user(&self, conn: &mut impl Fetch, id: UserId) -> AppResult<Option<UserRecord>> {
        Ok(self.users(conn, &[id]).await?.remove(&id).flatten())
    }

    pub async fn extra_roles(&self, conn: &mut impl Fetch, user: UserId) -> AppResult<Vec<ExtraRole>> {
        if let Some(roles) = self.extra_roles.lock().expect("the directory's lock").get(&user) {
            return Ok(roles.clone());
        }
        let roles = users::extra_roles(conn, user).await?;
        self.extra_roles
            .lock()
            .expect("the directory's lock")
            .insert(user, roles.clone());
        Ok(roles)
    }

    /// The user of a staff API token that is neither revoked nor expired at `now`.
    pub async fn token_user(
        &self,
        conn: &mut impl Fetch,
        token_hash: &str,
        now: Timestamp,
    ) -> AppResult<Option<UserId>> {
        let kept = self
            .tokens
            .lock()
            .expect("the directory's lock")
            .get(token_hash)
            .copied();
        let found = match kept {
            Some(found) => Some(found),
            None => {
                let found = users::api_token(conn, token_hash).await?;
                if let Some(found) = found {
                    self.tokens
                        .lock()
                        .expect("the directory's lock")
                        .insert(token_hash.to_string(), found);
                }
                found
            }
        };
        Ok(found.filter(|(_, expires)| *expires > now).map(|(user, _)| user))
    }
}
