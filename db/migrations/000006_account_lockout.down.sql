DROP INDEX IF EXISTS idempotency_keys_subject_idx;
ALTER TABLE idempotency_keys DROP COLUMN IF EXISTS subject_id;
DROP TABLE IF EXISTS user_lockouts;
