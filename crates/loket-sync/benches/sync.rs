//! Benchmark of a whole sync against the emulators over loopback, with added latency per request:
//! a synthetic company, an initial sync and a no-change re-sync. Run with:
//!
//!     cargo bench -p loket-sync --bench sync -- 1000 20
//!
//! (employees, milliseconds of latency). It reports wall time, requests by kind, the lower bound
//! (requests ÷ concurrency × latency) and the ratio to it, and the peak memory.

// A benchmark reports its numbers on stdout: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loket_sync::runner::{self, Quiet};
use loket_sync::scenario_run::start_local;

#[path = "common/company.rs"]
mod company;
use company::company;

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn counts(local: &loket_sync::scenario_run::Local) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    (local.personio.request_counts(), local.loket.request_counts())
}

fn difference(after: &BTreeMap<String, usize>, before: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    after
        .iter()
        .map(|(key, count)| (key.clone(), count - before.get(key).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    let employees = numbers.first().copied().unwrap_or(1000);
    let latency_ms = numbers.get(1).copied().unwrap_or(20);
    let concurrency = 8.0;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let company = company(employees);
        let config = company.engine_config();
        let local = start_local(company.personio.clone(), company.loket.clone(), Some(Duration::from_millis(latency_ms)))
            .await
            .expect("the emulators start");
        for (name, expect_writes) in [("initial sync", true), ("no-change re-sync", false)] {
            let before = counts(&local);
            let started = Instant::now();
            let planned = runner::plan(&local.connections, &config, company.today, true).await.expect("a valid configuration");
            let applied = runner::apply(&local.connections, &planned, &config, company.today, Arc::new(Quiet)).await;
            let wall = started.elapsed().as_secs_f64();
            let after = counts(&local);
            let (personio, loket) = (difference(&after.0, &before.0), difference(&after.1, &before.1));
            let total: usize = personio.values().sum::<usize>() + loket.values().sum::<usize>();
            let bound = total as f64 / concurrency * latency_ms as f64 / 1000.0;
            let per_employment: usize = loket.iter().filter(|(key, _)| key.contains("/employments/{employment_id}/")).map(|(_, count)| count).sum();
            println!("== {name}: {employees} employees, {latency_ms} ms latency, concurrency {concurrency}");
            println!(
                "wall {wall:.2} s; {total} requests; lower bound {bound:.2} s; ratio {:.2}; writes {}; failed employees {}",
                wall / bound,
                applied.sent,
                applied.failed_employments
            );
            println!("Loket requests per employment: {:.2}", per_employment as f64 / employees as f64);
            for (key, count) in personio.iter().chain(loket.iter()) {
                println!("  {count:>6}  {key}");
            }
            assert_eq!(applied.sent > 0, expect_writes, "{name}");
        }
        if let Some(peak) = peak_memory_mb() {
            println!("peak memory (VmHWM, emulators included): {peak:.0} MB");
        }
    });
}
