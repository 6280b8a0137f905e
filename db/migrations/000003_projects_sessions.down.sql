DROP TABLE IF EXISTS sync_changes;
DROP TABLE IF EXISTS sync_counters;
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS projects;
DROP FUNCTION IF EXISTS sync_record();
DROP FUNCTION IF EXISTS sync_apply(text, boolean, uuid[], uuid[]);
