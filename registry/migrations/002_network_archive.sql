-- The four-level service network, the resident archive, homes, device lifecycle and credentials,
-- users' areas and the registry's audit log.
--
-- Scoping: every row that belongs to the network carries ``org_path`` ('/410100/410105/…/', '/' when
-- it has no node), kept by triggers from ``org_node`` (nodes never move), so a caller's scope is one
-- indexed prefix condition: ``org_path LIKE '/410100/410105/%'``.

CREATE INDEX org_nodes_path ON org_nodes (path text_pattern_ops);
CREATE INDEX org_nodes_parent ON org_nodes (parent);
ALTER TABLE org_nodes ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION registry_org_path(p_code text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT path FROM org_nodes WHERE code = p_code), '/')
$$;

-- Homes: the dwelling, its address, who holds a key and the key safe's code (encrypted).
CREATE TABLE homes (
    id            text PRIMARY KEY,
    external_id   text UNIQUE,
    org_node      text REFERENCES org_nodes (code),
    org_path      text NOT NULL DEFAULT '/',
    address       text NOT NULL DEFAULT '',
    key_holders   jsonb NOT NULL DEFAULT '[]'::jsonb,
    key_safe_enc  text,
    notes         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX homes_org_path ON homes (org_path text_pattern_ops);

ALTER TABLE residents
    ADD COLUMN external_id          text UNIQUE,
    ADD COLUMN org_path             text NOT NULL DEFAULT '/',
    ADD COLUMN home_id              text REFERENCES homes (id),
    ADD COLUMN id_number_enc        text,
    ADD COLUMN id_number_masked     text NOT NULL DEFAULT '',
    ADD COLUMN id_number_digest     text,
    ADD COLUMN sex                  text NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'unknown')),
    ADD COLUMN languages            text[] NOT NULL DEFAULT '{}',
    ADD COLUMN living_alone         boolean NOT NULL DEFAULT false,
    ADD COLUMN mobility             text NOT NULL DEFAULT 'independent',
    ADD COLUMN conditions           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN medications          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN care_level           text NOT NULL DEFAULT 'standard',
    ADD COLUMN emergency_contacts   jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN consent_monitoring   boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_data_sharing boolean NOT NULL DEFAULT false,
    ADD COLUMN photo_url            text,
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();
CREATE INDEX residents_org_path ON residents (org_path text_pattern_ops, id);
CREATE INDEX residents_home ON residents (home_id);
CREATE INDEX residents_id_digest ON residents (id_number_digest);

ALTER TABLE devices
    ADD COLUMN org_node       text REFERENCES org_nodes (code),
    ADD COLUMN org_path       text NOT NULL DEFAULT '/',
    ADD COLUMN home_id        text REFERENCES homes (id),
    ADD COLUMN status         text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'failed', 'replaced', 'retired')),
    ADD COLUMN replaces       text REFERENCES devices (id),
    ADD COLUMN replaced_by    text REFERENCES devices (id),
    ADD COLUMN mqtt_password_hash text,  -- Mosquitto's PBKDF2-SHA512 form ($7$…): never the password
    ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now();
CREATE INDEX devices_org_path ON devices (org_path text_pattern_ops, id);

-- What happened to a device: registered, bound, unbound, replaced, failed, credentials issued…
CREATE TABLE device_history (
    id         bigserial PRIMARY KEY,
    device_id  text NOT NULL REFERENCES devices (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX device_history_device ON device_history (device_id, id);

ALTER TABLE users
    ADD COLUMN org_path      text NOT NULL DEFAULT '/',
    ADD COLUMN display_name  text NOT NULL DEFAULT '',
    ADD COLUMN active        boolean NOT NULL DEFAULT true;
CREATE INDEX users_org_path ON users (org_path text_pattern_ops);

-- Residents, homes and users take the path of their node; a device takes its resident's node when
-- bound (else its own, e.g. a community's stock); a family user takes the path of their relative.
CREATE FUNCTION registry_stamp_org_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.org_path := registry_org_path(NEW.org_node);
    RETURN NEW;
END $$;

CREATE FUNCTION registry_stamp_device_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.resident_id IS NOT NULL THEN
        SELECT org_node, home_id INTO NEW.org_node, NEW.home_id FROM residents WHERE id = NEW.resident_id;
    END IF;
    NEW.org_path := registry_org_path(NEW.org_node);
    RETURN NEW;
END $$;

CREATE FUNCTION registry_stamp_user_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.resident_id IS NOT NULL AND NEW.org_node IS NULL THEN
        NEW.org_path := coalesce((SELECT org_path FROM residents WHERE id = NEW.resident_id), '/');
    ELSE
        NEW.org_path := registry_org_path(NEW.org_node);
    END IF;
    RETURN NEW;
END $$;

-- A resident who moves to another community takes their devices along.
CREATE FUNCTION registry_resident_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE devices SET org_node = NEW.org_node, home_id = NEW.home_id WHERE resident_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER homes_org_path BEFORE INSERT OR UPDATE OF org_node ON homes
    FOR EACH ROW EXECUTE FUNCTION registry_stamp_org_path();
CREATE TRIGGER residents_org_path BEFORE INSERT OR UPDATE OF org_node ON residents
    FOR EACH ROW EXECUTE FUNCTION registry_stamp_org_path();
CREATE TRIGGER residents_moved AFTER UPDATE OF org_node, home_id ON residents
    FOR EACH ROW WHEN (OLD.org_node IS DISTINCT FROM NEW.org_node OR OLD.home_id IS DISTINCT FROM NEW.home_id)
    EXECUTE FUNCTION registry_resident_moved();
CREATE TRIGGER devices_org_path BEFORE INSERT OR UPDATE OF org_node, resident_id ON devices
    FOR EACH ROW EXECUTE FUNCTION registry_stamp_device_path();
CREATE TRIGGER users_org_path BEFORE INSERT OR UPDATE OF org_node, resident_id ON users
    FOR EACH ROW EXECUTE FUNCTION registry_stamp_user_path();

UPDATE residents SET org_node = org_node;
UPDATE devices SET resident_id = resident_id;
UPDATE users SET org_node = org_node;

-- Append-only: every read of a resident record and every change in the registry, who and when.
CREATE TABLE registry_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    actor_role   text NOT NULL DEFAULT '',
    action       text NOT NULL,   -- read, list, create, update, delete, reveal, import, export, …
    object_type  text NOT NULL,   -- resident, home, device, user, org_node, import
    object_id    text NOT NULL DEFAULT '',
    org_path     text NOT NULL DEFAULT '/',
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX registry_audit_path ON registry_audit (org_path text_pattern_ops, id DESC);
CREATE INDEX registry_audit_object ON registry_audit (object_type, object_id, id DESC);

CREATE FUNCTION registry_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registry_audit is append-only';
END $$;
CREATE TRIGGER registry_audit_no_change BEFORE UPDATE OR DELETE ON registry_audit
    FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only();
