//! One container's read from the engine in a tick: its new entries, joined into lines, classified and
//! handed to its file.
//!
//! A read asks the engine for the last entries of the log only (`tail`), which it reads from the end
//! of its file, and uses that answer when it provably holds every entry the cursor's full request
//! would bring (see [`TailWindow`]); otherwise it makes the full request, for which the engine reads
//! the log from its first line.

use std::io;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tracing::{debug, warn};

use super::cursor::{split_timestamp, Chunk, Cursor, Line, LineAssembler};
use super::exporter::{Followed, TickStart};
use std::sync::atomic::Ordering::Relaxed;

/// No timestamp, in the atomic that holds the entry's.
const NO_TS: i64 = i64::MIN;
use super::levels::LevelMapping;
use super::TARGET;
use crate::container::ContainerRef;
use crate::engine::{Containers, EngineError, LogChunk};

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

/// One entry of a logs answer, in the reader's terms.
enum Entry {
    /// A frame of the container's standard output.
    Stdout(Bytes),
    /// A frame of its standard error.
    Stderr(Bytes),
    /// Bytes without a frame: a TTY container's raw output, or what is left of a reply cut inside
    /// a frame's header.
    Console(Bytes),
}

impl Entry {
    /// The entry's bytes, its timestamp first for a frame.
    fn message(&self) -> &[u8] {
        match self {
            Entry::Stdout(message) | Entry::Stderr(message) | Entry::Console(message) => message,
        }
    }
}

/// The container's log entries from `since` on (the last `tail` of them, if given), as [`Entry`]s.
/// The one place that knows the engine client's own types.
async fn engine_logs(
    containers: &Containers,
    container: &ContainerRef,
    since: i64,
    tail: Option<usize>,
) -> impl Stream<Item = Result<Entry, EngineError>> + Send + Unpin + 'static {
    containers.logs(container, since, tail).await.map(|item| {
        item.map(|chunk| match chunk {
            LogChunk::Stdout(message) => Entry::Stdout(message),
            LogChunk::Stderr(message) => Entry::Stderr(message),
            LogChunk::Console(message) => Entry::Console(message),
        })
    })
}

/// Reads one container's new entries and writes its new lines. Leaves `log.cursor` matching exactly
/// what was handed to the file, at every await point, so an interrupted read can still be committed.
/// Returns false when the read or a write failed.
pub(super) async fn read_new_lines(
    containers: &Containers,
    container: &ContainerRef,
    log: &mut Followed,
    mapping: &LevelMapping,
    max_line: usize,
    now_ns: i64,
) -> bool {
    let rules = mapping.rules_for(&container.name);
    let path = log.file.path().display().to_string();
    let wanted = (2 * log.recent + 32).max(TAIL_MIN);
    let recent = if log.tail_ok && wanted <= TAIL_MAX {
        read_tail(containers, container, log, wanted).await
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
            engine_logs(containers, container, log.cursor.since, None)
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
    let tick_first = &mut log.tick_first;
    // The timestamp of the entry being pushed: that of the tick's first line, for the time index.
    // (An atomic, not a Cell, so that the read stays Send: the collector runs as a spawned task.)
    let entry_ts = std::sync::atomic::AtomicI64::new(NO_TS);
    let mut sink = |line: Line<'_>| -> io::Result<()> {
        line_buf.clear();
        line_buf.extend_from_slice(line.text);
        line_buf.push(b'\n');
        file.write_line(&line_buf)?;
        if tick_first.is_none() {
            let (rotations, offset) = file.last_line_at();
            *tick_first = Some(TickStart {
                ts: Some(entry_ts.load(Relaxed)).filter(|ts| *ts != NO_TS),
                rotations,
                offset,
            });
        }
        pending.line(rules.classify(line.text), line_buf.len());
        Ok(())
    };
    let mut ended = true;
    let mut framed = false;
    while let Some(item) = stream.next().await {
        if let Ok(entry) = &item {
            entry_ts.store(split_timestamp(entry.message()).0.unwrap_or(NO_TS), Relaxed);
        }
        let pushed = match item {
            Ok(Entry::Stdout(message)) => {
                framed = true;
                assembler.push(Chunk::Stdout(&message), &mut sink)
            }
            Ok(Entry::Stderr(message)) => {
                framed = true;
                assembler.push(Chunk::Stderr(&message), &mut sink)
            }
            Ok(Entry::Console(message)) if framed || is_cut_frame_header(&message) => {
                // The client hands the tail of a reply that ended inside a frame over as raw bytes.
                // Treat it as the end of a cut read: the cursor stays after the last whole frame
                // and the rest is asked for again next tick.
                debug!(
                    target: TARGET,
                    "{}: the logs reply ended inside a frame ({} bytes left over); the rest is read next tick",
                    container.name,
                    message.len()
                );
                ended = false;
                break;
            }
            Ok(Entry::Console(message)) => assembler.push(Chunk::Console(&message), &mut sink),
            Err(e) => {
                if !is_gone(&e, container, &mut log.engine_errors) {
                    return false;
                }
                ended = false;
                break;
            }
        };
        if let Err(e) = pushed {
            if !log.failing {
                debug!(target: TARGET, "{}: cannot write {path}: {e}", container.name);
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
                debug!(target: TARGET, "{}: cannot write {path}: {e}", container.name);
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
    Answer(Vec<Entry>, usize),
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
    let mut stream = engine_logs(containers, container, window.request_since(), Some(wanted)).await;
    let mut bytes = 0usize;
    while let Some(item) = stream.next().await {
        let entry = match item {
            Ok(entry @ (Entry::Stdout(_) | Entry::Stderr(_))) => entry,
            Ok(Entry::Console(message)) => {
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
        let message = entry.message();
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
mod tests;
