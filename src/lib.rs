//! container-metrics: CPU, memory and log-level metrics of every container on a Docker host for
//! Prometheus, and each container's logs in size-rotated files.
//!
//! A drop-in replacement for the Python metrics-and-logs-collector: same settings, same metric names
//! and labels, same file layout; each log line written exactly once, across restarts and crashes.
//!
//! The pieces, in the order data flows through them:
//! - [`Config`]: every setting, from flags or environment, validated once;
//! - [`Containers`]: which containers to visit, their stats and logs, from the Docker Engine;
//! - [`MetricsExporter`]: the Prometheus families, and [`metrics::serve`] to serve them;
//! - [`LogsExporter`]: per-container rotated files, level classification, cursors;
//! - [`Collector`]: the loop that ties them together.
//!
//! Pure pieces with no I/O: [`engine::stats`] (stats to numbers), [`cursor`] (log entries to lines, and the
//! cursor), [`levels`] (level mapping), [`rotating_file`] (Python's rotation rules, crash recovery).
//!
//! ```no_run
//! # async fn example() -> Result<(), container_metrics::collector::CollectorError> {
//! use clap::Parser;
//! use container_metrics::{Collector, Config, config::Args};
//! let config = Config::from_args(Args::parse_from(["container-metrics", "--machine-name", "web-1"]))
//!     .expect("valid settings");
//! let (_stop, shutdown) = container_metrics::shutdown::channel();
//! Collector::new(config)?.run(shutdown).await
//! # }
//! ```

pub mod auth;
pub mod collector;
pub mod config;
pub mod console;
pub mod container;
pub mod engine;
pub mod logs;
pub mod memory;
pub mod metrics;
pub mod privileges;
pub mod server;
pub mod shutdown;
pub mod web;

pub use collector::Collector;
pub use config::Config;
pub use engine::Containers;
pub use logs::LogsExporter;
// The pure pieces of the logs side stay at the root, where the library's users know them.
pub use logs::{cursor, levels, rotating_file};
pub use metrics::MetricsExporter;
