//! A fake Docker Engine for soak runs and benchmarks: `--containers` containers answering with the
//! recorded stats (after `--stats-delay-ms`, like the real engine's sampler), each logging
//! `--lines-per-second` numbered lines, some stopped and replaced every `--churn-every` seconds. When
//! `--stop-file` appears it stops logging and writes how many lines each container logged to
//! `--report` (JSON), then goes on answering until SIGTERM.
//!
//! `cargo run --release --example fake_engine -- --port 2375 --containers 1000`

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use support::{FakeContainer, FakeEngine, LogEntry, Stream};

#[derive(Debug, Parser)]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, default_value = "2375")]
    port: u16,
    /// Containers running at any time.
    #[arg(long, default_value = "100")]
    containers: usize,
    /// Lines each container logs per second (0: none).
    #[arg(long, default_value = "2")]
    lines_per_second: u32,
    /// Bytes of each log line.
    #[arg(long, default_value = "60")]
    line_bytes: usize,
    /// Delay of every stats answer, in milliseconds (the real engine: about 1000).
    #[arg(long, default_value = "0")]
    stats_delay_ms: u64,
    /// Seconds between two churns (0: never): stop `--churn` containers, start as many new ones.
    #[arg(long, default_value = "0")]
    churn_every: u64,
    /// Containers replaced at each churn.
    #[arg(long, default_value = "10")]
    churn: usize,
    /// Lines each first container already holds at start (timestamps of the last minute), for
    /// throughput runs.
    #[arg(long, default_value = "0")]
    preload_lines: u64,
    /// Where to write {container: lines logged} once the stop file appears.
    #[arg(long)]
    report: Option<PathBuf>,
    /// When this file exists: stop logging and write the report.
    #[arg(long)]
    stop_file: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let engine = FakeEngine::start_unrecorded(args.port).await;
    engine.set_stats_delay(Duration::from_millis(args.stats_delay_ms));
    let mut next = 0usize;
    let mut running: Vec<String> = Vec::new();
    let mut logged: BTreeMap<String, u64> = BTreeMap::new();
    let mut start = |engine: &FakeEngine, running: &mut Vec<String>| {
        let name = format!("c{next:05}");
        next += 1;
        engine.add_container(FakeContainer::new(&name).nano_cpus(0));
        running.push(name);
    };
    for _ in 0..args.containers {
        start(&engine, &mut running);
    }
    if args.preload_lines > 0 {
        let pad = "x".repeat(args.line_bytes.saturating_sub(24));
        let first = support::now_nanos() - 60_000_000_000;
        let step = 60_000_000_000 / args.preload_lines as i64;
        for name in &running {
            let count = logged.entry(name.clone()).or_insert(0);
            let entries: Vec<LogEntry> = (0..args.preload_lines)
                .map(|k| {
                    *count += 1;
                    LogEntry::line(
                        first + k as i64 * step.max(1),
                        Stream::Stdout,
                        &format!("{name} {:09} {pad}", *count),
                    )
                })
                .collect();
            engine.push_logs(name, entries);
        }
    }
    println!(
        "fake engine: {} containers on tcp://127.0.0.1:{}",
        args.containers, args.port
    );
    let tick = Duration::from_millis(500);
    let per_tick = f64::from(args.lines_per_second) * tick.as_secs_f64();
    let mut owed = 0.0;
    let mut since_churn = Duration::ZERO;
    let mut interval = tokio::time::interval(tick);
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal");
    let pad = "x".repeat(args.line_bytes.saturating_sub(24));
    let mut logging = true;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = term.recv() => return,
        }
        if !logging {
            continue;
        }
        if args.stop_file.as_ref().is_some_and(|f| f.exists()) {
            logging = false;
            if let Some(report) = &args.report {
                let json = serde_json::to_string(&logged).expect("report");
                std::fs::write(report, json).expect("write the report");
            }
            println!(
                "fake engine: logging stopped, {} containers logged",
                logged.len()
            );
            continue;
        }
        owed += per_tick;
        let lines = owed.floor() as u64;
        owed -= lines as f64;
        let now = support::now_nanos();
        for name in &running {
            let count = logged.entry(name.clone()).or_insert(0);
            let entries: Vec<LogEntry> = (0..lines)
                .map(|k| {
                    *count += 1;
                    let stream = if *count % 4 == 0 {
                        Stream::Stderr
                    } else {
                        Stream::Stdout
                    };
                    LogEntry::line(
                        now + k as i64,
                        stream,
                        &format!("{name} {:09} {pad}", *count),
                    )
                })
                .collect();
            if !entries.is_empty() {
                engine.push_logs(name, entries);
            }
        }
        since_churn += tick;
        if args.churn_every > 0 && since_churn >= Duration::from_secs(args.churn_every) {
            since_churn = Duration::ZERO;
            for name in running
                .drain(..args.churn.min(running.len()))
                .collect::<Vec<_>>()
            {
                engine.stop(&name);
            }
            for _ in 0..args.churn {
                start(&engine, &mut running);
            }
        }
    }
}
