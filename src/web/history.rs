//! One container's kept history: every file the rotation left under LOGS_DIR, read in order, each line
//! with its level, filtered by level and by plain text or a regular expression, within limits on the
//! bytes read, the time taken and the lines returned. Read-only: the collector owns the files, this
//! only reads what was flushed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use memchr::memmem;

use crate::container::ContainerName;
use crate::logs::levels::{Level, Rules};
use crate::logs::LogsDir;

/// Bytes read at a time: large enough for the searchers to run at memory speed.
const CHUNK: usize = 1 << 20;

/// Bytes one search reads at most, by default: a page's search always ends.
pub const MAX_BYTES: u64 = 4 << 30;
/// Time one search takes at most, by default.
pub const MAX_TIME: Duration = Duration::from_secs(5);

/// A line longer than this is shown cut: a page is for reading, the file keeps the whole line.
pub const SHOWN_LINE_BYTES: usize = 16 * 1024;

/// What to look for in a line.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A plain, case-sensitive substring.
    Text(Box<memmem::Finder<'static>>),
    /// A regular expression over the line's bytes (`regex` crate syntax).
    Regex(regex::bytes::Regex),
}

impl Pattern {
    /// A plain-text pattern.
    pub fn text(text: &str) -> Pattern {
        Pattern::Text(Box::new(memmem::Finder::new(text.as_bytes()).into_owned()))
    }

    /// A regular expression, refused when it does not compile or would be too large.
    pub fn regex(expr: &str) -> Result<Pattern, regex::Error> {
        // Multi-line: `^` and `$` are the borders of each line, as in grep.
        regex::bytes::RegexBuilder::new(expr)
            .multi_line(true)
            .size_limit(1 << 20)
            .dfa_size_limit(8 << 20)
            .build()
            .map(Pattern::Regex)
    }

    /// Whether `line` (without its line end) holds a match.
    pub fn matches_line(&self, line: &[u8]) -> bool {
        match self {
            Pattern::Text(f) => f.find(line).is_some(),
            Pattern::Regex(r) => r.is_match(line),
        }
    }

    /// Where the first match in `haystack` at or after `from` starts and ends.
    fn find_at(&self, haystack: &[u8], from: usize) -> Option<(usize, usize)> {
        match self {
            Pattern::Text(f) => {
                let start = from + f.find(&haystack[from..])?;
                Some((start, start + f.needle().len()))
            }
            Pattern::Regex(r) => r.find_at(haystack, from).map(|m| (m.start(), m.end())),
        }
    }
}

/// Where a line starts: which file (0 is the current `.log`, 1 is `.log.1`, ...) and the byte
/// offset in it. Positions of files are as the rotation had them when the search ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Age of the file: 0 = `<name>.log`, k = `<name>.log.k`.
    pub file: u32,
    /// Byte offset of the line in that file.
    pub offset: u64,
}

/// A search over one container's history.
#[derive(Debug, Clone)]
pub struct Query {
    /// Which levels to keep, indexed as [`Level::ALL`].
    pub levels: [bool; 3],
    /// Keep only lines holding a match.
    pub pattern: Option<Pattern>,
    /// Lines returned at most.
    pub limit: usize,
    /// The first `limit` lines of the range instead of the last ones.
    pub first: bool,
    /// Start of the range (inclusive); `None` is the oldest kept line.
    pub from: Option<Position>,
    /// End of the range (exclusive); `None` is the end of what was flushed.
    pub to: Option<Position>,
    /// Bytes read at most.
    pub max_bytes: u64,
    /// Time taken at most.
    pub max_time: Duration,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            levels: [true; 3],
            pattern: None,
            limit: 1000,
            first: false,
            from: None,
            to: None,
            max_bytes: MAX_BYTES,
            max_time: MAX_TIME,
        }
    }
}

/// One line found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where it starts.
    pub at: Position,
    /// Its level, as `container_logs_total` counted it.
    pub level: Level,
    /// Its bytes without the line end, cut at [`SHOWN_LINE_BYTES`].
    pub text: Vec<u8>,
    /// Bytes cut off the end of `text`.
    pub cut: usize,
}

/// A limit that ended a search before the end of its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// More than `max_bytes` would have been read.
    Bytes,
    /// The search took longer than `max_time`.
    Time,
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Answer {
    /// The lines, oldest first.
    pub lines: Vec<Line>,
    /// Lines that matched but were left out for `limit`: before the first returned with
    /// `first: false`; after the last with `first: true`, where the search stops at the first one
    /// left out (so 1 means "there is more").
    pub left_out: u64,
    /// The limit that stopped the search early, if any: then lines of the range may be missing.
    pub stopped: Option<Limit>,
    /// Bytes read.
    pub bytes_read: u64,
}

/// The files of one container, oldest first, as (age, path): those of its directory that
/// [`LogsDir::age`] names as its current or rotated files.
pub fn files(logs_dir: &LogsDir, name: &ContainerName) -> Vec<(u32, PathBuf)> {
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    let Ok(entries) = std::fs::read_dir(logs_dir.container(name)) else {
        return found;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if let Some(age) = LogsDir::age(name, file_name) {
            found.push((age, entry.path()));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
}

/// Runs `query` over the files of `name` under `logs_dir`, classifying lines with `rules`.
pub fn search(
    logs_dir: &LogsDir,
    name: &ContainerName,
    rules: &Rules,
    query: &Query,
) -> io::Result<Answer> {
    let started = Instant::now();
    let mut found = Found::new(query);
    let from = query.from.unwrap_or(Position {
        file: u32::MAX,
        offset: 0,
    });
    for (age, path) in files(logs_dir, name) {
        if age > from.file {
            continue;
        }
        if let Some(to) = query.to {
            if age < to.file {
                break;
            }
        }
        let start = if age == from.file { from.offset } else { 0 };
        let end = query.to.filter(|to| to.file == age).map(|to| to.offset);
        let file = match File::open(&path) {
            Ok(f) => f,
            // Rotated away between the listing and now: its lines are in the next older file.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        scan_file(file, age, start, end, rules, query, started, &mut found)?;
        if found.done() {
            break;
        }
    }
    Ok(found.finish())
}

/// The lines kept so far and why the search ended.
struct Found<'q> {
    query: &'q Query,
    ring: std::collections::VecDeque<Line>,
    answer: Answer,
}

impl<'q> Found<'q> {
    fn new(query: &'q Query) -> Found<'q> {
        Found {
            query,
            ring: std::collections::VecDeque::new(),
            answer: Answer::default(),
        }
    }

    /// The answer, with the last lines of the range when those were asked for.
    fn finish(mut self) -> Answer {
        if !self.query.first {
            self.answer.lines = self.ring.into_iter().collect();
        }
        self.answer
    }

    fn done(&self) -> bool {
        self.answer.stopped.is_some() || (self.query.first && self.answer.left_out > 0)
    }

    fn keep(&mut self, line: Line) {
        let limit = self.query.limit;
        if self.query.first {
            if self.answer.lines.len() < limit {
                self.answer.lines.push(line);
            } else {
                self.answer.left_out += 1;
            }
            return;
        }
        if limit == 0 {
            self.answer.left_out += 1;
            return;
        }
        if self.ring.len() == limit {
            self.ring.pop_front();
            self.answer.left_out += 1;
        }
        self.ring.push_back(line);
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_file(
    mut file: File,
    age: u32,
    start: u64,
    end: Option<u64>,
    rules: &Rules,
    query: &Query,
    started: Instant,
    found: &mut Found<'_>,
) -> io::Result<()> {
    if start >= file.metadata()?.len() {
        return Ok(());
    }
    file.seek(SeekFrom::Start(start))?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    // Offset in the file of buf[0].
    let mut base = start;
    let mut eof = false;
    while !eof {
        if found.answer.bytes_read >= query.max_bytes {
            found.answer.stopped = Some(Limit::Bytes);
            break;
        }
        if started.elapsed() > query.max_time {
            found.answer.stopped = Some(Limit::Time);
            break;
        }
        let mut want = CHUNK as u64;
        if let Some(end) = end {
            want = want.min(end.saturating_sub(base + buf.len() as u64));
        }
        let old = buf.len();
        buf.resize(old + want as usize, 0);
        let n = read_full(&mut file, &mut buf[old..])?;
        buf.truncate(old + n);
        found.answer.bytes_read += n as u64;
        eof = n == 0 || (n as u64) < want;
        // Only whole lines: the part after the last line end waits for more bytes, and at the end of
        // the file it is a line still being written, shown once it is complete.
        let whole = match memchr::memrchr(b'\n', &buf) {
            Some(i) => i + 1,
            None if eof => 0,
            None => continue,
        };
        scan_lines(&buf[..whole], base, age, rules, query, found);
        if found.done() {
            break;
        }
        buf.drain(..whole);
        base += whole as u64;
    }
    Ok(())
}

fn read_full(file: &mut File, mut buf: &mut [u8]) -> io::Result<usize> {
    let mut total = 0;
    while !buf.is_empty() {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// `chunk` holds whole lines only, the first starting at file offset `base`.
fn scan_lines(
    chunk: &[u8],
    base: u64,
    age: u32,
    rules: &Rules,
    query: &Query,
    found: &mut Found<'_>,
) {
    let all_levels = query.levels.iter().all(|l| *l);
    let emit = |from: usize, to: usize, found: &mut Found<'_>| {
        let line = &chunk[from..to];
        let level = rules.classify(line);
        if !all_levels && !query.levels[level.index()] {
            return;
        }
        let (text, cut) = shown(line);
        found.keep(Line {
            at: Position {
                file: age,
                offset: base + from as u64,
            },
            level,
            text,
            cut,
        });
    };
    match &query.pattern {
        None => {
            let mut from = 0;
            for end in memchr::memchr_iter(b'\n', chunk) {
                emit(from, end, found);
                if found.done() {
                    return;
                }
                from = end + 1;
            }
        }
        Some(pattern) => {
            let mut at = 0;
            while at < chunk.len() {
                let Some((m_start, _)) = pattern.find_at(chunk, at) else {
                    break;
                };
                let line_start = memchr::memrchr(b'\n', &chunk[..m_start]).map_or(0, |i| i + 1);
                let line_end =
                    memchr::memchr(b'\n', &chunk[m_start..]).map_or(chunk.len(), |i| m_start + i);
                // A regex may match across a line end; keep only matches inside the line.
                if pattern.matches_line(&chunk[line_start..line_end]) {
                    emit(line_start, line_end, found);
                    if found.done() {
                        return;
                    }
                }
                at = line_end + 1;
            }
        }
    }
}

/// `line` as a page shows it: at most [`SHOWN_LINE_BYTES`], and how many bytes were left out.
pub fn shown(line: &[u8]) -> (Vec<u8>, usize) {
    let kept = line.len().min(SHOWN_LINE_BYTES);
    (line[..kept].to_vec(), line.len() - kept)
}

#[cfg(test)]
mod tests;
