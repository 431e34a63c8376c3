-- callqa DuckDB schema, version 4: sampling plans (抽检) and who reviews which call.

CREATE SEQUENCE IF NOT EXISTS plan_ids;
CREATE TABLE IF NOT EXISTS sampling_plans (
    plan_id BIGINT PRIMARY KEY DEFAULT nextval('plan_ids'),
    name VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    date_from DATE,                    -- the calls' start dates drawn from (NULL: no bound)
    date_to DATE,
    share DOUBLE NOT NULL,             -- of each agent's calls per week
    all_failed BOOLEAN NOT NULL,       -- every auto-failed call besides the share
    calibration_share DOUBLE NOT NULL, -- of the drawn calls, sent to a second inspector too
    inspectors VARCHAR NOT NULL,       -- JSON list, in the order calls are dealt out
    seed BIGINT NOT NULL               -- the same seed draws the same calls
);

-- One row per call and inspector: a calibration call has two.
CREATE TABLE IF NOT EXISTS plan_calls (
    plan_id BIGINT NOT NULL,
    call_id VARCHAR NOT NULL,
    inspector VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,           -- failed | sampled | calibration
    PRIMARY KEY (plan_id, call_id, inspector)
);
