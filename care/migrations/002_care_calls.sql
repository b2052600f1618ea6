-- Outbound check-in calls to at-risk residents (the care-call queue): who called whom, when, and what
-- came of it. A call without an outcome is an operator's claim on the resident (one at a time); a
-- reached call is also stored as a phone visit (``visit_id``), so it counts for the visit rate.
CREATE TABLE care_calls (
    id           bigserial PRIMARY KEY,
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    operator     text NOT NULL,
    org_path     text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('reached', 'no_answer', 'busy', 'wrong_number', 'abandoned')),
    retry_at     timestamptz,
    note         text NOT NULL DEFAULT '',
    visit_id     bigint REFERENCES care_visits (id) ON DELETE SET NULL,
    CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE UNIQUE INDEX care_calls_open ON care_calls (resident_id) WHERE outcome IS NULL;
CREATE INDEX care_calls_resident ON care_calls (resident_id, started_at DESC);
CREATE INDEX care_calls_started ON care_calls (started_at);
