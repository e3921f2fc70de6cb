-- Scheduled ticks: one row per tick name and time slot; the INSERT that
-- creates it is what lets exactly one worker run that slot.
CREATE TABLE scheduler_runs (
    name TEXT NOT NULL,
    slot BIGINT NOT NULL,
    ran_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, slot)
);

-- Probe jobs record their runs here (`ferrodon jobs probe`): an end-to-end
-- check of the job pipeline, and how the crash test counts duplicates.
CREATE TABLE job_probes (
    key TEXT PRIMARY KEY,
    runs BIGINT NOT NULL,
    first_run_at TIMESTAMPTZ NOT NULL,
    last_run_at TIMESTAMPTZ NOT NULL
);
