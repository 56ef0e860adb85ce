//! Turns one logs answer of the engine into whole lines, and keeps the cursor that makes every line
//! written exactly once across polls, restarts and crashes.
//!
//! The engine answers `GET /containers/{id}/logs?timestamps=1&since=S` with every entry of the
//! container's log whose timestamp is `>= S`, in the order of its own log file. An entry is one line, or
//! a 16 KiB piece of a longer line (only the last piece ends with `\n`). stdout and stderr entries may be
//! slightly out of timestamp order, so lines are never skipped by comparing timestamps: the [`Cursor`]
//! says "ask with `since`, and the first `skip` entries of that answer are already written". Because the
//! log is append-only, the answer to the same `since` only ever grows at its end, so the skip stays valid.
//!
//! After an answer has been read to its end the cursor moves forward to one second before the newest
//! entry, so requests stay small; `skip` then counts the entries at or after that second. A line that is
//! still incomplete at the end of an answer (its last piece not yet logged) is held back, and every
//! later line with it, so the cursor never has to describe a hole.

use serde::{Deserialize, Serialize};

use crate::engine::LogChunk;

/// A line piece without its continuation is completed anyway once it is this old: a program that
/// printed a prompt without a newline must not hold back its container's log forever.
const STALE_PARTIAL_NS: i64 = 2_000_000_000;

/// The longest line handed out unless [`LineAssembler::with_max_line`] says otherwise: 1 MiB, as other
/// collectors cut at.
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

/// Appends `more` to `text` up to `cap` bytes, counting what had to be left out.
fn append_capped(text: &mut Vec<u8>, dropped: &mut u64, more: &[u8], cap: usize) {
    let room = cap.saturating_sub(text.len());
    let (kept, cut) = more.split_at(room.min(more.len()));
    text.extend_from_slice(kept);
    *dropped += cut.len() as u64;
}

/// The marker that ends a line cut at the cap.
pub fn cut_marker(dropped: u64) -> String {
    format!(" [line cut: {dropped} more bytes]")
}

/// Hands out `text` as lines. An engine entry is one line, but a broken engine could put line ends
/// inside one: each part then becomes a line of its own, so no written line holds a line end.
fn emit<E>(
    stream: Stream,
    text: &[u8],
    sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
) -> Result<(), E> {
    for part in text.split(|b| *b == b'\n') {
        sink(Line { stream, text: part })?;
    }
    Ok(())
}

fn with_marker(mut text: Vec<u8>, dropped: u64) -> Vec<u8> {
    if dropped > 0 {
        text.extend_from_slice(cut_marker(dropped).as_bytes());
    }
    text
}

/// Where the next logs request starts and how many entries of its answer are already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Unix seconds sent as the request's `since` (inclusive).
    pub since: i64,
    /// Entries at the start of that answer that were already written.
    pub skip: u64,
}

impl Cursor {
    /// A cursor that takes every entry from `since` on.
    pub fn starting_at(since: i64) -> Cursor {
        Cursor { since, skip: 0 }
    }
}

/// Which output of the container a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output of a container without a TTY.
    Stdout,
    /// Standard error of a container without a TTY.
    Stderr,
    /// The TTY of a container started with `-t` (stdout and stderr merged, lines end with `\r\n`).
    Console,
}

/// One whole line, without the engine's timestamp and without its line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Where it came from.
    pub stream: Stream,
    /// The bytes the container wrote (not necessarily UTF-8).
    pub text: &'a [u8],
}

/// An incomplete line of one stream.
#[derive(Debug)]
struct Partial {
    /// Index of its first entry in the answer.
    first: u64,
    text: Vec<u8>,
    /// Bytes left out because the line is longer than the cap.
    dropped: u64,
    last_ts: Option<i64>,
}

/// Reads one logs answer, entry by entry, and hands out whole lines past the cursor.
#[derive(Debug)]
pub struct LineAssembler {
    start: Cursor,
    /// Entries of the answer seen so far, skipped ones included.
    seen: u64,
    /// Index of the first entry of the oldest line not handed out yet, while any line is incomplete.
    hold_from: Option<u64>,
    /// Incomplete lines: stdout, stderr, console.
    partial: [Option<Partial>; 3],
    /// Complete lines held back behind an incomplete one, with the index of their first entry.
    held: Vec<(u64, Stream, Vec<u8>)>,
    /// Console bytes not yet ending in `\n`, and how many were left out beyond the cap.
    console: Vec<u8>,
    console_dropped: u64,
    /// The longest line handed out.
    max_line: usize,
    /// Newest whole second among the entries, and how many entries fell in it and in the second before.
    newest_sec: Option<i64>,
    in_newest: u64,
    in_before_newest: u64,
    /// Newest timestamp in nanoseconds, for the staleness of incomplete lines.
    newest_ns: Option<i64>,
}

fn slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
        Stream::Console => 2,
    }
}

const SLOT_STREAMS: [Stream; 3] = [Stream::Stdout, Stream::Stderr, Stream::Console];

/// Parses the engine's RFC3339Nano timestamp into unix nanoseconds.
pub fn parse_timestamp(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    t.timestamp_nanos_opt()
}

/// Splits an entry's payload into its timestamp (if it has a valid one) and the text after it.
pub fn split_timestamp(payload: &[u8]) -> (Option<i64>, &[u8]) {
    // The engine writes a fixed-width timestamp (30 bytes for UTC); allow other offsets and widths.
    let limit = payload.len().min(40);
    if let Some(space) = payload[..limit].iter().position(|b| *b == b' ') {
        if let Some(ts) = parse_timestamp(&payload[..space]) {
            return (Some(ts), &payload[space + 1..]);
        }
    }
    (None, payload)
}

impl LineAssembler {
    /// Starts reading the answer to a request made with `start.since`.
    pub fn new(start: Cursor) -> LineAssembler {
        LineAssembler {
            start,
            seen: 0,
            hold_from: None,
            partial: [None, None, None],
            held: Vec::new(),
            console: Vec::new(),
            console_dropped: 0,
            max_line: DEFAULT_MAX_LINE,
            newest_sec: None,
            in_newest: 0,
            in_before_newest: 0,
            newest_ns: None,
        }
    }

    /// Cuts lines longer than `bytes` (at least 1) and ends them with [`cut_marker`], so one endless
    /// line cannot exhaust memory.
    pub fn with_max_line(mut self, bytes: usize) -> LineAssembler {
        self.max_line = bytes.max(1);
        self
    }

    /// The cursor that describes what has been handed out so far. Valid at any moment, also when the
    /// answer breaks off: it never counts an entry whose line was not handed out.
    pub fn position(&self) -> Cursor {
        Cursor {
            since: self.start.since,
            // Entries before the start's skip stay written even when this answer broke off before them.
            skip: self.hold_from.unwrap_or(self.seen).max(self.start.skip),
        }
    }

    /// Feeds one piece of the answer, as the engine client decoded it: a stdout or stderr chunk is
    /// one multiplexed frame, so exactly one engine entry; a console chunk is raw bytes of a TTY
    /// container's answer, whose entries end with `\n` while chunk borders fall anywhere. Every line
    /// it completes goes to `sink`.
    pub fn push<E>(
        &mut self,
        chunk: LogChunk<&[u8]>,
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match chunk {
            LogChunk::Stdout(payload) => self.entry(Stream::Stdout, payload, sink),
            LogChunk::Stderr(payload) => self.entry(Stream::Stderr, payload, sink),
            LogChunk::Console(bytes) => {
                let mut rest = bytes;
                while let Some(nl) = memchr::memchr(b'\n', rest) {
                    let (piece, after) = rest.split_at(nl + 1);
                    rest = after;
                    if self.console.is_empty() {
                        self.entry(Stream::Console, piece, sink)?;
                    } else {
                        let mut whole = std::mem::take(&mut self.console);
                        let dropped = std::mem::take(&mut self.console_dropped);
                        if dropped > 0 {
                            // The entry was cut already: end it with the marker and its line end.
                            let more = dropped + piece.len() as u64 - 1;
                            whole.extend_from_slice(cut_marker(more).as_bytes());
                            whole.push(b'\n');
                        } else {
                            whole.extend_from_slice(piece);
                        }
                        self.entry(Stream::Console, &whole, sink)?;
                    }
                }
                // The cap plus room for the timestamp the entry starts with.
                let cap = self.max_line + 64;
                append_capped(&mut self.console, &mut self.console_dropped, rest, cap);
                Ok(())
            }
        }
    }

    /// Ends the answer: completes lines whose last piece is older than two seconds before `now_ns`,
    /// hands out what can be, and returns the cursor for the next request.
    pub fn finish<E>(
        mut self,
        now_ns: i64,
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<Cursor, E> {
        self.complete_stale(now_ns, sink)?;
        if self.hold_from.is_some() {
            return Ok(self.position());
        }
        let newest = match self.newest_sec {
            Some(s) => s,
            None => return Ok(self.position()),
        };
        let since = self.start.since.max(newest - 1);
        if since == self.start.since {
            return Ok(self.position());
        }
        // `since` is now the second before the newest one: every entry of this answer in those two
        // seconds was handed out, and the next answer starts with exactly those.
        Ok(Cursor {
            since,
            skip: self.in_newest + self.in_before_newest,
        })
    }

    /// Whether a line is incomplete, holding back itself and the lines after it.
    pub fn holding(&self) -> bool {
        self.hold_from.is_some()
    }

    /// Completes the lines whose last piece is older than two seconds before `now_ns` (a program
    /// that printed without a line end), and hands out what can be.
    pub fn complete_stale<E>(
        &mut self,
        now_ns: i64,
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // A TTY answer that ends without `\n` ends with one entry that is a line piece.
        if !self.console.is_empty() {
            let dropped = std::mem::take(&mut self.console_dropped);
            let piece = with_marker(std::mem::take(&mut self.console), dropped);
            self.entry(Stream::Console, &piece, sink)?;
        }
        for stream in SLOT_STREAMS {
            let pending = &mut self.partial[slot(stream)];
            let stale = pending.as_ref().is_some_and(|p| {
                p.last_ts
                    .is_none_or(|ts| now_ns.saturating_sub(ts) > STALE_PARTIAL_NS)
            });
            if let Some(p) = pending.take_if(|_| stale) {
                self.complete(p.first, stream, with_marker(p.text, p.dropped), sink)?;
            }
        }
        Ok(())
    }

    fn count(&mut self, ts: Option<i64>) {
        let sec = match ts {
            Some(ns) => ns.div_euclid(1_000_000_000),
            // An entry without a readable time is counted with the newest second: never skipped by
            // the next cursor unless the entries around it are.
            None => self.newest_sec.unwrap_or(self.start.since),
        };
        if let Some(ns) = ts {
            self.newest_ns = Some(self.newest_ns.map_or(ns, |n| n.max(ns)));
        }
        match self.newest_sec {
            None => {
                self.newest_sec = Some(sec);
                self.in_newest = 1;
            }
            Some(newest) if sec > newest => {
                self.in_before_newest = if sec == newest + 1 { self.in_newest } else { 0 };
                self.in_newest = 1;
                self.newest_sec = Some(sec);
            }
            Some(newest) if sec == newest => self.in_newest += 1,
            Some(newest) if sec == newest - 1 => self.in_before_newest += 1,
            Some(_) => {}
        }
    }

    fn entry<E>(
        &mut self,
        stream: Stream,
        payload: &[u8],
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let (ts, text) = split_timestamp(payload);
        self.push_entry(stream, ts, text, sink)
    }

    /// Feeds one entry whose timestamp was read already (unix ns, `None`: none readable) and whose
    /// text ends with `\n` when it is the last piece of its line; every line it completes goes to
    /// `sink`.
    pub fn push_entry<E>(
        &mut self,
        stream: Stream,
        ts: Option<i64>,
        text: &[u8],
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let index = self.seen;
        self.seen += 1;
        self.count(ts);
        if index < self.start.skip {
            return Ok(());
        }
        let (body, complete) = match text.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (text, false),
        };
        let body = match (stream, complete) {
            // The TTY turns `\n` into `\r\n`; the file keeps plain lines.
            (Stream::Console, true) => body.strip_suffix(b"\r").unwrap_or(body),
            _ => body,
        };
        if complete {
            self.end_line(index, stream, body, sink)
        } else {
            self.continue_line(index, stream, ts, body);
            Ok(())
        }
    }

    /// The entry `index` ends its line with `body`: the line, whole now, goes to `sink`, or is held
    /// while an earlier line is incomplete, so that lines go out in the order in which they started.
    fn end_line<E>(
        &mut self,
        index: u64,
        stream: Stream,
        body: &[u8],
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let s = slot(stream);
        let cap = self.max_line;
        match self.partial[s].take() {
            Some(mut p) => {
                append_capped(&mut p.text, &mut p.dropped, body, cap);
                self.complete(p.first, stream, with_marker(p.text, p.dropped), sink)
            }
            None if body.len() > cap => {
                let cut = with_marker(body[..cap].to_vec(), (body.len() - cap) as u64);
                self.complete(index, stream, cut, sink)
            }
            None if self.hold_from.is_none() => emit(stream, body, sink),
            None => {
                self.held.push((index, stream, body.to_vec()));
                Ok(())
            }
        }
    }

    /// The entry `index` (at `ts`) is a piece of a line that goes on: kept with the pieces before
    /// it, and from the line's first piece on, the lines after it are held.
    fn continue_line(&mut self, index: u64, stream: Stream, ts: Option<i64>, body: &[u8]) {
        let s = slot(stream);
        let cap = self.max_line;
        match &mut self.partial[s] {
            Some(p) => {
                append_capped(&mut p.text, &mut p.dropped, body, cap);
                p.last_ts = ts.or(p.last_ts);
            }
            None => {
                if self.hold_from.is_none() {
                    self.hold_from = Some(index);
                }
                let mut p = Partial {
                    first: index,
                    text: Vec::new(),
                    dropped: 0,
                    last_ts: ts,
                };
                append_capped(&mut p.text, &mut p.dropped, body, cap);
                self.partial[s] = Some(p);
            }
        }
    }

    /// A line that was held as incomplete is now whole. Once no line is incomplete any more, the held
    /// lines go out in the order in which they started.
    fn complete<E>(
        &mut self,
        first: u64,
        stream: Stream,
        text: Vec<u8>,
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.held.push((first, stream, text));
        if self.partial.iter().any(Option::is_some) {
            return Ok(());
        }
        self.hold_from = None;
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(|(first, _, _)| *first);
        for (_, stream, text) in held {
            emit(stream, &text, sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
