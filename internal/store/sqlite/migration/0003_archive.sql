-- 0003_archive: conversation archive (会话内容存档) and what hangs off it:
-- group chats, archived messages, consent records, app public keys, keyword
-- rules and hits, event tokens, zone → program events and notify ids.
--
-- Same portable conventions as 0001: times are unix milliseconds (BIGINT),
-- optional times NULL when unset, booleans INTEGER 0/1, JSON TEXT kept byte
-- for byte, byte strings BLOB (BYTEA in PostgreSQL). The two store-assigned
-- sequences (message.seq, keyword_hit.seq) are INTEGER PRIMARY KEY
-- AUTOINCREMENT here, so a deleted largest value is never handed out again;
-- in PostgreSQL they are BIGINT GENERATED ALWAYS AS IDENTITY, whose
-- sequences never go back either.

-- A group chat (群聊) and its members, replaced whole by ChatUpsert.
CREATE TABLE chat (
    corp_id     TEXT   NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    chat_id     TEXT   NOT NULL,
    name        TEXT   NOT NULL DEFAULT '',
    owner       TEXT   NOT NULL DEFAULT '',
    create_time BIGINT,
    PRIMARY KEY (corp_id, chat_id)
);

CREATE TABLE chat_member (
    corp_id   TEXT    NOT NULL,
    chat_id   TEXT    NOT NULL,
    member_id TEXT    NOT NULL,
    type      INTEGER NOT NULL,
    join_time BIGINT,
    PRIMARY KEY (corp_id, chat_id, member_id),
    FOREIGN KEY (corp_id, chat_id) REFERENCES chat (corp_id, chat_id) ON DELETE CASCADE
);

-- Archived messages. content is sealed with the message's own key and
-- sealed_key is that key sealed with the zone's archive key: nothing here is
-- in clear but the metadata.
CREATE TABLE message (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- identity in PostgreSQL
    corp_id     TEXT    NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    msg_id      TEXT    NOT NULL,
    sender_type INTEGER NOT NULL,
    sender_id   TEXT    NOT NULL,
    receivers   TEXT    NOT NULL DEFAULT '[]', -- JSON array of {type, id}
    chat_id     TEXT    NOT NULL DEFAULT '',   -- '' for a single chat; not a reference
    send_time   BIGINT  NOT NULL,
    msg_type    INTEGER NOT NULL,
    extra       TEXT,                          -- JSON metadata in clear, NULL when none
    content     BLOB    NOT NULL,
    sealed_key  BLOB    NOT NULL,
    ingested    BIGINT  NOT NULL,
    UNIQUE (corp_id, msg_id)
);

CREATE INDEX message_corp_seq ON message (corp_id, seq);
CREATE INDEX message_corp_chat ON message (corp_id, chat_id, seq);
CREATE INDEX message_corp_ingested ON message (corp_id, ingested);

-- Consent records (同意会话存档). A single-chat record has chat_id '' and a
-- room record user_id '', so one key serves both kinds.
CREATE TABLE agree_status (
    corp_id          TEXT   NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    chat_id          TEXT   NOT NULL DEFAULT '',
    user_id          TEXT   NOT NULL DEFAULT '',
    external_user_id TEXT   NOT NULL,
    status           TEXT   NOT NULL,
    change_time      BIGINT,
    PRIMARY KEY (corp_id, chat_id, user_id, external_user_id)
);

-- One RSA public key per app (set_public_key); a higher ver replaces it.
-- set_at and start_seq are those of the app's first key.
CREATE TABLE app_public_key (
    corp_id   TEXT    NOT NULL,
    agent_id  BIGINT  NOT NULL,
    ver       INTEGER NOT NULL,
    pem       TEXT    NOT NULL,
    set_at    BIGINT  NOT NULL,
    start_seq BIGINT  NOT NULL,
    PRIMARY KEY (corp_id, agent_id),
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE TABLE keyword_rule (
    corp_id     TEXT   NOT NULL,
    agent_id    BIGINT NOT NULL,
    rule_id     TEXT   NOT NULL,
    name        TEXT   NOT NULL DEFAULT '',
    body        TEXT   NOT NULL DEFAULT '', -- the rule as create_rule got it, byte for byte
    create_time BIGINT NOT NULL,
    PRIMARY KEY (corp_id, agent_id, rule_id),
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX keyword_rule_created ON keyword_rule (corp_id, agent_id, create_time, rule_id);

-- Hits outlive their rule (no reference to it), not their app.
CREATE TABLE keyword_hit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- identity in PostgreSQL
    corp_id         TEXT    NOT NULL,
    agent_id        BIGINT  NOT NULL,
    msg_id          TEXT    NOT NULL,
    rule_id         TEXT    NOT NULL,
    has_hit_keyword INTEGER NOT NULL DEFAULT 0,
    semantics       TEXT    NOT NULL DEFAULT '[]', -- JSON array of ints
    created         BIGINT  NOT NULL,
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX keyword_hit_app ON keyword_hit (corp_id, agent_id, seq);

CREATE TABLE event_token (
    token      TEXT   NOT NULL PRIMARY KEY,
    corp_id    TEXT   NOT NULL,
    agent_id   BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    from_seq   BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX event_token_expires ON event_token (expires_at);

-- Zone → program events, kept until delivered. A log like traffic: no
-- foreign keys, so an event outlives what it mentions.
CREATE TABLE event (
    id           TEXT    NOT NULL PRIMARY KEY,
    corp_id      TEXT    NOT NULL DEFAULT '',
    agent_id     BIGINT  NOT NULL DEFAULT 0,
    program_id   TEXT    NOT NULL DEFAULT '',
    type         TEXT    NOT NULL DEFAULT '',
    data         TEXT    NOT NULL DEFAULT '', -- the JSON the program receives, byte for byte
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    delivered_at BIGINT
);

CREATE INDEX event_program ON event (program_id, created_at, id);
CREATE INDEX event_created ON event (created_at, id);

-- notify_ids minted by spec_notify_app.
CREATE TABLE notify (
    notify_id  TEXT    NOT NULL PRIMARY KEY,
    corp_id    TEXT    NOT NULL,
    agent_id   BIGINT  NOT NULL,
    program_id TEXT    NOT NULL DEFAULT '',
    instance   TEXT    NOT NULL DEFAULT '',
    scene      INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX notify_expires ON notify (expires_at);
