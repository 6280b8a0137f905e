DROP INDEX IF EXISTS users_email_skeleton_missing_idx;
DROP INDEX IF EXISTS users_email_skeleton_key;
ALTER TABLE users DROP COLUMN IF EXISTS email_skeleton;
