-- Ending access (SEC-02, FR-21): an administrator deactivates or reactivates an account, ends an
-- assignment, or revokes a training record, each with a reason. Access is computed on every
-- request from these rows, so a change takes effect on the caller's very next request. What a
-- row was before a change is in the audit entry that made it. Times are unix milliseconds.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
ALTER TABLE users ADD COLUMN deactivation_reason TEXT;
ALTER TABLE assignments ADD COLUMN end_reason TEXT;
ALTER TABLE training_records ADD COLUMN revoked_at BIGINT;
ALTER TABLE training_records ADD COLUMN revocation_reason TEXT;
