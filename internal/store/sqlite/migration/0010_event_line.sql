-- 0010_event_line: a program's events for one corp (its "line") are
-- delivered in the order they were raised. An event waits while an
-- earlier one of its line is pending, unless that one has been failing
-- longer than the zone's hold and stepped aside (docs/decisions.md, "Event
-- order"). failing_since is when an event's first attempt failed,
-- stepped_aside_at when it stopped holding its line back, job_id the
-- River job that last waited to deliver it (woken when its turn comes).
ALTER TABLE event ADD COLUMN failing_since    BIGINT;
ALTER TABLE event ADD COLUMN stepped_aside_at BIGINT;
ALTER TABLE event ADD COLUMN job_id           BIGINT NOT NULL DEFAULT 0;
-- The event ahead of (or behind) one in its line, in one indexed look-up;
-- within a millisecond the rowid (in every SQLite index) orders them.
CREATE INDEX event_line ON event (program_id, corp_id, state, created_at);
