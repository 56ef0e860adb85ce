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

/// A line for stderr before the console is set up (or when the runtime cannot start): prefixed
/// with the program's name, as a shell tool's messages are, since no console line format applies.
struct Early<E>(E);

impl<E: std::fmt::Display> std::fmt::Display for Early<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "container-metrics: {}", self.0)
    }
}

/// The supplementary groups kept after dropping root, as the start-up line names them: nothing
/// when there are none, else " and group" and their ids.
struct AndGroups<'a>(&'a [u32]);

impl std::fmt::Display for AndGroups<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some((first, rest)) = self.0.split_first() else {
            return Ok(());
        };
        write!(f, " and group {first}")?;
        for group in rest {
            write!(f, ",{group}")?;
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let config = match Config::from_args(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", Early(e));
            return ExitCode::from(2);
        }
    };
    container_metrics::init_console(config.log_level);
    container_metrics::raise_open_files_limit();
    container_metrics::limit_arenas();
    if let Err(code) = give_up_root(&config) {
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.max_collector_threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", Early(format_args!("cannot start the runtime: {e}")));
            return ExitCode::FAILURE;
        }
    };
    let code = if config.once {
        runtime.block_on(print_once(&config))
    } else {
        runtime.block_on(run_until_signal(config))
    };
    // Files and cursors are flushed by now; idle blocking threads (DNS look-ups) need not be awaited.
    runtime.shutdown_background();
    code
}

/// Runs as RUN_AS says when started as root, and says what changed; the exit code when root
/// cannot be given up.
fn give_up_root(config: &Config) -> Result<(), ExitCode> {
    match container_metrics::drop_root(config) {
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
            tracing::info!(
                "started as root: now running as {run_as}{} (owner of LOGS_DIR and the LAST_* files set on {chowned} paths)",
                AndGroups(&groups)
            );
            for problem in problems {
                tracing::warn!("RUN_AS {run_as}: cannot give to the new user: {problem}");
            }
        }
        Err(e) => {
            tracing::error!("{e}");
            return Err(ExitCode::FAILURE);
        }
    }
    Ok(())
}

/// `--once`: one collection's exposition on stdout, for a shell or a cron job to read.
async fn print_once(config: &Config) -> ExitCode {
    match container_metrics::collect_once(config).await {
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
}

/// The daemon: the collector runs until the first SIGTERM or SIGINT.
async fn run_until_signal(config: Config) -> ExitCode {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The groups' part of the "started as root" line, which tests/it/faults.rs greps.
    #[test]
    fn and_groups_names_the_groups_or_nothing() {
        for (groups, text) in [
            (&[][..], ""),
            (&[999][..], " and group 999"),
            (&[999, 4][..], " and group 999,4"),
        ] {
            assert_eq!(AndGroups(groups).to_string(), text);
        }
    }

    #[test]
    fn early_lines_name_the_program() {
        assert_eq!(
            Early("FOO is not a number").to_string(),
            "container-metrics: FOO is not a number"
        );
    }
}
