-- Issue 15: alerts and answer times per area (the resident's org path at raise) and local day of ringing.
-- answer_s / scene_s hold one element per alert (NULL: not answered / nobody on scene), so the report's
-- percentiles over any set of days and areas are exact. Refreshed by alerting.alert_rollup.
CREATE TABLE alerts_daily (
    day          date NOT NULL,
    org_path     text NOT NULL,
    alerts       integer NOT NULL,
    answered     integer NOT NULL,
    within_60s   integer NOT NULL,
    within_180s  integer NOT NULL,
    answer_s     double precision[] NOT NULL,
    scene_s      double precision[] NOT NULL,
    PRIMARY KEY (day, org_path)
);
CREATE INDEX alerts_daily_path ON alerts_daily (org_path text_pattern_ops, day);

-- How far each scheduled rollup has read its source (alert_audit ids for alerts_daily).
CREATE TABLE rollup_positions (
    name      text PRIMARY KEY,
    position  bigint NOT NULL
);
