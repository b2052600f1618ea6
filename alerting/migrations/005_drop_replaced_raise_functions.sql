-- raise_alert (001) and raise_alert_v2 (002) were replaced by raise_alert_v3 (003), which also stores
-- the new alert's timers; nothing calls them any more.
DROP FUNCTION IF EXISTS raise_alert(
    text, uuid, text, text, text, smallint, timestamptz, timestamptz, interval, real, jsonb, text[]
);
DROP FUNCTION IF EXISTS raise_alert_v2(
    text, uuid, text, text, text, smallint, timestamptz, timestamptz, interval, real, jsonb, text[], text, timestamptz
);
