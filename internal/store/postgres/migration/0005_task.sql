-- 0005_task: the SQLite driver's 0005, spelled for PostgreSQL.
-- Async tasks: app async_program_task, program create_program_task and
-- create_model_task. request and response are sealed with the zone key.
CREATE TABLE task (
	job_id           TEXT COLLATE "C" PRIMARY KEY,
	kind             TEXT COLLATE "C" NOT NULL,
	corp_id          TEXT COLLATE "C" NOT NULL,
	agent_id         BIGINT NOT NULL,
	caller_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
	program_id       TEXT COLLATE "C" NOT NULL,
	ability_id       TEXT COLLATE "C" NOT NULL,
	request          BYTEA NOT NULL,
	fail_list        TEXT COLLATE "C" NOT NULL DEFAULT '',
	debug            INTEGER NOT NULL DEFAULT 0,
	state            TEXT COLLATE "C" NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT COLLATE "C" NOT NULL DEFAULT '',
	err_code         INTEGER NOT NULL DEFAULT 0,
	response_errcode INTEGER NOT NULL DEFAULT 0,
	response         BYTEA,
	created_at       BIGINT NOT NULL,
	delivered_at     BIGINT,
	delivered_to     TEXT COLLATE "C" NOT NULL DEFAULT '',
	done_at          BIGINT,
	expires_at       BIGINT NOT NULL
);
CREATE INDEX task_expires ON task (expires_at);
CREATE INDEX task_program ON task (program_id, created_at);

-- Zone nodes (one row per process start): a task acknowledged by an
-- instance the node supervised is delivered again once that node is gone.
CREATE TABLE node (
	id           TEXT COLLATE "C" PRIMARY KEY,
	name         TEXT COLLATE "C" NOT NULL,
	heartbeat_at BIGINT NOT NULL
);
CREATE INDEX task_delivered_to ON task (state, delivered_to);
