//! A container's log read from the engine's own json-file files, without asking the engine.
//!
//! The json-file driver keeps a container's log in `<id>-json.log`, one JSON object per line
//! (`{"log":"text\n","stream":"stdout","time":"<RFC3339Nano>"}`; a line over 16 KiB is split into
//! entries whose `log` does not end with `\n`). With `max-size` it renames the file to `.1` when it is
//! full (older ones move up to `.2`, `.3`, …, the one past `max-file` is deleted) and starts a new
//! one; with `compress=true` it then gzips `.1` into `.1.gz` and deletes `.1` only once the gzip is
//! complete.
//!
//! The position in such a log is a [`FilesCursor`]: which file (the hash of its first line, which
//! survives renaming and compression, where an inode does not) and how many of its uncompressed bytes
//! were taken. Only whole entries are taken: an entry the engine is still writing (no line end yet) is
//! left for the next read. Along with it the cursor keeps the engine path's [`Cursor`] valid, so the
//! collector can move from one path to the other without a line lost or repeated.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cursor::{parse_timestamp, Cursor};
use super::rotating_file::fnv1a;

/// The most bytes of a first line hashed into a file's identity: an entry is at most 16 KiB of text,
/// escaped in JSON.
const HEAD_MAX: usize = 256 * 1024;

/// When the position of an engine cursor is looked for, files and parts of files that start this
/// long before its `since` are passed over: stdout and stderr entries reach the file out of timestamp
/// order by far less.
const SEARCH_MARGIN_NS: i64 = 10_000_000_000;

/// A plain file is searched by halving while the range left is longer than this; the rest is read.
const SEARCH_LINEAR: u64 = 256 * 1024;

/// Where the read of a container's json-file log stands, and what keeps the engine path's cursor
/// valid along with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FilesCursor {
    /// The hash of the first line of the file the position is in; 0: no entry of any file the engine
    /// keeps now was taken, so reading starts with its oldest file.
    pub head: u64,
    /// Bytes of that file (uncompressed) taken: always the end of an entry.
    pub offset: u64,
    /// The engine path's `since`: entries before this second are not in its answer.
    pub since: i64,
    /// The newest second among the entries taken from `since` on, and how many of them fell in it and
    /// in the second before.
    pub newest: Option<i64>,
    pub in_newest: u64,
    pub in_before: u64,
}

impl FilesCursor {
    /// A cursor before every entry of the files, for an engine path that starts at `since`.
    fn before_all(since: i64) -> FilesCursor {
        FilesCursor {
            since,
            ..FilesCursor::default()
        }
    }

    /// The engine path's cursor for the same place: ask with `since`, and the first `skip` entries of
    /// that answer were taken.
    pub fn engine_cursor(&self) -> Cursor {
        Cursor {
            since: self.since,
            skip: self.in_newest + self.in_before,
        }
    }

    /// An entry with this timestamp was taken (or passed over on purpose), ending at `offset` of the
    /// file `head`.
    pub fn took(&mut self, head: u64, offset: u64, ts: Option<i64>) {
        self.head = head;
        self.offset = offset;
        let sec = match ts {
            Some(ns) => ns.div_euclid(1_000_000_000),
            // No readable time: counted with the newest second, as the engine path's assembler does.
            None => self.newest.unwrap_or(self.since),
        };
        if sec < self.since {
            // Not in the engine's answer from `since` on: nothing to skip there.
            return;
        }
        match self.newest {
            Some(newest) if sec == newest => self.in_newest += 1,
            Some(newest) if sec == newest - 1 => self.in_before += 1,
            Some(newest) if sec < newest => {}
            newest => {
                self.in_before = if newest == Some(sec - 1) {
                    self.in_newest
                } else {
                    0
                };
                self.in_newest = 1;
                self.newest = Some(sec);
            }
        }
        let newest = self.newest.unwrap_or(self.since);
        if newest - 1 > self.since {
            self.since = newest - 1;
        }
        if self.since == newest {
            // The second before is older than `since` now.
            self.in_before = 0;
        }
    }
}

/// One entry of the file, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// True for standard error.
    pub stderr: bool,
    /// Unix nanoseconds; `None` when the time cannot be read.
    pub ts: Option<i64>,
    /// The text, with its line end when it is the last piece of a line.
    pub text: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JsonEntry<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow, default)]
    time: Cow<'a, str>,
}

/// Decodes one line of the file (without its line end); `None` when it is not an entry.
pub fn decode(line: &[u8]) -> Option<Entry<'_>> {
    let entry: JsonEntry<'_> = serde_json::from_slice(line).ok()?;
    Some(Entry {
        stderr: entry.stream == "stderr",
        ts: parse_timestamp(entry.time.as_bytes()),
        text: entry.log,
    })
}

/// One of the engine's files of a log, open.
struct Segment {
    path: PathBuf,
    gz: bool,
    file: File,
    /// The hash of its first line, and that line's time; `None` while it holds no whole line.
    head: Option<(u64, Option<i64>)>,
}

impl Segment {
    fn open(path: PathBuf, gz: bool) -> io::Result<Option<Segment>> {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut segment = Segment {
            path,
            gz,
            file,
            head: None,
        };
        segment.head = segment.read_head()?;
        Ok(Some(segment))
    }

    fn read_head(&self) -> io::Result<Option<(u64, Option<i64>)>> {
        let mut line = Vec::with_capacity(512);
        if self.gz {
            let mut reader = BufReader::new(self.reader_at(0)?.take(HEAD_MAX as u64));
            match reader.read_until(b'\n', &mut line) {
                Ok(_) => {}
                // A gzip still being written (or cut): whatever came out may still be a whole line.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(e),
            }
        } else {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = self.file.read_at(&mut buf, line.len() as u64)?;
                let chunk = &buf[..n];
                match memchr::memchr(b'\n', chunk) {
                    Some(end) => {
                        line.extend_from_slice(&chunk[..=end]);
                        break;
                    }
                    None => line.extend_from_slice(chunk),
                }
                if n == 0 || line.len() >= HEAD_MAX {
                    break;
                }
            }
        }
        if line.last() != Some(&b'\n') && line.len() < HEAD_MAX {
            return Ok(None);
        }
        let ts = decode(line.strip_suffix(b"\n").unwrap_or(&line)).and_then(|e| e.ts);
        // 0 stands for "no file", so a file never hashes to it.
        Ok(Some((fnv1a(&line).max(1), ts)))
    }

    /// The file's uncompressed bytes from `offset` on.
    fn reader_at(&self, offset: u64) -> io::Result<Box<dyn Read + '_>> {
        let mut file = &self.file;
        if self.gz {
            file.seek(SeekFrom::Start(0))?;
            let mut decoder = flate2::read::GzDecoder::new(BufReader::new(file));
            let skipped = io::copy(&mut (&mut decoder).take(offset), &mut io::sink())?;
            if skipped < offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} ends before {offset}", self.path.display()),
                ));
            }
            Ok(Box::new(decoder))
        } else {
            file.seek(SeekFrom::Start(offset))?;
            Ok(Box::new(file))
        }
    }
}

/// The files of the log at `base`, oldest first, each once. The current file (`current`) is opened
/// first, by the caller, and the rotated ones from `.1` upwards: the engine only ever moves a file to a higher number, so none
/// can slip past this scan (one may be met twice, and is kept once). `.N` is tried before `.N.gz`:
/// the engine deletes `.N` only once `.N.gz` is complete. Two numbers in a row with no file end it.
fn segments(base: &Path, current: Segment) -> io::Result<Vec<Segment>> {
    let mut newest_first = vec![current];
    let mut missing = 0;
    let mut n = 1u32;
    while missing < 2 && n < 10_000 {
        let plain = PathBuf::from(format!("{}.{n}", base.display()));
        let found = match Segment::open(plain.clone(), false)? {
            Some(s) => Some(s),
            None => Segment::open(PathBuf::from(format!("{}.gz", plain.display())), true)?,
        };
        match found {
            Some(s) => {
                missing = 0;
                let head = s.head.map(|h| h.0);
                let seen =
                    head.is_some() && newest_first.iter().any(|o| o.head.map(|h| h.0) == head);
                if !seen {
                    newest_first.push(s);
                }
            }
            None => missing += 1,
        }
        n += 1;
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// Where an entry handed to the reader's callback ends: the file's head hash and the offset after its
/// line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The file's head hash.
    pub head: u64,
    /// Bytes up to and with the entry's line end.
    pub offset: u64,
}

/// What a read found besides the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found {
    /// The file of the cursor is not among the engine's files any more: the engine deleted it before
    /// it was read to its end, and reading went on with the oldest file it keeps.
    pub cursor_file_gone: bool,
    /// A file could not be read to its end (a gzip cut short): the rest is read next time.
    pub cut: bool,
}

/// Hands every whole entry after `cursor` to `each`, in the order of the engine's files, until
/// `each` returns false. Lines that are not entries are passed over (handed to `each` as `None`, so
/// the position moves past them).
pub fn read_after(
    base: &Path,
    cursor: &FilesCursor,
    each: &mut dyn FnMut(Place, Option<Entry<'_>>) -> bool,
) -> io::Result<Found> {
    let current = Segment::open(base.to_path_buf(), false)?.ok_or_else(|| not_found(base))?;
    let mut found = Found::default();
    // Nearly always the position is in the current file: then the rotated ones are not looked at.
    let (files, start) = match current.head {
        Some((head, _)) if head == cursor.head => (vec![current], 0),
        _ => {
            let files = segments(base, current)?;
            let at = files
                .iter()
                .position(|s| s.head.map(|h| h.0) == Some(cursor.head));
            if at.is_none() && cursor.head != 0 {
                found.cursor_file_gone = true;
            }
            (files, at.unwrap_or(0))
        }
    };
    let last = files.len().saturating_sub(1);
    for (i, segment) in files.iter().enumerate().skip(start) {
        let Some((head, _)) = segment.head else {
            // No whole line yet (a file just started): nothing to take from it.
            continue;
        };
        let from = if i == start && head == cursor.head {
            cursor.offset
        } else {
            0
        };
        match read_segment(segment, head, from, i == last, each) {
            Ok(true) => {}
            Ok(false) => return Ok(found),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && segment.gz => {
                found.cut = true;
                return Ok(found);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

fn not_found(base: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", base.display()),
    )
}

/// Reads one file from `from` on; false when `each` asked to stop.
fn read_segment(
    segment: &Segment,
    head: u64,
    from: u64,
    newest: bool,
    each: &mut dyn FnMut(Place, Option<Entry<'_>>) -> bool,
) -> io::Result<bool> {
    let mut reader = BufReader::with_capacity(64 * 1024, segment.reader_at(from)?);
    let mut line = Vec::with_capacity(1024);
    let mut offset = from;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(true);
        }
        let whole = line.last() == Some(&b'\n');
        if !whole && newest {
            // The engine is still writing this entry.
            return Ok(true);
        }
        offset += n as u64;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if !each(Place { head, offset }, decode(text)) {
            return Ok(false);
        }
    }
}

/// The [`FilesCursor`] for the place the engine path's `cursor` stands at: before the first entry
/// from `cursor.since` on that is not among the first `cursor.skip` of them.
pub fn position_of(base: &Path, cursor: Cursor) -> io::Result<FilesCursor> {
    let current = Segment::open(base.to_path_buf(), false)?.ok_or_else(|| not_found(base))?;
    let mut files = segments(base, current)?;
    let target = cursor.since.saturating_mul(1_000_000_000);
    let search_from = target.saturating_sub(SEARCH_MARGIN_NS);
    // The newest file that starts well before `since`: every entry of the older ones is older.
    let first = files
        .iter()
        .rposition(|s| matches!(s.head, Some((_, Some(ts))) if ts < search_from))
        .unwrap_or(0);
    files.drain(..first);
    let mut position = FilesCursor::before_all(cursor.since);
    let mut start = FilesCursor::before_all(cursor.since);
    if let Some(segment) = files.first() {
        if let Some((head, _)) = segment.head {
            // Also for a gzipped first file (read from its start): the position names it, so the
            // files before it, passed over here, are not read later either.
            start.head = head;
            if !segment.gz {
                start.offset = search_plain(&segment.file, search_from)?;
            }
            position = start;
        }
    }
    let mut taken = 0u64;
    let mut each = |place: Place, entry: Option<Entry<'_>>| {
        let ts = entry.and_then(|e| e.ts);
        if ts.is_some_and(|ts| ts >= target) {
            if taken == cursor.skip {
                return false;
            }
            taken += 1;
        }
        position.took(place.head, place.offset, ts);
        true
    };
    for (i, segment) in files.iter().enumerate() {
        let Some((head, _)) = segment.head else {
            continue;
        };
        let from = if i == 0 && head == start.head {
            start.offset
        } else {
            0
        };
        match read_segment(segment, head, from, i + 1 == files.len(), &mut each) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(position)
}

/// An offset of a line start in `file` before which every entry is older than `target` (unix ns),
/// found by halving: a few reads even in a file of gigabytes.
fn search_plain(file: &File, target: i64) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let (mut low, mut high) = (0u64, len);
    let mut buf = vec![0u8; 64 * 1024];
    while high - low > SEARCH_LINEAR {
        let middle = low + (high - low) / 2;
        let n = file.read_at(&mut buf, middle)?;
        let chunk = &buf[..n];
        // The first whole line after `middle`.
        let Some(start) = memchr::memchr(b'\n', chunk).map(|i| i + 1) else {
            high = middle;
            continue;
        };
        let ts = memchr::memchr(b'\n', &chunk[start..])
            .and_then(|end| decode(&chunk[start..start + end]))
            .and_then(|e| e.ts);
        match ts {
            Some(ts) if ts < target => low = middle + start as u64,
            _ => high = middle,
        }
    }
    Ok(low)
}

#[cfg(test)]
mod tests;
