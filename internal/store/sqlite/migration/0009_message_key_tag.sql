-- 0009_message_key_tag: the display page (会话展示组件) finds a message by
-- what its secret_key proves: key_tag is an HMAC of the key under a key
-- derived from the archive key (a copy of the database alone cannot link
-- a key to its message). NULL for rows archived before this migration,
-- until the zone tags them at start. (0008 is the knowledge sets'.)
ALTER TABLE message ADD COLUMN key_tag BLOB;
CREATE INDEX message_key_tag ON message (key_tag, msg_id) WHERE key_tag IS NOT NULL;
CREATE INDEX message_untagged ON message (seq) WHERE key_tag IS NULL;
