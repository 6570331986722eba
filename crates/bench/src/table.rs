//! The printed report of one backend: each HTTP figure beside the raw limit of the same concurrency and their
//! ratio, the latency drift as task streams grow, the idle server's memory, and the targets.
//!
//! `CPU/op` is the whole machine's busy CPU time per operation during the run (client, server and database
//! alike), and `busy` the share of all cores that was busy: when it nears 100%, the figure is bound by CPU and
//! `CPU/op` says where the ratio to the raw limit comes from.
//!
//! `HTTP / raw at full CPU`, printed when the raw run kept at least 80% of the cores busy, compares the two
//! figures each divided by its busy share: what each would reach with every core busy at the same CPU time per
//! operation. When the raw run is bound by CPU, no batching can lift the HTTP figure past that ratio on the same
//! machine; only less CPU per command can.

use std::fmt::Write;
use std::time::Duration;

use crate::append::{BackendReport, WriterRun};
use crate::measure::Figures;

pub(crate) fn render(report: &BackendReport) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "== {}: {}", report.backend, report.location);
    let _ = writeln!(text, "durability: {}", report.durability);
    let _ = writeln!(text, "load average at start: {}", report.load_average_at_start);
    let _ = writeln!(
        text,
        "{:<34} {:>11} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>6}",
        "", "per second", "p50", "p99", "p999", "max", "errors", "CPU/op", "busy"
    );
    for run in &report.runs {
        let clients = run.http.concurrency;
        row(&mut text, &format!("HTTP POST report, {clients} client(s)"), &run.http);
        row(&mut text, &format!("store append, {clients} caller(s)"), &run.store);
        row(&mut text, &format!("raw INSERT tx, {clients} connection(s)"), &run.raw);
        row(&mut text, &format!("HTTP floor (no-op), {clients} client(s)"), &run.http_floor);
        let _ = writeln!(text, "{:<34} {:>10.2}×", "  HTTP / raw", run.http.per_second() / run.raw.per_second());
        let _ = writeln!(text, "{:<34} {:>10.2}×", "  store / raw", run.store.per_second() / run.raw.per_second());
        let at_full_cpu = cpu_bound(&run.raw).then(|| at_full_cpu(&run.http).zip(at_full_cpu(&run.raw))).flatten();
        if let Some((http, raw)) = at_full_cpu {
            let _ = writeln!(
                text,
                "{:<34} {:>10.2}×  (HTTP {http:.0}/s, raw {raw:.0}/s: each figure over its busy share)",
                "  HTTP / raw at full CPU",
                http / raw
            );
        }
    }
    for run in &report.runs {
        let _ = writeln!(
            text,
            "{} client(s): longest task stream at the end {} events; HTTP p50 {} in the first second, {} in the last",
            run.http.concurrency,
            run.max_stream_length,
            millis(run.http.p50_first_second),
            millis(run.http.p50_last_second)
        );
        let _ = writeln!(
            text,
            "{} client(s): the store's writer {} in the store run, {} in the HTTP run",
            run.http.concurrency,
            writer_line(&run.store_writer),
            writer_line(&run.http_writer)
        );
    }
    for figures in report.runs.iter().flat_map(|run| [&run.http, &run.store, &run.raw, &run.http_floor]) {
        if let Some(error) = &figures.first_error {
            let _ = writeln!(text, "first error at concurrency {}: {error}", figures.concurrency);
        }
    }
    if let Some(append_paths) = &report.append_paths {
        let _ = writeln!(text, "store batches: {append_paths}");
    }
    if let Some(rss) = report.idle_rss_bytes {
        let _ = writeln!(text, "idle `taskledger serve` on {}: {} resident", report.backend, megabytes(rss));
    }
    let _ = writeln!(text, "targets:");
    for check in report.targets() {
        let verdict = if check.holds { "PASS" } else { "MISS" };
        let _ = writeln!(text, "  {verdict}  {}", check.description);
    }
    text
}

/// Whether a run kept the machine's cores nearly all busy ([`CPU_BOUND_BUSY`] or more).
fn cpu_bound(figures: &Figures) -> bool {
    figures.machine_busy.is_some_and(|busy| busy.utilisation() >= CPU_BOUND_BUSY)
}

/// The busy share from which a run counts as bound by CPU, for the comparison at full CPU.
const CPU_BOUND_BUSY: f64 = 0.8;

/// The operations per second a run would reach with every core busy at its measured CPU time per operation.
fn at_full_cpu(figures: &Figures) -> Option<f64> {
    let busy = figures.machine_busy?.utilisation();
    (busy > 0.0).then(|| figures.per_second() / busy)
}

fn row(text: &mut String, label: &str, figures: &Figures) {
    let cpu = figures.cpu_per_operation().map_or_else(|| "-".to_owned(), |cpu| format!("{} µs", cpu.as_micros()));
    let busy =
        figures.machine_busy.map_or_else(|| "-".to_owned(), |busy| format!("{:.0}%", busy.utilisation() * 100.0));
    let _ = writeln!(
        text,
        "{label:<34} {:>11.0} {:>9} {:>9} {:>9} {:>9} {:>7} {cpu:>9} {busy:>6}",
        figures.per_second(),
        millis(figures.p50),
        millis(figures.p99),
        millis(figures.p999),
        millis(figures.max),
        figures.errors
    );
}

pub(crate) fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Batches per second, their size, and how much of the run the writer had a batch in flight.
fn writer_line(writer: &WriterRun) -> String {
    format!(
        "{:.0} batches/s of {:.1} appends, {} µs each, busy {:.0}%",
        writer.batches_per_second,
        writer.requests_per_batch,
        writer.batch_time.as_micros(),
        writer.busy_share * 100.0
    )
}
