-- What a person may do is computed from their user row and their assignments, training records
-- and vendor contracts. `access_version` changes whenever any of those rows changes, in the same
-- transaction, so a node may keep the rows it loaded for a person and reuse them for as long as
-- the version it reads with the session is the one it loaded them at (SEC-02 on many nodes: a
-- revocation committed on any node is seen by every node at the caller's next request).
-- Triggers rather than application code: no writer can forget them.
ALTER TABLE users ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE users SET access_version = access_version + 1 WHERE id = OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        UPDATE users SET access_version = access_version + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER assignments_access AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION bump_access_version();
CREATE TRIGGER training_access AFTER INSERT OR UPDATE OR DELETE ON training_records
    FOR EACH ROW EXECUTE FUNCTION bump_access_version();
CREATE TRIGGER vendor_contracts_access AFTER INSERT OR UPDATE OR DELETE ON vendor_contracts
    FOR EACH ROW EXECUTE FUNCTION bump_access_version();
