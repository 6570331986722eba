-- The one-round-trip append (see crates/event-store-postgres/src/append.rs): a batch planned in the writer
-- process against what it assumes the log to be, written only if every assumption still holds.
--
-- Called as one autocommit statement. It locks the log head first, as every append transaction does, so writers
-- of every process stay serialised and commit order stays position order. The function is VOLATILE, so in READ
-- COMMITTED each statement after the lock takes a fresh snapshot and sees what the previous writer committed.
--
-- It answers one word:
--   'appended'        every assumption held; the events and idempotency records are written and the head moved;
--   'isolation'       the transaction is not READ COMMITTED (the checks would read a snapshot older than the lock);
--   'head_moved'      the head is not the expected one (another writer appended meanwhile);
--   'recorded_at'     the proposed recorded_at is before the head's, or further than the tolerance from the
--                     store's clock read under the lock;
--   'stream_version'  a stream's current version is not the assumed one;
--   'idempotency_key' one of the batch's idempotency keys was used before;
--   'event_id'        one of the batch's event ids is already stored.
-- Every answer but 'appended' writes nothing; the caller then runs the exact append transaction instead.
--
-- Each lookup probes a unique index once per value (`LATERAL … LIMIT 1`): a cached generic plan of
-- `= ANY(array)` may be a sequential scan (see the LOOKUP statement in append.rs).
CREATE FUNCTION append_batch_if_unchanged(
    expected_head_position  BIGINT,
    expected_head_hash      TEXT,
    assumed_stream_ids      TEXT[],
    assumed_stream_versions BIGINT[],
    absent_idempotency_keys UUID[],
    absent_event_ids        UUID[],
    new_recorded_at         TIMESTAMPTZ,
    recorded_at_tolerance   INTERVAL,
    new_head_position       BIGINT,
    new_head_hash           TEXT,
    new_global_positions    BIGINT[],
    new_event_ids           UUID[],
    new_stream_ids          TEXT[],
    new_stream_versions     BIGINT[],
    new_event_types         TEXT[],
    new_schema_versions     BIGINT[],
    new_effective_dates     DATE[],
    new_recorded_ats        TIMESTAMPTZ[],
    new_actor_ids           TEXT[],
    new_actor_names         TEXT[],
    new_actor_units         TEXT[],
    new_actor_roles         TEXT[],
    new_command_ids         UUID[],
    new_correlation_ids     UUID[],
    new_causation_ids       UUID[],
    new_payloads            TEXT[],
    new_prev_hashes         TEXT[],
    new_hashes              TEXT[],
    new_keys                UUID[],
    new_fingerprints        TEXT[],
    new_outcomes            TEXT[]
) RETURNS TEXT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head        log_head%ROWTYPE;
    store_clock TIMESTAMPTZ;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 'isolation';
    END IF;

    SELECT * INTO head FROM log_head WHERE id = 1 FOR UPDATE;
    IF head.position <> expected_head_position OR head.hash <> expected_head_hash THEN
        RETURN 'head_moved';
    END IF;

    store_clock := clock_timestamp();
    IF (head.recorded_at IS NOT NULL AND new_recorded_at < head.recorded_at)
        OR new_recorded_at < store_clock - recorded_at_tolerance
        OR new_recorded_at > store_clock + recorded_at_tolerance THEN
        RETURN 'recorded_at';
    END IF;

    IF EXISTS (
        SELECT 1
        FROM unnest(assumed_stream_ids, assumed_stream_versions) AS assumed(stream_id, stream_version)
        LEFT JOIN LATERAL (SELECT events.stream_version FROM events WHERE events.stream_id = assumed.stream_id
                           ORDER BY events.stream_version DESC LIMIT 1) AS last ON TRUE
        WHERE coalesce(last.stream_version, 0) <> assumed.stream_version
    ) THEN
        RETURN 'stream_version';
    END IF;

    IF EXISTS (
        SELECT 1
        FROM unnest(absent_idempotency_keys) AS keys(key)
        CROSS JOIN LATERAL (SELECT 1 FROM idempotency_keys WHERE idempotency_keys.key = keys.key LIMIT 1) AS used
    ) THEN
        RETURN 'idempotency_key';
    END IF;

    IF EXISTS (
        SELECT 1
        FROM unnest(absent_event_ids) AS ids(event_id)
        CROSS JOIN LATERAL (SELECT 1 FROM events WHERE events.event_id = ids.event_id LIMIT 1) AS stored
    ) THEN
        RETURN 'event_id';
    END IF;

    INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version,
        effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id,
        causation_id, payload, prev_hash, hash)
    SELECT * FROM unnest(new_global_positions, new_event_ids, new_stream_ids, new_stream_versions, new_event_types,
        new_schema_versions, new_effective_dates, new_recorded_ats, new_actor_ids, new_actor_names, new_actor_units,
        new_actor_roles, new_command_ids, new_correlation_ids, new_causation_ids, new_payloads, new_prev_hashes,
        new_hashes);

    INSERT INTO idempotency_keys (key, fingerprint, outcome)
    SELECT * FROM unnest(new_keys, new_fingerprints, new_outcomes);

    UPDATE log_head SET position = new_head_position, hash = new_head_hash, recorded_at = new_recorded_at
    WHERE id = 1;
    RETURN 'appended';
END
$$;
