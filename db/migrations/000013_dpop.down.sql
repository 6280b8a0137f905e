ALTER TABLE refresh_families DROP COLUMN IF EXISTS dpop_jkt;
