//! The lockout rule for password logins, staff and patients alike: after
//! [`MAX_FAILED_LOGINS`] failures in a row from one client address an account is
//! locked for that address for [`LOCKOUT_MINUTES`] from the last failure, and while
//! locked not even the right password opens it from there, so guessing gains
//! nothing. Failures are counted per address so that someone spraying wrong
//! passwords from one address cannot lock the staff out everywhere else; failures
//! further apart than the lockout do not count together.

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

/// Whether an attempt may go on to the password check, when it is the
/// `attempts_in_a_row`th from its address (itself included, counted before the
/// check so that concurrent attempts cannot pass the limit together).
pub fn attempt_allowed(attempts_in_a_row: i64) -> bool {
    attempts_in_a_row <= MAX_FAILED_LOGINS
}

/// Failures before this moment no longer count towards a lockout at `now`.
pub fn failures_count_since(now: Timestamp) -> Timestamp {
    now - SignedDuration::from_mins(LOCKOUT_MINUTES)
}

/// What a person trying to log in to a locked account is told.
pub fn locked_message_nb() -> String {
    format!("For mange mislykkede innlogginger. Kontoen er sperret i {LOCKOUT_MINUTES} minutter.")
}

/// What a session is at `now`, staff and portal alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Past its end, or idle longer than allowed: log in again.
    Ended,
    /// In use; `touch` when its last use is to be moved to now. A minute's
    /// resolution is enough for the idle timeout, so not every request writes.
    Live { touch: bool },
}

/// Judges a session that was last used at `last_seen` and ends at `expires`, with
/// `idle_minutes` of idleness allowed.
pub fn session_state(
    last_seen: Timestamp,
    expires: Timestamp,
    now: Timestamp,
    idle_minutes: i64,
) -> SessionState {
    let idle_limit = last_seen + SignedDuration::from_mins(idle_minutes);
    if now > expires || now > idle_limit {
        SessionState::Ended
    } else {
        SessionState::Live {
            touch: now.duration_since(last_seen) > SignedDuration::from_mins(1),
        }
    }
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

    #[test]
    fn the_fifth_attempt_in_a_row_is_checked_and_the_sixth_is_not() {
        assert!(attempt_allowed(1));
        assert!(attempt_allowed(MAX_FAILED_LOGINS));
        assert!(!attempt_allowed(MAX_FAILED_LOGINS + 1));
        assert_eq!(failures_count_since(at(20)), at(5));
    }

    #[test]
    fn a_session_ends_when_idle_or_expired_and_is_touched_at_most_once_a_minute() {
        let expires = at(12 * 60);
        assert_eq!(
            session_state(at(0), expires, at(0), 30),
            SessionState::Live { touch: false }
        );
        assert_eq!(
            session_state(at(0), expires, at(2), 30),
            SessionState::Live { touch: true }
        );
        assert_eq!(
            session_state(at(0), expires, at(31), 30),
            SessionState::Ended,
            "idle too long"
        );
        assert_eq!(
            session_state(at(700), expires, at(721), 30),
            SessionState::Ended,
            "past its end"
        );
    }
}
