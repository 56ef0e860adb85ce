//! [`LogsExporter`]: the one record of every container whose log the collector knows, and a tick of
//! the logs side: follow the containers to visit, read each one's new lines into its file, commit,
//! and report what was written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tracing::{debug, error, warn};

use super::budget::{Budget, Keeper};
use super::commit::{self, recover_file, LogsError, Outcome, StateFile};
use super::container::{Committed, ContainerLog, Followed, Pending, Source, Written};
use super::cursor::Cursor;
use super::dir::{is_safe_name, LogsDir};
use super::engine_files::FilesCursor;
use super::levels::LevelMapping;
use super::patterns::LogPatterns;
use super::reader::{read_new_lines, Reading};
use super::rotating_file::{FileMark, RotatingFile};
use super::TARGET;
use crate::container::{ContainerName, ContainerRef};
use crate::engine::{Containers, EngineError};
use crate::say_once::Latch;

/// Containers whose logs are read at the same time. A read takes milliseconds (unlike stats, which
/// wait for the engine's sampler), so a few dozen keep a tick short, while each one in flight holds an
/// open file, its write buffer and a connection to the engine: this bounds all three.
const LOG_READS_AT_ONCE: usize = 32;

/// How the log files are laid out and rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    /// LOGS_DIR.
    pub dir: LogsDir,
    /// LOGS_CONTAINER_MAX_FILE_SIZE.
    pub max_bytes: u64,
    /// LOGS_CONTAINER_MAX_FILES.
    pub backup_count: u32,
    /// DEFAULT_LOGS_SINCE_NOW, seconds.
    pub default_since: u64,
    /// MAX_LINE_BYTES.
    pub max_line: usize,
    /// ENGINE_TIMEOUT: the most one container's read may take in a tick.
    pub read_timeout: std::time::Duration,
    /// CONTAINER_LOGS_ROOT, when readable: the engine's containers directory, whose json-file logs
    /// are read instead of asking the engine. `None`: always ask the engine.
    pub engine_logs: Option<PathBuf>,
}

impl LogFiles {
    /// Where the read of a container that starts being followed begins: at its last commit when
    /// that was the same container, else DEFAULT_LOGS_SINCE_NOW seconds before `now`.
    fn start(
        &self,
        known: Option<&ContainerLog>,
        container: &ContainerRef,
        now: i64,
    ) -> (Cursor, Option<FilesCursor>) {
        match known {
            Some(log) if log.committed.id == container.id.as_str() => {
                (log.committed.cursor, log.committed.files)
            }
            _ => (
                Cursor::starting_at(
                    now - i64::try_from(self.default_since)
                        .unwrap_or(i64::MAX)
                        .min(now),
                ),
                None,
            ),
        }
    }

    /// The container's file at `path`, rotated by these settings, and where it ends now: the mark
    /// the first commit of the follow holds (the start of an empty file when it cannot be read).
    fn open(&self, container: &ContainerRef, path: PathBuf) -> (RotatingFile, FileMark) {
        let mut file = RotatingFile::new(path, self.max_bytes, self.backup_count);
        let mark = match file.mark() {
            Ok(m) => m,
            Err(e) => {
                error!(
                    target: TARGET,
                    "{}: cannot read {}: {e}",
                    container.name,
                    file.path().display()
                );
                FileMark::default()
            }
        };
        (file, mark)
    }

    /// The commit a follow starts from, recorded before its first write.
    fn first_commit(
        &self,
        known: Option<&ContainerLog>,
        container: &ContainerRef,
        cursor: Cursor,
        mark: FileMark,
        files: Option<FilesCursor>,
    ) -> Committed {
        // Committed before the first write, so a crash during the first tick is undone like any other.
        // The time index goes with the files, which are the name's whatever the container: it
        // continues from the last commit, or from what an earlier run left.
        let (generation, times_len) = match known {
            Some(log) => (log.committed.generation, log.committed.times_len),
            None => super::times::resume(&self.dir.times_file(&container.name)),
        };
        Committed {
            id: container.id.to_string(),
            cursor,
            file: mark,
            generation,
            times_len,
            files,
        }
    }
}

/// What the logs side did since its last report, for the metrics side to count: the logs side
/// never calls into the metrics itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogsReport {
    /// What each commit made durable, one entry per container that wrote anything. Lines count here
    /// only once their commit succeeded, so a write that was rolled back is never counted twice.
    pub written: Vec<Written>,
    /// The kind ([`EngineError::kind`]) of every engine request that failed, once per failure.
    pub engine_errors: Vec<&'static str>,
    /// Containers whose read or write failed in this tick (always 0 for a commit alone).
    pub failed: usize,
    /// Containers read this tick from the engine's json-file files, and from the engine.
    pub read_from_files: u64,
    pub read_from_engine: u64,
    /// What LOGS_DIR keeps and what the budget deleted, when LOGS_MAX_TOTAL_BYTES or
    /// LOGS_KEEP_REMOVED is on (`None` otherwise, and for a commit alone).
    pub disk: Option<DiskReport>,
}

/// LOGS_DIR after a tick's budget pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DiskReport {
    /// Bytes kept under LOGS_DIR: as the last scan found them plus what was written since.
    pub kept_bytes: u64,
    /// Bytes deleted by this pass, by reason (`budget`, `removed`).
    pub deleted: Vec<(&'static str, u64)>,
    /// Removed containers deleted whole by this pass.
    pub gone: Vec<ContainerName>,
    /// Bytes each container keeps, when this tick scanned LOGS_DIR.
    pub by_container: Option<Vec<(ContainerName, u64)>>,
}

/// The per-container log files and cursors.
#[derive(Debug)]
pub struct LogsExporter {
    files: LogFiles,
    mapping: LevelMapping,
    /// LOG_PATTERNS_PATH's patterns, counted with the lines.
    patterns: LogPatterns,
    /// Every container known, by name (which is also its directory's name): from the state file at
    /// start, or from its first visit, until [`LogsExporter::forget`].
    containers: HashMap<ContainerName, ContainerLog>,
    state: StateFile,
    /// Names that are not valid Docker names, whose logs are never collected: kept so that each is
    /// said once.
    refused: HashSet<ContainerName>,
    /// Said once: a container's json-file log could not be read.
    unreadable_said: Latch,
    /// LOGS_MAX_TOTAL_BYTES and LOGS_KEEP_REMOVED, when either is on.
    keeper: Option<Keeper>,
}

impl LogsExporter {
    /// Creates LOGS_DIR if needed and reads the cursors a previous run left.
    pub fn new(files: LogFiles, mapping: LevelMapping) -> Result<LogsExporter, LogsError> {
        let (state, committed) = StateFile::open(&files.dir)?;
        let containers = committed
            .into_iter()
            .map(|(name, committed)| {
                let log = ContainerLog {
                    committed,
                    followed: None,
                };
                (name, log)
            })
            .collect();
        Ok(LogsExporter {
            files,
            mapping,
            patterns: LogPatterns::none(),
            containers,
            state,
            refused: HashSet::new(),
            unreadable_said: Default::default(),
            keeper: None,
        })
    }

    /// Keeps LOGS_DIR within `budget`: a pass at the end of each tick (see [`super::budget`]).
    pub fn with_budget(mut self, budget: Budget) -> LogsExporter {
        self.keeper = (!budget.is_off()).then(|| Keeper::new(budget, &self.files.dir));
        self
    }

    /// Counts the lines that match `patterns` too (LOG_PATTERNS_PATH), with the same commits.
    pub fn with_patterns(mut self, patterns: LogPatterns) -> LogsExporter {
        self.patterns = patterns;
        self
    }

    /// Starts following `container` if it is not followed yet: undoes what a crash left uncommitted in
    /// its file and picks up its committed cursor (or starts DEFAULT_LOGS_SINCE_NOW seconds back).
    fn follow(&mut self, container: &ContainerRef, now: i64) {
        let known = self.containers.get(&container.name);
        if let Some(log) = known {
            if log.followed.is_some() && log.committed.id == container.id.as_str() {
                return;
            }
        }
        let path = self.files.dir.log_file(&container.name);
        if let Some(log) = known {
            recover_file(
                &container.name,
                &path,
                &log.committed,
                self.files.backup_count,
                &self.files.dir,
            );
        }
        let (cursor, files) = self.files.start(known, container, now);
        let (file, mark) = self.files.open(container, path);
        let committed = self
            .files
            .first_commit(known, container, cursor, mark, files);
        self.state.changed();
        let followed = Followed {
            file,
            cursor,
            pending: Pending::default(),
            engine_errors: Vec::new(),
            failed: false,
            failing: Latch::new(),
            mark: None,
            recent: 0,
            tail_ok: true,
            tick_first: None,
            files,
            source: None,
            files_lost_said: Latch::new(),
        };
        self.containers.insert(
            container.name.clone(),
            ContainerLog {
                committed,
                followed: Some(followed),
            },
        );
    }

    /// The engine's containers directory whose json-file logs are read, if any.
    pub fn engine_logs(&self) -> Option<&Path> {
        self.files.engine_logs.as_deref()
    }

    /// Lets go of a container for good: its file handle and its cursor (used once it has been gone for
    /// longer than CONTAINER_RETENTION).
    pub fn forget(&mut self, container: &ContainerName) {
        if let Some(log) = self.containers.remove(container) {
            if let Some(mut followed) = log.followed {
                let _ = followed.file.close();
            }
            self.state.changed();
            self.persist();
        }
        self.refused.remove(container);
    }

    /// Fetches the new lines of every container in `visit`, writes them, and commits. Containers that
    /// are not running any more are visited this once and then let go. Reports what the commit made
    /// durable, the engine errors met, and how many containers' reads or writes failed.
    pub async fn collect(&mut self, containers: &Containers, visit: &[ContainerRef]) -> LogsReport {
        let now = chrono::Utc::now();
        let wanted = self.follow_all(visit, now.timestamp());
        self.persist();
        let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let (failed, from_files, from_engine) = self.read_all(containers, &wanted, now_ns).await;
        let mut report = self.commit();
        report.failed = failed;
        report.read_from_files = from_files;
        report.read_from_engine = from_engine;
        self.let_go_of_stopped(visit);
        // After the commit and in the same task: no rotation or commit runs while files go.
        report.disk = self.keep_budget(containers, &report.written).await;
        report
    }

    /// Follows every container of `visit` whose name is safe as a file name, and says once of each
    /// other one that its logs are not collected. Returns the containers followed.
    fn follow_all<'v>(&mut self, visit: &'v [ContainerRef], now: i64) -> Vec<&'v ContainerRef> {
        let mut wanted = Vec::with_capacity(visit.len());
        for c in visit {
            if !is_safe_name(c.name.as_str()) {
                if self.refused.insert(c.name.clone()) {
                    warn!(
                        target: TARGET,
                        "container name {:?} is not a valid Docker name: its logs are not collected",
                        c.name
                    );
                }
                continue;
            }
            self.follow(c, now);
            wanted.push(c);
        }
        wanted
    }

    /// Reads the new lines of every container of `wanted`, [`LOG_READS_AT_ONCE`] at a time. Returns
    /// how many reads failed, and how many containers were read from the engine's files and from
    /// the engine.
    async fn read_all(
        &mut self,
        containers: &Containers,
        wanted: &[&ContainerRef],
        now_ns: i64,
    ) -> (usize, u64, u64) {
        let by_name: HashMap<&ContainerName, &ContainerRef> =
            wanted.iter().map(|c| (&c.name, *c)).collect();
        let files = &self.files;
        let reading = Reading {
            mapping: &self.mapping,
            patterns: &self.patterns,
            max_line: files.max_line,
            files_root: files.engine_logs.as_deref(),
            unreadable_said: &self.unreadable_said,
        };
        let reading = &reading;
        let reads = self
            .containers
            .iter_mut()
            .filter_map(|(name, log)| Some((*by_name.get(name)?, log.followed.as_mut()?)))
            .map(|(c, log)| read_one(containers, c, log, reading, files.read_timeout, now_ns));
        let (mut failed, mut from_files, mut from_engine) = (0, 0, 0);
        let mut reads = futures_util::stream::iter(reads).buffer_unordered(LOG_READS_AT_ONCE);
        while let Some((ok, source)) = reads.next().await {
            failed += usize::from(!ok);
            match source {
                Some(Source::Files) => from_files += 1,
                Some(Source::Engine) => from_engine += 1,
                None => {}
            }
        }
        (failed, from_files, from_engine)
    }

    /// Stops following the containers of `visit` that are not running any more: this tick read
    /// their last lines, and their files are closed for good.
    fn let_go_of_stopped(&mut self, visit: &[ContainerRef]) {
        for c in visit.iter().filter(|c| !c.running) {
            let followed = self
                .containers
                .get_mut(&c.name)
                .and_then(|log| log.followed.take());
            if let Some(mut followed) = followed {
                if let Err(e) = followed.file.close() {
                    error!(
                        target: TARGET,
                        "{}: cannot close {}: {e}",
                        c.name,
                        followed.file.path().display()
                    );
                }
            }
        }
    }

    /// Flushes every file, then records the cursors that the flushed lines reach. A container whose
    /// write failed is rolled back to its previous commit instead, to be fetched again next tick.
    /// Files are closed afterwards, so thousands of containers do not hold thousands of descriptors.
    /// Reports what was made durable and the engine errors met since the last report.
    pub fn commit(&mut self) -> LogsReport {
        let mut report = LogsReport::default();
        for (name, log) in &mut self.containers {
            let Some(followed) = log.followed.as_mut() else {
                continue;
            };
            report.engine_errors.append(&mut followed.engine_errors);
            let (dir, backups) = (&self.files.dir, self.files.backup_count);
            match commit::commit(name, &mut log.committed, followed, dir, backups) {
                Outcome::Unchanged | Outcome::Undone => {}
                Outcome::Made(written) => {
                    report.written.extend(written);
                    self.state.changed();
                }
            }
        }
        self.persist();
        report
    }

    /// Writes the cursor file if anything changed since it was last written.
    fn persist(&mut self) {
        let commits = self
            .containers
            .iter()
            .map(|(name, log)| (name, &log.committed));
        self.state.save(commits);
    }

    /// The containers a previous run had cursors for: (id, name). Visiting them once at start picks
    /// up the last lines of those that stopped while the collector was not running.
    pub fn known_containers(&self) -> Vec<(String, ContainerName)> {
        self.containers
            .iter()
            .map(|(name, log)| (log.committed.id.clone(), name.clone()))
            .collect()
    }

    /// Containers whose logs are followed now.
    #[cfg(test)]
    pub fn followed(&self) -> impl Iterator<Item = &str> {
        self.containers
            .iter()
            .filter(|(_, log)| log.followed.is_some())
            .map(|(name, _)| name.as_str())
    }
}

/// One container's read in a tick, cut off after `read_timeout`, then its file flushed and closed.
/// Returns whether the read and its writes worked, and where the read came from.
async fn read_one(
    containers: &Containers,
    c: &ContainerRef,
    log: &mut Followed,
    reading: &Reading<'_>,
    read_timeout: std::time::Duration,
    now_ns: i64,
) -> (bool, Option<Source>) {
    // A mark always belongs to this tick's read: an old one must not meet a new cursor.
    log.mark = None;
    log.source = None;
    // A stuck answer keeps what it delivered: the cursor matches the file at every await.
    let read = read_new_lines(containers, c, log, reading, now_ns);
    let mut ok = match tokio::time::timeout(read_timeout, read).await {
        Ok(ok) => ok,
        Err(_) => {
            warn!(
                target: TARGET,
                "{}: reading logs took longer than ENGINE_TIMEOUT; going on next tick",
                c.name
            );
            log.engine_errors.push(EngineError::Timeout.kind());
            false
        }
    };
    // Flushed and closed as soon as the read is done, not at the commit: only the reads in
    // flight hold a write buffer and a descriptor, not every container that logged.
    if !log.failed {
        match log.file.mark() {
            Ok(mark) => log.mark = Some(mark),
            Err(e) => {
                debug!(target: TARGET, "{}: {e}", c.name);
                log.failed = true;
                ok = false;
            }
        }
        if let Err(e) = log.file.close() {
            debug!(target: TARGET, "{}: close: {e}", c.name);
        }
    }
    (ok && !log.failed, log.source)
}

mod budget_pass;
#[cfg(test)]
mod tests;
