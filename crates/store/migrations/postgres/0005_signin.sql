-- Sign-in hardening (SEC-01): half-open sessions awaiting a second factor, attempt counting,
-- API tokens bound to the local networks, second-factor enrolment and recovery codes.
-- Times are unix milliseconds, ids TEXT, booleans BIGINT 0/1.

-- Sessions opened before this migration recorded "second factor done" for every local session,
-- and half-open remote sessions lived for the whole session length. Neither is true any more:
-- everyone signs in again.
DELETE FROM sessions;
-- The old sign-in never cleared the failure count when it locked an account; start it again.
UPDATE users SET failed_logins = 0 WHERE locked_until IS NOT NULL;
-- A half-open session: the password was accepted, a second factor is still needed. It lives
-- minutes, is deleted after too many wrong codes, and is replaced by a new session on success.
ALTER TABLE sessions ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN second_factor_attempts BIGINT NOT NULL DEFAULT 0;

-- A token bound to the local networks is refused from anywhere else; an unbound token is a
-- remote credential without a second factor. Existing tokens are bound.
ALTER TABLE api_tokens ADD COLUMN local_only BIGINT NOT NULL DEFAULT 1;

-- A TOTP secret shown for enrolment, stored only once the person confirms it with a code.
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_at BIGINT;

-- One-time recovery codes: SHA-256 of the code bound to the account; never the code itself.
CREATE TABLE recovery_codes (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);
