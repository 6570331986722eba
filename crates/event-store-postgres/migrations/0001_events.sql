-- The event log of taskledger (see crates/event-store and docs/event-hash-chain.md).

-- One row per event, never updated or deleted. `payload` is the JCS text of the payload, exactly the bytes the
-- hash covers, so it is TEXT and not JSONB (which would re-serialise it).
CREATE TABLE events (
    global_position BIGINT      PRIMARY KEY CHECK (global_position > 0),
    event_id        UUID        NOT NULL UNIQUE,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    event_type      TEXT        NOT NULL,
    schema_version  BIGINT      NOT NULL,
    effective_date  DATE,
    recorded_at     TIMESTAMPTZ NOT NULL,
    actor_id        TEXT        NOT NULL,
    actor_name      TEXT        NOT NULL,
    actor_unit      TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    command_id      UUID        NOT NULL,
    correlation_id  UUID        NOT NULL,
    causation_id    UUID,
    payload         TEXT        NOT NULL,
    prev_hash       TEXT        NOT NULL,
    hash            TEXT        NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- read_by_type: the types' events in position order.
CREATE INDEX events_by_type ON events (event_type, global_position);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is refused', TG_OP;
END
$$;

CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_not_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- The first outcome of each idempotency key, as the JSON of event_store::AppendOutcome.
CREATE TABLE idempotency_keys (
    key         UUID PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    outcome     TEXT NOT NULL
);

-- The single row every append transaction locks first: it orders writers (commit order = position order) and
-- names the end of the log.
CREATE TABLE log_head (
    id          SMALLINT    PRIMARY KEY CHECK (id = 1),
    position    BIGINT      NOT NULL,
    hash        TEXT        NOT NULL,
    recorded_at TIMESTAMPTZ
);

INSERT INTO log_head (id, position, hash, recorded_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', NULL);
