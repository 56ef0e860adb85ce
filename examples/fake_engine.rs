//! A fake Docker Engine for soak runs and benchmarks: `--containers` containers answering with the
//! recorded stats (after `--stats-delay-ms`, like the real engine's sampler), each logging
//! `--lines-per-second` numbered lines, some stopped and replaced every `--churn-every` seconds. When
//! `--stop-file` appears it stops logging and writes how many lines each container logged to
//! `--report` (JSON), then goes on answering until SIGTERM.
//!
//! `cargo run --release --example fake_engine -- --port 2375 --containers 1000`

// The tests' own fake engine. The example uses only the engine, not the rest the tests share.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use support::{FakeContainer, FakeEngine, Listen, LogEntry, Stream};

#[derive(Debug, Parser)]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, default_value = "2375")]
    port: u16,
    /// Also listen on this unix socket, as dockerd does (DOCKER_HOST=unix://PATH).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// The socket's listen backlog (default: the kernel's somaxconn, as dockerd's; 128 on kernels
    /// before 5.4).
    #[arg(long, requires = "socket")]
    backlog: Option<i32>,
    /// Connections the socket serves at once, as a socket proxy in front of the engine caps them
    /// (default: no cap).
    #[arg(long, requires = "socket")]
    max_connections: Option<usize>,
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
    /// Answer stats on the real engine's schedule: it samples on each whole second, a plain
    /// request waits 1-2 s (two samples), a one-shot one 0-1 s.
    #[arg(long)]
    sampler: bool,
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
    /// Also keep a cgroup v2 tree (systemd driver layout) for the containers here, their CPU time
    /// growing by 10 ms per second, for the collector's engine-free path (CGROUP_ROOT).
    #[arg(long)]
    cgroup_root: Option<PathBuf>,
    /// Also keep each container's log as the json-file driver does, under this directory (the
    /// engine's containers directory), for the collector's CONTAINER_LOGS_ROOT path.
    #[arg(long)]
    json_dir: Option<PathBuf>,
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
    let engine = match &args.socket {
        Some(path) => {
            let listen = Listen {
                backlog: args.backlog,
                max_connections: args.max_connections,
            };
            engine.with_socket(path, listen)
        }
        None => engine,
    };
    engine.set_stats_delay(Duration::from_millis(args.stats_delay_ms));
    engine.set_sampler(args.sampler);
    let mut next = 0usize;
    let mut running: Vec<String> = Vec::new();
    let mut logged: BTreeMap<String, u64> = BTreeMap::new();
    let cgroups = args.cgroup_root.clone();
    let json_dir = args.json_dir.clone();
    if let Some(root) = &cgroups {
        std::fs::create_dir_all(root.join("system.slice")).expect("cgroup root");
        std::fs::write(root.join("cgroup.controllers"), "cpu memory pids\n").expect("cgroup root");
    }
    let scope = |root: &std::path::Path, name: &str| {
        let id = FakeContainer::new(name).get_id().to_string();
        root.join("system.slice").join(format!("docker-{id}.scope"))
    };
    let mut start = |engine: &FakeEngine, running: &mut Vec<String>| {
        let name = format!("c{next:05}");
        next += 1;
        let mut container = FakeContainer::new(&name).nano_cpus(0);
        if let Some(dir) = &json_dir {
            container = container.json_file_under(dir);
        }
        engine.add_container(container);
        if let Some(root) = &cgroups {
            let dir = scope(root, &name);
            std::fs::create_dir_all(&dir).expect("cgroup dir");
            for (file, text) in [
                ("cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"),
                ("memory.current", "7340032\n"),
                ("memory.max", "max\n"),
                (
                    "memory.stat",
                    "anon 3145728\nfile 4194304\nactive_file 1048576\ninactive_file 3145728\n",
                ),
                ("pids.current", "2\n"),
            ] {
                std::fs::write(dir.join(file), text).expect("cgroup file");
            }
        }
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
        "fake engine: {} containers on tcp://127.0.0.1:{}{}",
        args.containers,
        args.port,
        args.socket
            .as_ref()
            .map(|p| format!(" and unix://{}", p.display()))
            .unwrap_or_default()
    );
    let tick = Duration::from_millis(500);
    let per_tick = f64::from(args.lines_per_second) * tick.as_secs_f64();
    let mut owed = 0.0;
    let mut since_churn = Duration::ZERO;
    let mut since_start = Duration::ZERO;
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
        if let Some(root) = &args.cgroup_root {
            let usec = (since_start.as_micros() / 100) as u64; // 10 ms per second
            for name in &running {
                // Written aside and renamed: a reader never sees a half-written file (the kernel's
                // files are read atomically too).
                let dir = scope(root, name);
                let fresh = dir.join(".cpu.stat.new");
                let text = format!("usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\n");
                if std::fs::write(&fresh, text).is_ok() {
                    let _ = std::fs::rename(&fresh, dir.join("cpu.stat"));
                }
            }
        }
        since_start += tick;
        since_churn += tick;
        if args.churn_every > 0 && since_churn >= Duration::from_secs(args.churn_every) {
            since_churn = Duration::ZERO;
            for name in running
                .drain(..args.churn.min(running.len()))
                .collect::<Vec<_>>()
            {
                engine.stop(&name);
                if let Some(root) = &args.cgroup_root {
                    let _ = std::fs::remove_dir_all(scope(root, &name));
                }
            }
            for _ in 0..args.churn {
                start(&engine, &mut running);
            }
        }
    }
}
