//! The lockout rule for password logins, staff and patients alike: after
//! [`MAX_FAILED_LOGINS`] failures in a row an account is locked for
//! [`LOCKOUT_MINUTES`] from the last failure, and while locked not even the right
//! password opens it, so guessing gains nothing.

use jiff::{SignedDuration, Timestamp};

/// Failed logins in a row that lock an account for [`LOCKOUT_MINUTES`].
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_MINUTES: i64 = 15;

/// Until when an account with `failed_logins` failures in a row, the last at
/// `last_failed_at`, is locked; `None` when it is not.
pub fn locked_until(failed_logins: i64, last_failed_at: Option<Timestamp>) -> Option<Timestamp> {
    last_failed_at
        .filter(|_| failed_logins >= MAX_FAILED_LOGINS)
        .map(|last| last + SignedDuration::from_mins(LOCKOUT_MINUTES))
}

/// Whether the account is locked at `now`.
pub fn is_locked(failed_logins: i64, last_failed_at: Option<Timestamp>, now: Timestamp) -> bool {
    locked_until(failed_logins, last_failed_at).is_some_and(|until| now < until)
}

/// What a person trying to log in to a locked account is told.
pub fn locked_message_nb() -> String {
    format!("For mange mislykkede innlogginger. Kontoen er sperret i {LOCKOUT_MINUTES} minutter.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn five_failures_in_a_row_lock_for_fifteen_minutes_from_the_last() {
        assert!(!is_locked(4, Some(at(0)), at(1)), "four failures do not lock");
        assert!(is_locked(5, Some(at(0)), at(1)));
        assert!(is_locked(5, Some(at(0)), at(14)));
        assert!(
            !is_locked(5, Some(at(0)), at(15)),
            "unlocked after fifteen minutes"
        );
        assert!(!is_locked(7, None, at(1)), "no failure time, no lock");
        assert_eq!(locked_until(6, Some(at(10))), Some(at(25)));
        assert!(locked_message_nb().contains("15 minutter"));
    }
}
