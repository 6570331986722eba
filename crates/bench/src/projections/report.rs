//! The printed report of the projections benchmark: each figure beside its raw limit and their ratio, then the
//! targets.

use std::fmt::Write;
use std::time::Duration;

use super::{
    Latency, ProjectionsReport, TargetCheck, ACHIEVED_RATE_SHARE, APPENDIX_P95_TARGET, LAG_P99_TARGET, NODE_SERVICES,
    REPLAY_TARGET_PER_SECOND,
};

pub(crate) fn render(report: &ProjectionsReport) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "== projections on PostgreSQL: {}", report.location);
    let loads: Vec<String> = report.load.iter().map(|(phase, load)| format!("{phase} {load}")).collect();
    let _ = writeln!(text, "load average at the start of each phase: {}", loads.join("; "));
    let _ = writeln!(
        text,
        "ledger: {} events, {} plans, {} tasks and indicators, {} report versions; written through the domain in \
         {:.1} s ({:.0} events/s)",
        thousands(report.n_events),
        report.n_plans,
        thousands(report.n_nodes),
        thousands(report.n_report_versions),
        report.write_seconds,
        report.n_events as f64 / report.write_seconds.max(1e-9)
    );

    let _ = writeln!(text);
    let _ = writeln!(text, "1. replay: rebuild over the whole store");
    let raw = &report.raw_scan;
    let _ = writeln!(
        text,
        "   raw limit: SELECT of every column, {} rows in {:.2} s = {} rows/s ({:.0} MB of text)",
        thousands(raw.n_rows),
        raw.seconds,
        thousands(raw.per_second() as u64),
        raw.n_text_bytes as f64 / 1e6
    );
    let parts = &report.rebuild_parts;
    let _ = writeln!(
        text,
        "   its parts alone: read through the store (payloads parsed) {} events/s; PostgreSQL INSERT … SELECT of \
         the {} report rows into a copy of their table {} rows/s",
        thousands(parts.read_per_second() as u64),
        thousands(parts.n_rows_inserted),
        thousands(parts.insert_per_second() as u64)
    );
    for rebuild in &report.rebuilds {
        let _ = writeln!(
            text,
            "   rebuild {:<6} {} events in {:.2} s = {} events/s   {:.2}× the raw limit",
            rebuild.model,
            thousands(rebuild.n_events),
            rebuild.seconds,
            thousands(rebuild.per_second() as u64),
            rebuild.per_second() / raw.per_second()
        );
    }
    let _ = writeln!(text, "   rebuilt tasks model: {}", report.rebuilt_check);

    let lag = &report.lag;
    let bus = &report.bus;
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "2. projection lag, node running the {} services (the notification service runs apart, as in a cluster):",
        NODE_SERVICES.names()
    );
    let _ = writeln!(
        text,
        "   {:.0} commands/s offered (progress reports on {} tasks), {:.1}/s answered 201 in the \
         measured window, {} measured, {} errors",
        lag.offered_rate,
        thousands(lag.n_tasks as u64),
        lag.achieved_rate,
        lag.n_measured,
        lag.errors
    );
    let _ = writeln!(text, "   {:<44} {:>9} {:>9} {:>9} {:>9}", "", "p50", "p95", "p99", "max");
    latency_row(&mut text, "lag: 201 → tasks model has the position", &lag.lag);
    latency_row(&mut text, "raw limit: JetStream publish → consume", &bus.round_trip);
    let _ = writeln!(
        text,
        "   {:<44} {:>9} {:>9} {:>9}",
        "  lag / raw",
        ratio(lag.lag.p50, bus.round_trip.p50),
        ratio(lag.lag.p95, bus.round_trip.p95),
        ratio(lag.lag.p99, bus.round_trip.p99)
    );
    latency_row(&mut text, "command sent → tasks model has it", &lag.sent_to_visible);
    latency_row(&mut text, "command sent → 201", &lag.command);
    latency_row(&mut text, "command start delay after its due time", &lag.start_delay);
    let _ = writeln!(
        text,
        "   (raw: {}-byte event envelopes at {:.0}/s on a scratch stream, durable pull consumer, explicit acks)",
        bus.message_bytes, bus.achieved_rate
    );
    if let Some(busy) = &lag.machine_busy {
        let _ = writeln!(
            text,
            "   machine busy during the measured window: {:.0} % of {} core-seconds (node, database, NATS and the \
             clients alike)",
            busy.utilisation() * 100.0,
            busy.available_core_seconds.round()
        );
    }
    if let Some(error) = &lag.first_error {
        let _ = writeln!(text, "   first error: {error}");
    }

    let appendix = &report.appendix;
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "3. appendix of a plan with {} rows as of {}, {} report versions; {} requests after warm-up",
        appendix.n_rows, report.appendix_as_of, appendix.n_report_rows, appendix.http.n
    );
    let _ = writeln!(text, "   {:<44} {:>9} {:>9} {:>9} {:>9}", "", "p50", "p95", "p99", "max");
    latency_row(&mut text, "GET /v1/plans/{id}/appendix", &appendix.http);
    latency_row(&mut text, "raw limit: SELECT * of the plan's reports", &appendix.raw);
    let _ = writeln!(
        text,
        "   {:<44} {:>9} {:>9} {:>9}",
        "  appendix / raw",
        ratio(appendix.http.p50, appendix.raw.p50),
        ratio(appendix.http.p95, appendix.raw.p95),
        ratio(appendix.http.p99, appendix.raw.p99)
    );

    let _ = writeln!(text);
    let _ = writeln!(text, "targets:");
    for check in report.targets() {
        let verdict = if check.holds { "PASS" } else { "MISS" };
        let _ = writeln!(text, "  {verdict}  {}", check.description);
    }
    text
}

impl ProjectionsReport {
    /// The targets of the issue, checked against this report's figures.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let mut checks: Vec<TargetCheck> = self
            .rebuilds
            .iter()
            .map(|rebuild| TargetCheck {
                holds: rebuild.per_second() >= REPLAY_TARGET_PER_SECOND,
                description: format!(
                    "replay of the {} model ≥ {} events/s: {} events/s",
                    rebuild.model,
                    thousands(REPLAY_TARGET_PER_SECOND as u64),
                    thousands(rebuild.per_second() as u64)
                ),
            })
            .collect();
        let lag = &self.lag;
        let rate_held = lag.achieved_rate >= ACHIEVED_RATE_SHARE * lag.offered_rate;
        checks.push(TargetCheck {
            holds: rate_held && lag.lag.p99 < LAG_P99_TARGET && lag.errors == 0,
            description: format!(
                "projection lag p99 < {} ms at {:.0} commands/s: p99 {} at {:.1}/s answered{}",
                LAG_P99_TARGET.as_millis(),
                lag.offered_rate,
                millis(lag.lag.p99),
                lag.achieved_rate,
                if rate_held { String::new() } else { " (the node did not take the offered rate)".to_owned() }
            ),
        });
        checks.push(TargetCheck {
            holds: self.appendix.http.p95 < APPENDIX_P95_TARGET,
            description: format!(
                "appendix of a {}-row plan p95 < {} ms: {}",
                self.appendix.n_rows,
                APPENDIX_P95_TARGET.as_millis(),
                millis(self.appendix.http.p95)
            ),
        });
        checks
    }
}

fn latency_row(text: &mut String, label: &str, latency: &Latency) {
    let _ = writeln!(
        text,
        "   {label:<44} {:>9} {:>9} {:>9} {:>9}",
        millis(latency.p50),
        millis(latency.p95),
        millis(latency.p99),
        millis(latency.max)
    );
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn ratio(figure: Duration, raw: Duration) -> String {
    format!("{:.1}×", figure.as_secs_f64() / raw.as_secs_f64().max(1e-9))
}

/// 1234567 as "1,234,567".
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
