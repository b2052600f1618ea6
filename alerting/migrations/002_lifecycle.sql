-- Issue 4: lifecycle, scope stamp, SLA clock, escalation timers, responders, dispatch, family notifications.

ALTER TABLE alerts
    ADD COLUMN org_path              text,         -- the resident's org path at raise time (scope)
    ADD COLUMN ringing_at            timestamptz,  -- the answer-time clock starts here (after any cancel window)
    ADD COLUMN pending_until         timestamptz,  -- end of the cancel window of a pending sensor alert
    ADD COLUMN dispatched_at         timestamptz,
    ADD COLUMN on_scene_at           timestamptz,
    ADD COLUMN closed_at             timestamptz,
    ADD COLUMN closed_by             text,
    ADD COLUMN outcome               text,
    ADD COLUMN duplicate_of          uuid REFERENCES alerts (id),
    ADD COLUMN urgency               smallint NOT NULL DEFAULT 0,
    ADD COLUMN needs_emergency_call  boolean NOT NULL DEFAULT false,
    ADD COLUMN responder             text;
UPDATE alerts SET ringing_at = raised_at WHERE ringing_at IS NULL;  -- alerts raised before this rang at once
CREATE INDEX alerts_scope ON alerts (org_path text_pattern_ops, raised_at);
CREATE INDEX alerts_ringing ON alerts (ringing_at);

-- Deadlines as wall-clock times: rebuilt into the scheduler on start; a row fires at most once.
CREATE TABLE alert_timers (
    id            bigserial PRIMARY KEY,
    alert_id      uuid NOT NULL REFERENCES alerts (id),
    kind          text NOT NULL,
    due_at        timestamptz NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL,
    fired_at      timestamptz,
    cancelled_at  timestamptz
);
CREATE INDEX alert_timers_due ON alert_timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX alert_timers_alert ON alert_timers (alert_id);

-- Escalation ladder overrides: scope 'area' keyed by an org path prefix, 'resident' by resident id.
CREATE TABLE escalation_policies (
    scope       text NOT NULL CHECK (scope IN ('area', 'resident')),
    key         text NOT NULL,
    config      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (scope, key)
);

CREATE TABLE responders (
    username    text PRIMARY KEY,
    name        text NOT NULL,
    phone       text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('community_worker', 'volunteer', 'property', 'clinic')),
    org_node    text NOT NULL,
    org_path    text NOT NULL,
    available   boolean NOT NULL DEFAULT true,
    rota        jsonb NOT NULL DEFAULT '[]'::jsonb,   -- [{"days":[0..6], "start":"08:00", "end":"20:00"}]; [] = always
    notify_urls text[] NOT NULL DEFAULT '{}'         -- Apprise URLs the dispatch link is sent to
);
CREATE INDEX responders_path ON responders (org_path text_pattern_ops);

CREATE TABLE dispatches (
    id            bigserial PRIMARY KEY,
    alert_id      uuid NOT NULL REFERENCES alerts (id),
    responder     text NOT NULL REFERENCES responders (username),
    status        text NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'expired', 'arrived',
                                                  'recalled', 'done')),
    offered_at    timestamptz NOT NULL,
    offered_by    text NOT NULL,
    responded_at  timestamptz,
    arrived_at    timestamptz,
    note          text NOT NULL DEFAULT ''
);
CREATE INDEX dispatches_alert ON dispatches (alert_id, id);
CREATE INDEX dispatches_busy ON dispatches (responder) WHERE status IN ('offered', 'accepted', 'arrived');

-- Alerting's own copy of who to notify (decoupled from the registry's resident archive).
CREATE TABLE notification_contacts (
    resident_id  text NOT NULL,
    position     smallint NOT NULL,
    name         text NOT NULL,
    relation     text NOT NULL DEFAULT '',
    urls         text[] NOT NULL,
    quiet_start  time,
    quiet_end    time,
    kinds        text[] NOT NULL DEFAULT '{}',  -- empty: every kind
    PRIMARY KEY (resident_id, position)
);

CREATE TABLE notification_deliveries (
    id          bigserial PRIMARY KEY,
    alert_id    uuid NOT NULL REFERENCES alerts (id),
    audience    text NOT NULL,   -- family, responder, supervisor
    recipient   text NOT NULL,
    channel     text NOT NULL,   -- the Apprise URL with its secrets removed
    at          timestamptz NOT NULL,
    ok          boolean NOT NULL,
    error       text NOT NULL DEFAULT ''
);
CREATE INDEX notification_deliveries_alert ON notification_deliveries (alert_id, id);

-- The key that signs responder and family links (generated once, so links survive restarts).
CREATE TABLE alerting_keys (
    name  text PRIMARY KEY,
    key   text NOT NULL
);

-- raise_alert with the scope stamp and the initial state (raised, or pending with a cancel window).
CREATE FUNCTION raise_alert_v2(
    p_key text, p_id uuid, p_resident text, p_device text, p_kind text, p_priority smallint,
    p_occurred timestamptz, p_now timestamptz, p_window interval, p_confidence real, p_details jsonb,
    p_open_states text[], p_org_path text, p_pending_until timestamptz
) RETURNS TABLE (
    event text, id uuid, resident_id text, device_id text, kind text, priority smallint, state text,
    occurred_at timestamptz, raised_at timestamptz, last_trigger_at timestamptz,
    acknowledged_at timestamptz, acknowledged_by text, repeats integer, confidence real, details jsonb,
    org_path text, ringing_at timestamptz, pending_until timestamptz, dispatched_at timestamptz,
    on_scene_at timestamptz, closed_at timestamptz, closed_by text, outcome text, duplicate_of uuid,
    urgency smallint, needs_emergency_call boolean, responder text
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    existing uuid;
    v_event text;
    initial text := CASE WHEN p_pending_until IS NULL THEN 'raised' ELSE 'pending' END;
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
        v_event := 'repeated';
    ELSE
        INSERT INTO alerts (id, resident_id, device_id, kind, priority, state, occurred_at, raised_at,
                            last_trigger_at, confidence, details, org_path, ringing_at, pending_until)
            VALUES (p_id, p_resident, p_device, p_kind, p_priority, initial, p_occurred, p_now, p_now,
                    p_confidence, p_details, p_org_path,
                    CASE WHEN p_pending_until IS NULL THEN p_now END, p_pending_until);
        INSERT INTO alert_audit (alert_id, at, actor, action, to_state, note)
            VALUES (p_id, p_now, 'system', 'raised', initial, p_key);
        existing := p_id;
        v_event := initial;
    END IF;
    RETURN QUERY SELECT v_event, a.id, a.resident_id, a.device_id, a.kind, a.priority, a.state, a.occurred_at,
        a.raised_at, a.last_trigger_at, a.acknowledged_at, a.acknowledged_by, a.repeats, a.confidence, a.details,
        a.org_path, a.ringing_at, a.pending_until, a.dispatched_at, a.on_scene_at, a.closed_at, a.closed_by,
        a.outcome, a.duplicate_of, a.urgency, a.needs_emergency_call, a.responder
        FROM alerts a WHERE a.id = existing;
END $$;
