-- 0008_knowledge: upload_media (上传临时文件) and knowledge sets (知识集).

-- The app permission 「数据与智能专区-知识集」 (seed apps[].knowledge_permission).
ALTER TABLE app ADD COLUMN knowledge_permission INTEGER NOT NULL DEFAULT 0;

-- Uploaded files, sealed with the zone key; pruned when they expire.
CREATE TABLE media (
	media_id     TEXT    PRIMARY KEY,
	corp_id      TEXT    NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
	agent_id     INTEGER NOT NULL, -- 0: the corp admin's
	filename     TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	data         BLOB    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX media_expires ON media (expires_at);

-- Knowledge sets: agent_id is the app that made it (0: the corp admin's,
-- used by the apps in kb_grant). A deleted set keeps its row (deleted_at).
CREATE TABLE kb (
	kb_id      TEXT    PRIMARY KEY,
	corp_id    TEXT    NOT NULL REFERENCES corp (corp_id) ON DELETE CASCADE,
	agent_id   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	docs       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	deleted_at INTEGER
);
CREATE INDEX kb_corp ON kb (corp_id, created_at);

CREATE TABLE kb_grant (
	kb_id    TEXT    NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	corp_id  TEXT    NOT NULL,
	agent_id INTEGER NOT NULL,
	PRIMARY KEY (kb_id, agent_id),
	FOREIGN KEY (corp_id, agent_id) REFERENCES app (corp_id, agent_id) ON DELETE CASCADE
);
CREATE INDEX kb_grant_app ON kb_grant (corp_id, agent_id);

-- Documents: source is the file as added (sealed), kept until learned.
CREATE TABLE kb_doc (
	doc_id     TEXT    PRIMARY KEY,
	kb_id      TEXT    NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	corp_id    TEXT    NOT NULL,
	agent_id   INTEGER NOT NULL,
	name       TEXT    NOT NULL,
	type       INTEGER NOT NULL,
	web_url    TEXT    NOT NULL DEFAULT '',
	source     BLOB,
	status     INTEGER NOT NULL,
	reason     TEXT    NOT NULL DEFAULT '',
	fragments  INTEGER NOT NULL DEFAULT 0,
	chars      INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	learned_at INTEGER
);
-- A set's fragment count (the N of retrieval's IDF) is the sum over its
-- documents, read from this index; learning a document writes nothing
-- in the set's row, so it never holds it against an add.
CREATE INDEX kb_doc_kb ON kb_doc (kb_id, created_at, fragments);

-- Learned fragments (text sealed) and the inverted index: one row per
-- (set, term, document) with the document's postings encoded in a blob,
-- and each term's document frequency (fragments holding it) per set.
CREATE TABLE kb_fragment (
	doc_id TEXT    NOT NULL REFERENCES kb_doc (doc_id) ON DELETE CASCADE,
	ord    INTEGER NOT NULL,
	text   BLOB    NOT NULL,
	PRIMARY KEY (doc_id, ord)
) WITHOUT ROWID;

CREATE TABLE kb_posting (
	kb_id    TEXT    NOT NULL,
	term     INTEGER NOT NULL,
	doc_id   TEXT    NOT NULL REFERENCES kb_doc (doc_id) ON DELETE CASCADE,
	n        INTEGER NOT NULL,
	postings BLOB    NOT NULL,
	PRIMARY KEY (kb_id, term, doc_id)
) WITHOUT ROWID;
CREATE INDEX kb_posting_doc ON kb_posting (doc_id);

CREATE TABLE kb_df (
	kb_id TEXT    NOT NULL REFERENCES kb (kb_id) ON DELETE CASCADE,
	term  INTEGER NOT NULL,
	df    INTEGER NOT NULL,
	PRIMARY KEY (kb_id, term)
) WITHOUT ROWID;
