//! The engine side: talking to the Docker Engine, which containers to visit, and their stats, from
//! the engine or from the kernel's cgroup files (read by [`crate::host`], which needs no engine).
//! The rest of the collector goes through [`Containers`] and never sees the client library's types.
//!
//! Read-only: only GET requests to `/version`, `/containers/json`, `/containers/{id}/json`,
//! `/containers/{id}/stats` and `/containers/{id}/logs`, at most MAX_CONCURRENT_REQUESTS at once.

mod client;
mod containers;
mod error;
pub mod filter;
mod list;
mod logs;
mod pushback;
mod sampler;
pub mod stats;
mod stats_http;

pub use containers::Containers;
pub use error::EngineError;
pub use logs::LogChunk;
pub use pushback::AtOnce;

/// The tracing target of the engine side's console lines: they read `containers:` as they did
/// before the engine side was split into files, which users' log searches may rely on.
const CONSOLE_NAME: &str = "container_metrics::containers";
