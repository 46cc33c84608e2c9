-- An outside agency's FR request states its purpose (FR-20), checked against EXT-02 (never civil
-- immigration enforcement). Requests documented before this column existed have none.
ALTER TABLE fr_external_requests ADD COLUMN purpose TEXT;
