//! Facts about the machine, printed before any figure: figures mean little without the cores they ran on and
//! the load the machine was under; and how busy its cores were during a measured window (`/proc/stat`), which
//! says how much CPU one operation costs the whole machine (client, server and database together).

use std::fmt::Write;

use crate::measure::Window;

/// One line per fact: cores, CPU model, memory, load average, kernel and how this binary was built.
pub(crate) fn describe() -> String {
    let mut text = String::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map_or("unknown", str::trim);
    let _ = writeln!(text, "machine: {cores} cores (nproc), {model}");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    if let Some(total) = meminfo.lines().find(|line| line.starts_with("MemTotal:")) {
        let kilobytes: u64 = total.split_whitespace().nth(1).and_then(|value| value.parse().ok()).unwrap_or(0);
        let _ = writeln!(text, "memory: {:.1} GiB", kilobytes as f64 / (1024.0 * 1024.0));
    }
    let _ = writeln!(text, "load average (1, 5, 15 min): {}", load_average());
    if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        let _ = writeln!(text, "kernel: Linux {}", kernel.trim());
    }
    let profile =
        if cfg!(debug_assertions) { "debug (figures are not representative: build with --release)" } else { "release" };
    let _ = writeln!(text, "build: {profile}");
    text
}

/// The first three fields of `/proc/loadavg`.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// How busy the machine's cores were during a window: every process's time, this benchmark's and the database's
/// alike (and any other load, which the load average shows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineBusy {
    /// Core-seconds spent outside the idle loop (user, system, interrupts; not I/O wait).
    pub busy_core_seconds: f64,
    /// Core-seconds available: cores × the window's length.
    pub available_core_seconds: f64,
}

impl MachineBusy {
    pub fn utilisation(&self) -> f64 {
        self.busy_core_seconds / self.available_core_seconds
    }
}

/// Samples `/proc/stat` when the window's measured part starts and when it ends; `None` where there is no
/// `/proc/stat`.
pub(crate) async fn busy_during(window: Window) -> Option<MachineBusy> {
    tokio::time::sleep_until(window.measure_from.into()).await;
    let start = cpu_ticks()?;
    tokio::time::sleep_until(window.until.into()).await;
    let end = cpu_ticks()?;
    // The kernel counts in USER_HZ, 100 per second on Linux.
    let ticks_per_second = 100.0;
    let busy = end.busy.saturating_sub(start.busy) as f64 / ticks_per_second;
    let total = end.total.saturating_sub(start.total) as f64 / ticks_per_second;
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let available = if total > 0.0 { total } else { cores * window.measured().as_secs_f64() };
    Some(MachineBusy { busy_core_seconds: busy, available_core_seconds: available })
}

struct CpuTicks {
    busy: u64,
    total: u64,
}

/// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal …`.
fn cpu_ticks() -> Option<CpuTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).take(8).map(|field| field.parse().unwrap_or(0)).collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some(CpuTicks { busy: total - idle, total })
}
