-- The Unicode TR39 skeleton of each lower-cased email: two addresses that look alike (Cyrillic
-- "а" for Latin "a", "rn" for "m") share one, and the unique index lets only one of them exist, even
-- when both are registered at the same moment. SQL cannot compute skeletons, so existing rows are
-- filled in by the application at start (auth.Accounts.BackfillEmailSkeletons); until then they
-- are NULL, which the unique index allows any number of.
ALTER TABLE users ADD COLUMN email_skeleton text;
CREATE UNIQUE INDEX users_email_skeleton_key ON users (email_skeleton);
-- Finds the rows still to backfill without reading the table at every start.
CREATE INDEX users_email_skeleton_missing_idx ON users (id) WHERE email_skeleton IS NULL;
