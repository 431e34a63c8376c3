-- callqa DuckDB schema, version 2: what produced every score, and verdicts that stay with their findings.
-- Applied on top of schema.sql (version 1) to new and old databases alike.

-- Provenance of each call's transcript (ASR options are options_json).
ALTER TABLE calls ADD COLUMN signal_options_json VARCHAR;  -- every signal-timeline threshold
ALTER TABLE calls ADD COLUMN model_name VARCHAR;           -- the --model spec (embedded:whisper-base, a directory...)
ALTER TABLE calls ADD COLUMN model_sha256 VARCHAR;         -- of the model weights (model.bin)
ALTER TABLE calls ADD COLUMN callqa_version VARCHAR;
-- Which party each channel is: the roles used (left first), and how they were decided.
ALTER TABLE calls ADD COLUMN channel_roles VARCHAR;        -- e.g. agent,customer
ALTER TABLE calls ADD COLUMN roles_source VARCHAR;         -- given | auto | auto-unsure (default kept)
ALTER TABLE calls ADD COLUMN roles_confidence DOUBLE;      -- of an auto decision
ALTER TABLE calls ADD COLUMN legs_json VARCHAR;            -- a call stored as two files: [agent, customer]

-- What a finding is, beside what it says: the message key (which mandated line
-- or step), the values its evidence was filled with, and an anchor time that
-- window settings do not move. Verdicts are carried over on these.
ALTER TABLE findings ADD COLUMN message VARCHAR;
ALTER TABLE findings ADD COLUMN message_args VARCHAR;      -- JSON object
ALTER TABLE findings ADD COLUMN anchor_s DOUBLE;

-- What a verdict judged, as the inspector saw it (start_s is already there).
ALTER TABLE reviews ADD COLUMN end_s DOUBLE;
ALTER TABLE reviews ADD COLUMN anchor_s DOUBLE;
ALTER TABLE reviews ADD COLUMN evidence VARCHAR;
ALTER TABLE reviews ADD COLUMN matched_phrase VARCHAR;
ALTER TABLE reviews ADD COLUMN message VARCHAR;
ALTER TABLE reviews ADD COLUMN rulebook_version VARCHAR;

-- Every rulebook version that scored a call: its files as read and the resolved settings.
CREATE TABLE IF NOT EXISTS rulebooks (
    version VARCHAR PRIMARY KEY,      -- sha256 (first 12) of resolved_json
    name VARCHAR NOT NULL,
    sources_json VARCHAR NOT NULL,    -- the files merged, default first
    texts_json VARCHAR NOT NULL,      -- each file's TOML text, as read
    resolved_json VARCHAR NOT NULL,   -- qa.phrases.rulebook_from_json reads it back
    first_used_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
