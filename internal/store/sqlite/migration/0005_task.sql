-- Async tasks: app async_program_task, program create_program_task and
-- create_model_task. request and response are sealed with the zone key.
CREATE TABLE task (
	job_id           TEXT PRIMARY KEY,
	kind             TEXT NOT NULL,
	corp_id          TEXT NOT NULL,
	agent_id         INTEGER NOT NULL,
	caller_id        TEXT NOT NULL DEFAULT '',
	program_id       TEXT NOT NULL,
	ability_id       TEXT NOT NULL,
	request          BLOB NOT NULL,
	fail_list        TEXT NOT NULL DEFAULT '',
	debug            INTEGER NOT NULL DEFAULT 0,
	state            TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	err_code         INTEGER NOT NULL DEFAULT 0,
	response_errcode INTEGER NOT NULL DEFAULT 0,
	response         BLOB,
	created_at       INTEGER NOT NULL,
	delivered_at     INTEGER,
	delivered_to     TEXT NOT NULL DEFAULT '',
	done_at          INTEGER,
	expires_at       INTEGER NOT NULL
);
CREATE INDEX task_expires ON task (expires_at);
CREATE INDEX task_program ON task (program_id, created_at);

-- Zone nodes (one row per process start): a task acknowledged by an
-- instance the node supervised is delivered again once that node is gone.
CREATE TABLE node (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	heartbeat_at INTEGER NOT NULL
);
CREATE INDEX task_delivered_to ON task (state, delivered_to);
