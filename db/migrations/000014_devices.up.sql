-- Devices that receive push notifications (APNs). A device token names one app install on one
-- device, so it belongs to one user at a time: registering a token another user held moves it to
-- the newest user (the phone changed hands or accounts), which the unique token enforces.
CREATE TABLE devices (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform    text NOT NULL CHECK (platform IN ('ios')),
    token       text NOT NULL UNIQUE CHECK (token ~ '^[0-9a-f]{64,200}$'),
    environment text NOT NULL CHECK (environment IN ('sandbox', 'production')),
    bundle_id   text NOT NULL CHECK (length(bundle_id) BETWEEN 1 AND 155),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Last (re-)registration: APNs' 410 carries the time the token stopped being valid, and a
    -- token registered again after that must stay.
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The user's list, oldest first (keyset on (created_at, id)), and the push fan-out.
CREATE INDEX devices_user_created_idx ON devices (user_id, created_at, id);
