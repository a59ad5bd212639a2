-- 0012_ww_models: WeCom's own models (issue 20). quota counts what a
-- subject used in one window (daily quotas per corp, and the rate limits
-- that reuse the same service); tag_group holds a corp's customer tag
-- groups (客户标签); ww_model says which backend answers a WeCom model id.
-- (0008 to 0011 belong to other branches.)
CREATE TABLE quota (
    scope      TEXT    NOT NULL, -- what is counted: "ww_model_calls", a limit's name
    subject    TEXT    NOT NULL, -- whose: a corpid, an app
    win_start  BIGINT  NOT NULL, -- the window's start, unix ms
    used       BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL, -- the window's end: the row is pruned after it
    PRIMARY KEY (scope, subject, win_start)
);
CREATE INDEX quota_expires ON quota (expires_at);

CREATE TABLE tag_group (
    corp_id    TEXT    NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
    group_id   TEXT    NOT NULL,
    group_name TEXT    NOT NULL,
    position   INTEGER NOT NULL, -- the corp's order of its groups
    tags       TEXT    NOT NULL, -- JSON [{"tag_id","tag_name","synonyms"}]
    PRIMARY KEY (corp_id, group_id)
);

CREATE TABLE ww_model (
    model_id     TEXT NOT NULL PRIMARY KEY,
    backend      TEXT NOT NULL, -- builtin | openai | program
    program_id   TEXT NOT NULL DEFAULT '',
    ability_id   TEXT NOT NULL DEFAULT '',
    openai_model TEXT NOT NULL DEFAULT ''
);
