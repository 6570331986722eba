//! The timed loop every benchmark worker runs ([`Window::next_start`], [`Tally::finish`]), and what it measures: each operation's latency in an HDR
//! histogram (microseconds), the errors, and the figures derived once the workers are done.
//!
//! A worker loops until the window ends. An operation counts when it started after the warm-up and finished
//! before the end; throughput is the number of counted operations over the measured duration. Errors count
//! whenever they happen, warm-up included: every one of them is a failure of the benchmark.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::machine::MachineBusy;

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
    /// How busy the whole machine was meanwhile (see `machine::busy_during`).
    pub machine_busy: Option<MachineBusy>,
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
            machine_busy: None,
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

    /// Machine CPU time per operation: every core's busy time during the window over the operations counted.
    pub fn cpu_per_operation(&self) -> Option<Duration> {
        let busy = self.machine_busy?;
        (self.operations > 0).then(|| Duration::from_secs_f64(busy.busy_core_seconds / self.operations as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operations_started_after_the_warmup_count_but_every_error_does() {
        let now = Instant::now();
        let window = Window { measure_from: now, until: now + Duration::from_secs(60) };
        let mut tally = Tally::new();
        tally.finish(window, now - Duration::from_millis(1), Ok(()));
        tally.finish(window, now - Duration::from_millis(1), Err("warm-up failure".to_owned()));
        tally.finish(window, now, Ok(()));
        tally.finish(window, now, Err("later failure".to_owned()));
        let figures = tally.figures(1, window);
        assert_eq!(figures.operations, 1);
        assert_eq!(figures.errors, 2);
        assert_eq!(figures.first_error.as_deref(), Some("warm-up failure"));
        assert_eq!(figures.measured, Duration::from_secs(60));
    }

    #[test]
    fn merged_tallies_add_up() {
        let now = Instant::now();
        let window = Window { measure_from: now, until: now + Duration::from_secs(1) };
        let mut total = Tally::new();
        for _ in 0..3 {
            let mut worker = Tally::new();
            worker.finish(window, now, Ok(()));
            total.merge(&worker);
        }
        assert_eq!(total.figures(3, window).operations, 3);
    }
}
