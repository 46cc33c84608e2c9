-- Algorithm governance (FR-23): the registered algorithm versions, their evaluation records,
-- the proposals to activate one (proposer, approver, decision) with the re-templating progress,
-- and which version is active now and which was before it (so rollback is one action).
-- Times are unix ms; figures are fractions (0.9863 = 98.63 %).
CREATE TABLE fr_algorithms (
    algorithm      TEXT PRIMARY KEY,          -- name@version
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    description    TEXT NOT NULL,
    dimension      BIGINT NOT NULL,
    registered_at  BIGINT NOT NULL
);

CREATE TABLE fr_algorithm_evaluations (
    id                     TEXT PRIMARY KEY,
    algorithm              TEXT NOT NULL REFERENCES fr_algorithms(algorithm),
    dataset                TEXT NOT NULL,
    command                TEXT NOT NULL,
    evaluated_at           TEXT NOT NULL,
    verification_accuracy  DOUBLE PRECISION NOT NULL,
    tar_at_far             DOUBLE PRECISION,
    far                    DOUBLE PRECISION,
    rank1                  DOUBLE PRECISION,
    fnir_at_fpir           DOUBLE PRECISION,
    fpir                   DOUBLE PRECISION,
    group_count            BIGINT NOT NULL,
    group_differential     DOUBLE PRECISION,
    figures                TEXT NOT NULL,         -- JSON: every overall figure as given
    group_figures          TEXT NOT NULL,         -- JSON: the same figures per demographic group
    recorded_by            TEXT NOT NULL,
    recorded_at            BIGINT NOT NULL
);
CREATE INDEX fr_algorithm_evaluations_algorithm ON fr_algorithm_evaluations(algorithm, recorded_at);

-- state: proposed -> refused | retemplating -> active | incomplete; a newer proposal supersedes
-- one still proposed or retemplating (superseded).
CREATE TABLE fr_algorithm_activations (
    id               TEXT PRIMARY KEY,
    algorithm        TEXT NOT NULL REFERENCES fr_algorithms(algorithm),
    from_algorithm   TEXT NOT NULL,
    kind             TEXT NOT NULL,           -- activation | rollback
    evaluation_id    TEXT REFERENCES fr_algorithm_evaluations(id),
    state            TEXT NOT NULL,
    proposed_by      TEXT NOT NULL,
    proposer_roles   TEXT NOT NULL,           -- JSON list of the proposer's roles
    reason           TEXT NOT NULL,
    proposed_at      BIGINT NOT NULL,
    decided_by       TEXT,
    decider_roles    TEXT,
    decision         TEXT,                    -- approved | refused
    decision_reason  TEXT,
    decided_at       BIGINT,
    checkpoint       TEXT,                    -- JSON re-templating checkpoint
    total            BIGINT NOT NULL DEFAULT 0,
    templated        BIGINT NOT NULL DEFAULT 0,
    failed           BIGINT NOT NULL DEFAULT 0,
    started_at       BIGINT,
    finished_at      BIGINT,
    note             TEXT
);
CREATE INDEX fr_algorithm_activations_state ON fr_algorithm_activations(state, proposed_at);

-- One row: the version searches use now, and the one before it.
CREATE TABLE fr_algorithm_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    active         TEXT NOT NULL,
    previous       TEXT,
    activation_id  TEXT,
    changed_by     TEXT NOT NULL,
    changed_at     BIGINT NOT NULL
);
-- A fresh database searches with the default algorithm of the release that created it.
INSERT INTO fr_algorithm_state (id, active, previous, activation_id, changed_by, changed_at)
VALUES (1, 'dlib-resnet-v1@2', NULL, NULL, 'system:migration', 0);
