-- 0021_display: what the display component (会话展示组件) hides from a
-- member viewing messages through an app (set_hide_sensitiveinfo_config).

CREATE TABLE hide_config (
    corp_id     TEXT    NOT NULL,
    agent_id    BIGINT  NOT NULL,
    userid      TEXT    NOT NULL,
    hide_mobile INTEGER NOT NULL DEFAULT 0,
    hide_idcard INTEGER NOT NULL DEFAULT 0,
    hide_bankno INTEGER NOT NULL DEFAULT 0,
    hide_email  INTEGER NOT NULL DEFAULT 0,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (corp_id, agent_id, userid),
    FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);
