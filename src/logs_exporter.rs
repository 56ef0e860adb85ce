//! Container logs into files: `LOGS_DIR/<container>/<container>.log`, rotated like Python's
//! RotatingFileHandler, every line written exactly once, every line classified and counted.
//!
//! Exactly once, across restarts and crashes, rests on three things:
//! - a [`Cursor`] per container that says where the next logs request starts;
//! - a commit, once per tick: flush the files, then persist for every container the cursor *and* the
//!   [`FileMark`] where its file ended, atomically (temporary file, fsync, rename) in
//!   `LOGS_DIR/.state/cursors.json`;
//! - at start (and after a write error), [`recover`]: bytes written after the last commit are undone,
//!   so the lines they held are fetched again from the committed cursor and written once.
//!
//! A tick's read asks the engine for the last entries of the log only (`tail`), which it reads from
//! the end of its file, and uses that answer when it provably holds every entry the cursor's full
//! request would bring (see [`TailWindow`]); otherwise it makes the full request, for which the engine
//! reads the log from its first line.
//!
//! Counters move with the commit too: lines count toward `container_logs_total` when the commit that
//! covers them succeeds, so a rolled-back write is never counted twice.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bollard::container::LogOutput;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{debug, error, info, warn};

use crate::containers::{ContainerRef, Containers};
use crate::cursor::{split_timestamp, Chunk, Cursor, Line, LineAssembler};
use crate::levels::{Level, LevelMapping};
use crate::metrics_exporter::MetricsExporter;
use crate::rotating_file::{recover, FileMark, Recovery, RotatingFile};

/// Name of the directory, inside LOGS_DIR, that holds the cursors. Docker container names cannot start
/// with a dot, so it never clashes with a container's directory.
pub const STATE_DIR: &str = ".state";
const STATE_FILE: &str = "cursors.json";

/// Containers whose logs are read at the same time. A read takes milliseconds (unlike stats, which
/// wait for the engine's sampler), so a few dozen keep a tick short, while each one in flight holds an
/// open file, its write buffer and a connection to the engine: this bounds all three.
const LOG_READS_AT_ONCE: usize = 32;

/// A tail request starts this many seconds before the cursor's `since`, so that it sees entries older
/// than the cursor: stdout and stderr entries reach the engine's log file slightly out of timestamp
/// order, never by this much.
const TAIL_MARGIN_SECS: i64 = 5;
/// Entries a tail request asks for at least, and at most: a container that logs more than this per
/// tick is read with a full request.
const TAIL_MIN: usize = 256;
const TAIL_MAX: usize = 4096;
/// Bytes of a tail answer held in memory before it is given up for a full request (which is
/// written as it arrives). With LOG_READS_AT_ONCE reads, at most 8 MiB are held at once.
const TAIL_MAX_BYTES: usize = 256 * 1024;

/// Errors of the logs side that stop the collector from starting.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The cursor file exists but cannot be read.
    #[error("cursor file {path} cannot be read: {source}")]
    ReadState {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// How the log files are laid out and rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    /// LOGS_DIR.
    pub dir: PathBuf,
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
}

/// What is durably known about one container's log: the cursor of the last commit and where its file
/// ended then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Committed {
    id: String,
    cursor: Cursor,
    file: FileMark,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    containers: HashMap<String, Committed>,
}

/// A container whose log is being followed.
#[derive(Debug)]
struct ContainerLog {
    id: String,
    file: RotatingFile,
    /// Where the next request starts, counting every line handed to `file`.
    cursor: Cursor,
    /// Lines handed to `file` since the last commit, by level (info, warning, error).
    pending: [u64; 3],
    /// Bytes handed to `file` since the last commit.
    pending_bytes: u64,
    /// A write failed since the last commit: roll back instead of committing.
    failed: bool,
    /// Writing has been failing (said once, until it works again).
    failing: bool,
    /// Where the file ended when this tick's read was done, for the commit.
    mark: Option<FileMark>,
    /// Entries in the last answer read, to size the next tail request.
    recent: usize,
    /// The container's answers are multiplexed frames, so the cheap tail request can be used (false
    /// for a TTY container, whose raw answer has no entry borders to count).
    tail_ok: bool,
}

fn level_index(level: Level) -> usize {
    match level {
        Level::Info => 0,
        Level::Warning => 1,
        Level::Error => 2,
    }
}

/// Docker's own rule for names, which also keeps every path inside LOGS_DIR.
pub fn is_safe_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The log file of `container` under `dir`.
pub fn log_path(dir: &Path, container: &str) -> PathBuf {
    dir.join(container).join(format!("{container}.log"))
}

/// Writes `bytes` to `path` so that a reader sees the old content or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// The per-container log files and cursors.
#[derive(Debug)]
pub struct LogsExporter {
    files: LogFiles,
    mapping: LevelMapping,
    metrics: MetricsExporter,
    followed: HashMap<String, ContainerLog>,
    committed: HashMap<String, Committed>,
    state_path: PathBuf,
    state_dirty: bool,
    unsafe_names: HashSet<String>,
}

impl LogsExporter {
    /// Creates LOGS_DIR if needed and reads the cursors a previous run left.
    pub fn new(
        files: LogFiles,
        mapping: LevelMapping,
        metrics: MetricsExporter,
    ) -> Result<LogsExporter, LogsError> {
        let state_dir = files.dir.join(STATE_DIR);
        let state_path = state_dir.join(STATE_FILE);
        let dir_usable = match fs::create_dir_all(&state_dir) {
            Ok(()) => true,
            Err(e) => {
                // Metrics go on without the logs; every tick tries the files again.
                error!(
                    "LOGS_DIR {} cannot be created: {e}; metrics go on, logs wait until it can be",
                    files.dir.display()
                );
                false
            }
        };
        let committed = match fs::read(&state_path) {
            Ok(bytes) => match serde_json::from_slice::<StateFile>(&bytes) {
                Ok(state) => state.containers,
                Err(e) => {
                    // A damaged cursor file must not stop the logs: start over as on a first run.
                    warn!(
                        "cursor file {} is damaged ({e}); starting every container from DEFAULT_LOGS_SINCE_NOW",
                        state_path.display()
                    );
                    HashMap::new()
                }
            },
            // No file yet, or no usable LOGS_DIR to hold one (said above).
            Err(e) if !dir_usable || e.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => {
                return Err(LogsError::ReadState {
                    path: state_path,
                    source,
                })
            }
        };
        Ok(LogsExporter {
            files,
            mapping,
            metrics,
            followed: HashMap::new(),
            committed,
            state_path,
            state_dirty: false,
            unsafe_names: HashSet::new(),
        })
    }

    /// Starts following `container` if it is not followed yet: undoes what a crash left uncommitted in
    /// its file and picks up its committed cursor (or starts DEFAULT_LOGS_SINCE_NOW seconds back).
    fn follow(&mut self, container: &ContainerRef, now: i64) {
        if let Some(log) = self.followed.get(&container.name) {
            if log.id == container.id {
                return;
            }
        }
        let path = log_path(&self.files.dir, &container.name);
        let committed = self.committed.get(&container.name).cloned();
        if let Some(c) = &committed {
            match recover(&path, c.file, self.files.backup_count) {
                Ok(Recovery::Clean) => {}
                Ok(Recovery::MarkNotFound) => warn!(
                    "{}: the file of the last commit is gone from {}; lines may be repeated",
                    container.name,
                    path.display()
                ),
                Ok(Recovery::Shorter { missing }) => warn!(
                    "{}: {} is {missing} bytes shorter than at the last commit (lost outside the collector)",
                    container.name,
                    path.display()
                ),
                Ok(r) => info!("{}: undid writes after the last commit: {r:?}", container.name),
                Err(e) => error!("{}: cannot check {} against the last commit: {e}", container.name, path.display()),
            }
        }
        let cursor = match &committed {
            Some(c) if c.id == container.id => c.cursor,
            _ => Cursor::starting_at(
                now - i64::try_from(self.files.default_since)
                    .unwrap_or(i64::MAX)
                    .min(now),
            ),
        };
        let mut file = RotatingFile::new(path, self.files.max_bytes, self.files.backup_count);
        let mark = match file.mark() {
            Ok(m) => m,
            Err(e) => {
                error!(
                    "{}: cannot read {}: {e}",
                    container.name,
                    file.path().display()
                );
                FileMark::default()
            }
        };
        // Committed before the first write, so a crash during the first tick is undone like any other.
        self.committed.insert(
            container.name.clone(),
            Committed {
                id: container.id.clone(),
                cursor,
                file: mark,
            },
        );
        self.state_dirty = true;
        self.followed.insert(
            container.name.clone(),
            ContainerLog {
                id: container.id.clone(),
                file,
                cursor,
                pending: [0; 3],
                pending_bytes: 0,
                failed: false,
                failing: false,
                mark: None,
                recent: 0,
                tail_ok: true,
            },
        );
    }

    /// Lets go of a container for good: its file handle and its cursor (used once it has been gone for
    /// longer than CONTAINER_RETENTION).
    pub fn forget(&mut self, container: &str) {
        if let Some(mut log) = self.followed.remove(container) {
            let _ = log.file.close();
        }
        if self.committed.remove(container).is_some() {
            self.state_dirty = true;
            self.persist();
        }
        self.unsafe_names.remove(container);
    }

    /// Fetches the new lines of every container in `visit`, writes them, and commits. Containers that
    /// are not running any more are visited this once and then let go. Returns how many containers'
    /// reads or writes failed.
    pub async fn collect(&mut self, containers: &Containers, visit: &[ContainerRef]) -> usize {
        let now = chrono::Utc::now();
        let mut wanted = Vec::with_capacity(visit.len());
        for c in visit {
            if !is_safe_name(&c.name) {
                if self.unsafe_names.insert(c.name.clone()) {
                    warn!("container name {:?} is not a valid Docker name: its logs are not collected", c.name);
                }
                continue;
            }
            self.follow(c, now.timestamp());
            wanted.push(c);
        }
        self.persist();
        let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let by_name: HashMap<&str, &ContainerRef> =
            wanted.iter().map(|c| (c.name.as_str(), *c)).collect();
        let mapping = &self.mapping;
        let files = &self.files;
        let metrics = &self.metrics;
        let reads = self
            .followed
            .iter_mut()
            .filter_map(|(name, log)| by_name.get(name.as_str()).map(|c| (*c, log)))
            .map(|(c, log)| async move {
                // A mark always belongs to this tick's read: an old one must not meet a new cursor.
                log.mark = None;
                // A stuck answer keeps what it delivered: the cursor matches the file at every await.
                let read =
                    read_new_lines(containers, c, log, mapping, files.max_line, now_ns, metrics);
                let mut ok = match tokio::time::timeout(files.read_timeout, read).await {
                    Ok(ok) => ok,
                    Err(_) => {
                        warn!(
                            "{}: reading logs took longer than ENGINE_TIMEOUT; going on next tick",
                            c.name
                        );
                        metrics.on_engine_error("timeout");
                        false
                    }
                };
                // Flushed and closed as soon as the read is done, not at the commit: only the reads in
                // flight hold a write buffer and a descriptor, not every container that logged.
                if !log.failed {
                    match log.file.mark() {
                        Ok(mark) => log.mark = Some(mark),
                        Err(e) => {
                            debug!("{}: {e}", c.name);
                            log.failed = true;
                            ok = false;
                        }
                    }
                    if let Err(e) = log.file.close() {
                        debug!("{}: close: {e}", c.name);
                    }
                }
                ok && !log.failed
            });
        let failed = futures_util::stream::iter(reads)
            .buffer_unordered(LOG_READS_AT_ONCE)
            .filter(|ok| std::future::ready(!ok))
            .count()
            .await;
        self.commit();
        for c in visit.iter().filter(|c| !c.running) {
            if let Some(mut log) = self.followed.remove(&c.name) {
                if let Err(e) = log.file.close() {
                    error!(
                        "{}: cannot close {}: {e}",
                        c.name,
                        log.file.path().display()
                    );
                }
            }
        }
        failed
    }

    /// Flushes every file, then records the cursors that the flushed lines reach. A container whose
    /// write failed is rolled back to its previous commit instead, to be fetched again next tick.
    /// Files are closed afterwards, so thousands of containers do not hold thousands of descriptors.
    pub fn commit(&mut self) {
        for (name, log) in &mut self.followed {
            if log.cursor
                == self
                    .committed
                    .get(name)
                    .map(|c| c.cursor)
                    .unwrap_or(log.cursor)
                && !log.failed
            {
                if let Err(e) = log.file.close() {
                    debug!("{name}: close: {e}");
                }
                continue;
            }
            let mark = match (log.failed, log.mark.take()) {
                (true, _) => Err(io::Error::other("an earlier write failed")),
                (false, Some(mark)) => Ok(mark),
                // The read was cut short (shutdown): where the file ends now.
                (false, None) => log.file.mark(),
            };
            match mark {
                Ok(mark) => {
                    if log.failing {
                        info!("{name}: writing {} works again", log.file.path().display());
                        log.failing = false;
                    }
                    self.committed.insert(
                        name.clone(),
                        Committed {
                            id: log.id.clone(),
                            cursor: log.cursor,
                            file: mark,
                        },
                    );
                    let mut lines = 0;
                    for level in Level::ALL {
                        let n = std::mem::take(&mut log.pending[level_index(level)]);
                        if n > 0 {
                            self.metrics.on_log_lines(name, level, n);
                            lines += n;
                        }
                    }
                    let bytes = std::mem::take(&mut log.pending_bytes);
                    if lines > 0 || bytes > 0 {
                        self.metrics.on_log_written(lines, bytes);
                    }
                    self.state_dirty = true;
                }
                Err(e) => {
                    if !log.failing {
                        error!(
                            "{name}: cannot write {}: {e}; its lines will be fetched again once writing works",
                            log.file.path().display()
                        );
                        log.failing = true;
                    }
                    if let Some(c) = self.committed.get(name) {
                        if let Err(e) = log.file.rollback(c.file) {
                            error!("{name}: cannot undo the partial write: {e}");
                        }
                        log.cursor = c.cursor;
                    }
                    log.pending = [0; 3];
                    log.pending_bytes = 0;
                    log.failed = false;
                }
            }
            if let Err(e) = log.file.close() {
                debug!("{name}: close: {e}");
            }
        }
        self.persist();
    }

    /// Writes the cursor file if anything changed since it was last written.
    fn persist(&mut self) {
        if !self.state_dirty {
            return;
        }
        let state = StateFile {
            version: 1,
            containers: self.committed.clone(),
        };
        let result = serde_json::to_vec(&state)
            .map_err(io::Error::other)
            .and_then(|bytes| write_atomically(&self.state_path, &bytes));
        match result {
            Ok(()) => self.state_dirty = false,
            Err(e) => error!(
                "cannot write the cursor file {}: {e}",
                self.state_path.display()
            ),
        }
    }

    /// The containers a previous run had cursors for: (id, name). Visiting them once at start picks
    /// up the last lines of those that stopped while the collector was not running.
    pub fn known_containers(&self) -> Vec<(String, String)> {
        self.committed
            .iter()
            .map(|(name, c)| (c.id.clone(), name.clone()))
            .collect()
    }

    /// Containers whose logs are followed now.
    pub fn followed(&self) -> impl Iterator<Item = &str> {
        self.followed.keys().map(String::as_str)
    }
}

/// Reads one container's new entries and writes its new lines. Leaves `log.cursor` matching exactly
/// what was handed to the file, at every await point, so an interrupted read can still be committed.
async fn read_new_lines(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut ContainerLog,
    mapping: &LevelMapping,
    max_line: usize,
    now_ns: i64,
    metrics: &MetricsExporter,
) -> bool {
    let rules = mapping.rules_for(&container.name);
    let path = log.file.path().display().to_string();
    let wanted = (2 * log.recent + 32).max(TAIL_MIN);
    let recent = if log.tail_ok && wanted <= TAIL_MAX {
        read_tail(containers, container, log, wanted, metrics).await
    } else {
        TailRead::Full
    };
    let mut stream = match recent {
        TailRead::Answer(entries, total) => {
            log.recent = total;
            futures_util::stream::iter(entries.into_iter().map(Ok)).boxed()
        }
        TailRead::Full => {
            log.recent = 0;
            containers
                .logs(container, log.cursor.since, None)
                .await
                .inspect(|_| log.recent += 1)
                .boxed()
        }
        TailRead::Failed => return false,
        TailRead::Gone => return true,
    };
    let mut assembler = LineAssembler::new(log.cursor).with_max_line(max_line);
    let mut line_buf = Vec::with_capacity(256);
    let file = &mut log.file;
    let pending = &mut log.pending;
    let pending_bytes = &mut log.pending_bytes;
    let mut sink = |line: Line<'_>| -> io::Result<()> {
        line_buf.clear();
        line_buf.extend_from_slice(line.text);
        line_buf.push(b'\n');
        file.write_line(&line_buf)?;
        pending[level_index(rules.classify(line.text))] += 1;
        *pending_bytes += line_buf.len() as u64;
        Ok(())
    };
    let mut ended = true;
    let mut framed = false;
    while let Some(item) = stream.next().await {
        let pushed = match item {
            Ok(LogOutput::StdOut { message }) => {
                framed = true;
                assembler.push(Chunk::Stdout(&message), &mut sink)
            }
            Ok(LogOutput::StdErr { message }) => {
                framed = true;
                assembler.push(Chunk::Stderr(&message), &mut sink)
            }
            Ok(LogOutput::Console { message }) if framed || is_cut_frame_header(&message) => {
                // The client hands the tail of a reply that ended inside a frame over as raw bytes.
                // Treat it as the end of a cut read: the cursor stays after the last whole frame
                // and the rest is asked for again next tick.
                debug!(
                    "{}: the logs reply ended inside a frame ({} bytes left over); the rest is read next tick",
                    container.name,
                    message.len()
                );
                ended = false;
                break;
            }
            Ok(LogOutput::Console { message }) => {
                assembler.push(Chunk::Console(&message), &mut sink)
            }
            Ok(LogOutput::StdIn { .. }) => Ok(()),
            Err(e) => {
                if !is_gone(&e, container, metrics) {
                    return false;
                }
                ended = false;
                break;
            }
        };
        if let Err(e) = pushed {
            if !log.failing {
                debug!("{}: cannot write {path}: {e}", container.name);
            }
            log.failed = true;
            return false;
        }
        log.cursor = assembler.position();
    }
    if !ended {
        return true;
    }
    match assembler.finish(now_ns, &mut sink) {
        Ok(next) => {
            log.cursor = next;
            true
        }
        Err(e) => {
            if !log.failing {
                debug!("{}: cannot write {path}: {e}", container.name);
            }
            log.failed = true;
            false
        }
    }
}

/// What a tail request brought.
enum TailRead {
    /// Every entry the full request (`since` = the cursor's) would have brought, in the same order,
    /// and how many entries the tail answer held in all.
    Answer(Vec<LogOutput>, usize),
    /// The tail did not reach back far enough, or cannot be told apart: ask with a full request.
    Full,
    /// The request failed (said and counted).
    Failed,
    /// The container is gone.
    Gone,
}

/// True when `e` says the container is gone (404); any other error is said and counted.
fn is_gone(
    e: &bollard::errors::Error,
    container: &ContainerRef,
    metrics: &MetricsExporter,
) -> bool {
    if matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    ) {
        return true;
    }
    warn!(
        "{}: reading logs failed: {}",
        container.name,
        crate::containers::with_causes(e)
    );
    metrics.on_engine_error(crate::containers::error_kind(e));
    false
}

/// Asks for the last `wanted` entries from a little before the cursor's `since`, instead of every
/// entry from `since` on: the engine then reads its log file from the end, not from its first line,
/// which for a large log costs it a small fraction of a full request. See [`TailWindow`] for when the
/// answer stands for the full one.
async fn read_tail(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut ContainerLog,
    wanted: usize,
    metrics: &MetricsExporter,
) -> TailRead {
    let mut window = TailWindow::new(log.cursor, wanted);
    let mut stream = containers
        .logs(container, window.request_since(), Some(wanted))
        .await;
    let mut bytes = 0usize;
    while let Some(item) = stream.next().await {
        let entry = match item {
            Ok(entry @ (LogOutput::StdOut { .. } | LogOutput::StdErr { .. })) => entry,
            Ok(LogOutput::Console { message }) => {
                // A TTY container (or a cut reply, which the full request handles).
                if window.entries == 0 && !is_cut_frame_header(&message) {
                    debug!("{}: TTY logs, read with full requests", container.name);
                    log.tail_ok = false;
                }
                return TailRead::Full;
            }
            Ok(LogOutput::StdIn { .. }) => continue,
            Err(e) => {
                return if is_gone(&e, container, metrics) {
                    TailRead::Gone
                } else {
                    TailRead::Failed
                };
            }
        };
        let message = entry.as_ref();
        bytes += message.len();
        if bytes > TAIL_MAX_BYTES {
            return TailRead::Full;
        }
        let ts = split_timestamp(message).0;
        if !window.push(ts, entry) {
            return TailRead::Full;
        }
    }
    let entries = window.entries;
    match window.finish() {
        Some(kept) => TailRead::Answer(kept, entries),
        None => TailRead::Full,
    }
}

/// Turns the answer to a tail request (the last `wanted` entries of the log, those older than
/// [`TailWindow::request_since`] left out by the engine) into the answer of the full request the
/// cursor describes, when it provably holds all of it.
///
/// It does when fewer than `wanted` entries came back: then at least one of the last `wanted`
/// entries is older than `since` minus [`TAIL_MARGIN_SECS`], and every entry written before that one
/// is older than `since`, because entries reach the log out of timestamp order by far less than
/// the margin. The entries from `since` on are then exactly the full answer. A full window, an entry
/// without a timestamp, or fewer entries than the cursor already skips say "ask in full".
#[derive(Debug)]
struct TailWindow<T> {
    cursor: Cursor,
    from_ns: i64,
    wanted: usize,
    /// Entries the answer held so far.
    entries: usize,
    kept: Vec<T>,
}

impl<T> TailWindow<T> {
    fn new(cursor: Cursor, wanted: usize) -> TailWindow<T> {
        TailWindow {
            cursor,
            from_ns: cursor.since.saturating_mul(1_000_000_000),
            wanted,
            entries: 0,
            kept: Vec::new(),
        }
    }

    /// The `since` of the tail request, in unix seconds.
    fn request_since(&self) -> i64 {
        self.cursor.since.saturating_sub(TAIL_MARGIN_SECS)
    }

    /// The next entry of the answer, with its timestamp; false when the answer cannot be used.
    fn push(&mut self, ts: Option<i64>, entry: T) -> bool {
        self.entries += 1;
        match ts {
            Some(ts) if ts >= self.from_ns => self.kept.push(entry),
            Some(_) => {}
            None => return false,
        }
        self.entries < self.wanted
    }

    /// The full answer, or `None` when a full request is needed.
    fn finish(self) -> Option<Vec<T>> {
        (self.entries < self.wanted && self.kept.len() as u64 >= self.cursor.skip)
            .then_some(self.kept)
    }
}

/// The first bytes of a multiplexed frame header (stream 0-2, then three zero bytes), cut before its
/// eighth byte: what a reply that ended inside a header leaves over.
fn is_cut_frame_header(bytes: &[u8]) -> bool {
    bytes.len() < 8
        && bytes.first().is_some_and(|b| *b <= 2)
        && bytes.iter().skip(1).take(3).all(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a tail request would make of `log` (timestamps in file order): the engine takes the
    /// last `wanted` entries, then leaves out those before the request's `since`.
    fn through_tail(log: &[i64], cursor: Cursor, wanted: usize) -> Option<Vec<usize>> {
        let mut window = TailWindow::new(cursor, wanted);
        let from = window.request_since() * 1_000_000_000;
        for (i, ts) in log
            .iter()
            .enumerate()
            .skip(log.len().saturating_sub(wanted))
        {
            if *ts >= from && !window.push(Some(*ts), i) {
                return None;
            }
        }
        window.finish()
    }

    proptest! {
        /// A tail answer is taken only when it is exactly the full answer, whatever the log, the
        /// cursor and the window (every window size is tried); entries reach the log up to 0.9 s
        /// after their timestamp (stdout and stderr out of order). And it is taken whenever the
        /// window holds the whole log.
        #[test]
        fn a_tail_answer_stands_for_the_full_one_only_when_it_is_the_same(
            steps in proptest::collection::vec((0i64..700_000_000, 0i64..900_000_000), 0..300),
            since in 0i64..150,
            skip in 0u64..12,
        ) {
            let base = 1_700_000_000i64;
            let mut written = base * 1_000_000_000;
            let log: Vec<i64> = steps
                .iter()
                .map(|(step, late)| {
                    written += step;
                    written - late
                })
                .collect();
            let cursor = Cursor { since: base + since, skip };
            let full: Vec<usize> = (0..log.len())
                .filter(|i| log[*i] >= cursor.since * 1_000_000_000)
                .collect();
            for wanted in 1..=log.len() + 1 {
                let tail = through_tail(&log, cursor, wanted);
                if let Some(answer) = &tail {
                    prop_assert_eq!(answer, &full, "window {}", wanted);
                }
                if wanted > log.len() && full.len() as u64 >= skip {
                    prop_assert!(tail.is_some());
                }
            }
        }
    }

    #[test]
    fn tail_windows_give_up_on_entries_without_timestamps_and_on_short_answers() {
        let cursor = Cursor {
            since: 100,
            skip: 2,
        };
        let mut w = TailWindow::new(cursor, 10);
        assert_eq!(w.request_since(), 100 - TAIL_MARGIN_SECS);
        assert!(!w.push(None, 0), "no timestamp: ask in full");
        let mut w = TailWindow::new(cursor, 10);
        assert!(w.push(Some(99_000_000_000), 0));
        assert!(w.push(Some(100_000_000_000), 1));
        assert_eq!(
            w.finish(),
            None,
            "one entry from since on, two already skipped"
        );
        let mut w = TailWindow::new(cursor, 2);
        assert!(w.push(Some(100_000_000_000), 0));
        assert!(!w.push(Some(101_000_000_000), 1), "the window is full");
    }

    #[test]
    fn cut_frame_headers_are_recognised() {
        assert!(is_cut_frame_header(&[1]));
        assert!(is_cut_frame_header(&[2, 0, 0, 0, 0, 0]));
        assert!(is_cut_frame_header(&[1, 0, 0, 0, 0, 0, 0x31]));
        assert!(!is_cut_frame_header(b"hello"));
        assert!(
            !is_cut_frame_header(&[1, 0, 0, 0, 0, 0, 0, 9]),
            "a whole header"
        );
        assert!(!is_cut_frame_header(&[3, 0, 0]));
        assert!(!is_cut_frame_header(&[1, 0, 7]));
        assert!(!is_cut_frame_header(&[]));
    }

    #[test]
    fn names_that_could_escape_logs_dir_are_refused() {
        for ok in ["t1", "my-app_1.web", "A", "0abc"] {
            assert!(is_safe_name(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", "../etc", "a/b", "/abs", ".hidden", "-x", "a\0b", "é",
        ] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_containers_log_lives_in_its_own_directory() {
        assert_eq!(
            log_path(Path::new("/tmp/logs"), "web"),
            PathBuf::from("/tmp/logs/web/web.log")
        );
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        write_atomically(&p, b"one").expect("write");
        write_atomically(&p, b"two").expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert!(!dir.path().join("f.tmp").exists());
    }
}
