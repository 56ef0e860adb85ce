//! container-metrics: CPU, memory and log-level metrics of every container on a Docker host for
//! Prometheus, and each container's logs in size-rotated files.
//!
//! A drop-in replacement for the Python metrics-and-logs-collector: same settings, same metric names
//! and labels, same file layout; each log line written exactly once, across restarts and crashes.
//!
//! A Rust program uses it through a few doors:
//! - [`Config`]: every setting ([`SETTINGS`]), from flags or environment ([`Args`]), validated once;
//! - [`Collector`]: the loop — engine, metrics, log files, the endpoints — until its [`Shutdown`]
//!   says stop ([`shutdown::channel`]); [`collect_once`] for a single collection;
//! - [`MetricsExporter`]: the Prometheus families, in a registry of the program's own if it likes
//!   ([`MetricsExporter::with_registry`], [`Collector::with_metrics`]); `examples/embed.rs` shows it.
//!
//! Inside, data flows one way: the engine side (which containers, their stats and logs, with the
//! host's cgroup and network files, read without the engine) feeds the metrics side (families,
//! exposition, endpoint) and the logs side (files, rotation, cursors, the time index), which the
//! logs browser reads. The pure pieces are public for benchmarks and fuzzing: [`stats`] (stats to
//! numbers), [`cgroup`] (the kernel's files), [`cursor`] (log entries to lines, and the cursor),
//! [`LogChunk`] (a piece of a logs answer), [`levels`] (level mapping), [`patterns`] (log patterns),
//! [`rotating_file`] (Python's rotation rules, crash recovery), and the data they share
//! ([`ContainerMetrics`] and friends).
//!
//! ```no_run
//! # async fn example() -> Result<(), container_metrics::CollectorError> {
//! use clap::Parser;
//! use container_metrics::{Args, Collector, Config};
//! let config = Config::from_args(Args::parse_from(["container-metrics", "--machine-name", "web-1"]))
//!     .expect("valid settings");
//! let (_stop, shutdown) = container_metrics::shutdown::channel();
//! Collector::new(config)?.run(shutdown).await
//! # }
//! ```

mod collector;
mod config;
mod container;
mod engine;
mod host;
mod http;
mod logs;
mod metrics;
mod process;
mod say_once;
pub mod shutdown;
mod web;

pub use collector::{collect_once, Collector, CollectorError};
pub use config::{settings_markdown, Args, Config, ConfigError, LogLevel, Setting, SETTINGS};
pub use metrics::{Group, MetricGroups, MetricsError, MetricsExporter};
pub use shutdown::{Shutdown, Stop};

// What the binary needs around the collector.
pub use process::console::init as init_console;
pub use process::memory::limit_arenas;
pub use process::open_files::raise_open_files_limit;
pub use process::privileges::{drop_root, DropError, Outcome as PrivilegeOutcome};

// The pure pieces and the data they share.
pub use container::{ContainerInfo, ContainerMetrics, Extras, Interface, Throttling};
pub use engine::{stats, LogChunk};
pub use host::cgroup;
pub use logs::{cursor, engine_files, levels, patterns, rotating_file};
