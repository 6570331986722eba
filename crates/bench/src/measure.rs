//! The timed loop every benchmark worker runs ([`Window::next_start`], [`Tally::finish`]), and what it measures: each operation's latency in an HDR
//! histogram (microseconds), the errors, and the figures derived once the workers are done.
//!
//! A worker loops until the window ends. An operation counts when it started after the warm-up and finished
//! before the end; throughput is the number of counted operations over the measured duration. Errors count
//! whenever they happen, warm-up included: every one of them is a failure of the benchmark.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Latencies above this are recorded as this (a minute: nothing in these benchmarks may take that long).
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// When measuring starts (after the warm-up) and when the workers stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) measure_from: Instant,
    pub(crate) until: Instant,
}

impl Window {
    pub(crate) fn starting_now(warmup: Duration, duration: Duration) -> Window {
        let measure_from = Instant::now() + warmup;
        Window { measure_from, until: measure_from + duration }
    }

    pub(crate) fn measured(&self) -> Duration {
        self.until - self.measure_from
    }

    /// The start of the next operation, or `None` once the window has ended: a worker loops
    /// `while let Some(started) = window.next_start() { …; tally.finish(window, started, result) }`.
    pub(crate) fn next_start(&self) -> Option<Instant> {
        let now = Instant::now();
        (now < self.until).then_some(now)
    }
}

/// What one worker (or, merged, all of them) measured.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    /// Latency of every counted operation, in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// Latencies of the operations that finished in the first and in the last second of the window: how the
    /// latency drifts as the streams grow.
    pub(crate) first_second: Histogram<u64>,
    pub(crate) last_second: Histogram<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

/// The figures of one run of one kind of operation at one concurrency.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Concurrent workers (HTTP clients or database connections).
    pub concurrency: usize,
    pub operations: u64,
    pub measured: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
    pub p50_first_second: Duration,
    pub p50_last_second: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        let histogram = || Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds");
        Tally {
            latency: histogram(),
            first_second: histogram(),
            last_second: histogram(),
            errors: 0,
            first_error: None,
        }
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        // Histograms of the same bounds always merge.
        self.latency.add(&other.latency).expect("histograms with the same bounds");
        self.first_second.add(&other.first_second).expect("histograms with the same bounds");
        self.last_second.add(&other.last_second).expect("histograms with the same bounds");
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    pub(crate) fn figures(&self, concurrency: usize, window: Window) -> Figures {
        let micros = |value: u64| Duration::from_micros(value);
        Figures {
            concurrency,
            operations: self.latency.len(),
            measured: window.measured(),
            p50: micros(self.latency.value_at_quantile(0.50)),
            p99: micros(self.latency.value_at_quantile(0.99)),
            p999: micros(self.latency.value_at_quantile(0.999)),
            max: micros(self.latency.max()),
            p50_first_second: micros(self.first_second.value_at_quantile(0.50)),
            p50_last_second: micros(self.last_second.value_at_quantile(0.50)),
            errors: self.errors,
            first_error: self.first_error.clone(),
        }
    }

    /// Tallies an operation that started at `started` and has just finished with `result`.
    pub(crate) fn finish(&mut self, window: Window, started: Instant, result: Result<(), String>) {
        let finished = Instant::now();
        match result {
            Err(message) => self.error(message),
            Ok(()) if started >= window.measure_from && finished <= window.until => {
                self.record(finished - started, finished, window);
            }
            Ok(()) => {}
        }
    }

    fn record(&mut self, latency: Duration, finished: Instant, window: Window) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, MAX_LATENCY_MICROS);
        self.latency.saturating_record(micros);
        if finished < window.measure_from + Duration::from_secs(1) {
            self.first_second.saturating_record(micros);
        }
        if finished + Duration::from_secs(1) >= window.until {
            self.last_second.saturating_record(micros);
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }
}

impl Figures {
    pub fn per_second(&self) -> f64 {
        self.operations as f64 / self.measured.as_secs_f64()
    }
}
