//! The logs side: every container's log in its own files, `LOGS_DIR/<container>/<container>.log`,
//! rotated like Python's RotatingFileHandler, each line classified by level and written exactly once,
//! across restarts and crashes.
//!
//! It owns, for each container, the file and its rotation ([`rotating_file`]), the classification of
//! its lines ([`levels`]) and their matches of the log patterns ([`patterns`]), the cursor that says where the next read from the engine starts
//! ([`cursor`]), and the durable commit of cursors and file ends in `LOGS_DIR/.state/cursors.json`,
//! with the crash recovery that rests on it. [`LogsExporter`] is the door: the collector hands it the
//! containers to visit each tick, and gets back a [`LogsReport`] of what was written and committed,
//! which it passes on to the metrics side. Nothing here calls into the metrics. Where each file
//! lives in LOGS_DIR is [`LogsDir`]'s to say, for this side and for the logs browser alike.
//!
//! Inside, the imports go one way, from the door down: `exporter` keeps the one record per container
//! and drives a tick; `reader` reads one container's new entries; `commit` makes what was written
//! durable or undoes it; `container` is the record they share (what was committed, what is being
//! followed); `dir` names the files; `atomic` replaces a small file whole; `budget` chooses what
//! LOGS_MAX_TOTAL_BYTES and LOGS_KEEP_REMOVED delete, which the exporter does after its commit.

pub mod cursor;
pub mod levels;
pub mod patterns;
pub mod rotating_file;

mod atomic;
pub mod budget;
mod commit;
mod container;
mod dir;
pub mod engine_files;
mod exporter;
mod reader;
pub mod times;

pub use atomic::write_atomically;
pub use budget::Budget;
pub use commit::LogsError;
pub use dir::{is_safe_name, LogsDir};
pub use exporter::{LogFiles, LogsExporter, LogsReport};

/// The tracing target of everything the logs side says: the console shows its last segment as the
/// module, and the Python tool's logs module was `logs_exporter`, so the lines read as they always did.
const TARGET: &str = "container_metrics::logs_exporter";
