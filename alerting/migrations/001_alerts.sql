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

-- Raise or coalesce in one round trip. Returns nothing for a key seen before (idempotent),
-- else whether the alert was 'raised' or 'repeated', and the alert as it now is.
CREATE FUNCTION raise_alert(
    p_key text, p_id uuid, p_resident text, p_device text, p_kind text, p_priority smallint,
    p_occurred timestamptz, p_now timestamptz, p_window interval, p_confidence real, p_details jsonb,
    p_open_states text[]
) RETURNS TABLE (
    event text, id uuid, resident_id text, device_id text, kind text, priority smallint, state text,
    occurred_at timestamptz, raised_at timestamptz, last_trigger_at timestamptz,
    acknowledged_at timestamptz, acknowledged_by text, repeats integer, confidence real, details jsonb
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    existing uuid;
    outcome text;
BEGIN
    INSERT INTO alert_triggers (key, alert_id, received_at) VALUES (p_key, p_id, p_now)
        ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.id INTO existing FROM alerts a
        WHERE a.resident_id = p_resident AND a.kind = p_kind AND a.state = ANY (p_open_states)
          AND a.last_trigger_at >= p_now - p_window
        ORDER BY a.raised_at DESC LIMIT 1 FOR UPDATE;
    IF existing IS NOT NULL THEN
        UPDATE alert_triggers SET alert_id = existing WHERE key = p_key;
        UPDATE alerts SET repeats = repeats + 1, last_trigger_at = p_now WHERE alerts.id = existing;
        INSERT INTO alert_audit (alert_id, at, actor, action, note)
            VALUES (existing, p_now, 'system', 'repeated', p_key);
        outcome := 'repeated';
    ELSE
        INSERT INTO alerts (id, resident_id, device_id, kind, priority, state, occurred_at, raised_at,
                            last_trigger_at, confidence, details)
            VALUES (p_id, p_resident, p_device, p_kind, p_priority, 'raised', p_occurred, p_now, p_now,
                    p_confidence, p_details);
        INSERT INTO alert_audit (alert_id, at, actor, action, to_state, note)
            VALUES (p_id, p_now, 'system', 'raised', 'raised', p_key);
        existing := p_id;
        outcome := 'raised';
    END IF;
    RETURN QUERY SELECT outcome, a.id, a.resident_id, a.device_id, a.kind, a.priority, a.state, a.occurred_at,
        a.raised_at, a.last_trigger_at, a.acknowledged_at, a.acknowledged_by, a.repeats, a.confidence, a.details
        FROM alerts a WHERE a.id = existing;
END $$;
