//! The durable side of the logs: what the last commit made sure of for each container, the state
//! file that holds it, the commit itself, and undoing what was written after it.
//!
//! Exactly once, across restarts and crashes, rests on three things:
//! - a [`Cursor`] per container that says where the next logs request starts;
//! - a commit, once per tick: flush the files, then persist for every container the cursor *and* the
//!   [`FileMark`] where its file ended, atomically (temporary file, fsync, rename) in
//!   `LOGS_DIR/.state/cursors.json`;
//! - at start (and after a write error), [`recover`]: bytes written after the last commit are undone,
//!   so the lines they held are fetched again from the committed cursor and written once.
//!
//! Counts move with the commit too: lines count toward `container_logs_total` when the commit that
//! covers them succeeds, so a rolled-back write is never counted twice.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{debug, error, info, warn};

use super::atomic::write_atomically;
use super::container::{Committed, Followed, Pending, TickStart, Written};
use super::dir::LogsDir;
use super::rotating_file::{recover, FileMark, Recovery};
use super::times;
use super::TARGET;
use crate::container::ContainerName;

/// Errors of the logs side that stop the collector from starting.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The cursor file exists but cannot be read.
    #[error("cursor file {path} cannot be read: {source}")]
    ReadState {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
/// What the state file holds: every container's [`Committed`], by name.
#[derive(Debug, Serialize, Deserialize)]
struct Content<C> {
    version: u32,
    containers: C,
}

/// The state file, `LOGS_DIR/.state/cursors.json`, and whether the commits changed since it was
/// last written.
#[derive(Debug)]
pub(super) struct StateFile {
    path: PathBuf,
    dirty: bool,
}

impl StateFile {
    /// Creates LOGS_DIR and its state directory if needed, and reads the commits a previous run left.
    pub(super) fn open(
        logs_dir: &LogsDir,
    ) -> Result<(StateFile, HashMap<ContainerName, Committed>), LogsError> {
        let state_dir = logs_dir.state_dir();
        let path = logs_dir.cursor_file();
        let dir_usable = match fs::create_dir_all(&state_dir) {
            Ok(()) => true,
            Err(e) => {
                // Metrics go on without the logs; every tick tries the files again.
                error!(
                    target: TARGET,
                    "LOGS_DIR {} cannot be created: {e}; metrics go on, logs wait until it can be",
                    logs_dir.root().display()
                );
                false
            }
        };
        let committed = match fs::read(&path) {
            Ok(bytes) => {
                match serde_json::from_slice::<Content<HashMap<ContainerName, Committed>>>(&bytes) {
                    Ok(state) => state.containers,
                    Err(e) => {
                        // A damaged cursor file must not stop the logs: start over as on a first run.
                        warn!(
                            target: TARGET,
                            "cursor file {} is damaged ({e}); starting every container from DEFAULT_LOGS_SINCE_NOW",
                            path.display()
                        );
                        HashMap::new()
                    }
                }
            }
            // No file yet, or no usable LOGS_DIR to hold one (said above).
            Err(e) if !dir_usable || e.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => return Err(LogsError::ReadState { path, source }),
        };
        Ok((StateFile { path, dirty: false }, committed))
    }

    /// A commit changed: the next [`StateFile::save`] writes the file.
    pub(super) fn changed(&mut self) {
        self.dirty = true;
    }

    /// Whether the file holds every commit: nothing changed since it was last written.
    pub(super) fn is_saved(&self) -> bool {
        !self.dirty
    }

    /// Writes every container's commit, if any changed since the file was last written.
    pub(super) fn save<'a>(
        &mut self,
        commits: impl Iterator<Item = (&'a ContainerName, &'a Committed)>,
    ) {
        if !self.dirty {
            return;
        }
        let state = Content {
            version: 1,
            containers: commits.collect::<HashMap<&ContainerName, &Committed>>(),
        };
        let result = serde_json::to_vec(&state)
            .map_err(io::Error::other)
            .and_then(|bytes| write_atomically(&self.path, &bytes));
        match result {
            Ok(()) => self.dirty = false,
            Err(e) => error!(
                target: TARGET,
                "cannot write the cursor file {}: {e}",
                self.path.display()
            ),
        }
    }
}

/// What [`commit`] did to a container's [`Committed`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Nothing new since the last commit.
    Unchanged,
    /// The commit moved on, counting what it made durable, if anything.
    Made(Option<Written>),
    /// A write had failed: the file and the cursor went back to the last commit.
    Undone,
}

/// Makes what `log` handed to its file durable in `committed`: the cursor those lines reach and
/// where the file ended. After a failed write, undoes instead everything written since `committed`
/// and moves the cursor back to it, so those lines are fetched again next tick. Closes the file
/// either way, so thousands of containers do not hold thousands of descriptors.
pub(super) fn commit(
    name: &ContainerName,
    committed: &mut Committed,
    log: &mut Followed,
    logs_dir: &LogsDir,
    backup_count: u32,
) -> Outcome {
    if log.cursor == committed.cursor && log.files == committed.files && !log.failed {
        if let Err(e) = log.file.close() {
            debug!(target: TARGET, "{name}: close: {e}");
        }
        return Outcome::Unchanged;
    }
    let mark = match (log.failed, log.mark.take()) {
        (true, _) => Err(io::Error::other("an earlier write failed")),
        (false, Some(mark)) => Ok(mark),
        // The read was cut short (shutdown): where the file ends now.
        (false, None) => log.file.mark(),
    };
    let outcome = match mark {
        Ok(mark) => make(name, committed, log, mark, logs_dir, backup_count),
        Err(e) => undo(name, committed, log, e),
    };
    if let Err(e) = log.file.close() {
        debug!(target: TARGET, "{name}: close: {e}");
    }
    outcome
}

/// The commit proper, once the file's end is known: `committed` moves on to what `log` handed to
/// its file, the tick's first line goes into the time index, and what was pending is counted.
fn make(
    name: &ContainerName,
    committed: &mut Committed,
    log: &mut Followed,
    mark: FileMark,
    logs_dir: &LogsDir,
    backup_count: u32,
) -> Outcome {
    if log.failing.reset() {
        info!(
            target: TARGET,
            "{name}: writing {} works again",
            log.file.path().display()
        );
    }
    committed.cursor = log.cursor;
    committed.files = log.files;
    committed.file = mark;
    let rotations = log.file.take_rotations();
    if let Some(first) = log.tick_first.take() {
        index_tick(name, committed, first, rotations, logs_dir, backup_count);
    }
    committed.generation += rotations;
    Outcome::Made(log.pending.take(name))
}

/// Records where the tick's first line starts in the container's time index, so a search by time
/// finds it without reading the files that come before; `rotations` are those of this tick.
fn index_tick(
    name: &ContainerName,
    committed: &mut Committed,
    first: TickStart,
    rotations: u64,
    logs_dir: &LogsDir,
    backup_count: u32,
) {
    let tick = times::Tick {
        ts: first.ts.unwrap_or(i64::MIN),
        generation: committed.generation + first.rotations,
        offset: first.offset,
        newest: committed.generation + rotations,
    };
    let path = logs_dir.times_file(name);
    match times::append(&path, committed.times_len, tick)
        .and_then(|len| times::prune(&path, len, tick.newest, backup_count))
    {
        Ok(len) => committed.times_len = len,
        // The index only speeds up time ranges: a failure costs precision, not lines.
        Err(e) => debug!(target: TARGET, "{name}: time index {}: {e}", path.display()),
    }
}

/// A write failed since the last commit (`e`): says so once, puts the file and `log` back where
/// `committed` left them, and drops what was pending, so the same lines are fetched again next tick.
fn undo(name: &ContainerName, committed: &Committed, log: &mut Followed, e: io::Error) -> Outcome {
    if log.failing.first() {
        error!(
            target: TARGET,
            "{name}: cannot write {}: {e}; its lines will be fetched again once writing works",
            log.file.path().display()
        );
    }
    if let Err(e) = log.file.rollback(committed.file) {
        error!(target: TARGET, "{name}: cannot undo the partial write: {e}");
    }
    log.cursor = committed.cursor;
    log.files = committed.files;
    log.pending = Pending::default();
    log.tick_first = None;
    log.failed = false;
    Outcome::Undone
}

/// Undoes what a crash (or a failed write) left in `path` after `committed`, before the container's
/// log is followed again, and says what it found.
pub(super) fn recover_file(
    name: &ContainerName,
    path: &Path,
    committed: &Committed,
    backup_count: u32,
    logs_dir: &LogsDir,
) {
    let index = logs_dir.times_file(name);
    if let Err(e) = times::recover(&index, committed.times_len) {
        debug!(target: TARGET, "{name}: time index {}: {e}", index.display());
    }
    match recover(path, committed.file, backup_count) {
        Ok(Recovery::Clean) => {}
        Ok(Recovery::MarkNotFound) => warn!(
            target: TARGET,
            "{name}: the file of the last commit is gone from {}; lines may be repeated",
            path.display()
        ),
        Ok(Recovery::Shorter { missing }) => warn!(
            target: TARGET,
            "{name}: {} is {missing} bytes shorter than at the last commit (lost outside the collector)",
            path.display()
        ),
        Ok(r) => info!(target: TARGET, "{name}: undid writes after the last commit: {r:?}"),
        Err(e) => error!(
            target: TARGET,
            "{name}: cannot check {} against the last commit: {e}",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::cursor::Cursor;
    use crate::logs::rotating_file::FileMark;

    #[test]
    fn the_state_file_reads_back_what_was_saved_and_survives_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs_dir = LogsDir::new(dir.path());
        let (mut state, none) = StateFile::open(&logs_dir).expect("open");
        assert!(none.is_empty(), "a first run has no commits");
        let web = Committed {
            id: "abc".into(),
            cursor: Cursor { since: 7, skip: 2 },
            file: FileMark::default(),
            generation: 3,
            times_len: 64,
            files: None,
        };
        state.save([(&"web".into(), &web)].into_iter());
        assert!(
            !logs_dir.cursor_file().exists(),
            "nothing changed, nothing written"
        );
        state.changed();
        state.save([(&"web".into(), &web)].into_iter());
        let (_, read) = StateFile::open(&logs_dir).expect("open again");
        assert_eq!(read.get("web"), Some(&web));
        fs::write(logs_dir.cursor_file(), b"{not json").expect("damage");
        let (_, damaged) = StateFile::open(&logs_dir).expect("a damaged file is not an error");
        assert!(damaged.is_empty());
    }
}
