-- callqa DuckDB schema, version 1. Table and column names are a contract
-- (see the design notes): add columns freely, never rename or drop.
CREATE TABLE IF NOT EXISTS schema_info (
    version INTEGER NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS calls (
    call_id VARCHAR PRIMARY KEY,      -- path relative to the scored folder, no extension
    path VARCHAR NOT NULL,            -- absolute path (or URL) of the audio
    sha256 VARCHAR,
    duration_s DOUBLE,
    channels INTEGER,
    sample_rate INTEGER,
    agent_id VARCHAR,
    team VARCHAR,
    started_at TIMESTAMP,
    direction VARCHAR,
    ring_count INTEGER,
    ring_source VARCHAR,              -- detected | metadata | none
    answer_onset_s DOUBLE,
    status VARCHAR NOT NULL,          -- scored | error
    error VARCHAR,
    rulebook_version VARCHAR,
    options_json VARCHAR,             -- transcription options used
    timeline_json VARCHAR,            -- speech / silence / overlap / ring intervals
    metadata_json VARCHAR,            -- every metadata CSV column, as given
    scored_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS utterances (
    call_id VARCHAR NOT NULL,
    idx INTEGER NOT NULL,
    role VARCHAR NOT NULL,            -- agent | customer | unknown
    channel INTEGER NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    text VARCHAR NOT NULL,            -- Simplified Chinese
    pinyin VARCHAR,                   -- normalize.pinyin_key(text): search by sound
    words_json VARCHAR,               -- [[text, start_s, end_s, probability], ...]
    PRIMARY KEY (call_id, idx)
);

CREATE TABLE IF NOT EXISTS rule_results (
    call_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,         -- pass | fail | na
    points DOUBLE NOT NULL,           -- points deducted
    detail VARCHAR,
    PRIMARY KEY (call_id, rule_id)
);

-- finding_id is derived from (call_id, rule_id, start_s, matched_phrase) so an
-- inspector's verdict still points at the same finding after a rescore.
CREATE TABLE IF NOT EXISTS findings (
    finding_id VARCHAR PRIMARY KEY,
    call_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    role VARCHAR,
    evidence VARCHAR,
    matched_phrase VARCHAR,
    similarity DOUBLE,
    clause VARCHAR,
    severity VARCHAR
);

CREATE TABLE IF NOT EXISTS scores (
    call_id VARCHAR PRIMARY KEY,
    rulebook_version VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    passed BOOLEAN NOT NULL
);

-- Inspector verdicts. Append-only: a changed mind is a new row; the latest wins.
CREATE SEQUENCE IF NOT EXISTS review_ids;
CREATE TABLE IF NOT EXISTS reviews (
    review_id BIGINT PRIMARY KEY DEFAULT nextval('review_ids'),
    call_id VARCHAR NOT NULL,
    finding_id VARCHAR,               -- NULL for a "missed violation" report
    rule_id VARCHAR,
    verdict VARCHAR NOT NULL,         -- confirmed | false_positive | missed
    reviewer VARCHAR NOT NULL,
    comment VARCHAR,
    start_s DOUBLE,                   -- for missed violations: where in the call
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
