-- The rows of one append as two parameters (see crates/event-store-postgres/src/append.rs): an array of
-- event_row and an array of idempotency_row, each read by one UNNEST.
--
-- One UNNEST of many arrays is a function scan of as many functions, and PostgreSQL gives each function a
-- tuplestore of its own: 23 per batch with one array per column, which costs more than the rows themselves for
-- a batch of a few events. An array of records is one function and one tuplestore.

-- The columns of `events`, in the order of its CREATE TABLE.
CREATE TYPE event_row AS (
    global_position BIGINT,
    event_id        UUID,
    stream_id       TEXT,
    stream_version  BIGINT,
    event_type      TEXT,
    schema_version  BIGINT,
    effective_date  DATE,
    recorded_at     TIMESTAMPTZ,
    actor_id        TEXT,
    actor_name      TEXT,
    actor_unit      TEXT,
    actor_role      TEXT,
    command_id      UUID,
    correlation_id  UUID,
    causation_id    UUID,
    payload         TEXT,
    prev_hash       TEXT,
    hash            TEXT
);

-- The columns of `idempotency_keys`, in its order.
CREATE TYPE idempotency_row AS (
    key         UUID,
    fingerprint TEXT,
    outcome     TEXT
);
