CREATE TABLE alerts (
    id               uuid PRIMARY KEY,
    resident_id      text NOT NULL,
    device_id        text NOT NULL,
    kind             text NOT NULL,
    priority         smallint NOT NULL,
    state            text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    raised_at        timestamptz NOT NULL,
    last_trigger_at  timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    repeats          integer NOT NULL DEFAULT 1,
    confidence       real NOT NULL DEFAULT 1.0,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alerts_open ON alerts (priority, raised_at) WHERE state NOT IN ('resolved', 'cancelled', 'duplicate');
CREATE INDEX alerts_resident ON alerts (resident_id, kind, raised_at DESC);

-- Every detection key ever seen, so a redelivered or replayed message never pages twice.
CREATE TABLE alert_triggers (
    key          text PRIMARY KEY,
    alert_id     uuid NOT NULL REFERENCES alerts (id) DEFERRABLE INITIALLY DEFERRED,
    received_at  timestamptz NOT NULL
);

-- Append-only: who did what to an alert, and when.
CREATE TABLE alert_audit (
    id          bigserial PRIMARY KEY,
    alert_id    uuid NOT NULL REFERENCES alerts (id),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id, id);

CREATE FUNCTION alert_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alert_audit is append-only';
END $$;
CREATE TRIGGER alert_audit_no_change BEFORE UPDATE OR DELETE ON alert_audit
    FOR EACH ROW EXECUTE FUNCTION alert_audit_append_only();
