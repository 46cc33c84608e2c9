-- Policy-pack revisions (OVR-02, OVR-04): the text of every revision of every pack, from the
-- one shipped with the software (proposed_by 'release') to those proposed in the application
-- and approved by the policy owner. The engine in force is built, per pack, from the revision in
-- force that took effect last. Addenda (OVR-04) name the use they add in `covers`
-- (e.g. 'fr_request:<id>'). Times are unix milliseconds.
CREATE TABLE policy_revisions (
    id              TEXT PRIMARY KEY,
    pack_id         TEXT NOT NULL,
    version         TEXT NOT NULL,
    -- draft_to_final | addendum | revision | pack
    kind            TEXT NOT NULL,
    description     TEXT NOT NULL,
    pack_toml       TEXT NOT NULL,
    cedar           TEXT NOT NULL,
    -- SHA-256 of the TOML and Cedar texts, hex: a release already recorded is not recorded again
    sha256          TEXT NOT NULL,
    covers          TEXT,
    -- proposed | in_force | rejected
    status          TEXT NOT NULL,
    -- a username, or 'release' for the text shipped with the software
    proposed_by     TEXT NOT NULL,
    proposed_at     BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      BIGINT,
    decision_reason TEXT,
    effective_at    BIGINT
);
CREATE INDEX policy_revisions_pack ON policy_revisions(pack_id, status, effective_at);
CREATE UNIQUE INDEX policy_revisions_version ON policy_revisions(pack_id, version, sha256);
