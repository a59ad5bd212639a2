-- Per-corp retention of archived message content (WeCom: default 90 days,
-- at most 2 years).
ALTER TABLE corp ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90;
