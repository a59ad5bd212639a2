-- 0001_init: the zone's core tables.
--
-- This is the logical schema every driver shares; keep it portable so the
-- PostgreSQL driver differs only in spelling: times are unix milliseconds
-- (BIGINT), booleans INTEGER 0/1, JSON TEXT, byte strings BLOB (BYTEA in
-- PostgreSQL), and traffic.id an identity column. Optional references are
-- NULL, never ''.

CREATE TABLE provider (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    test_corps TEXT    NOT NULL DEFAULT '[]' -- JSON array of corp ids, in the order given
);

CREATE TABLE corp (
    corp_id TEXT NOT NULL PRIMARY KEY,
    name    TEXT NOT NULL
);

CREATE TABLE member (
    corp_id TEXT NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    PRIMARY KEY (corp_id, user_id)
);

CREATE TABLE external_contact (
    corp_id          TEXT NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    external_user_id TEXT NOT NULL,
    name             TEXT NOT NULL,
    PRIMARY KEY (corp_id, external_user_id)
);

CREATE TABLE program (
    id          TEXT    NOT NULL PRIMARY KEY,
    provider_id TEXT             REFERENCES provider (id),
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    released    INTEGER NOT NULL DEFAULT 0,
    deploy      TEXT    NOT NULL DEFAULT '{}' -- JSON openzone.Deploy
);

CREATE TABLE program_ability (
    program_id TEXT    NOT NULL REFERENCES program (id) ON DELETE CASCADE,
    ability_id TEXT    NOT NULL,
    position   INTEGER NOT NULL, -- keeps the abilities in the order given
    name       TEXT    NOT NULL,
    input      TEXT    NOT NULL, -- protocol JSON, kept byte for byte
    output     TEXT    NOT NULL,
    PRIMARY KEY (program_id, ability_id)
);

-- One row per program: the current secret. A rotation replaces it.
CREATE TABLE program_secret (
    program_id TEXT    NOT NULL PRIMARY KEY REFERENCES program (id) ON DELETE CASCADE,
    ver        INTEGER NOT NULL,
    secret_key BLOB    NOT NULL
);

CREATE TABLE app (
    corp_id            TEXT    NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    agent_id           BIGINT  NOT NULL,
    type               TEXT    NOT NULL,
    provider_id        TEXT             REFERENCES provider (id),
    secret             TEXT    NOT NULL,
    test_install       INTEGER NOT NULL DEFAULT 0,
    zone_permission    INTEGER NOT NULL DEFAULT 0,
    callback_url       TEXT    NOT NULL DEFAULT '',
    callback_token     TEXT    NOT NULL DEFAULT '',
    callback_aes_key   TEXT    NOT NULL DEFAULT '',
    receive_program_id TEXT             REFERENCES program (id) ON DELETE SET NULL,
    PRIMARY KEY (corp_id, agent_id)
);

-- gettoken looks apps up by secret; two apps of a corp sharing one would
-- make that ambiguous. Apps without a secret are exempt.
CREATE UNIQUE INDEX app_secret ON app (corp_id, secret) WHERE secret <> '';

CREATE TABLE app_program (
    corp_id    TEXT   NOT NULL,
    agent_id   BIGINT NOT NULL,
    program_id TEXT   NOT NULL REFERENCES program (id) ON DELETE CASCADE,
    PRIMARY KEY (corp_id, agent_id, program_id),
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX app_program_program ON app_program (program_id);

CREATE TABLE access_token (
    token      TEXT   NOT NULL PRIMARY KEY,
    corp_id    TEXT   NOT NULL,
    agent_id   BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX access_token_app ON access_token (corp_id, agent_id, expires_at);
CREATE INDEX access_token_expires ON access_token (expires_at);

CREATE TABLE replay (
    scope      TEXT   NOT NULL,
    request_id TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, request_id)
);

CREATE INDEX replay_expires ON replay (expires_at);

-- A log: no foreign keys, so records outlive what they mention and debug
-- traffic for unknown programs is still kept.
CREATE TABLE traffic (
    id         INTEGER          PRIMARY KEY, -- rowid alias; identity in PostgreSQL
    kind       TEXT             NOT NULL,
    route      TEXT             NOT NULL DEFAULT '',
    corp_id    TEXT             NOT NULL DEFAULT '',
    agent_id   BIGINT           NOT NULL DEFAULT 0,
    program_id TEXT             NOT NULL DEFAULT '',
    ability_id TEXT             NOT NULL DEFAULT '',
    interface  TEXT             NOT NULL DEFAULT '',
    request_id TEXT             NOT NULL DEFAULT '',
    instance   TEXT             NOT NULL DEFAULT '',
    errcode    INTEGER          NOT NULL DEFAULT 0,
    errmsg     TEXT             NOT NULL DEFAULT '',
    request    TEXT             NOT NULL DEFAULT '',
    response   TEXT             NOT NULL DEFAULT '',
    started_at BIGINT           NOT NULL,
    total_ms   DOUBLE PRECISION NOT NULL DEFAULT 0,
    program_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    zone_ms    DOUBLE PRECISION NOT NULL DEFAULT 0
);

CREATE INDEX traffic_started ON traffic (started_at, id);
CREATE INDEX traffic_program ON traffic (program_id, started_at, id);
CREATE INDEX traffic_kind ON traffic (kind, started_at, id);
