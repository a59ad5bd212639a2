-- 0008_knowledge: the SQLite driver's 0008, spelled for PostgreSQL:
-- upload_media (上传临时文件) and knowledge sets (知识集).

ALTER TABLE app ADD COLUMN knowledge_permission INTEGER NOT NULL DEFAULT 0;

CREATE TABLE media (
	media_id     TEXT COLLATE "C" PRIMARY KEY,
	corp_id      TEXT COLLATE "C" NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
	agent_id     BIGINT  NOT NULL,
	filename     TEXT COLLATE "C" NOT NULL,
	content_type TEXT COLLATE "C" NOT NULL,
	size         BIGINT  NOT NULL,
	data         BYTEA   NOT NULL,
	created_at   BIGINT  NOT NULL,
	expires_at   BIGINT  NOT NULL
);
CREATE INDEX media_expires ON media (expires_at);

CREATE TABLE kb (
	kb_id      TEXT COLLATE "C" PRIMARY KEY,
	corp_id    TEXT COLLATE "C" NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
	agent_id   BIGINT  NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	docs       INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT  NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX kb_corp ON kb (corp_id, created_at);

CREATE TABLE kb_grant (
	kb_id    TEXT COLLATE "C" NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	corp_id  TEXT COLLATE "C" NOT NULL,
	agent_id BIGINT NOT NULL,
	PRIMARY KEY (kb_id, agent_id),
	FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);
CREATE INDEX kb_grant_app ON kb_grant (corp_id, agent_id);

CREATE TABLE kb_doc (
	doc_id     TEXT COLLATE "C" PRIMARY KEY,
	kb_id      TEXT COLLATE "C" NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	corp_id    TEXT COLLATE "C" NOT NULL,
	agent_id   BIGINT  NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	type       INTEGER NOT NULL,
	web_url    TEXT COLLATE "C" NOT NULL DEFAULT '',
	source     BYTEA,
	status     INTEGER NOT NULL,
	reason     TEXT COLLATE "C" NOT NULL DEFAULT '',
	fragments  INTEGER NOT NULL DEFAULT 0,
	chars      INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT  NOT NULL,
	learned_at BIGINT
);
-- A set's fragment count (the N of retrieval's IDF) is the sum over its
-- documents, read from this index; learning a document writes nothing
-- in the set's row, so it never holds it against an add.
CREATE INDEX kb_doc_kb ON kb_doc (kb_id, created_at, fragments);

CREATE TABLE kb_fragment (
	doc_id TEXT COLLATE "C" NOT NULL REFERENCES kb_doc (doc_id) ON DELETE CASCADE,
	ord    INTEGER NOT NULL,
	text   BYTEA   NOT NULL,
	PRIMARY KEY (doc_id, ord)
);

CREATE TABLE kb_posting (
	kb_id    TEXT COLLATE "C" NOT NULL,
	term     BIGINT  NOT NULL,
	doc_id   TEXT COLLATE "C" NOT NULL REFERENCES kb_doc (doc_id) ON DELETE CASCADE,
	n        INTEGER NOT NULL,
	postings BYTEA   NOT NULL,
	PRIMARY KEY (kb_id, term, doc_id)
);
CREATE INDEX kb_posting_doc ON kb_posting (doc_id);

CREATE TABLE kb_df (
	kb_id TEXT COLLATE "C" NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	term  BIGINT  NOT NULL,
	df    INTEGER NOT NULL,
	PRIMARY KEY (kb_id, term)
);
