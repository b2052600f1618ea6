-- One namespace for Zigbee devices: a Zigbee2MQTT friendly name and an IEEE address are both a name
-- the gateway resolves a `zigbee2mqtt/<name>` topic by, compared without case (Zigbee2MQTT writes
-- IEEE addresses in lower case). No device may take a key another device holds, whichever column
-- either of them put it in; a device may hold the same key twice (friendly name = its address).
CREATE TABLE zigbee_keys (
    key        text PRIMARY KEY,
    device_id  text NOT NULL REFERENCES devices (id)
);
CREATE INDEX zigbee_keys_device ON zigbee_keys (device_id);

CREATE FUNCTION registry_zigbee_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM zigbee_keys WHERE device_id = NEW.id;
    INSERT INTO zigbee_keys (key, device_id)
        SELECT DISTINCT lower(k), NEW.id FROM unnest(ARRAY[NEW.z2m_name, NEW.ieee]) AS k WHERE k IS NOT NULL;
    RETURN NULL;
END $$;

-- Existing devices keep their keys, oldest first; a later device whose key clashes loses it (logged
-- by the registry at start as a device without a Zigbee key) instead of stopping the upgrade.
INSERT INTO zigbee_keys (key, device_id)
    SELECT DISTINCT ON (lower(k)) lower(k), d.id
    FROM devices d, unnest(ARRAY[d.z2m_name, d.ieee]) AS k
    WHERE k IS NOT NULL
    ORDER BY lower(k), d.created_at, d.id;

CREATE TRIGGER devices_zigbee_keys AFTER INSERT OR UPDATE OF z2m_name, ieee ON devices
    FOR EACH ROW EXECUTE FUNCTION registry_zigbee_keys();
