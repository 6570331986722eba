//! Where the notification service keeps what it derived and what it sent: tables of the read database
//! (`projection::db::ReadDb`: PostgreSQL in a cluster, the SQLite file in embedded mode), shared by every replica.
//!
//! Tables (no generation suffix: a rebuild of the read models never drops them, since sent state must survive):
//! - `notify_plans`, `notify_tasks`, `notify_task_reports`, `notify_report_requests`: what the consumer (`model`)
//!   folds from plan and task events, to derive occurrences and to list the tasks a report reminder is about;
//! - `notify_occurrences`: one row per occurrence (rule, subject, due instant), keyed by its occurrence key;
//! - `notify_deliveries`: one row per occurrence × recipient × channel, keyed by its `delivery_id`, with its state
//!   (`pending`, `sent`, `skipped`, `dead`), attempts, the next instant it may go (`not_before`, business time), its
//!   lease (`lease_owner`, `lease_until`, database time in microseconds), the attempt whose send was started
//!   (`attempt_started`) and the digest it went in (`digest_id`);
//! - `notify_digests`: the digest ids reserved, per recipient, channel, address and day;
//! - `notify_feed`, `notify_feed_reads`: the in-app feed and who read what;
//! - `notify_endpoints`: webhook endpoints' health (consecutive failures, disabled);
//! - `notify_dead_letters`: deliveries given up on, with the last error;
//! - `notify_schema`: the migrations applied ([`MIGRATIONS`]).
//!
//! **Schema.** [`NotifyStore::open`] creates the tables missing and migrates those an earlier version made: each
//! migration above the version `notify_schema` records adds its columns when the table lacks them
//! (`ADD COLUMN IF NOT EXISTS` on PostgreSQL, `ALTER TABLE … ADD COLUMN` after a look at `pragma_table_info` on
//! SQLite), in one transaction, and is recorded.
//!
//! **Claims.** [`NotifyStore::claim_due`] takes due deliveries whose lease is free or expired, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (two replicas never claim the same row at once, and never wait on each
//! other) and inside SQLite's write transaction; the lease ends at the database clock plus the lease length, so
//! that replicas whose clocks disagree (or run on a test clock) still agree on when a claim expired. Every later
//! write of a claimed delivery names its owner: a replica whose lease expired and was taken over writes nothing.
//!
//! Business instants (due, not before) are Unix seconds; leases are Unix microseconds of the database clock.

use std::collections::HashSet;
use std::time::Duration;

use projection::db::{placeholders, rows_per_statement, values_rows, DbError, Dialect, ReadDb};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::channel::{ChannelKind, Language, Recipient};

/// What an occurrence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceKind {
    /// Before a task's deadline (`step` working days before; 0 on the day).
    Deadline,
    /// After a task's deadline passed (`step` 1, 2, … of the overdue series).
    Overdue,
    /// Before a reporting cut-off, to a unit (`step` working days before the report is due).
    Report,
}

/// Who a delivery is addressed to, for the feed: a user, every user of a unit, or the approvers of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    User,
    Unit,
    UnitApprovers,
}

/// What to do with an occurrence found due long after its time (the service was down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum CatchUpPolicy {
    /// Send it, marked late.
    SendLate,
    /// Send it late if it is not older than this many seconds, else record it skipped as too old.
    SkipOlderThan { seconds: i64 },
    /// Fold every late reminder of a recipient into one digest message.
    Digest,
}

/// One reminder of a rule about a subject (a task's deadline, a unit's cut-off), due at an instant; its deliveries
/// (recipient × channel) are kept beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub occurrence_key: String,
    /// The rule's name in the rule file.
    pub rule: String,
    pub kind: OccurrenceKind,
    /// Occurrences of one series (one task's deadline, one unit's cut-off) supersede each other when several are
    /// found due at once: only the latest is sent.
    pub series: String,
    pub step: i64,
    pub task_id: Option<Uuid>,
    pub plan_id: Uuid,
    /// The unit concerned: the task's lead unit, or the unit a report is due from.
    pub unit: String,
    /// The deadline the occurrence was derived from (API code), for a task's occurrences.
    pub deadline: Option<String>,
    /// The reporting cut-off, for a report occurrence (`YYYY-MM-DD`).
    pub cut_off: Option<String>,
    /// The first day of the reporting period (`YYYY-MM-DD`): a report with `as_of` from it to the cut-off counts.
    pub period_start: Option<String>,
    /// A human label of the reporting period ("Tháng 04/2024", "Báo cáo đến 15/04/2024").
    pub period: Option<String>,
    pub due_at: OffsetDateTime,
    pub critical: bool,
    pub catch_up: CatchUpPolicy,
}

/// An occurrence as derived, with its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOccurrence {
    pub occurrence: Occurrence,
    pub deliveries: Vec<PlannedDelivery>,
}

/// One recipient through one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDelivery {
    pub delivery_id: String,
    pub recipient: Recipient,
    pub audience: Audience,
    pub channel: ChannelKind,
    /// The channel's address: an email address, a webhook endpoint's name, a NATS subject, a feed owner.
    pub address: String,
}

impl PlannedDelivery {
    /// The delivery of an occurrence to a recipient through a channel, with its deterministic id: the same on
    /// every replica and after a rebuild, so that the far side can recognise a message it already has.
    pub fn new(
        occurrence_key: &str,
        recipient: Recipient,
        audience: Audience,
        channel: ChannelKind,
        address: String,
    ) -> PlannedDelivery {
        let delivery_id = delivery_id(occurrence_key, &recipient.id, channel, &address);
        PlannedDelivery { delivery_id, recipient, audience, channel, address }
    }
}

/// `delivery_id` = a UUID made of the SHA-256 of occurrence key, recipient, channel and address.
pub fn delivery_id(occurrence_key: &str, recipient_id: &str, channel: ChannelKind, address: &str) -> String {
    hashed_id(&[occurrence_key, recipient_id, channel_name(channel), address])
}

/// The id of the `seq`-th digest (from 1) to a recipient through a channel and address on a day (business date):
/// a UUID made of the SHA-256 of those, so a digest sent again after a crash keeps its id whatever it holds.
pub fn digest_id(recipient_id: &str, channel: ChannelKind, address: &str, day: Date, seq: i64) -> String {
    let day = domain::deadline::format_date_iso(day);
    hashed_id(&["digest", recipient_id, channel_name(channel), address, &day, &seq.to_string()])
}

/// A UUID made of the first 16 bytes of the SHA-256 of the parts, each followed by a zero byte.
fn hashed_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// A delivery claimed by this replica, with its occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub delivery_id: String,
    pub occurrence: Occurrence,
    pub recipient: Recipient,
    pub audience: Audience,
    pub channel: ChannelKind,
    pub address: String,
    /// Attempts made before this claim.
    pub attempts_before: u32,
    /// Times the delivery was claimed, this claim included: above 1, an earlier claim may have sent it.
    pub n_claims: u32,
    /// The send of this attempt (`attempts_before + 1`) was started by an earlier claimant, which recorded no
    /// outcome for it: the far side may have the message, and this attempt is a redelivery.
    pub redelivery: bool,
    /// The digest the delivery was last sent in (started or failed): a redelivery or a retry goes out under the
    /// same digest id, so that the far side recognises it.
    pub digest_id: Option<String>,
    pub not_before: OffsetDateTime,
    /// A later occurrence of the same series for the same recipient and channel is due too (or was sent).
    pub superseded: bool,
}

/// How a delivery ended, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalStatus {
    Sent,
    Skipped,
    Dead,
}

/// A row of the in-app feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedItem {
    /// The delivery's id; `POST /v1/notifications/{id}/read` marks it read.
    pub id: String,
    pub occurrence_key: String,
    pub task_id: Option<String>,
    pub plan_id: String,
    pub subject: String,
    pub body: String,
    /// When the reminder fell due (RFC 3339, +07:00).
    pub due_at: String,
    /// When it reached the feed (RFC 3339, +07:00).
    pub created_at: String,
    pub late: bool,
    pub read: bool,
}

/// A feed row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedItem {
    pub delivery_id: String,
    pub audience: Audience,
    pub owner: String,
    pub occurrence_key: String,
    pub task_id: Option<Uuid>,
    pub plan_id: Uuid,
    pub subject: String,
    pub body: String,
    pub due_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub late: bool,
}

/// Whose feed to read: the token's user, unit and whether they see their unit's escalations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReader {
    pub user_id: String,
    pub unit: String,
    pub sees_approver_items: bool,
}

/// A page of the feed, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPage<'a> {
    pub unread_only: bool,
    pub limit: u32,
    /// Items strictly older than this item.
    pub before: Option<&'a str>,
}

/// A delivery given up on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub delivery_id: String,
    pub occurrence_key: String,
    pub channel: String,
    pub address: String,
    pub attempts: u32,
    pub last_error: String,
    /// RFC 3339, +07:00 (business clock).
    pub dead_lettered_at: String,
}

/// A webhook endpoint's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointHealth {
    pub endpoint: String,
    pub consecutive_failures: u32,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
}

/// The version of the notification tables this code reads and writes.
pub const SCHEMA_VERSION: i64 = 2;

/// A change to the notification tables after their first version: columns added to tables that exist. A table or
/// index that is new is in [`create_statements`], created when missing.
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    /// `(table, column, definition)`.
    pub added_columns: &'static [(&'static str, &'static str, &'static str)],
}

/// Every migration, in version order; version 1 is the tables as first released. The last is [`SCHEMA_VERSION`].
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, description: "the notification tables", added_columns: &[] },
    Migration {
        version: 2,
        description: "a delivery's started attempt and digest; the digests reserved (notify_digests)",
        added_columns: &[
            ("notify_deliveries", "attempt_started", "BIGINT NULL"),
            ("notify_deliveries", "digest_id", "TEXT NULL"),
        ],
    },
];

/// The PostgreSQL advisory lock under which the notification tables are migrated.
const SCHEMA_LOCK: i64 = 0x6e6f_7469_6679;

/// The notification tables on the read database.
#[derive(Clone)]
pub struct NotifyStore {
    db: ReadDb,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored notification row is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Db(DbError::Sql(error))
    }
}

impl NotifyStore {
    /// The tables are created if missing, and those of a database an earlier version made are brought up to
    /// [`SCHEMA_VERSION`] (see [`MIGRATIONS`]).
    pub async fn open(db: ReadDb) -> Result<NotifyStore, StoreError> {
        let store = NotifyStore { db };
        store.migrate().await?;
        Ok(store)
    }

    /// In one write transaction (on PostgreSQL under an advisory lock, so that replicas starting together take
    /// turns): creates what is missing, applies the migrations above the version `notify_schema` records, each
    /// idempotent (a column is added only when the table lacks it), and records them.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut transaction = self.db.begin_write().await?;
        if self.db.dialect() == Dialect::Postgres {
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)").bind(SCHEMA_LOCK).execute(&mut *transaction).await?;
        }
        for statement in create_statements() {
            sqlx::query(&statement).execute(&mut *transaction).await?;
        }
        let row =
            sqlx::query("SELECT COALESCE(MAX(version), 0) FROM notify_schema").fetch_one(&mut *transaction).await?;
        let recorded: i64 = row.try_get(0)?;
        for migration in MIGRATIONS.iter().filter(|migration| migration.version > recorded) {
            for (table, column, definition) in migration.added_columns {
                match self.db.dialect() {
                    Dialect::Postgres => {
                        sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}"))
                            .execute(&mut *transaction)
                            .await?;
                    }
                    Dialect::Sqlite => {
                        let row = sqlx::query("SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2")
                            .bind(*table)
                            .bind(*column)
                            .fetch_one(&mut *transaction)
                            .await?;
                        if row.try_get::<i64, _>(0)? == 0 {
                            sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"))
                                .execute(&mut *transaction)
                                .await?;
                        }
                    }
                }
            }
            sqlx::query("INSERT INTO notify_schema (version, description, applied_at) VALUES ($1, $2, $3)")
                .bind(migration.version)
                .bind(migration.description)
                .bind(OffsetDateTime::now_utc().unix_timestamp())
                .execute(&mut *transaction)
                .await?;
            tracing::info!(
                version = migration.version,
                description = migration.description,
                "notification tables migrated"
            );
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The version of the tables, as `notify_schema` records it.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM notify_schema").fetch_one(self.db.pool()).await?;
        Ok(row.try_get(0)?)
    }

    pub fn db(&self) -> &ReadDb {
        &self.db
    }

    /// Inserts occurrences and their deliveries; those already stored (same key, same delivery id) are left as
    /// they are, so deriving twice changes nothing and a sent delivery stays sent.
    pub async fn insert_occurrences(
        transaction: &mut Transaction<'static, Any>,
        occurrences: &[PlannedOccurrence],
    ) -> Result<(), StoreError> {
        const OCCURRENCE_COLUMNS: usize = 17;
        for chunk in occurrences.chunks(rows_per_statement(OCCURRENCE_COLUMNS)) {
            let sql = format!(
                "INSERT INTO notify_occurrences (occurrence_key, rule, kind, series, step, task_id, plan_id, unit,
                 deadline, cut_off, period_start, period, due_at, critical, catch_up, n_deliveries, created_at)
                 VALUES {} ON CONFLICT (occurrence_key) DO NOTHING",
                values_rows(chunk.len(), OCCURRENCE_COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for PlannedOccurrence { occurrence, deliveries } in chunk {
                let n_deliveries = deliveries.len();
                query = query
                    .bind(occurrence.occurrence_key.clone())
                    .bind(occurrence.rule.clone())
                    .bind(kind_name(occurrence.kind))
                    .bind(occurrence.series.clone())
                    .bind(occurrence.step)
                    .bind(occurrence.task_id.map(|id| id.to_string()))
                    .bind(occurrence.plan_id.to_string())
                    .bind(occurrence.unit.clone())
                    .bind(occurrence.deadline.clone())
                    .bind(occurrence.cut_off.clone())
                    .bind(occurrence.period_start.clone())
                    .bind(occurrence.period.clone())
                    .bind(occurrence.due_at.unix_timestamp())
                    .bind(i64::from(occurrence.critical))
                    .bind(serde_json::to_string(&occurrence.catch_up).unwrap_or_default())
                    .bind(n_deliveries as i64)
                    .bind(OffsetDateTime::now_utc().unix_timestamp());
            }
            query.execute(&mut **transaction).await?;
        }
        const DELIVERY_COLUMNS: usize = 13;
        let deliveries: Vec<(&Occurrence, &PlannedDelivery)> = occurrences
            .iter()
            .flat_map(|planned| planned.deliveries.iter().map(move |delivery| (&planned.occurrence, delivery)))
            .collect();
        for chunk in deliveries.chunks(rows_per_statement(DELIVERY_COLUMNS)) {
            let sql = format!(
                "INSERT INTO notify_deliveries (delivery_id, occurrence_key, series, recipient_id, recipient_name,
                 language, audience, channel, address, due_at, not_before, status, attempts)
                 VALUES {} ON CONFLICT (delivery_id) DO NOTHING",
                values_rows(chunk.len(), DELIVERY_COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for (occurrence, delivery) in chunk {
                query = query
                    .bind(delivery.delivery_id.clone())
                    .bind(occurrence.occurrence_key.clone())
                    .bind(occurrence.series.clone())
                    .bind(delivery.recipient.id.clone())
                    .bind(delivery.recipient.name.clone())
                    .bind(language_name(delivery.recipient.language))
                    .bind(audience_name(delivery.audience))
                    .bind(channel_name(delivery.channel))
                    .bind(delivery.address.clone())
                    .bind(occurrence.due_at.unix_timestamp())
                    .bind(occurrence.due_at.unix_timestamp())
                    .bind("pending")
                    .bind(0_i64);
            }
            query.execute(&mut **transaction).await?;
        }
        Ok(())
    }

    /// Inserts occurrences in a transaction of their own.
    pub async fn insert_occurrences_now(&self, occurrences: &[PlannedOccurrence]) -> Result<(), StoreError> {
        let mut transaction = self.db.begin_write().await?;
        NotifyStore::insert_occurrences(&mut transaction, occurrences).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Claims at most `limit` deliveries due at `now` (business time) whose lease is free or expired, for `owner`,
    /// until the database clock passes its time plus `lease`; the earliest due first.
    pub async fn claim_due(
        &self,
        now: OffsetDateTime,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let db_now = self.db_now_micros_sql();
        let lock = match self.db.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let mut transaction = self.db.begin_write().await?;
        let claimed_ids: Vec<String> = sqlx::query(&format!(
            "UPDATE notify_deliveries SET lease_owner = $1, lease_until = {db_now} + $2, n_claims = n_claims + 1
             WHERE delivery_id IN (
                 SELECT delivery_id FROM notify_deliveries
                 WHERE status = 'pending' AND not_before <= $3 AND (lease_until IS NULL OR lease_until < {db_now})
                 ORDER BY not_before, delivery_id LIMIT $4{lock})
             RETURNING delivery_id"
        ))
        .bind(owner.to_owned())
        .bind(lease.as_micros() as i64)
        .bind(now.unix_timestamp())
        .bind(limit as i64)
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        if claimed_ids.is_empty() {
            transaction.commit().await?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT d.delivery_id, d.recipient_id, d.recipient_name, d.language, d.audience, d.channel, d.address,
                    d.attempts, d.n_claims, d.not_before,
                    o.occurrence_key, o.rule, o.kind, o.series, o.step, o.task_id, o.plan_id, o.unit, o.deadline,
                    o.cut_off, o.period_start, o.period, o.due_at, o.critical, o.catch_up,
                    EXISTS (SELECT 1 FROM notify_deliveries later
                            WHERE later.series = d.series AND later.recipient_id = d.recipient_id
                              AND later.channel = d.channel AND later.address = d.address
                              AND later.due_at > d.due_at AND later.due_at <= $1
                              AND later.status IN ('pending', 'sent')) AS superseded,
                    d.attempt_started, d.digest_id
             FROM notify_deliveries d JOIN notify_occurrences o ON o.occurrence_key = d.occurrence_key
             WHERE d.delivery_id IN ({})",
            placeholders(2, claimed_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(now.unix_timestamp());
        for id in &claimed_ids {
            query = query.bind(id.clone());
        }
        let rows = query.fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        let mut claimed: Vec<ClaimedDelivery> = rows.iter().map(claimed_of_row).collect::<Result<_, _>>()?;
        claimed.sort_by(|a, b| (a.not_before, &a.delivery_id).cmp(&(b.not_before, &b.delivery_id)));
        Ok(claimed)
    }

    /// Marks the send of the next attempt of claimed deliveries as started (`attempt_started` = attempts + 1), in
    /// the digest `digest_id` if they go in one, where `owner` still holds the lease; answers the ids marked, the
    /// only ones that may be sent. A claimant that finds the mark without an outcome knows the far side may have the
    /// message, and sends it again as a redelivery under the same ids.
    pub async fn start_attempts(
        &self,
        delivery_ids: &[&str],
        owner: &str,
        digest_id: Option<&str>,
    ) -> Result<HashSet<String>, StoreError> {
        let sql = format!(
            "UPDATE notify_deliveries SET attempt_started = attempts + 1, digest_id = $1
             WHERE lease_owner = $2 AND status = 'pending' AND delivery_id IN ({})
             RETURNING delivery_id",
            placeholders(3, delivery_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(digest_id.map(str::to_owned)).bind(owner.to_owned());
        for id in delivery_ids {
            query = query.bind((*id).to_owned());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<_, _>>()?)
    }

    /// The deliveries of the digest `digest_id` whose attempt was started and has no outcome yet: the digest as it
    /// may have reached its recipient, all of which a redelivery under the same id must carry.
    pub async fn digest_members_in_flight(&self, digest_id: &str) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id FROM notify_deliveries
             WHERE digest_id = $1 AND status = 'pending' AND attempt_started IS NOT NULL
               AND attempt_started > attempts",
        )
        .bind(digest_id.to_owned())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<_, _>>()?)
    }

    /// Reserves the id of a new digest to a recipient through a channel and address on a day: the `seq`-th digest
    /// of that day has [`digest_id`]`(…, seq)`, the first one unused; two replicas never reserve the same.
    pub async fn reserve_digest_id(
        &self,
        recipient_id: &str,
        channel: ChannelKind,
        address: &str,
        day: Date,
    ) -> Result<String, StoreError> {
        let day_text = domain::deadline::format_date_iso(day);
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) FROM notify_digests
             WHERE recipient_id = $1 AND channel = $2 AND address = $3 AND day = $4",
        )
        .bind(recipient_id.to_owned())
        .bind(channel_name(channel))
        .bind(address.to_owned())
        .bind(day_text.clone())
        .fetch_one(self.db.pool())
        .await?;
        let mut seq = row.try_get::<i64, _>(0)? + 1;
        loop {
            let id = digest_id(recipient_id, channel, address, day, seq);
            let inserted = sqlx::query(
                "INSERT INTO notify_digests (digest_id, recipient_id, channel, address, day, seq)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest_id) DO NOTHING",
            )
            .bind(id.clone())
            .bind(recipient_id.to_owned())
            .bind(channel_name(channel))
            .bind(address.to_owned())
            .bind(day_text.clone())
            .bind(seq)
            .execute(self.db.pool())
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(id);
            }
            seq += 1;
        }
    }

    /// Ends a claimed delivery; nothing happens unless `owner` still holds its lease. Answers whether it did.
    pub async fn finish(
        &self,
        delivery_id: &str,
        owner: &str,
        status: FinalStatus,
        attempts: u32,
        outcome: &str,
        finished_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let status = match status {
            FinalStatus::Sent => "sent",
            FinalStatus::Skipped => "skipped",
            FinalStatus::Dead => "dead",
        };
        let result = sqlx::query(
            "UPDATE notify_deliveries SET status = $1, attempts = $2, outcome = $3, finished_at = $4,
                    lease_owner = NULL, lease_until = NULL
             WHERE delivery_id = $5 AND lease_owner = $6 AND status = 'pending'",
        )
        .bind(status)
        .bind(i64::from(attempts))
        .bind(outcome.to_owned())
        .bind(finished_at.unix_timestamp())
        .bind(delivery_id.to_owned())
        .bind(owner.to_owned())
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks claimed deliveries sent, one attempt more each, in one statement; those whose lease `owner` no longer
    /// holds are left alone. Answers how many were marked.
    pub async fn finish_sent(
        &self,
        delivery_ids: &[String],
        owner: &str,
        finished_at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut n_marked = 0;
        for chunk in delivery_ids.chunks(1_000) {
            let sql = format!(
                "UPDATE notify_deliveries SET status = 'sent', attempts = attempts + 1, outcome = 'sent',
                        finished_at = $1, lease_owner = NULL, lease_until = NULL
                 WHERE lease_owner = $2 AND status = 'pending' AND delivery_id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(finished_at.unix_timestamp()).bind(owner.to_owned());
            for id in chunk {
                query = query.bind(id.clone());
            }
            n_marked += query.execute(self.db.pool()).await?.rows_affected();
        }
        Ok(n_marked)
    }

    /// Gives a claimed delivery back, to go at `not_before` (a retry, or the end of quiet hours).
    pub async fn release(
        &self,
        delivery_id: &str,
        owner: &str,
        attempts: u32,
        not_before: OffsetDateTime,
        outcome: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE notify_deliveries SET attempts = $1, not_before = $2, outcome = $3,
                    lease_owner = NULL, lease_until = NULL
             WHERE delivery_id = $4 AND lease_owner = $5 AND status = 'pending'",
        )
        .bind(i64::from(attempts))
        .bind(not_before.unix_timestamp())
        .bind(outcome.to_owned())
        .bind(delivery_id.to_owned())
        .bind(owner.to_owned())
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Deliveries due at `now` and not finished: the backlog.
    pub async fn n_due(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM notify_deliveries WHERE status = 'pending' AND not_before <= $1")
            .bind(now.unix_timestamp())
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get::<i64, _>(0)? as u64)
    }

    /// `(status, count)` of every delivery.
    pub async fn status_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM notify_deliveries GROUP BY status ORDER BY status")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? as u64))).collect()
    }

    /// The stored state of a delivery: `(status, attempts, outcome)`.
    pub async fn delivery_status(&self, delivery_id: &str) -> Result<Option<(String, u32, String)>, StoreError> {
        let row =
            sqlx::query("SELECT status, attempts, COALESCE(outcome, '') FROM notify_deliveries WHERE delivery_id = $1")
                .bind(delivery_id.to_owned())
                .fetch_optional(self.db.pool())
                .await?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? as u32, row.try_get(2)?))).transpose()
    }

    /// Every occurrence key with its due instant, in key order (for tests and drills).
    pub async fn occurrences(&self) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let rows = sqlx::query("SELECT occurrence_key, due_at FROM notify_occurrences ORDER BY occurrence_key")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|row| Ok((row.try_get(0)?, instant(row.try_get(1)?)?))).collect()
    }

    /// Writes a feed row; a row already written for this delivery is kept (the feed is idempotent on delivery id).
    pub async fn insert_feed_item(&self, item: &NewFeedItem) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO notify_feed (delivery_id, audience, owner, occurrence_key, task_id, plan_id, subject, body,
                                      due_at, created_at, late)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(item.delivery_id.clone())
        .bind(audience_name(item.audience))
        .bind(item.owner.clone())
        .bind(item.occurrence_key.clone())
        .bind(item.task_id.map(|id| id.to_string()))
        .bind(item.plan_id.to_string())
        .bind(item.subject.clone())
        .bind(item.body.clone())
        .bind(item.due_at.unix_timestamp())
        .bind(item.created_at.unix_timestamp())
        .bind(i64::from(item.late))
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// A reader's feed, newest first.
    pub async fn feed(&self, reader: &FeedReader, page: FeedPage<'_>) -> Result<Vec<FeedItem>, StoreError> {
        let mut sql = String::from(
            "SELECT f.delivery_id, f.occurrence_key, f.task_id, f.plan_id, f.subject, f.body, f.due_at, f.created_at,
                    f.late, EXISTS (SELECT 1 FROM notify_feed_reads r WHERE r.delivery_id = f.delivery_id
                                    AND r.user_id = $1) AS is_read
             FROM notify_feed f
             WHERE ((f.audience = 'user' AND f.owner = $1) OR (f.audience = 'unit' AND f.owner = $2)
                    OR (f.audience = 'unit_approvers' AND f.owner = $2 AND $3 = 1))",
        );
        if page.unread_only {
            sql.push_str(
                " AND NOT EXISTS (SELECT 1 FROM notify_feed_reads r WHERE r.delivery_id = f.delivery_id
                                  AND r.user_id = $1)",
            );
        }
        let before = match page.before {
            Some(before_id) => {
                let row = sqlx::query("SELECT created_at FROM notify_feed WHERE delivery_id = $1")
                    .bind(before_id.to_owned())
                    .fetch_optional(self.db.pool())
                    .await?;
                match row {
                    Some(row) => Some((row.try_get::<i64, _>(0)?, before_id.to_owned())),
                    None => return Ok(Vec::new()),
                }
            }
            None => None,
        };
        if before.is_some() {
            sql.push_str(" AND (f.created_at < $4 OR (f.created_at = $4 AND f.delivery_id < $5))");
        }
        let limit_parameter = if before.is_some() { 6 } else { 4 };
        sql.push_str(&format!(" ORDER BY f.created_at DESC, f.delivery_id DESC LIMIT ${limit_parameter}"));
        let mut query = sqlx::query(&sql)
            .bind(reader.user_id.clone())
            .bind(reader.unit.clone())
            .bind(i64::from(reader.sees_approver_items));
        if let Some((created_at, id)) = before {
            query = query.bind(created_at).bind(id);
        }
        let rows = query.bind(i64::from(page.limit)).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(FeedItem {
                    id: row.try_get(0)?,
                    occurrence_key: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    plan_id: row.try_get(3)?,
                    subject: row.try_get(4)?,
                    body: row.try_get(5)?,
                    due_at: vietnam_text(instant(row.try_get(6)?)?),
                    created_at: vietnam_text(instant(row.try_get(7)?)?),
                    late: row.try_get::<i64, _>(8)? != 0,
                    read: flag(row, 9)?,
                })
            })
            .collect()
    }

    /// Marks a feed item read for a reader; `false` when the reader has no such item.
    pub async fn mark_read(
        &self,
        reader: &FeedReader,
        delivery_id: &str,
        read_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let visible = sqlx::query(
            "SELECT 1 FROM notify_feed f WHERE f.delivery_id = $1
               AND ((f.audience = 'user' AND f.owner = $2) OR (f.audience = 'unit' AND f.owner = $3)
                    OR (f.audience = 'unit_approvers' AND f.owner = $3 AND $4 = 1))",
        )
        .bind(delivery_id.to_owned())
        .bind(reader.user_id.clone())
        .bind(reader.unit.clone())
        .bind(i64::from(reader.sees_approver_items))
        .fetch_optional(self.db.pool())
        .await?;
        if visible.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO notify_feed_reads (delivery_id, user_id, read_at) VALUES ($1, $2, $3)
             ON CONFLICT (delivery_id, user_id) DO NOTHING",
        )
        .bind(delivery_id.to_owned())
        .bind(reader.user_id.clone())
        .bind(read_at.unix_timestamp())
        .execute(self.db.pool())
        .await?;
        Ok(true)
    }

    /// Counts a failure of a webhook endpoint; disables it when `disable_after` failures follow each other.
    /// Answers whether this failure disabled it.
    pub async fn endpoint_failed(&self, endpoint: &str, disable_after: u32, reason: &str) -> Result<bool, StoreError> {
        let mut transaction = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO notify_endpoints (endpoint, consecutive_failures, disabled, disabled_reason)
             VALUES ($1, 0, 0, NULL) ON CONFLICT (endpoint) DO NOTHING",
        )
        .bind(endpoint.to_owned())
        .execute(&mut *transaction)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT consecutive_failures, disabled FROM notify_endpoints WHERE endpoint = $1{}",
            self.db.for_update()
        ))
        .bind(endpoint.to_owned())
        .fetch_one(&mut *transaction)
        .await?;
        let failures = row.try_get::<i64, _>(0)? + 1;
        let was_disabled = row.try_get::<i64, _>(1)? != 0;
        let disable = !was_disabled && failures >= i64::from(disable_after);
        sqlx::query(
            "UPDATE notify_endpoints SET consecutive_failures = $1,
                    disabled = CASE WHEN $2 = 1 THEN 1 ELSE disabled END,
                    disabled_reason = CASE WHEN $2 = 1 THEN $3 ELSE disabled_reason END
             WHERE endpoint = $4",
        )
        .bind(failures)
        .bind(i64::from(disable))
        .bind(format!("{failures} consecutive failures; the last: {reason}"))
        .bind(endpoint.to_owned())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(disable)
    }

    /// A success resets an endpoint's count of consecutive failures.
    pub async fn endpoint_succeeded(&self, endpoint: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notify_endpoints SET consecutive_failures = 0 WHERE endpoint = $1 AND consecutive_failures > 0",
        )
        .bind(endpoint.to_owned())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Whether an endpoint is disabled, and why.
    pub async fn endpoint_disabled(&self, endpoint: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT disabled, disabled_reason FROM notify_endpoints WHERE endpoint = $1")
            .bind(endpoint.to_owned())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(row) if row.try_get::<i64, _>(0)? != 0 => {
                Some(row.try_get::<Option<String>, _>(1)?.unwrap_or_default())
            }
            _ => None,
        })
    }

    /// An operator re-enables an endpoint. Answers whether it was disabled.
    pub async fn enable_endpoint(&self, endpoint: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE notify_endpoints SET disabled = 0, consecutive_failures = 0, disabled_reason = NULL
             WHERE endpoint = $1 AND disabled = 1",
        )
        .bind(endpoint.to_owned())
        .execute(self.db.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn endpoints(&self) -> Result<Vec<EndpointHealth>, StoreError> {
        let rows = sqlx::query(
            "SELECT endpoint, consecutive_failures, disabled, disabled_reason FROM notify_endpoints ORDER BY endpoint",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EndpointHealth {
                    endpoint: row.try_get(0)?,
                    consecutive_failures: row.try_get::<i64, _>(1)? as u32,
                    disabled: row.try_get::<i64, _>(2)? != 0,
                    disabled_reason: row.try_get(3)?,
                })
            })
            .collect()
    }

    pub async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notify_dead_letters (delivery_id, occurrence_key, channel, address, attempts, last_error,
                                              dead_lettered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(letter.delivery_id.clone())
        .bind(letter.occurrence_key.clone())
        .bind(letter.channel.clone())
        .bind(letter.address.clone())
        .bind(i64::from(letter.attempts))
        .bind(letter.last_error.clone())
        .bind(letter.dead_lettered_at.clone())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, occurrence_key, channel, address, attempts, last_error, dead_lettered_at
             FROM notify_dead_letters ORDER BY dead_lettered_at, delivery_id",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    delivery_id: row.try_get(0)?,
                    occurrence_key: row.try_get(1)?,
                    channel: row.try_get(2)?,
                    address: row.try_get(3)?,
                    attempts: row.try_get::<i64, _>(4)? as u32,
                    last_error: row.try_get(5)?,
                    dead_lettered_at: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// The database clock in Unix microseconds, as SQL: leases are measured by it.
    fn db_now_micros_sql(&self) -> &'static str {
        match self.db.dialect() {
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
        }
    }
}

/// `CREATE TABLE IF NOT EXISTS` and index statements of every notification table.
pub fn create_statements() -> Vec<String> {
    [
        "CREATE TABLE IF NOT EXISTS notify_schema (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS notify_plans (
            plan_id TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            year BIGINT NOT NULL,
            title TEXT NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS notify_tasks (
            task_id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL,
            parent_id TEXT NULL,
            number TEXT NOT NULL,
            title TEXT NOT NULL,
            lead_unit TEXT NOT NULL,
            deadline TEXT NULL,
            lifecycle TEXT NOT NULL,
            n_indicators BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS notify_tasks_by_plan ON notify_tasks (plan_id, lead_unit)",
        "CREATE TABLE IF NOT EXISTS notify_task_reports (
            task_id TEXT NOT NULL,
            report_id TEXT NOT NULL,
            as_of TEXT NOT NULL,
            PRIMARY KEY (task_id, report_id)
        )",
        "CREATE TABLE IF NOT EXISTS notify_report_requests (
            request_id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL,
            cut_off TEXT NOT NULL,
            due_on TEXT NOT NULL,
            withdrawn BIGINT NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS notify_occurrences (
            occurrence_key TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            kind TEXT NOT NULL,
            series TEXT NOT NULL,
            step BIGINT NOT NULL,
            task_id TEXT NULL,
            plan_id TEXT NOT NULL,
            unit TEXT NOT NULL,
            deadline TEXT NULL,
            cut_off TEXT NULL,
            period_start TEXT NULL,
            period TEXT NULL,
            due_at BIGINT NOT NULL,
            critical BIGINT NOT NULL,
            catch_up TEXT NOT NULL,
            n_deliveries BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS notify_occurrences_by_task ON notify_occurrences (task_id)",
        "CREATE TABLE IF NOT EXISTS notify_deliveries (
            delivery_id TEXT PRIMARY KEY,
            occurrence_key TEXT NOT NULL,
            series TEXT NOT NULL,
            recipient_id TEXT NOT NULL,
            recipient_name TEXT NOT NULL,
            language TEXT NOT NULL,
            audience TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            due_at BIGINT NOT NULL,
            not_before BIGINT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            n_claims BIGINT NOT NULL DEFAULT 0,
            lease_owner TEXT NULL,
            lease_until BIGINT NULL,
            outcome TEXT NULL,
            finished_at BIGINT NULL,
            attempt_started BIGINT NULL,
            digest_id TEXT NULL
        )",
        "CREATE INDEX IF NOT EXISTS notify_deliveries_due ON notify_deliveries (status, not_before)",
        "CREATE INDEX IF NOT EXISTS notify_deliveries_series ON notify_deliveries (series, recipient_id, channel)",
        "CREATE INDEX IF NOT EXISTS notify_deliveries_by_occurrence ON notify_deliveries (occurrence_key)",
        "CREATE TABLE IF NOT EXISTS notify_feed (
            delivery_id TEXT PRIMARY KEY,
            audience TEXT NOT NULL,
            owner TEXT NOT NULL,
            occurrence_key TEXT NOT NULL,
            task_id TEXT NULL,
            plan_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            due_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            late BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS notify_feed_by_owner ON notify_feed (owner, created_at)",
        "CREATE TABLE IF NOT EXISTS notify_feed_reads (
            delivery_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            read_at BIGINT NOT NULL,
            PRIMARY KEY (delivery_id, user_id)
        )",
        "CREATE TABLE IF NOT EXISTS notify_endpoints (
            endpoint TEXT PRIMARY KEY,
            consecutive_failures BIGINT NOT NULL,
            disabled BIGINT NOT NULL,
            disabled_reason TEXT NULL
        )",
        "CREATE TABLE IF NOT EXISTS notify_digests (
            digest_id TEXT PRIMARY KEY,
            recipient_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            day TEXT NOT NULL,
            seq BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS notify_digests_by_day ON notify_digests (recipient_id, channel, address, day)",
        "CREATE TABLE IF NOT EXISTS notify_dead_letters (
            delivery_id TEXT PRIMARY KEY,
            occurrence_key TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            last_error TEXT NOT NULL,
            dead_lettered_at TEXT NOT NULL
        )",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

pub fn channel_name(channel: ChannelKind) -> &'static str {
    match channel {
        ChannelKind::Email => "email",
        ChannelKind::Webhook => "webhook",
        ChannelKind::Nats => "nats",
        ChannelKind::Feed => "feed",
    }
}

fn parse_channel(text: &str) -> Result<ChannelKind, StoreError> {
    Ok(match text {
        "email" => ChannelKind::Email,
        "webhook" => ChannelKind::Webhook,
        "nats" => ChannelKind::Nats,
        "feed" => ChannelKind::Feed,
        other => return Err(StoreError::Corrupt(format!("unknown channel {other:?}"))),
    })
}

pub fn kind_name(kind: OccurrenceKind) -> &'static str {
    match kind {
        OccurrenceKind::Deadline => "deadline",
        OccurrenceKind::Overdue => "overdue",
        OccurrenceKind::Report => "report",
    }
}

fn parse_kind(text: &str) -> Result<OccurrenceKind, StoreError> {
    Ok(match text {
        "deadline" => OccurrenceKind::Deadline,
        "overdue" => OccurrenceKind::Overdue,
        "report" => OccurrenceKind::Report,
        other => return Err(StoreError::Corrupt(format!("unknown occurrence kind {other:?}"))),
    })
}

fn audience_name(audience: Audience) -> &'static str {
    match audience {
        Audience::User => "user",
        Audience::Unit => "unit",
        Audience::UnitApprovers => "unit_approvers",
    }
}

fn parse_audience(text: &str) -> Result<Audience, StoreError> {
    Ok(match text {
        "user" => Audience::User,
        "unit" => Audience::Unit,
        "unit_approvers" => Audience::UnitApprovers,
        other => return Err(StoreError::Corrupt(format!("unknown audience {other:?}"))),
    })
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::Vi => "vi",
        Language::En => "en",
    }
}

fn parse_language(text: &str) -> Language {
    if text == "en" {
        Language::En
    } else {
        Language::Vi
    }
}

fn instant(unix_seconds: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_err(|error| StoreError::Corrupt(format!("instant {unix_seconds}: {error}")))
}

/// An instant as RFC 3339 at +07:00.
pub fn vietnam_text(instant: OffsetDateTime) -> String {
    instant
        .to_offset(domain::deadline::VIETNAM_OFFSET)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn uuid_of(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|error| StoreError::Corrupt(format!("id {text:?}: {error}")))
}

/// A boolean column: PostgreSQL answers `EXISTS` as a boolean, SQLite as an integer.
fn flag(row: &AnyRow, index: usize) -> Result<bool, StoreError> {
    if let Ok(value) = row.try_get::<bool, _>(index) {
        return Ok(value);
    }
    Ok(row.try_get::<i64, _>(index)? != 0)
}

fn claimed_of_row(row: &AnyRow) -> Result<ClaimedDelivery, StoreError> {
    let catch_up_text: String = row.try_get(24)?;
    let catch_up = serde_json::from_str(&catch_up_text)
        .map_err(|error| StoreError::Corrupt(format!("catch-up policy {catch_up_text:?}: {error}")))?;
    let task_id: Option<String> = row.try_get(15)?;
    let attempts_before: i64 = row.try_get(7)?;
    Ok(ClaimedDelivery {
        delivery_id: row.try_get(0)?,
        recipient: Recipient {
            id: row.try_get(1)?,
            name: row.try_get(2)?,
            language: parse_language(&row.try_get::<String, _>(3)?),
        },
        audience: parse_audience(&row.try_get::<String, _>(4)?)?,
        channel: parse_channel(&row.try_get::<String, _>(5)?)?,
        address: row.try_get(6)?,
        attempts_before: attempts_before as u32,
        n_claims: row.try_get::<i64, _>(8)? as u32,
        not_before: instant(row.try_get(9)?)?,
        occurrence: Occurrence {
            occurrence_key: row.try_get(10)?,
            rule: row.try_get(11)?,
            kind: parse_kind(&row.try_get::<String, _>(12)?)?,
            series: row.try_get(13)?,
            step: row.try_get(14)?,
            task_id: task_id.as_deref().map(uuid_of).transpose()?,
            plan_id: uuid_of(&row.try_get::<String, _>(16)?)?,
            unit: row.try_get(17)?,
            deadline: row.try_get(18)?,
            cut_off: row.try_get(19)?,
            period_start: row.try_get(20)?,
            period: row.try_get(21)?,
            due_at: instant(row.try_get(22)?)?,
            critical: row.try_get::<i64, _>(23)? != 0,
            catch_up,
        },
        superseded: flag(row, 25)?,
        redelivery: row.try_get::<Option<i64>, _>(26)? == Some(attempts_before + 1),
        digest_id: row.try_get(27)?,
    })
}
