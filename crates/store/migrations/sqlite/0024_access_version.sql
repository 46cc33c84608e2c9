-- What a person may do is computed from their user row and their assignments, training records
-- and vendor contracts. `access_version` changes whenever any of those rows changes, in the same
-- transaction, so a node may keep the rows it loaded for a person and reuse them for as long as
-- the version it reads with the session is the one it loaded them at (SEC-02 on many nodes: a
-- revocation committed on any node is seen by every node at the caller's next request).
-- Triggers rather than application code: no writer can forget them.
ALTER TABLE users ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER assignments_access_insert AFTER INSERT ON assignments BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER assignments_access_update AFTER UPDATE ON assignments BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER assignments_access_delete AFTER DELETE ON assignments BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER training_access_insert AFTER INSERT ON training_records BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER training_access_update AFTER UPDATE ON training_records BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER training_access_delete AFTER DELETE ON training_records BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER vendor_contracts_access_insert AFTER INSERT ON vendor_contracts BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER vendor_contracts_access_update AFTER UPDATE ON vendor_contracts BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER vendor_contracts_access_delete AFTER DELETE ON vendor_contracts BEGIN
    UPDATE users SET access_version = access_version + 1 WHERE id = OLD.user_id;
END;
