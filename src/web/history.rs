//! One container's kept history: every file the rotation left under LOGS_DIR, read in order, each line
//! with its level, filtered by level and by plain text or a regular expression, within limits on the
//! bytes read, the time taken and the lines returned. Read-only: the collector owns the files, this
//! only reads what was flushed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
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

/// The limits of one search, shared by every container it reads and every worker reading them:
/// the bytes read in all and the time since it started. The first limit reached ends the search.
#[derive(Debug)]
pub struct Allowance {
    started: Instant,
    max_time: Duration,
    max_bytes: u64,
    read: AtomicU64,
    /// 0 while no limit is reached, else [`Limit::code`].
    stopped: AtomicU8,
}

impl Allowance {
    /// An allowance of `max_bytes` and `max_time`, starting now.
    pub fn new(max_bytes: u64, max_time: Duration) -> Allowance {
        Allowance {
            started: Instant::now(),
            max_time,
            max_bytes,
            read: AtomicU64::new(0),
            stopped: AtomicU8::new(0),
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The limit that ended the search, if one did.
    pub fn stopped(&self) -> Option<Limit> {
        Limit::from_code(self.stopped.load(Ordering::Relaxed))
    }

    /// Whether another chunk may be read; once a limit is reached, says which and stays no.
    fn may_read(&self) -> bool {
        if self.stopped.load(Ordering::Relaxed) != 0 {
            return false;
        }
        let reached = if self.bytes_read() >= self.max_bytes {
            Limit::Bytes
        } else if self.started.elapsed() > self.max_time {
            Limit::Time
        } else {
            return true;
        };
        // The first limit reached is the one said.
        let _ =
            self.stopped
                .compare_exchange(0, reached.code(), Ordering::Relaxed, Ordering::Relaxed);
        false
    }

    fn spend(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl Limit {
    fn code(self) -> u8 {
        match self {
            Limit::Bytes => 1,
            Limit::Time => 2,
        }
    }

    fn from_code(code: u8) -> Option<Limit> {
        match code {
            1 => Some(Limit::Bytes),
            2 => Some(Limit::Time),
            _ => None,
        }
    }

    /// As the API says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Time => "time",
        }
    }
}

/// Where a scan puts the lines of its range that pass the filters.
pub trait Sink {
    /// A line: where it starts, its level and its bytes (without the line end, not cut yet).
    fn found(&mut self, at: Position, level: Level, line: &[u8]);
    /// Whether nothing found from now on would be kept: the scan ends.
    fn full(&self) -> bool;
}

/// What a scan keeps: the lines' levels as `rules` classify them, the levels and the pattern asked
/// for.
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    /// How lines are classified.
    pub rules: &'a Rules,
    /// Which levels to keep, indexed as [`Level::ALL`].
    pub levels: [bool; 3],
    /// Keep only lines holding a match.
    pub pattern: Option<&'a Pattern>,
}

/// The part of a history a scan reads: from `from` (inclusive; `None` is the oldest kept line) to
/// `to` (exclusive; `None` is the end of what was flushed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// Start.
    pub from: Option<Position>,
    /// End.
    pub to: Option<Position>,
}

/// Runs `query` over the files of `name` under `logs_dir`, classifying lines with `rules`.
pub fn search(
    logs_dir: &LogsDir,
    name: &ContainerName,
    rules: &Rules,
    query: &Query,
) -> io::Result<Answer> {
    let allowance = Allowance::new(query.max_bytes, query.max_time);
    let mut found = Found::new(query);
    let filter = Filter {
        rules,
        levels: query.levels,
        pattern: query.pattern.as_ref(),
    };
    let range = Range {
        from: query.from,
        to: query.to,
    };
    let mut buf = Vec::new();
    let files = files(logs_dir, name);
    // (The allowance says whether it stopped the search.)
    scan(&files, range, &filter, &allowance, &mut buf, &mut found)?;
    let mut answer = found.finish();
    answer.stopped = allowance.stopped();
    answer.bytes_read = allowance.bytes_read();
    Ok(answer)
}

/// Reads the part `range` of a history's `files` (as [`files`] lists them), oldest line first, and
/// gives `sink` each line that passes `filter`, until the range ends, `sink` is full or `allowance`
/// is spent; whether it got to the end (or `sink` was full) rather than stopped by `allowance`. `buf`
/// is the read buffer, kept between scans: grown once to two chunks.
pub fn scan(
    files: &[(u32, PathBuf)],
    range: Range,
    filter: &Filter<'_>,
    allowance: &Allowance,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
) -> io::Result<bool> {
    let from = range.from.unwrap_or(Position {
        file: u32::MAX,
        offset: 0,
    });
    for (age, path) in files {
        let age = *age;
        if age > from.file {
            continue;
        }
        if range.to.is_some_and(|to| age < to.file) {
            break;
        }
        let part = Part {
            age,
            start: if age == from.file { from.offset } else { 0 },
            end: range.to.filter(|to| to.file == age).map(|to| to.offset),
        };
        let file = match File::open(path) {
            Ok(f) => f,
            // Rotated away between the listing and now: its lines are in the next older file.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !scan_file(file, part, filter, allowance, buf, sink)? {
            return Ok(false);
        }
        if sink.full() {
            break;
        }
    }
    Ok(true)
}

/// The lines kept so far.
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

impl Sink for Found<'_> {
    fn found(&mut self, at: Position, level: Level, line: &[u8]) {
        let (text, cut) = shown(line);
        self.keep(Line {
            at,
            level,
            text,
            cut,
        });
    }

    fn full(&self) -> bool {
        self.query.first && self.answer.left_out > 0
    }
}

/// The part of one file a scan reads: its age, and the offsets it starts at and ends before.
#[derive(Debug, Clone, Copy)]
struct Part {
    age: u32,
    start: u64,
    end: Option<u64>,
}

/// Whether the part was read to its end (or `sink` was full) rather than stopped by `allowance`.
fn scan_file(
    mut file: File,
    part: Part,
    filter: &Filter<'_>,
    allowance: &Allowance,
    buf: &mut Vec<u8>,
    sink: &mut dyn Sink,
) -> io::Result<bool> {
    if part.start >= file.metadata()?.len() || part.end.is_some_and(|end| end <= part.start) {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(part.start))?;
    // The buffer keeps its length between reads and scans: it is zeroed once, not before each read.
    if buf.len() < 2 * CHUNK {
        buf.resize(2 * CHUNK, 0);
    }
    // Offset in the file of buf[0], and the bytes of buf read from the file.
    let (mut base, mut filled) = (part.start, 0);
    let mut eof = false;
    while !eof && allowance.may_read() {
        let mut want = CHUNK;
        if let Some(end) = part.end {
            let left = end.saturating_sub(base + filled as u64);
            want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        if buf.len() < filled + want {
            // A line longer than the buffer: it grows.
            buf.resize(filled + want, 0);
        }
        let n = read_full(&mut file, &mut buf[filled..filled + want])?;
        allowance.spend(n);
        eof = n == 0 || n < want;
        let old = filled;
        filled += n;
        // Only whole lines: the part after the last line end waits for more bytes, and at the end of
        // the file it is a line still being written, shown once it is complete.
        let whole = match memchr::memrchr(b'\n', &buf[old..filled]) {
            Some(i) => old + i + 1,
            None if eof => 0,
            None => continue,
        };
        scan_lines(&buf[..whole], base, part.age, filter, sink);
        if sink.full() {
            return Ok(true);
        }
        buf.copy_within(whole..filled, 0);
        filled -= whole;
        base += whole as u64;
    }
    Ok(eof)
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
fn scan_lines(chunk: &[u8], base: u64, age: u32, filter: &Filter<'_>, sink: &mut dyn Sink) {
    let all_levels = filter.levels.iter().all(|l| *l);
    // Gives `sink` the line from..to if its level is wanted; whether the scan ends here.
    let mut emit = |from: usize, to: usize| {
        let line = &chunk[from..to];
        let level = filter.rules.classify(line);
        if !all_levels && !filter.levels[level.index()] {
            return false;
        }
        let at = Position {
            file: age,
            offset: base + from as u64,
        };
        sink.found(at, level, line);
        sink.full()
    };
    match filter.pattern {
        None => {
            let mut from = 0;
            for end in memchr::memchr_iter(b'\n', chunk) {
                if emit(from, end) {
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
                if pattern.matches_line(&chunk[line_start..line_end]) && emit(line_start, line_end)
                {
                    return;
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
