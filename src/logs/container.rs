//! Everything the logs side holds about one container: what the last commit made durable
//! ([`Committed`], as in the state file), and while its log is followed, the open file, the cursor
//! and what was handed to the file since that commit ([`Followed`]).
//!
//! The exporter keeps one [`ContainerLog`] per name; the reader fills its [`Followed`] in a tick and
//! the commit makes it durable or undoes it. Both import these types from here, so neither imports
//! the exporter that drives them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cursor::Cursor;
use super::engine_files::FilesCursor;
use super::levels::Level;
use super::patterns::PatternSet;
use super::rotating_file::{FileMark, RotatingFile};
use crate::container::ContainerName;
use crate::say_once::Latch;

/// Everything the logs side holds about one container, under its name.
#[derive(Debug)]
pub(super) struct ContainerLog {
    /// What the last commit made durable, as in the state file.
    pub(super) committed: Committed,
    /// The log being followed: from the first visit of this run until the container stops running.
    pub(super) followed: Option<Followed>,
}

/// A container whose log is being followed. Its container's id is the one in its
/// [`ContainerLog::committed`].
#[derive(Debug)]
pub(super) struct Followed {
    pub(super) file: RotatingFile,
    /// Where the next request starts, counting every line handed to `file`.
    pub(super) cursor: Cursor,
    /// What was handed to `file` since the last commit.
    pub(super) pending: Pending,
    /// Kinds of the engine errors met since the last commit: reported by it, whatever it does.
    pub(super) engine_errors: Vec<&'static str>,
    /// A write failed since the last commit: roll back instead of committing.
    pub(super) failed: bool,
    /// Writing has been failing (said once, until it works again).
    pub(super) failing: Latch,
    /// Where the file ended when this tick's read was done, for the commit.
    pub(super) mark: Option<FileMark>,
    /// Entries in the last answer read, to size the next tail request.
    pub(super) recent: usize,
    /// The container's answers are multiplexed frames, so the cheap tail request can be used (false
    /// for a TTY container, whose raw answer has no entry borders to count).
    pub(super) tail_ok: bool,
    /// Where the first line written since the last commit starts, for the time index.
    pub(super) tick_first: Option<TickStart>,
    /// Where the read stands in the engine's json-file files, while they are read (`cursor` is
    /// kept valid along with it).
    pub(super) files: Option<FilesCursor>,
    /// Said: the engine deleted files of this log before they were read.
    pub(super) files_lost_said: Latch,
    /// Where this tick's read came from; `None` before it, or when the container was found gone.
    pub(super) source: Option<Source>,
}

/// The first line of a tick: its engine timestamp, and where it starts (rotations since the last
/// commit, offset).
#[derive(Debug, Clone, Copy)]
pub(super) struct TickStart {
    pub(super) ts: Option<i64>,
    pub(super) rotations: u64,
    pub(super) offset: u64,
}

/// Where a container's log is read from this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The engine's json-file files.
    Files,
    /// The engine's logs endpoint.
    Engine,
}

/// What is durably known about one container's log: the cursor of the last commit and where its file
/// ended then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Committed {
    /// The engine's id of the container the cursor belongs to: a container created again under the
    /// same name starts afresh.
    pub(super) id: String,
    pub(super) cursor: Cursor,
    pub(super) file: FileMark,
    /// Rotations of the container's file before the committed `.log`: its place in the time index.
    #[serde(default)]
    pub(super) generation: u64,
    /// Length of the container's time index at the commit (see [`super::times`]).
    #[serde(default)]
    pub(super) times_len: u64,
    /// Where the read stood in the engine's json-file files, when it was read from them (`cursor`
    /// stands for the same place on the engine path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) files: Option<FilesCursor>,
}

/// Lines and bytes handed to a container's file since its last commit: they count once the commit
/// that covers them succeeds, and not at all when it is rolled back.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Lines by level, in [`Level::ALL`] order.
    lines: [u64; 3],
    bytes: u64,
    /// Lines that matched each pattern of the container's list (LOG_PATTERNS_PATH), by name: every
    /// name at 0 from the first line handed out, empty when the container has no patterns.
    matches: Vec<(Arc<str>, u64)>,
}

impl Pending {
    /// A line of `level`, `bytes` long with its line end, was handed to the file.
    pub(super) fn line(&mut self, level: Level, bytes: usize) {
        self.lines[level.index()] += 1;
        self.bytes += bytes as u64;
    }

    /// The same line (without its line end) against the container's `patterns`: each pattern it
    /// matches counts it once.
    pub(super) fn match_line(&mut self, patterns: &PatternSet, line: &[u8]) {
        if patterns.is_empty() {
            return;
        }
        if self.matches.len() != patterns.names().len() {
            self.matches = patterns.names().iter().map(|n| (n.clone(), 0)).collect();
        }
        let matches = &mut self.matches;
        patterns.each_match(line, |i| matches[i].1 += 1);
    }

    /// What a successful commit counts for `container`, if anything; nothing is pending afterwards.
    pub(super) fn take(&mut self, container: &ContainerName) -> Option<Written> {
        let Pending {
            lines,
            bytes,
            matches,
        } = std::mem::take(self);
        (lines.iter().any(|n| *n > 0) || bytes > 0).then(|| Written {
            container: container.clone(),
            lines,
            bytes,
            matches,
        })
    }
}

/// Lines and bytes of one container that a commit made durable: what `container_logs_total` and
/// the collector's written-lines and written-bytes counters count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The container's name.
    pub container: ContainerName,
    /// Lines by level, in [`Level::ALL`] order.
    lines: [u64; 3],
    /// Bytes, line ends included.
    pub bytes: u64,
    /// Lines by pattern of the container's list (LOG_PATTERNS_PATH), every one of its patterns
    /// named, those that matched no line at 0: `container_log_pattern_matches_total`.
    matches: Vec<(Arc<str>, u64)>,
}

impl Written {
    /// Lines of `level`.
    pub fn lines(&self, level: Level) -> u64 {
        self.lines[level.index()]
    }

    /// Lines of every level.
    pub fn total_lines(&self) -> u64 {
        self.lines.iter().sum()
    }

    /// Lines that matched each of the container's patterns, by name (0 for those that matched none).
    pub fn pattern_matches(&self) -> impl Iterator<Item = (&str, u64)> {
        self.matches.iter().map(|(name, n)| (&**name, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_lines_are_counted_by_level_once() {
        let web = ContainerName::from("web");
        let mut pending = Pending::default();
        assert_eq!(pending.take(&web), None, "nothing pending, nothing counted");
        pending.line(Level::Error, 6);
        pending.line(Level::Info, 3);
        pending.line(Level::Error, 4);
        let written = pending.take(&web).expect("written");
        assert_eq!(written.container, web);
        assert_eq!(written.lines(Level::Info), 1);
        assert_eq!(written.lines(Level::Warning), 0);
        assert_eq!(written.lines(Level::Error), 2);
        assert_eq!(written.total_lines(), 3);
        assert_eq!(written.bytes, 13);
        assert_eq!(pending.take(&web), None, "counted once");
    }

    #[test]
    fn pending_matches_count_each_pattern_once_a_line_and_start_at_zero() {
        let web = ContainerName::from("web");
        let patterns = crate::logs::patterns::LogPatterns::from_json(
            r#"{"patterns": [{"name": "oom", "regex": "OOM|Killed"}, {"name": "panic", "regex": "panic"}]}"#,
        )
        .expect("valid");
        let set = patterns.for_container("web");
        let mut pending = Pending::default();
        for line in ["fine", "OOM Killed", "OOM and panic", "fine again"] {
            pending.line(Level::Info, line.len() + 1);
            pending.match_line(set, line.as_bytes());
        }
        let written = pending.take(&web).expect("written");
        let got: Vec<(&str, u64)> = written.pattern_matches().collect();
        assert_eq!(got, [("oom", 2), ("panic", 1)]);
        pending.line(Level::Info, 5);
        pending.match_line(set, b"fine");
        let quiet = pending.take(&web).expect("written");
        let got: Vec<(&str, u64)> = quiet.pattern_matches().collect();
        assert_eq!(got, [("oom", 0), ("panic", 0)], "every pattern named, at 0");
        pending.line(Level::Info, 5);
        pending.match_line(
            crate::logs::patterns::LogPatterns::none().for_container("web"),
            b"OOM",
        );
        let none = pending.take(&web).expect("written");
        assert_eq!(none.pattern_matches().count(), 0, "no patterns, no series");
    }
}
