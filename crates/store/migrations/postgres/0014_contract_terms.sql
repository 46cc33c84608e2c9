-- What a contract covers (EXT-06, EXT-07). A vendor contract names the technologies in scope
-- (JSON array); it covers only those, and one recorded before this column covers none. An
-- agreement with another agency stores its terms (JSON: agency, systems, security and
-- confidentiality, no onward disclosure, notice of subpoenas, purpose); without complete terms
-- it grants no access.
ALTER TABLE vendor_contracts ADD COLUMN technologies TEXT;
ALTER TABLE vendor_contracts ADD COLUMN agreement_terms TEXT;
