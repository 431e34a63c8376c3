-- callqa DuckDB schema, version 5: accounts, the audit log, personal numbers.

CREATE TABLE IF NOT EXISTS accounts (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,            -- a qa.access.roles.ROLES key
    team VARCHAR,                     -- a team lead's team
    password_hash VARCHAR NOT NULL,   -- argon2id, with its own salt and cost
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Append-only: who did what to which call, finding or clip, and when.
CREATE SEQUENCE IF NOT EXISTS audit_ids;
CREATE TABLE IF NOT EXISTS audit_log (
    event_id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
    happened_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor VARCHAR NOT NULL,
    role VARCHAR,
    action VARCHAR NOT NULL,          -- qa.access.audit.ACTIONS
    call_id VARCHAR,
    finding_id VARCHAR,
    detail VARCHAR
);

-- Where a call's personal numbers were said (no digits: kind, party, time).
CREATE TABLE IF NOT EXISTS pii_spans (
    call_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- mobile | id_card | bank_card | landline | email
    role VARCHAR NOT NULL,
    channel INTEGER NOT NULL,
    idx INTEGER NOT NULL,             -- the utterance
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL
);
CREATE INDEX IF NOT EXISTS pii_spans_call ON pii_spans (call_id);

-- Masked text where it differs from the raw one (NULL: nothing to mask).
ALTER TABLE utterances ADD COLUMN IF NOT EXISTS redacted_text VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS evidence_redacted VARCHAR;
-- TRUE: only masked text was stored for this call (callqa score --redact-at-rest)
ALTER TABLE calls ADD COLUMN IF NOT EXISTS redacted_at_rest BOOLEAN;
