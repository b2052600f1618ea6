-- raise_alert_v2 plus the new alert's timers in the same call: one round trip on the alarm path.
CREATE FUNCTION raise_alert_v3(
    p_key text, p_id uuid, p_resident text, p_device text, p_kind text, p_priority smallint,
    p_occurred timestamptz, p_now timestamptz, p_window interval, p_confidence real, p_details jsonb,
    p_open_states text[], p_org_path text, p_pending_until timestamptz,
    p_timer_kinds text[], p_timer_due timestamptz[], p_timer_data jsonb[]
) RETURNS TABLE (
    event text, id uuid, resident_id text, device_id text, kind text, priority smallint, state text,
    occurred_at timestamptz, raised_at timestamptz, last_trigger_at timestamptz,
    acknowledged_at timestamptz, acknowledged_by text, repeats integer, confidence real, details jsonb,
    org_path text, ringing_at timestamptz, pending_until timestamptz, dispatched_at timestamptz,
    on_scene_at timestamptz, closed_at timestamptz, closed_by text, outcome text, duplicate_of uuid,
    urgency smallint, needs_emergency_call boolean, responder text,
    timer_ids bigint[], timer_due timestamptz[]
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    existing uuid;
    v_event text;
    v_timer_ids bigint[];
    v_timer_due timestamptz[];
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
        -- The new alert's timers (escalation ladder, or the cancel window) in the same round trip.
        WITH inserted AS (
            INSERT INTO alert_timers (alert_id, kind, due_at, data, created_at)
                SELECT p_id, t.k, t.d, t.x, p_now FROM unnest(p_timer_kinds, p_timer_due, p_timer_data) AS t(k, d, x)
                RETURNING alert_timers.id AS tid, alert_timers.due_at AS tdue
        )
        SELECT array_agg(tid ORDER BY tid), array_agg(tdue ORDER BY tid) INTO v_timer_ids, v_timer_due FROM inserted;
    END IF;
    RETURN QUERY SELECT v_event, a.id, a.resident_id, a.device_id, a.kind, a.priority, a.state, a.occurred_at,
        a.raised_at, a.last_trigger_at, a.acknowledged_at, a.acknowledged_by, a.repeats, a.confidence, a.details,
        a.org_path, a.ringing_at, a.pending_until, a.dispatched_at, a.on_scene_at, a.closed_at, a.closed_by,
        a.outcome, a.duplicate_of, a.urgency, a.needs_emergency_call, a.responder, v_timer_ids, v_timer_due
        FROM alerts a WHERE a.id = existing;
END $$;
