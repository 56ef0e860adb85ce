//! The logs browser (WEB_PORT): every container the collector knows, its whole kept history with
//! levels, search and time ranges, and a live tail, as pages and as JSON.
//!
//! It only reads: the log files under LOGS_DIR (what the collector flushed), the time index the logs
//! side commits with the cursors, and the [`Board`] the collector fills each tick.

pub mod board;
pub mod everywhere;
pub mod history;
pub mod query;
pub mod routes;
pub mod tail;
pub mod when;

use std::sync::Arc;

pub use board::{Board, Figures};
pub use history::Position;

use crate::container::ContainerName;
use crate::logs::levels::LevelMapping;
use crate::logs::LogsDir;

/// Where a moment falls in a container's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Before every kept line.
    Start,
    /// At the first line written at or after it (to the index's resolution: one tick).
    At(Position),
    /// After every kept line.
    End,
}

/// One tick of the time index as the pages use it: where its first line starts now, and that
/// line's engine timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Where the tick's first line starts.
    pub at: Position,
    /// Its engine timestamp, unix nanoseconds.
    pub ts: i64,
}

/// Moments to positions: the logs side's time index.
pub trait Times: Send + Sync + std::fmt::Debug {
    /// Where the first line of `container` with an engine timestamp at or after `ts_nanos` starts.
    fn position(&self, container: &ContainerName, ts_nanos: i64) -> Bound;

    /// Every tick of `container` whose file is still kept, oldest first (empty without an index),
    /// with timestamps that never go back: a tick whose first line is older than the tick before
    /// takes that one's time, so times follow the order of the lines.
    fn stamps(&self, container: &ContainerName) -> Vec<Stamp>;
}

/// Everything the pages read.
#[derive(Debug)]
pub struct Web {
    /// LOGS_DIR.
    pub logs_dir: LogsDir,
    /// The level mapping, as the collector classifies lines.
    pub mapping: Arc<LevelMapping>,
    /// The overview's data.
    pub board: Board,
    /// The time index.
    pub times: Arc<dyn Times>,
    /// MACHINE_NAME.
    pub machine: String,
}

impl Web {
    /// Whether `name` is a container of the collector's table (the only names the pages serve). A
    /// `&str`, as the URL gives it: the routes make a [`ContainerName`] of it only once it is known.
    pub fn knows(&self, name: &str) -> bool {
        self.board.knows(name)
    }
}

/// The logs side's time index files, as [`Times`].
#[derive(Debug)]
pub struct IndexFiles {
    /// LOGS_DIR.
    pub logs_dir: LogsDir,
    /// LOGS_CONTAINER_MAX_FILES: older files are deleted, so are their lines.
    pub backup_count: u32,
}

impl Times for IndexFiles {
    fn position(&self, container: &ContainerName, ts_nanos: i64) -> Bound {
        let path = self.logs_dir.times_file(container);
        let ticks = crate::logs::times::read(&path).unwrap_or_default();
        match crate::logs::times::locate(&ticks, ts_nanos, Some(self.backup_count)) {
            Ok((age, offset)) => Bound::At(Position {
                file: u32::try_from(age).unwrap_or(u32::MAX),
                offset,
            }),
            Err(true) => Bound::End,
            Err(false) => Bound::Start,
        }
    }

    fn stamps(&self, container: &ContainerName) -> Vec<Stamp> {
        let path = self.logs_dir.times_file(container);
        let ticks = crate::logs::times::read(&path).unwrap_or_default();
        let newest = ticks.last().map_or(0, |t| t.newest);
        let mut latest = i64::MIN;
        ticks
            .iter()
            .filter_map(|t| {
                let age = newest.saturating_sub(t.generation);
                // Older than the rotation keeps: its file is deleted.
                let file = u32::try_from(age)
                    .ok()
                    .filter(|a| *a <= self.backup_count)?;
                latest = latest.max(t.ts);
                Some(Stamp {
                    at: Position {
                        file,
                        offset: t.offset,
                    },
                    ts: latest,
                })
            })
            .collect()
    }
}

/// The containers whose logs LOGS_DIR keeps: a directory with the container's name holding its
/// `.log` or a rotated one (left by removed containers and earlier runs too).
pub fn kept_histories(logs_dir: &LogsDir) -> Vec<ContainerName> {
    let Ok(entries) = std::fs::read_dir(logs_dir.root()) else {
        return Vec::new();
    };
    let mut names: Vec<ContainerName> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .map(ContainerName::from)
        .filter(|name| {
            crate::logs::is_safe_name(name.as_str()) && !history::files(logs_dir, name).is_empty()
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::times::{append, Tick};

    #[test]
    fn stamps_are_the_kept_ticks_at_their_files_age_with_times_that_never_go_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs_dir = LogsDir::new(dir.path());
        let name = ContainerName::from("app");
        let path = logs_dir.times_file(&name);
        let mut len = 0;
        // Generations 0 (deleted with one rotated file kept), 1 (.log.1) and 2 (.log); a clock
        // that went back at the fourth tick.
        for (ts, generation, offset) in [(5, 0, 0), (10, 1, 0), (20, 1, 70), (15, 2, 0), (30, 2, 9)]
        {
            let tick = Tick {
                ts,
                generation,
                offset,
                newest: generation,
            };
            len = append(&path, len, tick).expect("append");
        }
        let times = IndexFiles {
            logs_dir,
            backup_count: 1,
        };
        let at = |file, offset| Position { file, offset };
        let got: Vec<(Position, i64)> = times.stamps(&name).iter().map(|s| (s.at, s.ts)).collect();
        assert_eq!(
            got,
            [
                (at(1, 0), 10),
                (at(1, 70), 20),
                (at(0, 0), 20),
                (at(0, 9), 30)
            ]
        );
        assert!(
            times.stamps(&"none".into()).is_empty(),
            "no index, no stamps"
        );
    }
}
