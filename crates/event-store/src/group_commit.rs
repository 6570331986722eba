//! Group commit: concurrent appends share one transaction, so throughput is not bound by one commit (one fsync)
//! per command.
//!
//! A backend implements [`BatchAppender`] (one transaction for a whole batch, planned with [`crate::batch`]);
//! [`GroupCommit::spawn`] starts the one writer that feeds it. Callers send their request with a reply channel; the writer takes the first queued request, then whatever else is already queued (up to
//! [`GroupCommitConfig::max_batch_requests`] requests and about [`GroupCommitConfig::max_batch_events`] events),
//! appends the batch and answers each caller. It never waits for a batch to fill: a lone request is appended at
//! once, and batches grow only while the previous transaction is in flight, which is exactly when waiting callers
//! pile up. The writer runs on a thread of its own (see [`GroupCommit::spawn`]).
//!
//! When requests are waiting, a batch's answers go out just after the next batch has been sent (its first poll):
//! waking the callers then overlaps the database's work on the next batch instead of coming before it. When
//! nothing waits they go out at once. Either way an answer leaves only after its batch has committed.
//!
//! A request that fails its own checks gets its own error; if the transaction fails, every request of the batch
//! gets that store error. The writer ends when the last [`GroupCommit`] handle is dropped, after answering
//! what was queued.
//!
//! The writer counts what it does ([`GroupCommit::stats`]) and records each batch in the metrics
//! `taskledger_append_batch_duration_seconds` (from sending the batch until the backend has answered it) and
//! `taskledger_append_batch_requests`. The first one's rate of seconds per second is the writer's saturation: near 1
//! it always has a batch in flight, and appends wait for the backend, not for callers.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use crate::batch::PreparedRequest;
use crate::{AppendError, AppendOutcome, AppendRequest, StoreError};

/// A backend's append of many requests in one transaction.
#[async_trait]
pub trait BatchAppender: Send + Sync + 'static {
    /// Appends the accepted requests of `batch` in one transaction and returns one reply per request, in order.
    /// The requests were checked and their payloads canonicalised by the callers ([`PreparedRequest::new`]).
    /// A request that fails its expected-version, idempotency or validity checks gets its own error and does not
    /// abort the others. `Err` means the transaction failed as a whole and nothing was written.
    async fn append_batch(
        &self,
        batch: Vec<PreparedRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError>;
}

/// Bounds on one batch and on the queue in front of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitConfig {
    /// At most this many requests share a transaction.
    pub max_batch_requests: usize,
    /// A batch stops growing once it holds this many events (a single larger request still goes alone).
    pub max_batch_events: usize,
    /// Requests that may wait for the writer before `append` itself waits (back-pressure).
    pub queue_capacity: usize,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        GroupCommitConfig { max_batch_requests: 256, max_batch_events: 4096, queue_capacity: 4096 }
    }
}

/// The histogram of the requests sharing one append transaction, one observation per batch.
pub const BATCH_REQUESTS_METRIC: &str = "taskledger_append_batch_requests";

/// What a writer has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches handed to the backend, committed or not.
    pub batches: u64,
    /// Requests in those batches.
    pub requests: u64,
    /// Time with a batch in the backend's hands. Its share of the elapsed time is the writer's saturation.
    pub busy: Duration,
}

impl WriterStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &WriterStats) -> WriterStats {
        WriterStats {
            batches: self.batches.saturating_sub(earlier.batches),
            requests: self.requests.saturating_sub(earlier.requests),
            busy: self.busy.saturating_sub(earlier.busy),
        }
    }
}

/// [`WriterStats`] as the writer thread updates them and the handles read them.
#[derive(Debug, Default)]
struct WriterCounters {
    batches: AtomicU64,
    requests: AtomicU64,
    busy_nanos: AtomicU64,
}

impl WriterCounters {
    fn record(&self, n_requests: usize, busy: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(n_requests as u64, Ordering::Relaxed);
        self.busy_nanos.fetch_add(u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        metrics::histogram!("taskledger_append_batch_duration_seconds").record(busy.as_secs_f64());
        metrics::histogram!(BATCH_REQUESTS_METRIC).record(n_requests as f64);
    }

    fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// The handle callers append through. Dropping the last handle stops the writer task once the queue is drained.
#[derive(Debug)]
pub struct GroupCommit {
    sender: mpsc::Sender<Job>,
    /// Answered (or dropped) when the writer has ended.
    finished: oneshot::Receiver<()>,
    counters: Arc<WriterCounters>,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own with a single-threaded tokio runtime, so that the batch cycle (plan,
    /// send, wait for the commit, answer, take the next batch) never waits in the callers' runtime queue behind
    /// the request handlers it serves: the database gets the next batch as soon as a commit returns. Fails only
    /// when the thread or its runtime cannot be made.
    pub fn spawn(appender: impl BatchAppender, config: GroupCommitConfig) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let (finished_sender, finished) = oneshot::channel();
        let counters = Arc::new(WriterCounters::default());
        let writer_counters = counters.clone();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("event-store-writer".to_owned()).spawn(move || {
            runtime.block_on(run_writer(appender, receiver, config, &writer_counters));
            let _ = finished_sender.send(());
        })?;
        Ok(GroupCommit { sender, finished, counters })
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        self.counters.stats()
    }

    /// Queues the request for the next batch and waits for its reply. A request that fails
    /// [`crate::batch::validate_request`] is refused at once, without queueing; the payloads of the others are
    /// canonicalised here, on the caller's thread ([`PreparedRequest`]).
    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        let request = PreparedRequest::new(request)?;
        let (reply, answer) = oneshot::channel();
        self.sender.send(Job { request, reply }).await.map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// Stops accepting requests, lets the writer answer what is queued, and waits for it to end.
    pub async fn shutdown(self) {
        let GroupCommit { sender, finished, .. } = self;
        drop(sender);
        if finished.await.is_err() {
            error!("group commit writer ended abnormally");
        }
    }
}

struct Job {
    request: PreparedRequest,
    reply: oneshot::Sender<Result<AppendOutcome, AppendError>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("command_id", &self.request.request().command_id).finish_non_exhaustive()
    }
}

fn writer_gone() -> AppendError {
    AppendError::Store(StoreError::Unavailable("the event store writer has stopped".to_owned()))
}

async fn run_writer(
    appender: impl BatchAppender,
    mut receiver: mpsc::Receiver<Job>,
    config: GroupCommitConfig,
    counters: &WriterCounters,
) {
    // A job taken from the queue that did not fit into the previous batch; it opens the next one.
    let mut carried_over: Option<Job> = None;
    // The answers of the last batch, handed out once the next batch is on its way to the database (or at once
    // when nothing waits): waking the callers then overlaps the database's work instead of delaying it.
    let mut answers: Vec<Answer> = Vec::new();
    loop {
        let first = match carried_over.take() {
            Some(job) => job,
            None => match receiver.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    hand_out(&mut answers);
                    match receiver.recv().await {
                        Some(job) => job,
                        None => break,
                    }
                }
            },
        };
        let mut batch_events = first.request.n_events();
        let mut jobs = vec![first];
        while jobs.len() < config.max_batch_requests && batch_events < config.max_batch_events {
            let Ok(job) = receiver.try_recv() else { break };
            let job_events = job.request.n_events();
            if batch_events + job_events > config.max_batch_events {
                carried_over = Some(job);
                break;
            }
            batch_events += job_events;
            jobs.push(job);
        }
        let n_requests = jobs.len();
        let sent = Instant::now();
        answers = commit_batch(&appender, jobs, batch_events, std::mem::take(&mut answers)).await;
        counters.record(n_requests, sent.elapsed());
    }
    hand_out(&mut answers);
    debug!("group commit writer stopped: every handle was dropped");
}

/// A caller's reply channel with its answer.
type Answer = (oneshot::Sender<Result<AppendOutcome, AppendError>>, Result<AppendOutcome, AppendError>);

fn hand_out(answers: &mut Vec<Answer>) {
    for (reply, result) in answers.drain(..) {
        // A caller that stopped waiting (its future was dropped) simply misses the answer; the append stands.
        let _ = reply.send(result);
    }
}

/// Appends one batch, handing out `earlier` (the previous batch's answers) as soon as this batch's first step is
/// under way, and returns this batch's answers.
async fn commit_batch(
    appender: &impl BatchAppender,
    jobs: Vec<Job>,
    batch_events: usize,
    mut earlier: Vec<Answer>,
) -> Vec<Answer> {
    let n_requests = jobs.len();
    let (requests, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|job| (job.request, job.reply)).unzip();
    let mut append = std::pin::pin!(appender.append_batch(requests));
    // One poll sends the batch (or finishes it); the earlier answers then go out while the database works.
    let polled = std::future::poll_fn(|context| std::task::Poll::Ready(append.as_mut().poll(context))).await;
    hand_out(&mut earlier);
    let appended = match polled {
        std::task::Poll::Ready(appended) => appended,
        std::task::Poll::Pending => append.await,
    };
    let results = match appended {
        Ok(results) if results.len() == n_requests => {
            debug!(n_requests, n_events = batch_events, "batch appended");
            results
        }
        Ok(results) => {
            error!(n_requests, n_results = results.len(), "batch appender answered the wrong number of requests");
            let error = StoreError::Backend("the batch appender lost track of a request".to_owned());
            vec![Err(AppendError::Store(error)); n_requests]
        }
        Err(store_error) => {
            error!(n_requests, n_events = batch_events, error = %store_error, "append transaction failed");
            vec![Err(AppendError::Store(store_error)); n_requests]
        }
    };
    replies.into_iter().zip(results).collect()
}

#[cfg(test)]
mod tests;
