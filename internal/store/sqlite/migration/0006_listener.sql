-- 0006_listener: the debug listener (`openzone debug listen`) and the
-- pre-flight probe of debug mode. The listener's state is kept here, not
-- only in the memory of the node that holds its connection, so every node
-- (and the debug page) can see it.
ALTER TABLE debug_program ADD COLUMN listener_state        TEXT   NOT NULL DEFAULT ''; -- '' | connected | lost
ALTER TABLE debug_program ADD COLUMN listener_id           TEXT   NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN listener_node         TEXT   NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN listener_connected_at BIGINT;
ALTER TABLE debug_program ADD COLUMN listener_lost_at      BIGINT;
ALTER TABLE debug_program ADD COLUMN listener_reason       TEXT   NOT NULL DEFAULT '';
ALTER TABLE debug_program ADD COLUMN probe                 TEXT   NOT NULL DEFAULT ''; -- JSON of the last probe, '' when none

-- Held events are delivered per program in the order they were raised.
CREATE INDEX event_program_state ON event (program_id, state, created_at);
