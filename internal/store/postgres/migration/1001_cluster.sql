-- 1001_cluster: what only a store shared by several nodes needs. PostgreSQL
-- only, so numbered apart from the migrations both drivers share.

-- Settings every node must agree on (the admin token, the archive key's
-- fingerprint), written once by whichever node comes first.
CREATE TABLE zone_setting (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

-- The address book of running program instances: each node publishes its
-- own every few seconds, so another node can reach the instance a
-- notify_id names. Rows older than a few publish periods are stale.
CREATE TABLE zone_instance (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    node       TEXT COLLATE "C" NOT NULL,
    host       TEXT COLLATE "C" NOT NULL DEFAULT '', -- the node's hostname: a loopback url means nothing elsewhere
    program_id TEXT COLLATE "C" NOT NULL,
    url        TEXT COLLATE "C" NOT NULL,
    seen_at    BIGINT           NOT NULL
);

CREATE INDEX zone_instance_node ON zone_instance (node);

-- Where each node is reached, for what only the node itself can do (a
-- debug listener is one node's connection); stale like zone_instance.
CREATE TABLE zone_node (
    name    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url     TEXT COLLATE "C" NOT NULL,
    seen_at BIGINT           NOT NULL
);
