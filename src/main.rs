//! The container-metrics daemon: parse the settings, set up the console, run the collector until
//! SIGTERM or SIGINT.

use std::process::ExitCode;

use clap::Parser;
use container_metrics::shutdown::{self, Stop};
use container_metrics::{Args, Collector, CollectorError, Config, PrivilegeOutcome as Outcome};

/// Turns the first SIGTERM or SIGINT into the shutdown signal.
async fn forward_signals(stop: Stop) {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("cannot listen for SIGTERM/SIGINT: {e}");
            // Dropping the Stop would stop the collector: keep it, and run until killed.
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    stop.stop();
}

/// Says why the collector stopped; exit code 2 for a setting the user can fix, 1 otherwise.
fn failed(e: &CollectorError) -> ExitCode {
    tracing::error!("{e}");
    if e.is_setting() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let config = match Config::from_args(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("container-metrics: {e}");
            return ExitCode::from(2);
        }
    };
    container_metrics::init_console(config.log_level);
    container_metrics::raise_open_files_limit();
    container_metrics::limit_arenas();
    match container_metrics::drop_root(&config) {
        Ok(Outcome::Unchanged) => {}
        Ok(Outcome::KeptRoot(reason)) => tracing::warn!(
            "RUN_AS {}: {reason}",
            config.run_as.map(|r| r.to_string()).unwrap_or_default()
        ),
        Ok(Outcome::Dropped {
            run_as,
            groups,
            chowned,
            problems,
        }) => {
            let groups = match groups.as_slice() {
                [] => String::new(),
                g => format!(
                    " and group {}",
                    g.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                ),
            };
            tracing::info!(
                "started as root: now running as {run_as}{groups} (owner of LOGS_DIR and the LAST_* files set on {chowned} paths)"
            );
            for problem in problems {
                tracing::warn!("RUN_AS {run_as}: cannot give to the new user: {problem}");
            }
        }
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.max_collector_threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("container-metrics: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if config.once {
        let code = runtime.block_on(async {
            match container_metrics::collect_once(&config).await {
                Ok(text) => {
                    use std::io::Write as _;
                    let mut out = std::io::stdout().lock();
                    match out.write_all(&text).and_then(|()| out.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            tracing::error!("cannot write the exposition: {e}");
                            ExitCode::FAILURE
                        }
                    }
                }
                Err(e) => failed(&e),
            }
        });
        runtime.shutdown_background();
        return code;
    }
    let code = runtime.block_on(async {
        let (stop, shutdown) = shutdown::channel();
        tokio::spawn(forward_signals(stop));
        let collector = match Collector::new(config) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::from(2);
            }
        };
        match collector.run(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed(&e),
        }
    });
    // Files and cursors are flushed by now; idle blocking threads (DNS look-ups) need not be awaited.
    runtime.shutdown_background();
    code
}
