-- 0002_debug: debug mode (调试模式) state and provider notifications.
--
-- Same portable conventions as 0001. Optional times are NULL when unset, so
-- a zero time comes back as zero; an absent debug secret is NULL.

-- One row per program that ever had a receiver URL or a debug credential.
CREATE TABLE debug_program (
    program_id       TEXT   NOT NULL PRIMARY KEY REFERENCES program (id) ON DELETE CASCADE,
    receiver_url     TEXT   NOT NULL DEFAULT '',
    token            TEXT   NOT NULL DEFAULT '', -- the current debug credential, '' when none
    token_issued_at  BIGINT,
    token_expires_at BIGINT
);

-- Debug mode of one (corp, app, program): the app half and the SDK half.
CREATE TABLE debug_session (
    corp_id       TEXT    NOT NULL,
    agent_id      BIGINT  NOT NULL,
    program_id    TEXT    NOT NULL REFERENCES program (id) ON DELETE CASCADE,
    token         TEXT    NOT NULL DEFAULT '', -- the credential the halves were opened with
    app_half      INTEGER NOT NULL DEFAULT 0,
    app_opened_at BIGINT,
    sdk_half      INTEGER NOT NULL DEFAULT 0,
    sdk_opened_at BIGINT,
    secret_ver    INTEGER NOT NULL DEFAULT 0, -- 0: no debug secret
    secret        BLOB,
    PRIMARY KEY (corp_id, agent_id, program_id),
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX debug_session_program ON debug_session (program_id, corp_id, agent_id);

-- The SDK names its debug secret by version; within a program a version
-- must find one session. Sessions without a secret are exempt.
CREATE UNIQUE INDEX debug_session_secret_ver ON debug_session (program_id, secret_ver) WHERE secret_ver <> 0;

-- A log like traffic: no foreign keys, so notifications outlive what they
-- mention.
CREATE TABLE notification (
    id          INTEGER PRIMARY KEY, -- rowid alias; identity in PostgreSQL
    provider_id TEXT    NOT NULL,
    program_id  TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);

CREATE INDEX notification_provider ON notification (provider_id, created_at, id);
CREATE INDEX notification_created ON notification (created_at, id);
