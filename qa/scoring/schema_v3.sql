-- callqa DuckDB schema, version 3: what the audio said of the lines in doubt.

-- Each reading a check asked the audio about (qa.scoring.checks.sound), scored by
-- qa.transcribe.verify: the checks read these back on a rescore instead of the audio.
CREATE TABLE IF NOT EXISTS heard (
    call_id VARCHAR NOT NULL,
    channel INTEGER NOT NULL,
    start_s DOUBLE NOT NULL,     -- the span scored (an utterance, or adjacent ones of one party)
    end_s DOUBLE NOT NULL,
    reading VARCHAR NOT NULL,    -- the hypothesis with the rulebook's wording put where it sounds closest
    wording VARCHAR NOT NULL,    -- that wording
    score DOUBLE NOT NULL,       -- ratio less cohort: what the checks compare with the rulebook's thresholds
    hypothesis VARCHAR NOT NULL, -- what the decoder wrote over the span (Simplified)
    model_sha256 VARCHAR,        -- of the model that scored it
    ratio DOUBLE,                -- log-likelihood ratio per wording token against that hypothesis
    cohort DOUBLE                -- the mean ratio of unrelated service sentences over the span
);
ALTER TABLE calls ADD COLUMN verify BOOLEAN;   -- the checks could ask the audio (false: scored with --no-verify)
ALTER TABLE calls ADD COLUMN unheard INTEGER;  -- readings asked that no audio answered (judged by text alone)
