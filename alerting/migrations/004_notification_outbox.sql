-- Notifications are written here in the transaction that decides them, so a process that dies
-- between the commit and the send leaves them for the next sweep (any process, after the lease).
CREATE TABLE notification_outbox (
    id          bigserial PRIMARY KEY,
    alert_id    uuid NOT NULL REFERENCES alerts (id),
    audience    text NOT NULL,            -- family, responder, supervisor
    recipient   text NOT NULL,
    urls        text[] NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL,     -- the sender's lease: taken over when older than the lease
    attempts    integer NOT NULL DEFAULT 1,
    sent_at     timestamptz               -- sent (whatever each channel answered: see deliveries)
);
CREATE INDEX notification_outbox_unsent ON notification_outbox (claimed_at) WHERE sent_at IS NULL;
