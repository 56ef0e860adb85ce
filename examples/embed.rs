//! A Rust program that runs the collector inside its own tokio runtime, with its own Prometheus
//! registry and its own shutdown: here it collects for a few seconds, stops the collector, and prints
//! what its registry gathered, container series included.
//!
//! ```sh
//! cargo run --example embed -- [--seconds N] [collector flags...]
//! cargo run --example embed -- --seconds 5 --docker-host tcp://127.0.0.1:2375 \
//!     --logs-dir /tmp/embed/logs --metrics-exporter-port 0
//! ```
//!
//! Every collector flag is accepted after `--seconds` (see `container-metrics --help`); the settings'
//! environment variables work too.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use container_metrics::{Args, Collector, Config, MetricsExporter};
use prometheus::Encoder as _;

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().collect();
    let mut seconds = 5;
    if let Some(i) = argv.iter().position(|a| a == "--seconds") {
        match argv.get(i + 1).and_then(|s| s.parse().ok()) {
            Some(n) => seconds = n,
            None => {
                eprintln!("embed: --seconds takes a whole number");
                return ExitCode::from(2);
            }
        }
        argv.drain(i..i + 2);
    }
    let config = match Config::from_args(Args::parse_from(argv)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("embed: {e}");
            return ExitCode::from(2);
        }
    };
    // The program's own runtime: the collector is one task among the program's others.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("embed: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // The program's own registry, which it may serve or push however it likes.
        let registry = prometheus::Registry::new();
        let metrics = match MetricsExporter::with_registry(registry.clone(), &config.machine_name) {
            Ok(m) => m.with_groups(config.metric_groups),
            Err(e) => {
                eprintln!("embed: {e}");
                return ExitCode::FAILURE;
            }
        };
        let collector = match Collector::with_metrics(config, metrics) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("embed: {e}");
                return ExitCode::from(2);
            }
        };
        // The program's own shutdown: here a timer; a real program would stop on its own events.
        let (stop, shutdown) = container_metrics::shutdown::channel();
        let stop_later = async {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.stop();
        };
        // Run beside the program's other work in this task (the collector's future is not Send:
        // spawn it with a LocalSet, or join it as here).
        let (ran, ()) = tokio::join!(collector.run(shutdown), stop_later);
        if let Err(e) = ran {
            eprintln!("embed: the collector stopped: {e}");
            return ExitCode::FAILURE;
        }
        let mut text = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&registry.gather(), &mut text) {
            eprintln!("embed: {e}");
            return ExitCode::FAILURE;
        }
        print!("{}", String::from_utf8_lossy(&text));
        ExitCode::SUCCESS
    })
}
