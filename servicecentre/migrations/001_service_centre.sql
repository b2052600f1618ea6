-- The service side of the 12349 centre: hotline calls, the service menu, providers, sites, orders,
-- repeating plans, complaints, their audit trail and the orders' durable deadlines.
-- Money is in fen (1/100 yuan), integers. Every row an area may see carries ``org_path``.

CREATE TABLE service_categories (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    name_en     text NOT NULL DEFAULT '',
    org_path    text NOT NULL DEFAULT '/'
);

CREATE TABLE service_items (
    id                  text PRIMARY KEY,
    category            text NOT NULL REFERENCES service_categories (code),
    name                text NOT NULL,
    name_en             text NOT NULL DEFAULT '',
    unit                text NOT NULL,
    price_fen           integer NOT NULL CHECK (price_fen >= 0),
    subsidised          boolean NOT NULL DEFAULT false,
    subsidy_fen         integer NOT NULL DEFAULT 0 CHECK (subsidy_fen >= 0),
    subsidy_min_age     integer NOT NULL DEFAULT 60,
    duration_min        integer NOT NULL DEFAULT 60 CHECK (duration_min > 0),
    org_path            text NOT NULL DEFAULT '/',
    active              boolean NOT NULL DEFAULT true
);

CREATE TABLE providers (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    licence     text NOT NULL DEFAULT '',
    contact     text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    org_path    text NOT NULL,
    areas       text[] NOT NULL DEFAULT '{}',  -- org paths served
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX providers_org_path ON providers (org_path text_pattern_ops);

CREATE TABLE provider_items (
    provider_id text NOT NULL REFERENCES providers (id),
    item_id     text NOT NULL REFERENCES service_items (id),
    price_fen   integer NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (provider_id, item_id)
);

CREATE TABLE provider_staff (
    username    text PRIMARY KEY,
    provider_id text NOT NULL REFERENCES providers (id),
    name        text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT ''
);

CREATE TABLE service_sites (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    type        text NOT NULL,
    address     text NOT NULL DEFAULT '',
    org_node    text NOT NULL,
    org_path    text NOT NULL,
    hours       text NOT NULL DEFAULT '',
    capacity    integer NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    provider_id text REFERENCES providers (id)
);
CREATE INDEX service_sites_org_path ON service_sites (org_path text_pattern_ops);

CREATE TABLE service_calls (
    id          uuid PRIMARY KEY,
    direction   text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    number      text NOT NULL DEFAULT '',
    resident_id text,
    org_path    text NOT NULL,
    agent       text NOT NULL,
    category    text NOT NULL,
    started_at  timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at    timestamptz,
    notes       text NOT NULL DEFAULT '',
    alert_id    uuid,
    order_id    uuid
);
CREATE INDEX service_calls_org_path ON service_calls (org_path text_pattern_ops, started_at);
CREATE INDEX service_calls_resident ON service_calls (resident_id, started_at);

CREATE TABLE order_plans (
    id           uuid PRIMARY KEY,
    resident_id  text NOT NULL,
    org_path     text NOT NULL,
    item_id      text NOT NULL REFERENCES service_items (id),
    provider_id  text NOT NULL REFERENCES providers (id),
    quantity     integer NOT NULL CHECK (quantity > 0),
    weekdays     integer[] NOT NULL,  -- ISO: 1 Monday … 7 Sunday
    local_time   time NOT NULL,
    starts_on    date NOT NULL,
    ends_on      date,
    active       boolean NOT NULL DEFAULT true,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE service_orders (
    id              uuid PRIMARY KEY,
    resident_id     text NOT NULL,
    org_path        text NOT NULL,
    item_id         text NOT NULL REFERENCES service_items (id),
    provider_id     text NOT NULL REFERENCES providers (id),
    quantity        integer NOT NULL CHECK (quantity > 0),
    unit_price_fen  integer NOT NULL,
    total_fen       integer NOT NULL,
    subsidy_fen     integer NOT NULL,
    resident_fen    integer NOT NULL,
    subsidy_note    text NOT NULL DEFAULT '',
    state           text NOT NULL,
    channel         text NOT NULL,
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    accepted_at     timestamptz,
    assigned_at     timestamptz,
    worker          text,
    checked_in_at   timestamptz,
    completed_at    timestamptz,
    closed_at       timestamptz,
    reason          text NOT NULL DEFAULT '',
    rating          smallint CHECK (rating BETWEEN 1 AND 5),
    rating_note     text NOT NULL DEFAULT '',
    missed          text[] NOT NULL DEFAULT '{}',  -- deadlines that passed before their step was done
    plan_id         uuid REFERENCES order_plans (id),
    plan_date       date,
    call_id         uuid,
    notes           text NOT NULL DEFAULT '',
    UNIQUE (plan_id, plan_date)
);
CREATE INDEX service_orders_board ON service_orders (org_path text_pattern_ops, state, scheduled_at);
CREATE INDEX service_orders_provider ON service_orders (provider_id, state, scheduled_at);
CREATE INDEX service_orders_resident ON service_orders (resident_id, scheduled_at);
CREATE INDEX service_orders_scheduled ON service_orders (scheduled_at, id);  -- a time window over a whole city

CREATE TABLE order_timers (
    id           bigserial PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES service_orders (id),
    kind         text NOT NULL,
    due_at       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz
);
CREATE INDEX order_timers_pending ON order_timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE service_complaints (
    id          uuid PRIMARY KEY,
    resident_id text,
    org_path    text NOT NULL,
    order_id    uuid REFERENCES service_orders (id),
    call_id     uuid REFERENCES service_calls (id),
    provider_id text REFERENCES providers (id),
    text        text NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'handled')),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    handled_by  text,
    handled_at  timestamptz,
    resolution  text NOT NULL DEFAULT ''
);

CREATE TABLE service_audit (
    id          bigserial PRIMARY KEY,
    object_kind text NOT NULL,
    object_id   text NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX service_audit_object ON service_audit (object_kind, object_id, at);

CREATE TABLE service_keys (
    name text PRIMARY KEY,
    key  text NOT NULL
);
