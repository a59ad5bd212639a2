-- 0006_listener: the SQLite driver's 0006, spelled for PostgreSQL: the
-- debug listener (`openzone debug listen`) and the pre-flight probe of
-- debug mode, kept here so every node (and the debug page) sees them.
ALTER TABLE debug_program ADD COLUMN listener_state        TEXT COLLATE "C" NOT NULL DEFAULT ''; -- '' | connected | lost
ALTER TABLE debug_program ADD COLUMN listener_id           TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN listener_node         TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN listener_connected_at BIGINT;
ALTER TABLE debug_program ADD COLUMN listener_lost_at      BIGINT;
ALTER TABLE debug_program ADD COLUMN listener_reason       TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN probe                 TEXT COLLATE "C" NOT NULL DEFAULT ''; -- JSON of the last probe, '' when none

-- Held events and tasks are delivered per program in the order they were
-- raised; within one millisecond that is insertion order, which SQLite
-- keeps in its rowid. ins is PostgreSQL's: the driver's own, never
-- exported (an import inserts rows in that order, renumbering them).
ALTER TABLE event ADD COLUMN ins BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE task ADD COLUMN ins BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX event_program_state ON event (program_id, state, created_at, ins);
CREATE INDEX task_program_state ON task (program_id, state, created_at, ins);
