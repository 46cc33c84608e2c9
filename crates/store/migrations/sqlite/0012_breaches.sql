-- Breach response (EXT-05): a suspected breach reported by anyone, recorded by the Agency Privacy
-- Officer with what was disclosed, to whom and when it was discovered; the 24-hour clock to the
-- City Chief Privacy Officer runs from discovery and escalates by e-mail at 12 and 20 hours; the
-- report, the notification decision and every letter are recorded. Times are unix milliseconds.
CREATE TABLE breaches (
    id                    TEXT PRIMARY KEY,
    -- suspected (reported, not yet reviewed), recorded (the clock runs), dismissed (not a breach)
    status                TEXT NOT NULL CHECK (status IN ('suspected', 'recorded', 'dismissed')),
    -- who raised it and what they saw
    raised_by             TEXT NOT NULL REFERENCES users(id),
    raised_at             INTEGER NOT NULL,
    suspicion             TEXT NOT NULL,
    -- the Agency Privacy Officer's record
    kind                  TEXT,
    what_disclosed        TEXT,
    disclosed_to          TEXT,
    discovered_at         INTEGER,
    recorded_by           TEXT REFERENCES users(id),
    recorded_at           INTEGER,
    dismissed_reason      TEXT,
    -- the report to the City Chief Privacy Officer: when and how
    cpo_reported_at       INTEGER,
    cpo_report_method     TEXT,
    cpo_report_note       TEXT,
    cpo_reported_by       TEXT REFERENCES users(id),
    -- the notification decision
    notification_decision TEXT,
    notification_reason   TEXT,
    decided_by            TEXT REFERENCES users(id),
    decided_at            INTEGER
);
CREATE INDEX breaches_open ON breaches(status, cpo_reported_at);
CREATE INDEX breaches_discovered ON breaches(discovered_at);

-- Each escalation stage of a breach (12 or 20 hours after discovery) is one row: never sent twice.
CREATE TABLE breach_escalations (
    breach_id    TEXT NOT NULL REFERENCES breaches(id),
    stage_hours  INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    recipients   TEXT NOT NULL,
    -- sent, failed (tried again), not_sent (no relay or no address configured)
    outcome      TEXT NOT NULL CHECK (outcome IN ('sent', 'failed', 'not_sent')),
    detail       TEXT,
    PRIMARY KEY (breach_id, stage_hours)
);

-- Letters to the affected people (EXT-05).
CREATE TABLE breach_letters (
    id           TEXT PRIMARY KEY,
    breach_id    TEXT NOT NULL REFERENCES breaches(id),
    recipient    TEXT NOT NULL,
    address      TEXT,
    sent_on      TEXT NOT NULL,
    recorded_by  TEXT NOT NULL REFERENCES users(id),
    recorded_at  INTEGER NOT NULL
);
CREATE INDEX breach_letters_breach ON breach_letters(breach_id);
