//! Lockout after repeated failures, as a pure function of the stored state (SEC-01).
//!
//! The caller keeps `(failed_count, locked_until)` per account (the store does), checks the
//! password (and code) as usual, then calls [`LockoutPolicy::register`] with the outcome and
//! writes back the new state. While locked, every attempt is refused, even with the right
//! password, and the refusal carries the same user message as a wrong password, so the
//! response reveals neither that the account exists nor that it is locked.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// How many failures lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutPolicy {
    /// Consecutive failures that trigger a lock.
    pub max_failures: u32,
    /// How long the lock lasts, in seconds.
    pub lock_seconds: i64,
}

impl Default for LockoutPolicy {
    /// Five failures lock the account for fifteen minutes.
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            lock_seconds: 15 * 60,
        }
    }
}

/// The per-account state the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockoutState {
    /// Consecutive failures since the last success or the last lock.
    pub failed_count: u32,
    /// End of the current lock, if any.
    pub locked_until: Option<DateTime<Utc>>,
}

/// What happened at the password/code check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Credentials (and code, where required) were right.
    Success,
    /// Something was wrong.
    Failure,
}

/// The result of registering an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutDecision {
    /// State to store.
    pub state: LockoutState,
    /// True when the attempt must be refused (wrong credentials, or account locked).
    pub refused: bool,
    /// True when this attempt started a new lock (worth an audit entry).
    pub locked_now: bool,
}

impl LockoutDecision {
    /// `Ok(())` for an accepted attempt, else the one generic refusal with the cause logged.
    pub fn into_result(&self) -> Result<(), AuthError> {
        if !self.refused {
            return Ok(());
        }
        Err(match self.state.locked_until {
            Some(until) => {
                AuthError::refused(format!("account locked until {}", until.to_rfc3339()))
            }
            None => AuthError::refused(format!(
                "bad credentials ({} consecutive failures)",
                self.state.failed_count
            )),
        })
    }
}

impl LockoutPolicy {
    /// True when `state` is locked at `now`.
    pub fn is_locked(&self, state: &LockoutState, now: DateTime<Utc>) -> bool {
        state.locked_until.is_some_and(|until| now < until)
    }

    /// Registers one attempt at `now` and returns the new state and whether to refuse it.
    ///
    /// - Locked: refused whatever the outcome; the state is unchanged (a lock is not extended
    ///   by further attempts, so an attacker cannot keep a user out forever by guessing).
    /// - Not locked, success: accepted; the count and any expired lock are cleared.
    /// - Not locked, failure: refused; the count goes up, and on reaching `max_failures` the
    ///   account is locked until `now + lock_seconds` and the count starts again from zero.
    pub fn register(
        &self,
        state: LockoutState,
        now: DateTime<Utc>,
        outcome: AttemptOutcome,
    ) -> LockoutDecision {
        if self.is_locked(&state, now) {
            return LockoutDecision {
                state,
                refused: true,
                locked_now: false,
            };
        }
        match outcome {
            AttemptOutcome::Success => LockoutDecision {
                state: LockoutState::default(),
                refused: false,
                locked_now: false,
            },
            AttemptOutcome::Failure => {
                let failed = state.failed_count.saturating_add(1);
                if failed >= self.max_failures.max(1) {
                    LockoutDecision {
                        state: LockoutState {
                            failed_count: 0,
                            locked_until: Some(now + Duration::seconds(self.lock_seconds.max(0))),
                        },
                        refused: true,
                        locked_now: true,
                    }
                } else {
                    LockoutDecision {
                        state: LockoutState {
                            failed_count: failed,
                            locked_until: None,
                        },
                        refused: true,
                        locked_now: false,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    #[test]
    fn sec_01_five_failures_lock_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let mut state = LockoutState::default();
        for i in 1..=4 {
            let d = policy.register(state, t0(), AttemptOutcome::Failure);
            assert!(d.refused && !d.locked_now);
            assert_eq!(d.state.failed_count, i);
            state = d.state;
        }
        let d = policy.register(state, t0(), AttemptOutcome::Failure);
        assert!(d.refused && d.locked_now);
        assert_eq!(d.state.locked_until, Some(t0() + Duration::minutes(15)));
        state = d.state;

        // Right password during the lock: still refused, lock not extended.
        let during = t0() + Duration::minutes(14);
        let d = policy.register(state, during, AttemptOutcome::Success);
        assert!(d.refused);
        assert_eq!(d.state, state);
        let d = policy.register(state, during, AttemptOutcome::Failure);
        assert!(d.refused);
        assert_eq!(d.state, state);

        // After the lock: the right password gets in and clears the state.
        let after = t0() + Duration::minutes(15);
        let d = policy.register(state, after, AttemptOutcome::Success);
        assert!(!d.refused);
        assert_eq!(d.state, LockoutState::default());
        assert!(d.into_result().is_ok());
    }

    #[test]
    fn sec_01_success_resets_the_failure_count() {
        let policy = LockoutPolicy::default();
        let mut state = LockoutState::default();
        for _ in 0..4 {
            state = policy.register(state, t0(), AttemptOutcome::Failure).state;
        }
        state = policy.register(state, t0(), AttemptOutcome::Success).state;
        assert_eq!(state.failed_count, 0);
        let d = policy.register(state, t0(), AttemptOutcome::Failure);
        assert!(!d.locked_now);
    }

    #[test]
    fn sec_01_locked_refusal_says_the_same_as_a_wrong_password() {
        let policy = LockoutPolicy {
            max_failures: 1,
            lock_seconds: 60,
        };
        let wrong = LockoutDecision {
            state: LockoutState {
                failed_count: 1,
                locked_until: None,
            },
            refused: true,
            locked_now: false,
        };
        let locked = policy.register(LockoutState::default(), t0(), AttemptOutcome::Failure);
        let a = wrong.into_result().unwrap_err();
        let b = locked.into_result().unwrap_err();
        assert_eq!(a.user_message(), b.user_message());
        assert!(b.log_detail().to_string().contains("locked until"));
    }
}
