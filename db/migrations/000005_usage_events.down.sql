DROP TABLE IF EXISTS usage_events;
