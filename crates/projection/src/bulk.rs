//! Bulk writes of a rebuild on PostgreSQL: rows new to a generation go in with `COPY … FROM STDIN` on a connection
//! of their own, beside the `Any` pool that carries everything else (`db`), instead of multi-row `INSERT`s whose
//! every value is bound through sqlx's `Any` arguments.
//!
//! A `COPY` commits on its own, outside the batch's transaction: only a generation that nothing reads yet may be
//! written so (`rebuild`), and the rebuild switches to it only after every `COPY` has committed. One write is in
//! flight at a time, while the caller applies the next batch ([`BulkWriter::start`]); whoever reads the
//! generation's tables waits for it first ([`BulkWriter::wait`]). A rebuild that stops half-way leaves rows in
//! tables that stay invisible and are dropped when the next rebuild starts. SQLite has no `COPY`: its rebuilds
//! keep the `INSERT` path (`ReadDb::bulk_writer` answers `None`).

use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;
use tokio::task::JoinHandle;

use crate::db::DbError;

/// A connection that writes rows with `COPY`, one write in flight at most.
pub struct BulkWriter {
    /// The connection while no write is in flight; `None` while one is, or after one failed.
    connection: Option<PgConnection>,
    in_flight: Option<JoinHandle<Result<PgConnection, DbError>>>,
}

/// Rows of one table, encoded for `COPY`.
pub struct CopyJob {
    table: String,
    columns: &'static str,
    text: CopyText,
    n_rows: usize,
}

/// A write of [`BulkWriter`], once the rows are encoded: boxed, because sqlx's executors inside the generic async
/// functions of the models make futures the compiler cannot otherwise prove `Send`.
pub type BulkWrite<'a> = Pin<Box<dyn Future<Output = Result<(), DbError>> + Send + 'a>>;

/// A row that can be written by `COPY`: its fields in the order of the column list it is copied with.
pub trait CopyRow {
    fn write_fields(&self, text: &mut CopyText);
}

/// Rows in PostgreSQL's `COPY` text format: fields separated by tabs, rows ended by newlines, `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped with a backslash inside a value. Everything else — any
/// UTF-8 text, quotes included — goes as it is.
#[derive(Debug, Default)]
pub struct CopyText {
    bytes: Vec<u8>,
    /// Whether the next field starts a row (and so takes no tab before it).
    at_row_start: bool,
}

impl BulkWriter {
    /// Opens a connection of its own on the PostgreSQL database at `url`, whose commits do not wait for the disk
    /// (`synchronous_commit = off`): what it writes is read by nobody until the rebuild switches, and the switch's
    /// own commit, which waits, makes every earlier commit durable with it.
    pub async fn connect(url: &str) -> Result<BulkWriter, DbError> {
        let unavailable = |error: sqlx::Error| DbError::Unavailable(format!("the bulk-write connection: {error}"));
        let options = PgConnectOptions::from_str(url).map_err(unavailable)?.options([("synchronous_commit", "off")]);
        let connection = options.connect().await.map_err(unavailable)?;
        Ok(BulkWriter { connection: Some(connection), in_flight: None })
    }

    /// Starts writing `jobs`, one `COPY` each, in order, after the write in flight; answers once they are under
    /// way. They have committed when [`BulkWriter::wait`] returns; an error shows there.
    pub async fn start(&mut self, jobs: Vec<CopyJob>) -> Result<(), DbError> {
        self.wait().await?;
        let jobs: Vec<CopyJob> = jobs.into_iter().filter(|job| job.n_rows > 0).collect();
        if jobs.is_empty() {
            return Ok(());
        }
        let mut connection = self.take_connection()?;
        self.in_flight = Some(tokio::spawn(async move {
            for job in &jobs {
                copy_encoded(&mut connection, &job.text, &job.table, job.columns, job.n_rows).await?;
            }
            Ok(connection)
        }));
        Ok(())
    }

    /// Waits until the write in flight, if any, has committed.
    pub async fn wait(&mut self) -> Result<(), DbError> {
        if let Some(in_flight) = self.in_flight.take() {
            let finished =
                in_flight.await.map_err(|error| DbError::Unavailable(format!("the bulk write stopped: {error}")))?;
            self.connection = Some(finished?);
        }
        Ok(())
    }

    /// Writes `rows` into `table` where some may exist already, after the write in flight: copied into a
    /// temporary table of this connection, then inserted from it with `on_conflict` (`ON CONFLICT (…) DO UPDATE …`,
    /// naming the new row `excluded`). Committed when this returns.
    pub fn copy_upsert<'a, R: CopyRow>(
        &'a mut self,
        table: &'a str,
        columns: &'static str,
        rows: &[R],
        on_conflict: &'a str,
    ) -> BulkWrite<'a> {
        let job = CopyJob::encode(format!("staging_{table}"), columns, rows);
        Box::pin(async move {
            self.wait().await?;
            if job.n_rows == 0 {
                return Ok(());
            }
            let connection = self.connection.as_mut().ok_or_else(lost)?;
            upsert_encoded(connection, &job, table, on_conflict).await
        })
    }

    fn take_connection(&mut self) -> Result<PgConnection, DbError> {
        self.connection.take().ok_or_else(lost)
    }
}

impl CopyJob {
    /// `rows` of `table`, `columns` in the order of [`CopyRow::write_fields`].
    pub fn encode<R: CopyRow>(table: String, columns: &'static str, rows: &[R]) -> CopyJob {
        let mut text = CopyText::new();
        for row in rows {
            row.write_fields(&mut text);
            text.end_row();
        }
        CopyJob { table, columns, text, n_rows: rows.len() }
    }
}

fn lost() -> DbError {
    DbError::Unavailable("the bulk-write connection was lost with an earlier write".to_owned())
}

/// The `COPY` of rows encoded in `text`, `n_rows` of them.
async fn copy_encoded(
    connection: &mut PgConnection,
    text: &CopyText,
    table: &str,
    columns: &str,
    n_rows: usize,
) -> Result<(), DbError> {
    let mut copy = connection.copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN")).await?;
    if let Err(error) = copy.send(text.as_bytes()).await {
        // The connection is no longer usable for anything else until the COPY is ended.
        let _ = copy.abort(format!("sending the rows failed: {error}")).await;
        return Err(error.into());
    }
    let n_copied = copy.finish().await?;
    if n_copied != n_rows as u64 {
        return Err(DbError::Unavailable(format!("COPY into {table} wrote {n_copied} rows of {n_rows}")));
    }
    Ok(())
}

/// One statement on the connection, boxed for the reason [`BulkWrite`] is.
fn execute<'a>(connection: &'a mut PgConnection, statement: &'a str) -> BulkWrite<'a> {
    Box::pin(async move {
        sqlx::query(statement).execute(connection).await?;
        Ok(())
    })
}

/// See [`BulkWriter::copy_upsert`]; `job` is encoded for the staging table.
async fn upsert_encoded(
    connection: &mut PgConnection,
    job: &CopyJob,
    table: &str,
    on_conflict: &str,
) -> Result<(), DbError> {
    let (staging, columns) = (&job.table, job.columns);
    let statements =
        [format!("CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {table})"), format!("TRUNCATE {staging}")];
    for statement in &statements {
        execute(connection, statement).await?;
    }
    copy_encoded(connection, &job.text, staging, columns, job.n_rows).await?;
    execute(connection, &format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} {on_conflict}"))
        .await?;
    Ok(())
}

impl CopyText {
    pub fn new() -> CopyText {
        CopyText { bytes: Vec::new(), at_row_start: true }
    }

    pub fn text(&mut self, value: &str) {
        self.separate();
        let bytes = value.as_bytes();
        // Whether any byte may need escaping, without stopping early (so that the loop runs over whole vectors):
        // nearly every value needs none.
        let suspect = bytes.iter().fold(false, |suspect, &byte| suspect | (byte < 0x20) | (byte == b'\\'));
        if !suspect {
            self.bytes.extend_from_slice(bytes);
            return;
        }
        for &byte in bytes {
            match byte {
                b'\\' => self.bytes.extend_from_slice(b"\\\\"),
                b'\t' => self.bytes.extend_from_slice(b"\\t"),
                b'\n' => self.bytes.extend_from_slice(b"\\n"),
                b'\r' => self.bytes.extend_from_slice(b"\\r"),
                other => self.bytes.push(other),
            }
        }
    }

    /// A text known to hold nothing to escape (digits, hex, hyphens).
    pub fn plain(&mut self, value: &str) {
        debug_assert!(!value.bytes().any(|byte| matches!(byte, b'\\' | b'\t' | b'\n' | b'\r')), "{value:?}");
        self.separate();
        self.bytes.extend_from_slice(value.as_bytes());
    }

    pub fn optional_text(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.text(value),
            None => self.null(),
        }
    }

    pub fn integer(&mut self, value: i64) {
        self.separate();
        // Writing into a `Vec` cannot fail.
        let _ = write!(self.bytes, "{value}");
    }

    pub fn optional_integer(&mut self, value: Option<i64>) {
        match value {
            Some(value) => self.integer(value),
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.separate();
        self.bytes.extend_from_slice(b"\\N");
    }

    pub fn end_row(&mut self) {
        self.bytes.push(b'\n');
        self.at_row_start = true;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn separate(&mut self) {
        if !self.at_row_start {
            self.bytes.push(b'\t');
        }
        self.at_row_start = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row<'a>(&'a str, Option<&'a str>, i64, Option<i64>);

    impl CopyRow for Row<'_> {
        fn write_fields(&self, text: &mut CopyText) {
            text.text(self.0);
            text.optional_text(self.1);
            text.integer(self.2);
            text.optional_integer(self.3);
        }
    }

    fn encode(rows: &[Row<'_>]) -> String {
        let mut text = CopyText::new();
        for row in rows {
            row.write_fields(&mut text);
            text.end_row();
        }
        String::from_utf8(text.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn fields_are_separated_by_tabs_and_rows_end_with_a_newline() {
        let rows = [Row("Sở Khoa học", None, -7, Some(i64::MIN)), Row("", Some("x"), 0, None)];
        assert_eq!(encode(&rows), "Sở Khoa học\t\\N\t-7\t-9223372036854775808\n\tx\t0\t\\N\n");
    }

    #[test]
    fn backslashes_tabs_newlines_and_carriage_returns_are_escaped_and_the_rest_is_kept_as_it_is() {
        let value = "a\\b\tc\nd\re \"quoted\" 'single' \\N \\. \u{7}đã hoàn thành";
        assert_eq!(
            encode(&[Row(value, Some("\\"), 1, None)]),
            "a\\\\b\\tc\\nd\\re \"quoted\" 'single' \\\\N \\\\. \u{7}đã hoàn thành\t\\\\\t1\t\\N\n"
        );
    }
}
