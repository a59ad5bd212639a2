-- 0020_logs: program logs (日志) as WeCom collects them: the lines programs
-- send through their SDK's logging calls, each program's log level
-- (set_log_level) and its volume per hour (capped; drops counted).

CREATE TABLE program_log_level (
    program_id TEXT    NOT NULL PRIMARY KEY REFERENCES program (id) ON DELETE CASCADE,
    level      INTEGER NOT NULL
);

-- A log like traffic: no foreign keys, so lines outlive a program's
-- removal until they are pruned.
CREATE TABLE program_log (
    id          INTEGER PRIMARY KEY, -- rowid alias; identity in PostgreSQL
    program_id  TEXT    NOT NULL,
    at          BIGINT  NOT NULL, -- the line's datetime
    level       INTEGER NOT NULL,
    req_id      TEXT    NOT NULL DEFAULT '',
    pid         BIGINT  NOT NULL DEFAULT 0,
    tid         BIGINT  NOT NULL DEFAULT 0,
    file        TEXT    NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    text        TEXT    NOT NULL DEFAULT '',
    instance    TEXT    NOT NULL DEFAULT '',
    debug       INTEGER NOT NULL DEFAULT 0,
    received_at BIGINT  NOT NULL
);
CREATE INDEX program_log_program ON program_log (program_id, id);
CREATE INDEX program_log_req ON program_log (req_id, id);
CREATE INDEX program_log_received ON program_log (received_at);

CREATE TABLE program_log_hour (
    program_id TEXT    NOT NULL,
    hour       BIGINT  NOT NULL, -- start of the hour
    lines      BIGINT  NOT NULL DEFAULT 0,
    bytes      BIGINT  NOT NULL DEFAULT 0,
    dropped    BIGINT  NOT NULL DEFAULT 0,
    filtered   BIGINT  NOT NULL DEFAULT 0,
    rejected   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, hour)
);

-- The inspector finds a log line's call by its request id.
CREATE INDEX traffic_request ON traffic (request_id);
