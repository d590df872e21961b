//! Rate limits of our own for the logins: a token bucket per key (a client
//! address, an account) in one map behind a mutex, pruned as it grows. A bucket
//! holds a minute's attempts and refills at that rate, so a burst is allowed and a
//! steady stream is held to the rate. Time is the app's clock, so tests move it.
//! The buckets live in this server's memory: behind a load balancer each server
//! counts its own, and the lockout in the database (`domain::login`) is the bound
//! they share.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;

use crate::error::AppError;

/// When the map holds this many buckets, the full ones (untouched for a minute)
/// are dropped before another is added.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Timestamp,
}

/// A token bucket per key: `per_minute` attempts in a burst, refilled at that rate.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket of `key` refilled to `now`.
    fn refilled(&self, bucket: Option<&Bucket>, now: Timestamp) -> f64 {
        let Some(bucket) = bucket else {
            return self.per_minute;
        };
        let seconds = now.duration_since(bucket.updated).as_secs_f64().max(0.0);
        (bucket.tokens + seconds * self.per_minute / 60.0).min(self.per_minute)
    }

    /// Seconds until a bucket holding `tokens` has a whole one again.
    fn seconds_until_one(&self, tokens: f64) -> u64 {
        ((1.0 - tokens) * 60.0 / self.per_minute).ceil().max(1.0) as u64
    }

    /// Whether `key` has an attempt left at `now`, without using it; when not,
    /// the seconds to wait.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tokens = self.refilled(buckets.get(key), now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(self.seconds_until_one(tokens))
        }
    }

    /// Uses one attempt of `key` at `now`; when none is left, the seconds to wait.
    pub fn take(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| self.refilled(Some(bucket), now) < self.per_minute);
        }
        let tokens = self.refilled(buckets.get(key), now);
        if tokens < 1.0 {
            return Err(self.seconds_until_one(tokens));
        }
        buckets.insert(
            key.to_string(),
            Bucket {
                tokens: tokens - 1.0,
                updated: now,
            },
        );
        Ok(())
    }

    /// How many keys have a bucket (for tests of the pruning).
    pub fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |buckets| buckets.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The login's two limits: per client address (every login endpoint), and per
/// account (password checks).
#[derive(Debug)]
pub struct LoginLimits {
    pub by_address: RateLimiter,
    pub by_account: RateLimiter,
}

impl LoginLimits {
    pub fn new(per_address: u32, per_account: u32) -> Self {
        Self {
            by_address: RateLimiter::new(per_address),
            by_account: RateLimiter::new(per_account),
        }
    }
}

/// The answer when a limit says no.
pub fn too_many(retry_after_seconds: u64) -> AppError {
    AppError::TooManyRequests { retry_after_seconds }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn a_burst_of_a_minutes_attempts_then_one_per_refill() {
        let limiter = RateLimiter::new(6);
        let start = Timestamp::UNIX_EPOCH;
        for _ in 0..6 {
            assert_eq!(limiter.take("10.0.0.1", start), Ok(()));
        }
        assert_eq!(limiter.take("10.0.0.1", start), Err(10), "one attempt per 10 s");
        assert_eq!(limiter.check("10.0.0.1", start), Err(10));
        assert_eq!(limiter.take("10.0.0.2", start), Ok(()), "another key has its own");
        let later = start + SignedDuration::from_secs(10);
        assert_eq!(limiter.check("10.0.0.1", later), Ok(()));
        assert_eq!(limiter.take("10.0.0.1", later), Ok(()));
        assert!(limiter.take("10.0.0.1", later).is_err());
    }

    #[test]
    fn full_buckets_are_pruned_when_the_map_grows() {
        let limiter = RateLimiter::new(60);
        let start = Timestamp::UNIX_EPOCH;
        for n in 0..PRUNE_AT {
            limiter.take(&format!("key{n}"), start).expect("room");
        }
        assert_eq!(limiter.len(), PRUNE_AT);
        let later = start + SignedDuration::from_secs(61);
        limiter.take("new", later).expect("room");
        assert_eq!(limiter.len(), 1, "the refilled buckets were dropped");
    }
}
