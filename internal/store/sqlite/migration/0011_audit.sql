-- 0011_audit: the admin actions log (审计日志): who changed what, when. A
-- log like traffic: no foreign keys, so entries outlive what they name.
-- (0008 is the knowledge sets', 0010 the event order's.)
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY, -- rowid alias; identity in PostgreSQL
    at      BIGINT  NOT NULL,
    actor   TEXT    NOT NULL,
    source  TEXT    NOT NULL DEFAULT '',
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL DEFAULT '',
    errcode INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_at ON audit (at, id);
