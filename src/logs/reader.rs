//! One container's read in a tick: its new entries, joined into lines, classified and handed to its
//! file.
//!
//! From the engine's json-file files when CONTAINER_LOGS_ROOT shows them (see [`super::engine_files`]),
//! else from the engine. There a read asks for the last entries of the log only (`tail`), which the
//! engine reads from the end of its file, and uses that answer when it provably holds every entry the
//! cursor's full request would bring (see [`TailWindow`]); otherwise it makes the full request, for
//! which the engine reads the log from its first line.

use std::io;
use std::path::{Path, PathBuf};

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tracing::{debug, info, warn};

use super::container::{Followed, Pending, Source, TickStart};
use super::cursor::{split_timestamp, Cursor, Line, LineAssembler, Stream};
use super::engine_files::{self, FilesCursor, Found};
use super::levels::{LevelMapping, Rules};
use super::patterns::{LogPatterns, PatternSet};
use super::rotating_file::RotatingFile;
use super::TARGET;
use crate::container::ContainerRef;
use crate::engine::{Containers, EngineError, LogChunk};
use crate::say_once::Latch;

/// A tail request starts this many seconds before the cursor's `since`, so that it sees entries older
/// than the cursor: stdout and stderr entries reach the engine's log file slightly out of timestamp
/// order, never by this much.
const TAIL_MARGIN_SECS: i64 = 5;
/// Entries a tail request asks for at least, and at most: a container that logs more than this per
/// tick is read with a full request.
const TAIL_MIN: usize = 256;
const TAIL_MAX: usize = 4096;
/// Bytes of a tail answer held in memory before it is given up for a full request (which is
/// written as it arrives). With the exporter's 32 reads at once, at most 8 MiB are held at once.
const TAIL_MAX_BYTES: usize = 256 * 1024;

/// Hands whole lines to a container's file: counts them by level for the commit and notes where the
/// tick's first line starts, for the time index.
struct LineWriter<'a> {
    file: &'a mut RotatingFile,
    pending: &'a mut Pending,
    tick_first: &'a mut Option<TickStart>,
    rules: &'a Rules,
    patterns: &'a PatternSet,
    buf: Vec<u8>,
    /// The timestamp of the entry being pushed.
    entry_ts: Option<i64>,
}

impl<'a> LineWriter<'a> {
    /// Writes to `file`, counting into `pending` by `rules` and `patterns`. (The fields of a
    /// [`Followed`], borrowed one by one so that its cursor stays free to move.)
    fn new(
        file: &'a mut RotatingFile,
        pending: &'a mut Pending,
        tick_first: &'a mut Option<TickStart>,
        (rules, patterns): (&'a Rules, &'a PatternSet),
    ) -> LineWriter<'a> {
        LineWriter {
            file,
            pending,
            tick_first,
            rules,
            patterns,
            buf: Vec::with_capacity(256),
            entry_ts: None,
        }
    }

    fn write(&mut self, line: Line<'_>) -> io::Result<()> {
        self.buf.clear();
        self.buf.extend_from_slice(line.text);
        self.buf.push(b'\n');
        self.file.write_line(&self.buf)?;
        if self.tick_first.is_none() {
            let (rotations, offset) = self.file.last_line_at();
            *self.tick_first = Some(TickStart {
                ts: self.entry_ts,
                rotations,
                offset,
            });
        }
        self.pending
            .line(self.rules.classify(line.text), self.buf.len());
        self.pending.match_line(self.patterns, line.text);
        Ok(())
    }
}

/// Reads one container's new entries and writes its new lines: from the engine's json-file files
/// under `files_root` when it is given and the container's file is readable there, else from the
/// engine. Leaves `log.cursor` (and `log.files`) matching exactly what was handed to the file, at
/// every await point, so an interrupted read can still be committed. Returns false when the read or
/// a write failed.
pub(super) async fn read_new_lines(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
    reading: &Reading<'_>,
    now_ns: i64,
) -> bool {
    // A container that stopped writes nothing more: a last line without its line end is complete.
    let now_ns = if container.running { now_ns } else { i64::MAX };
    if let Some(root) = reading.files_root {
        if let Some(ok) = try_files(containers, container, log, reading, root, now_ns).await {
            return ok;
        }
        // The engine path goes on from the engine cursor the files path kept valid.
        log.files = None;
    }
    log.source = Some(Source::Engine);
    read_from_engine(containers, container, log, reading, now_ns).await
}

/// Reads from the engine's json-file files when the engine shows the container's file under `root`
/// and it can be read: the read's outcome, or `None` when the engine is to be asked instead.
async fn try_files(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
    reading: &Reading<'_>,
    root: &Path,
    now_ns: i64,
) -> Option<bool> {
    match containers.log_file(container).await {
        Ok(found) => {
            if let Some(path) = found.path.as_deref().and_then(|p| under_root(root, p)) {
                match read_from_files(container, log, reading, &path, found.tty, now_ns) {
                    Ok(ok) => {
                        log.source = Some(Source::Files);
                        return Some(ok);
                    }
                    // A container removed since the list: its files went with it.
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !container.running => {
                        debug!(target: TARGET, "{}: {}: {e}", container.name, path.display());
                    }
                    Err(e) => {
                        if reading.unreadable_said.first() {
                            info!(
                                target: TARGET,
                                "{}: cannot read the engine's log file {}: {e}; such logs are asked from the engine (said once)",
                                container.name,
                                path.display()
                            );
                        }
                    }
                }
            }
        }
        Err(e) if e.is_gone() => return Some(true),
        Err(e) => debug!(target: TARGET, "{}: inspect failed: {e}", container.name),
    }
    None
}

/// What every read of a tick shares: the level rules, the longest line, where the engine's files
/// are seen.
pub(super) struct Reading<'a> {
    pub(super) mapping: &'a LevelMapping,
    /// LOG_PATTERNS_PATH's patterns (none when it is not set).
    pub(super) patterns: &'a LogPatterns,
    pub(super) max_line: usize,
    /// CONTAINER_LOGS_ROOT, when it is usable.
    pub(super) files_root: Option<&'a Path>,
    /// Said once: a container's file could not be read.
    pub(super) unreadable_said: &'a Latch,
}

impl<'a> Reading<'a> {
    /// A container's level rules and patterns.
    fn rules_for(&self, container: &str) -> (&'a Rules, &'a PatternSet) {
        (
            self.mapping.rules_for(container),
            self.patterns.for_container(container),
        )
    }
}

/// The engine's `log_path` (on its host) as seen under `root`: `<root>/<its directory>/<its name>`.
/// `None` unless both are plain names.
fn under_root(root: &Path, log_path: &Path) -> Option<PathBuf> {
    let name = log_path.file_name()?;
    let dir = log_path.parent()?.file_name()?;
    let plain = |part: &std::ffi::OsStr| {
        let mut c = Path::new(part).components();
        matches!(
            (c.next(), c.next()),
            (Some(std::path::Component::Normal(_)), None)
        )
    };
    (plain(dir) && plain(name)).then(|| root.join(dir).join(name))
}

/// Bytes of the engine's files read for one container in one tick, at most (then at the next whole
/// line): a backlog of hours is taken over several ticks instead of holding up one for long, while
/// a container that logs over 10 MB/s still keeps up at the default 5 s tick.
const FILES_READ_BUDGET: u64 = 64 * 1024 * 1024;

/// Reads the container's new entries from the engine's json-file files at `path`. `Err` when they
/// cannot be read (the engine is asked instead); `Ok(false)` when a write failed.
fn read_from_files(
    container: &ContainerRef,
    log: &mut Followed,
    reading: &Reading<'_>,
    path: &Path,
    tty: bool,
    now_ns: i64,
) -> io::Result<bool> {
    let start = match log.files {
        Some(files) => files,
        // Coming from the engine path (or a first read): the same place in the files.
        None => engine_files::position_of(path, log.cursor)?,
    };
    let mut writer = LineWriter::new(
        &mut log.file,
        &mut log.pending,
        &mut log.tick_first,
        reading.rules_for(container.name.as_str()),
    );
    let (done, read, failed) =
        copy_entries(&mut writer, reading.max_line, path, start, tty, now_ns);
    if let Some(e) = failed {
        return Ok(write_failed(container, log, &e));
    }
    // Also when the read broke off (the engine is asked instead, from here): the lines handed out
    // so far are the file's, and neither path may bring them again. Nothing handed out: the cursors
    // stay as they were.
    if read.is_ok() || done != start {
        log.files = Some(done);
        log.cursor = done.engine_cursor();
    }
    let found = read?;
    if found.cursor_file_gone {
        say_files_lost(container, &log.files_lost_said);
    }
    Ok(true)
}

/// Hands the entries after `start` in the engine's files at `path` to `writer` as whole lines,
/// until [`FILES_READ_BUDGET`] bytes were read and no line is left half done. Returns where the
/// last line handed out ends, what the read found, and the write error that stopped it, if any.
fn copy_entries(
    writer: &mut LineWriter<'_>,
    max_line: usize,
    path: &Path,
    start: FilesCursor,
    tty: bool,
    now_ns: i64,
) -> (FilesCursor, io::Result<Found>, Option<io::Error>) {
    let mut assembler = LineAssembler::new(Cursor::starting_at(i64::MIN)).with_max_line(max_line);
    // `taken` goes with every entry read; `done` only up to where every line was handed out.
    let mut taken = start;
    let mut done = start;
    let mut failed = None;
    let mut read = 0u64;
    let mut each = |place: engine_files::Place, entry: Option<engine_files::Entry<'_>>| {
        // The entry's bytes: from the previous entry's end in the same file, else from its start.
        let from = if place.head == taken.head {
            taken.offset
        } else {
            0
        };
        read += place.offset.saturating_sub(from);
        let ts = entry.as_ref().and_then(|e| e.ts);
        if let Some(entry) = &entry {
            let stream = match (tty, entry.stderr) {
                (true, _) => Stream::Console,
                (false, true) => Stream::Stderr,
                (false, false) => Stream::Stdout,
            };
            writer.entry_ts = ts;
            if let Err(e) =
                assembler.push_entry(stream, ts, entry.text.as_bytes(), &mut |l| writer.write(l))
            {
                failed = Some(e);
                return false;
            }
        }
        taken.took(place.head, place.offset, ts);
        if !assembler.holding() {
            done = taken;
        }
        read < FILES_READ_BUDGET || assembler.holding()
    };
    let read = engine_files::read_after(path, &start, &mut each);
    if failed.is_none() && read.is_ok() {
        if let Err(e) = assembler.complete_stale(now_ns, &mut |l| writer.write(l)) {
            failed = Some(e);
        } else if !assembler.holding() {
            done = taken;
        }
    }
    (done, read, failed)
}

/// The engine deleted files of the container's log before they were read to their end: a warning
/// the first time for the container (`said`), then a line at debug level.
fn say_files_lost(container: &ContainerRef, said: &Latch) {
    if said.first() {
        warn!(
            target: TARGET,
            "{}: the engine deleted log files before all their lines were read (more rotations than max-file while the collector was down, or max-file=1); those lines are lost (said once for this container)",
            container.name
        );
    } else {
        debug!(target: TARGET, "{}: the engine deleted log files before they were read again", container.name);
    }
}

/// A write to the container's file failed: said (at debug level: the commit says it once) and kept,
/// so the commit undoes the tick's writes. Returns false, the read's outcome.
fn write_failed(container: &ContainerRef, log: &mut Followed, e: &io::Error) -> bool {
    if !log.failing.said() {
        debug!(
            target: TARGET,
            "{}: cannot write {}: {e}",
            container.name,
            log.file.path().display()
        );
    }
    log.failed = true;
    false
}

/// Reads the container's new entries from the engine's logs endpoint.
async fn read_from_engine(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
    reading: &Reading<'_>,
    now_ns: i64,
) -> bool {
    let (mut stream, counting) = match entries(containers, container, log).await {
        Ok(entries) => entries,
        Err(ok) => return ok,
    };
    let mut assembler = LineAssembler::new(log.cursor).with_max_line(reading.max_line);
    let mut writer = LineWriter::new(
        &mut log.file,
        &mut log.pending,
        &mut log.tick_first,
        reading.rules_for(container.name.as_str()),
    );
    let mut framed = false;
    while let Some(item) = stream.next().await {
        log.recent += usize::from(counting);
        if let Ok(chunk) = &item {
            writer.entry_ts = split_timestamp(chunk.as_ref()).0;
        }
        let mut sink = |l: Line<'_>| writer.write(l);
        let pushed = match item {
            Ok(chunk @ (LogChunk::Stdout(_) | LogChunk::Stderr(_))) => {
                framed = true;
                assembler.push(chunk.view(), &mut sink)
            }
            Ok(LogChunk::Console(message)) if framed || is_cut_frame_header(&message) => {
                say_cut_reply(container, &message);
                return true;
            }
            Ok(chunk @ LogChunk::Console(_)) => assembler.push(chunk.view(), &mut sink),
            Err(e) => return is_gone(&e, container, &mut log.engine_errors),
        };
        if let Err(e) = pushed {
            return write_failed(container, log, &e);
        }
        log.cursor = assembler.position();
    }
    match assembler.finish(now_ns, &mut |l| writer.write(l)) {
        Ok(next) => {
            log.cursor = next;
            true
        }
        Err(e) => write_failed(container, log, &e),
    }
}

/// The client hands the tail of a reply that ended inside a frame over as raw bytes (`rest`). It
/// is the end of a cut read: the cursor stays after the last whole frame and the rest is asked for
/// again next tick.
fn say_cut_reply(container: &ContainerRef, rest: &[u8]) {
    debug!(
        target: TARGET,
        "{}: the logs reply ended inside a frame ({} bytes left over); the rest is read next tick",
        container.name,
        rest.len()
    );
}

/// The entries from the cursor on: the answer of a tail request when it stands for the full one,
/// else a full request, and whether its entries are still to be counted (to size the next tail
/// request). `Err` with the read's outcome when the request failed or the container is gone.
async fn entries(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
) -> Result<(BoxStream<'static, Result<LogChunk, EngineError>>, bool), bool> {
    let wanted = (2 * log.recent + 32).max(TAIL_MIN);
    let recent = if log.tail_ok && wanted <= TAIL_MAX {
        read_tail(containers, container, log, wanted).await
    } else {
        TailRead::Full
    };
    // A full answer's entries are counted as they come, to size the next tail request.
    let mut counting = false;
    let stream = match recent {
        TailRead::Answer(entries, total) => {
            log.recent = total;
            futures_util::stream::iter(entries.into_iter().map(Ok)).boxed()
        }
        TailRead::Full => {
            log.recent = 0;
            counting = true;
            containers
                .logs(container, log.cursor.since, None)
                .await
                .boxed()
        }
        TailRead::Failed => return Err(false),
        TailRead::Gone => return Err(true),
    };
    Ok((stream, counting))
}

/// What a tail request brought.
enum TailRead {
    /// Every entry the full request (`since` = the cursor's) would have brought, in the same order,
    /// and how many entries the tail answer held in all.
    Answer(Vec<LogChunk>, usize),
    /// The tail did not reach back far enough, or cannot be told apart: ask with a full request.
    Full,
    /// The request failed (said, and kept for the report).
    Failed,
    /// The container is gone.
    Gone,
}

/// True when `e` says the container is gone; any other error is said, and its kind kept in `errors`
/// for the next report.
fn is_gone(e: &EngineError, container: &ContainerRef, errors: &mut Vec<&'static str>) -> bool {
    if e.is_gone() {
        return true;
    }
    warn!(target: TARGET, "{}: reading logs failed: {e}", container.name);
    errors.push(e.kind());
    false
}

/// Asks for the last `wanted` entries from a little before the cursor's `since`, instead of every
/// entry from `since` on: the engine then reads its log file from the end, not from its first line,
/// which for a large log costs it a small fraction of a full request. See [`TailWindow`] for when the
/// answer stands for the full one.
async fn read_tail(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
    wanted: usize,
) -> TailRead {
    let mut window = TailWindow::new(log.cursor, wanted);
    let mut stream = containers
        .logs(container, window.request_since(), Some(wanted))
        .await;
    let mut bytes = 0usize;
    while let Some(item) = stream.next().await {
        let chunk = match item {
            Ok(chunk @ (LogChunk::Stdout(_) | LogChunk::Stderr(_))) => chunk,
            Ok(LogChunk::Console(message)) => {
                // A TTY container (or a cut reply, which the full request handles).
                if window.entries == 0 && !is_cut_frame_header(&message) {
                    debug!(target: TARGET, "{}: TTY logs, read with full requests", container.name);
                    log.tail_ok = false;
                }
                return TailRead::Full;
            }
            Err(e) => {
                return if is_gone(&e, container, &mut log.engine_errors) {
                    TailRead::Gone
                } else {
                    TailRead::Failed
                };
            }
        };
        let message = chunk.as_ref();
        bytes += message.len();
        if bytes > TAIL_MAX_BYTES {
            return TailRead::Full;
        }
        let ts = split_timestamp(message).0;
        if !window.push(ts, chunk) {
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
mod tests;
