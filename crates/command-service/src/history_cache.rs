//! Task histories as last read, so that asking for a long history again reads only what was appended since.
//!
//! A task's history shows several streams: the task's, its reminder log's, and those of its indicators. The cache
//! keeps, per task, the streams it read with the version each was read up to, the events, and the JSON document
//! last rendered from them. A request reads each stream after its cached version (one indexed read per stream
//! that usually returns nothing); when nothing was appended and the task's nodes are the same, the cached
//! document is the answer, byte for byte what rendering the same events again would give. Otherwise the new events
//! join the cached ones and the document is rendered again. The store stays the authority: what another process
//! appended is read like anything else, and a history is never older than the store at the time of the request.
//!
//! Memory is bounded by the size of the documents kept ([`MAX_CACHED_BYTES`]); past it, the cache starts over,
//! as the ledger's and the plan cache do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use domain::ids::TaskId;
use event_store::{RecordedEvent, StreamId};

use crate::history::{entries, HistoryEntry};
use crate::AppState;
use http_api::error::ApiError;

/// The documents kept take at most this many bytes (their events about as much again).
pub const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// A task's history as read up to some version of each of its streams.
#[derive(Debug)]
pub struct CachedHistory {
    /// Every stream the history shows, with the version it was read up to, in a stable order.
    pub streams: Vec<(StreamId, u64)>,
    /// The events of those streams, in log order.
    pub events: Vec<RecordedEvent>,
    /// The JSON document of the entries, as `GET /v1/tasks/{id}/history` answers it.
    pub json: bytes::Bytes,
    pub n_entries: usize,
}

#[derive(Clone, Default)]
pub struct HistoryCache {
    histories: Arc<Mutex<Cached>>,
}

#[derive(Default)]
struct Cached {
    by_task: HashMap<TaskId, Arc<CachedHistory>>,
    n_bytes: usize,
}

impl HistoryCache {
    /// The history of `task_id` over `streams` (the task's streams and its indicators', see
    /// `history::history_streams`), up to date with the store: the cached one when nothing was appended since.
    pub async fn current(
        &self,
        state: &AppState,
        task_id: TaskId,
        streams: Vec<StreamId>,
    ) -> Result<Arc<CachedHistory>, ApiError> {
        let cached = self.locked().by_task.get(&task_id).cloned();
        let cached = cached.filter(|cached| same_streams(&cached.streams, &streams));
        let store = state.ledger.store();
        let mut appended = Vec::new();
        let mut versions = Vec::with_capacity(streams.len());
        for (index, stream_id) in streams.into_iter().enumerate() {
            let after_version = cached.as_ref().map_or(0, |cached| cached.streams[index].1);
            let new_events = store.read_stream(&stream_id, after_version).await?;
            versions.push((stream_id, after_version + new_events.len() as u64));
            appended.extend(new_events);
        }
        if let Some(cached) = cached.as_ref().filter(|_| appended.is_empty()) {
            return Ok(cached.clone());
        }

        let mut events = cached.map(|cached| cached.events.clone()).unwrap_or_default();
        events.extend(appended);
        events.sort_by_key(|event| event.global_position);
        let history_entries: Vec<HistoryEntry> = entries(&events);
        let json = serde_json::to_vec(&history_entries)
            .map_err(|error| ApiError::internal(format!("the history cannot be written as JSON: {error}")))?;
        let history =
            Arc::new(CachedHistory { streams: versions, events, json: json.into(), n_entries: history_entries.len() });
        self.keep(task_id, history.clone());
        Ok(history)
    }

    fn keep(&self, task_id: TaskId, history: Arc<CachedHistory>) {
        let mut cached = self.locked();
        let n_bytes = history.json.len();
        if n_bytes > MAX_CACHED_BYTES {
            return;
        }
        if cached.n_bytes + n_bytes > MAX_CACHED_BYTES {
            cached.by_task.clear();
            cached.n_bytes = 0;
        }
        // A request that read more of the log than the one that put the current entry wins; the other way round,
        // the current entry stays.
        let newer = cached.by_task.get(&task_id).is_none_or(|current| n_events(current) <= n_events(&history));
        if newer {
            if let Some(previous) = cached.by_task.insert(task_id, history) {
                cached.n_bytes -= previous.json.len();
            }
            cached.n_bytes += n_bytes;
        }
    }

    fn locked(&self) -> MutexGuard<'_, Cached> {
        self.histories.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn same_streams(cached: &[(StreamId, u64)], streams: &[StreamId]) -> bool {
    cached.len() == streams.len() && cached.iter().zip(streams).all(|((cached, _), stream)| cached == stream)
}

fn n_events(history: &CachedHistory) -> u64 {
    history.streams.iter().map(|(_, version)| version).sum()
}
