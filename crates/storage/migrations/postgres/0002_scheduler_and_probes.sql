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

-- Claims read the ready jobs of a queue in (run_at, id) order: index both,
-- so a claim never sorts a batch of jobs enqueued at the same instant.
DROP INDEX index_jobs_ready;
CREATE INDEX index_jobs_ready ON jobs (queue, run_at, id) WHERE dead_at IS NULL;
