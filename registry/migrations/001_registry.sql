CREATE TABLE org_nodes (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('city', 'district', 'street', 'community')),
    parent      text REFERENCES org_nodes (code),
    path        text NOT NULL  -- '/city/district/street/community/' codes, for subtree scoping
);

CREATE TABLE residents (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    address     text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    birth_date  date,
    org_node    text REFERENCES org_nodes (code),
    profile     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id          text PRIMARY KEY,
    resident_id text REFERENCES residents (id),
    type        text NOT NULL,
    model       text NOT NULL DEFAULT '',
    location    text NOT NULL DEFAULT '',
    power       text NOT NULL DEFAULT 'battery' CHECK (power IN ('battery', 'mains')),
    z2m_name    text UNIQUE,
    ieee        text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_resident ON devices (resident_id);

CREATE TABLE users (
    username       text PRIMARY KEY,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'supervisor', 'operator', 'responder', 'family')),
    org_node       text REFERENCES org_nodes (code),
    resident_id    text REFERENCES residents (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
