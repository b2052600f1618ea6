-- Messages the gateway could not handle for a reason that is not the device's fault (a decoder bug,
-- a sink that kept failing): kept with their bytes so an operator can inspect and replay them.
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    lane        text NOT NULL,
    topic       text NOT NULL,
    device_id   text,
    reason      text NOT NULL,
    error       text NOT NULL,
    payload     bytea NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
