//! Facts about the machine, printed before any figure: figures mean little without the cores they ran on and
//! the load the machine was under.

use std::fmt::Write;

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
