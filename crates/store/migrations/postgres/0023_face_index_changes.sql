-- Every change to what the in-memory face index of a node must hold (a template stored, a record
-- sealed or unsealed), numbered by one counter. The counter row is updated in the transaction of
-- the change, so its lock orders versions as they commit: a node that has applied version N and
-- reads the changes after N misses none (FR-02 on many nodes).
CREATE TABLE fr_index_head (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO fr_index_head (id, version) VALUES (1, 0);

CREATE TABLE fr_index_changes (
    version   BIGINT PRIMARY KEY,
    record_no BIGINT NOT NULL,
    -- 'template' (of algorithm), 'seal' or 'unseal'.
    change    TEXT NOT NULL CHECK (change IN ('template', 'seal', 'unseal')),
    algorithm TEXT,
    at        BIGINT NOT NULL
);
