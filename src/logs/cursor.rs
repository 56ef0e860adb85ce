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

/// A piece of a logs answer as the engine client decoded it.
#[derive(Debug, Clone, Copy)]
pub enum Chunk<'a> {
    /// One multiplexed stdout frame: exactly one engine entry.
    Stdout(&'a [u8]),
    /// One multiplexed stderr frame: exactly one engine entry.
    Stderr(&'a [u8]),
    /// Raw bytes of a TTY container's answer: entries end with `\n`, chunk borders fall anywhere.
    Console(&'a [u8]),
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

    /// Feeds one decoded piece of the answer; every line it completes goes to `sink`.
    pub fn push<E>(
        &mut self,
        chunk: Chunk<'_>,
        sink: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match chunk {
            Chunk::Stdout(payload) => self.entry(Stream::Stdout, payload, sink),
            Chunk::Stderr(payload) => self.entry(Stream::Stderr, payload, sink),
            Chunk::Console(bytes) => {
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
        let index = self.seen;
        self.seen += 1;
        let (ts, text) = split_timestamp(payload);
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
        let s = slot(stream);
        let cap = self.max_line;
        if complete {
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
        } else {
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
            Ok(())
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
mod tests {
    use super::*;
    use std::convert::Infallible;

    const SEC: i64 = 1_000_000_000;
    /// 2026-11-24T18:54:49Z
    const T0: i64 = 1_795_546_489;

    fn ts(ns: i64) -> String {
        chrono::DateTime::from_timestamp_nanos(ns)
            .format("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string()
    }

    fn frame(ns: i64, text: &str) -> Vec<u8> {
        format!("{} {}", ts(ns), text).into_bytes()
    }

    /// Engine entries: (stream, unix ns, text with its `\n` when the entry ends a line).
    type Entries = Vec<(Stream, i64, String)>;

    /// What the engine answers for `since`: the entries with a timestamp >= since, in log order.
    fn answer(entries: &Entries, since: i64) -> Vec<(Stream, Vec<u8>)> {
        entries
            .iter()
            .filter(|(_, ns, _)| *ns >= since * SEC)
            .map(|(s, ns, t)| (*s, frame(*ns, t)))
            .collect()
    }

    /// Reads an answer through the assembler; returns the lines handed out and the next cursor.
    fn read(cursor: Cursor, frames: &[(Stream, Vec<u8>)], now: i64) -> (Vec<String>, Cursor) {
        read_with(cursor, frames, now, DEFAULT_MAX_LINE)
    }

    /// [`read`] with a cap of `cap` bytes per line.
    fn read_with(
        cursor: Cursor,
        frames: &[(Stream, Vec<u8>)],
        now: i64,
        cap: usize,
    ) -> (Vec<String>, Cursor) {
        let mut out = Vec::new();
        let mut sink = |l: Line<'_>| -> Result<(), Infallible> {
            out.push(String::from_utf8_lossy(l.text).into_owned());
            Ok(())
        };
        let mut a = LineAssembler::new(cursor).with_max_line(cap);
        for (s, f) in frames {
            let chunk = match s {
                Stream::Stdout => Chunk::Stdout(f),
                Stream::Stderr => Chunk::Stderr(f),
                Stream::Console => Chunk::Console(f),
            };
            let Ok(()) = a.push(chunk, &mut sink);
        }
        let Ok(next) = a.finish(now, &mut sink);
        (out, next)
    }

    fn line(stream: Stream, ns: i64, text: &str) -> (Stream, i64, String) {
        (stream, ns, format!("{text}\n"))
    }

    #[test]
    fn timestamps_parse_and_split() {
        let (t, rest) = split_timestamp(b"2026-11-24T18:54:49.546754462Z INFO line 314\n");
        assert_eq!(t, Some(T0 * SEC + 546_754_462));
        assert_eq!(rest, b"INFO line 314\n");
        let (t, rest) = split_timestamp(b"no timestamp here\n");
        assert_eq!((t, rest), (None, &b"no timestamp here\n"[..]));
        assert_eq!(parse_timestamp(b"2026-11-24T18:54:49Z"), Some(T0 * SEC));
        assert_eq!(parse_timestamp(b"2026-13-24T18:54:49Z"), None);
        assert_eq!(parse_timestamp(&[0xff, 0xfe]), None);
    }

    #[test]
    fn polls_write_each_line_once_while_the_log_grows() {
        let mut log: Entries = Vec::new();
        let mut written = Vec::new();
        let mut cursor = Cursor::starting_at(T0 - 60);
        let mut n = 0;
        // 12 polls, 7 lines between polls, 0.3 s apart, stdout and stderr alternating.
        for poll in 0..12 {
            for _ in 0..7 {
                let stream = if n % 2 == 0 {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                log.push(line(
                    stream,
                    T0 * SEC + n * 300_000_000,
                    &format!("line {n}"),
                ));
                n += 1;
            }
            let (lines, next) = read(
                cursor,
                &answer(&log, cursor.since),
                T0 * SEC + n * 300_000_000,
            );
            written.extend(lines);
            assert!(next.since >= cursor.since, "poll {poll}: cursor went back");
            cursor = next;
        }
        let want: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
        assert_eq!(written, want);
        assert!(
            cursor.since > T0 + 20,
            "the cursor moved forward: {cursor:?}"
        );
    }

    #[test]
    fn stdout_and_stderr_out_of_order_within_a_second_are_read_once() {
        // stderr's entry was stamped before stdout's but logged after it, in the same second and
        // across a second boundary.
        let log: Entries = vec![
            line(Stream::Stdout, (T0 + 1) * SEC + 5, "a"),
            line(Stream::Stderr, (T0 + 1) * SEC + 1, "b"),
            line(Stream::Stdout, (T0 + 2) * SEC + 2, "c"),
            line(Stream::Stderr, (T0 + 1) * SEC + 999_999_999, "d"),
            line(Stream::Stdout, (T0 + 2) * SEC + 10, "e"),
        ];
        let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), (T0 + 3) * SEC);
        assert_eq!(lines, ["a", "b", "c", "d", "e"]);
        // One second before the newest entry: every entry of that answer was written.
        assert_eq!(
            cursor,
            Cursor {
                since: T0 + 1,
                skip: 5
            }
        );
        let mut grown = log.clone();
        grown.push(line(Stream::Stderr, (T0 + 2) * SEC + 5, "f"));
        let (lines, _) = read(cursor, &answer(&grown, cursor.since), (T0 + 3) * SEC);
        assert_eq!(lines, ["f"]);
    }

    #[test]
    fn many_lines_with_the_same_timestamp_are_each_written_once() {
        let t = (T0 + 5) * SEC + 123;
        let mut log: Entries = (0..5)
            .map(|i| line(Stream::Stdout, t, &format!("same {i}")))
            .collect();
        let (first, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
        assert_eq!(first.len(), 5);
        assert_eq!(
            cursor,
            Cursor {
                since: T0 + 4,
                skip: 5
            }
        );
        log.extend((5..8).map(|i| line(Stream::Stdout, t, &format!("same {i}"))));
        let (second, cursor) = read(cursor, &answer(&log, cursor.since), t + SEC);
        assert_eq!(second, ["same 5", "same 6", "same 7"]);
        assert_eq!(cursor.skip, 8);
        let (third, _) = read(cursor, &answer(&log, cursor.since), t + SEC);
        assert!(third.is_empty(), "nothing new, nothing repeated: {third:?}");
    }

    #[test]
    fn long_lines_split_in_16k_pieces_are_joined() {
        let big = "x".repeat(16 * 1024);
        let t = (T0 + 1) * SEC;
        let log: Entries = vec![
            (Stream::Stdout, t, big.clone()),
            line(Stream::Stderr, t + 1, "interleaved"),
            (Stream::Stdout, t + 2, big.clone()),
            (Stream::Stdout, t + 3, "end\n".to_string()),
            line(Stream::Stdout, t + 4, "after"),
        ];
        let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0] == format!("{big}{big}end"),
            "the pieces are joined in order"
        );
        assert_eq!(lines[1], "interleaved");
        assert_eq!(lines[2], "after");
        assert_eq!(cursor.skip, 5);
    }

    #[test]
    fn an_unfinished_long_line_is_held_back_with_what_follows() {
        let big = "y".repeat(16 * 1024);
        let t = (T0 + 1) * SEC;
        let mut log: Entries = vec![
            line(Stream::Stdout, t, "before"),
            (Stream::Stdout, t + 1, big.clone()),
            line(Stream::Stderr, t + 2, "meanwhile"),
        ];
        // The answer ends before the long line's last piece, and the piece is fresh.
        let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
        assert_eq!(lines, ["before"]);
        assert_eq!(cursor, Cursor { since: T0, skip: 1 });
        log.push((Stream::Stdout, t + 3, "tail\n".to_string()));
        let (lines, cursor) = read(cursor, &answer(&log, cursor.since), t + SEC);
        assert_eq!(lines.len(), 2);
        assert!(lines[0] == format!("{big}tail"), "joined");
        assert_eq!(lines[1], "meanwhile");
        assert_eq!(cursor.skip, 4);
    }

    #[test]
    fn a_stale_line_without_newline_is_completed() {
        let t = (T0 + 1) * SEC;
        let log: Entries = vec![(Stream::Stdout, t, "Password: ".to_string())];
        let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + 3 * SEC);
        assert_eq!(lines, ["Password: "]);
        assert_eq!(cursor, Cursor { since: T0, skip: 1 });
    }

    #[test]
    fn tty_console_bytes_give_the_same_lines_in_any_chunking() {
        let raw = std::fs::read(format!(
            "{}/fixtures/docker-20.10/logs_t2_tty_nonmultiplexed.raw",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        for split in [1, 7, 31, raw.len()] {
            let frames: Vec<(Stream, Vec<u8>)> = raw
                .chunks(split)
                .map(|c| (Stream::Console, c.to_vec()))
                .collect();
            let (lines, cursor) = read(Cursor::starting_at(0), &frames, i64::MAX);
            assert_eq!(lines, ["tty out", "tty err"], "chunks of {split}");
            assert_eq!(cursor.skip, 2);
        }
    }

    #[test]
    fn a_recorded_multiplexed_answer_gives_its_40_lines() {
        let raw = std::fs::read(format!(
            "{}/fixtures/docker-20.10/logs_t1_stdout_stderr_timestamps.raw",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        let mut frames = Vec::new();
        let mut rest = &raw[..];
        while rest.len() >= 8 {
            let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let stream = if rest[0] == 1 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            frames.push((stream, rest[8..8 + len].to_vec()));
            rest = &rest[8 + len..];
        }
        let (lines, _) = read(Cursor::starting_at(0), &frames, i64::MAX);
        // The recording was made with tail=40.
        assert_eq!(lines.len(), 40);
        assert!(lines
            .iter()
            .all(|l| l.starts_with("INFO line ") || l.starts_with("ERROR oops ")));
    }

    #[test]
    fn position_never_counts_a_line_not_handed_out() {
        let t = (T0 + 1) * SEC;
        let mut a = LineAssembler::new(Cursor::starting_at(T0));
        let mut n = 0;
        let mut sink = |_: Line<'_>| -> Result<(), Infallible> {
            n += 1;
            Ok(())
        };
        let Ok(()) = a.push(Chunk::Stdout(&frame(t, "one\n")), &mut sink);
        assert_eq!(a.position(), Cursor { since: T0, skip: 1 });
        let Ok(()) = a.push(Chunk::Stdout(&frame(t, "piece")), &mut sink);
        let Ok(()) = a.push(Chunk::Stderr(&frame(t, "two\n")), &mut sink);
        assert_eq!(a.position(), Cursor { since: T0, skip: 1 });
        let Ok(()) = a.push(Chunk::Stdout(&frame(t, "rest\n")), &mut sink);
        assert_eq!(a.position(), Cursor { since: T0, skip: 4 });
        assert_eq!(n, 3);
    }

    #[test]
    fn skipped_entries_are_not_handed_out_again() {
        let t = (T0 + 1) * SEC;
        let log: Entries = (0..6)
            .map(|i| line(Stream::Stdout, t + i, &format!("l{i}")))
            .collect();
        let (lines, _) = read(Cursor { since: T0, skip: 4 }, &answer(&log, T0), t);
        assert_eq!(lines, ["l4", "l5"]);
    }

    type Frames = Vec<(Stream, Vec<u8>)>;

    #[test]
    fn lines_over_the_cap_are_cut_and_marked() {
        let t = (T0 + 1) * SEC;
        let cases: Vec<(&str, Frames, Vec<String>)> = vec![
            (
                "one long entry",
                vec![
                    (Stream::Stdout, frame(t, "0123456789ABCDEF\n")),
                    (Stream::Stdout, frame(t, "short\n")),
                ],
                vec![format!("0123456789{}", cut_marker(6)), "short".into()],
            ),
            (
                "pieces of one line",
                vec![
                    (Stream::Stderr, frame(t, "01234567")),
                    (Stream::Stderr, frame(t, "abcdefgh")),
                    (Stream::Stderr, frame(t, "end\n")),
                ],
                vec![format!("01234567ab{}", cut_marker(9))],
            ),
            (
                "exactly the cap",
                vec![(Stream::Stdout, frame(t, "0123456789\n"))],
                vec!["0123456789".into()],
            ),
            (
                "a TTY line without end",
                vec![
                    (Stream::Console, format!("{} ", ts(t)).into_bytes()),
                    (Stream::Console, vec![b'x'; 200]),
                    (Stream::Console, b"y\r\nnext\r\n".to_vec()),
                ],
                vec![],
            ),
        ];
        for (what, frames, want) in cases {
            let (lines, cursor) = read_with(Cursor::starting_at(0), &frames, i64::MAX, 10);
            if what == "a TTY line without end" {
                assert_eq!(lines.len(), 2, "{what}: {lines:?}");
                assert!(
                    lines[0].starts_with("xxxxxxxxxx") && lines[0].contains("[line cut: "),
                    "{what}: {lines:?}"
                );
                assert!(lines[0].len() < 200, "{what}: cut");
                assert_eq!(lines[1], "next", "{what}");
                assert_eq!(cursor.skip, 2, "{what}: two entries");
            } else {
                assert_eq!(lines, want, "{what}");
                assert_eq!(
                    cursor.skip,
                    frames.len() as u64,
                    "{what}: every entry counted once"
                );
            }
        }
    }

    #[test]
    fn line_ends_inside_an_entry_make_separate_lines() {
        let t = (T0 + 1) * SEC;
        let frames = vec![
            (Stream::Stdout, frame(t, "one\ntwo\n")),
            (Stream::Stdout, frame(t, "\nthree")),
            (Stream::Stdout, frame(t, " end\n")),
        ];
        let (lines, cursor) = read(Cursor::starting_at(T0), &frames, t + SEC);
        assert_eq!(lines, ["one", "two", "", "three end"]);
        assert_eq!(cursor.skip, 3, "the cursor counts entries, not lines");
    }

    #[test]
    fn sink_errors_stop_the_answer() {
        let mut a = LineAssembler::new(Cursor::starting_at(0));
        let mut sink = |_: Line<'_>| -> Result<(), &'static str> { Err("disk full") };
        assert_eq!(
            a.push(Chunk::Stdout(&frame(SEC, "x\n")), &mut sink),
            Err("disk full")
        );
    }
}
