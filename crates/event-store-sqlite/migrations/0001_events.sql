-- The event log of taskledger (see crates/event-store and docs/event-hash-chain.md), in SQLite.
-- Times and dates are text in the canonical format of the hash chain (UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`,
-- `YYYY-MM-DD`), ids are lowercase hyphenated UUID text, and `payload` is the JCS text the hash covers.

CREATE TABLE events (
    global_position INTEGER PRIMARY KEY CHECK (global_position > 0),
    event_id        TEXT    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version > 0),
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    effective_date  TEXT,
    recorded_at     TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    actor_name      TEXT    NOT NULL,
    actor_unit      TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    command_id      TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    payload         TEXT    NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    UNIQUE (stream_id, stream_version)
) STRICT;

-- read_by_type: the types' events in position order.
CREATE INDEX events_by_type ON events (event_type, global_position);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE is refused');
END;

CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE is refused');
END;

-- The first outcome of each idempotency key, as the JSON of event_store::AppendOutcome.
CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    outcome     TEXT NOT NULL
) STRICT;

-- The end of the log, updated in the same transaction as the events.
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    INTEGER NOT NULL,
    hash        TEXT    NOT NULL,
    recorded_at TEXT
) STRICT;

INSERT INTO log_head (id, position, hash, recorded_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', NULL);
