//! One search across every container's whole kept history (`/api/search`, the `/search` page).
//!
//! Containers are read in parallel by a few workers on the runtime's blocking pool: one fewer than
//! the machine has cores (at least one, at most [`MAX_WORKERS`]), shared by every search running at
//! once, each with one read buffer for all the containers it reads. The limits of
//! [`history::Allowance`] hold for the whole search. Each worker keeps only the lines that can still be among the newest `limit`
//! ([`Newest`], a bounded heap), so memory stays at workers x `limit` lines whatever matches.
//!
//! Lines are merged in time order. A line's time is that of its tick in the time index (the engine
//! timestamp of the first line the tick wrote, the index's record at or before the line's
//! position). Lines with no record at or before them (the history the Python tool wrote before the
//! index existed, or a container without an index) have no time and sort before every line that
//! has one, by container name, in file order; a `since` leaves them out. Ties sort by container
//! name, and the lines of one container keep their file order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::history::{self, Allowance, Filter, Pattern, Position, Range, Sink};
use super::{Stamp, Web};
use crate::container::ContainerName;
use crate::logs::levels::Level;

/// Workers at most, whatever the machine has.
pub const MAX_WORKERS: usize = 8;

/// A search of every container.
#[derive(Debug, Clone)]
pub struct Query {
    /// Which levels to keep, indexed as [`Level::ALL`].
    pub levels: [bool; 3],
    /// Keep only lines holding a match.
    pub pattern: Option<Pattern>,
    /// Lines returned at most: the newest ones.
    pub limit: usize,
    /// Only lines of ticks at or after this (unix nanoseconds).
    pub since: Option<i64>,
    /// Only lines of ticks at or before this (unix nanoseconds).
    pub until: Option<i64>,
    /// Bytes read at most, in all.
    pub max_bytes: u64,
    /// Time taken at most, in all.
    pub max_time: Duration,
}

/// Where a line sorts: its time (none before any), its container (the index in the sorted list of
/// those searched), then its place in the container's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// Its tick's time, unix nanoseconds.
    pub time: Option<i64>,
    /// Its container.
    pub container: u32,
    /// Its file: older files (higher ages) first.
    pub file: Reverse<u32>,
    /// Its offset in the file.
    pub offset: u64,
}

impl Key {
    /// Where the line starts.
    pub fn position(&self) -> Position {
        Position {
            file: self.file.0,
            offset: self.offset,
        }
    }
}

/// One line found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Where it sorts, and where it is.
    pub key: Key,
    /// Its level.
    pub level: Level,
    /// Its bytes, cut at [`history::SHOWN_LINE_BYTES`].
    pub text: Vec<u8>,
    /// Bytes cut off the end of `text`.
    pub cut: usize,
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Hit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hit {
    fn cmp(&self, other: &Hit) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// The newest `limit` lines offered (by [`Key`]), and how many others were.
#[derive(Debug)]
pub struct Newest {
    limit: usize,
    heap: BinaryHeap<Reverse<Hit>>,
    left_out: u64,
}

impl Newest {
    /// Nothing kept yet.
    pub fn new(limit: usize) -> Newest {
        Newest {
            limit,
            heap: BinaryHeap::new(),
            left_out: 0,
        }
    }

    /// Whether a line at `key` would be kept now (no line kept is at `key`).
    pub fn wants(&self, key: &Key) -> bool {
        if self.heap.len() < self.limit {
            return true;
        }
        self.heap.peek().is_some_and(|Reverse(min)| *key > min.key)
    }

    /// Keeps the line at `key` if it is among the newest: `make` gives it only then.
    pub fn offer(&mut self, key: Key, make: impl FnOnce() -> Hit) {
        if !self.wants(&key) {
            self.left_out += 1;
            return;
        }
        if self.heap.len() == self.limit {
            self.heap.pop();
            self.left_out += 1;
        }
        self.heap.push(Reverse(make()));
    }

    /// Adds what `other` kept and left out.
    pub fn merge(&mut self, other: Newest) {
        self.left_out += other.left_out;
        for Reverse(hit) in other.heap {
            self.offer(hit.key, || hit);
        }
    }

    /// The lines kept, oldest first, and how many were left out.
    pub fn into_sorted(self) -> (Vec<Hit>, u64) {
        let mut hits: Vec<Hit> = self.heap.into_iter().map(|Reverse(h)| h).collect();
        hits.sort_unstable();
        (hits, self.left_out)
    }
}

/// The part of a container's history in the query's time range, from its stamps; `None` when
/// nothing is in it.
pub fn range(stamps: &[Stamp], since: Option<i64>, until: Option<i64>) -> Option<Range> {
    let mut range = Range::default();
    if let Some(since) = since {
        // The first tick at or after `since`; none: every line is older (or has no time).
        let i = stamps.partition_point(|s| s.ts < since);
        range.from = Some(stamps.get(i)?.at);
    }
    if let Some(until) = until {
        // Up to the first tick after `until`.
        let i = stamps.partition_point(|s| s.ts <= until);
        // (Every tick later: only the lines without a time are older.)
        range.to = stamps.get(i).map(|s| s.at);
    }
    Some(range)
}

/// Order of positions in a history: older files first, then by offset.
fn chrono(p: Position) -> (Reverse<u32>, u64) {
    (Reverse(p.file), p.offset)
}

/// The time of each line of one container, as the scan goes forward through its history.
#[derive(Debug)]
struct Clock {
    stamps: Vec<Stamp>,
    /// Stamps at or before the last line asked about.
    passed: usize,
}

impl Clock {
    /// The time of a line at `at`, at or after the lines asked about before.
    fn time_at(&mut self, at: Position) -> Option<i64> {
        while self
            .stamps
            .get(self.passed)
            .is_some_and(|s| chrono(s.at) <= chrono(at))
        {
            self.passed += 1;
        }
        self.passed.checked_sub(1).map(|i| self.stamps[i].ts)
    }
}

/// A worker's sink for one container: the line's key, then [`Newest`].
struct Collect<'a> {
    container: u32,
    clock: Clock,
    newest: &'a mut Newest,
}

impl Sink for Collect<'_> {
    fn found(&mut self, at: Position, level: Level, line: &[u8]) {
        let key = Key {
            time: self.clock.time_at(at),
            container: self.container,
            file: Reverse(at.file),
            offset: at.offset,
        };
        self.newest.offer(key, || {
            let (text, cut) = history::shown(line);
            Hit {
                key,
                level,
                text,
                cut,
            }
        });
    }

    fn full(&self) -> bool {
        false
    }
}

/// A container that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// Its name.
    pub container: ContainerName,
    /// What went wrong.
    pub error: String,
}

/// What a search of every container found.
#[derive(Debug)]
pub struct Found {
    /// The names searched, in order: [`Key::container`] indexes this.
    pub names: Vec<ContainerName>,
    /// The newest `limit` lines, oldest first.
    pub hits: Vec<Hit>,
    /// Lines that matched but are older than those returned.
    pub left_out: u64,
    /// The limit that ended the search, if any: then lines may be missing.
    pub stopped: Option<history::Limit>,
    /// Bytes read in all.
    pub bytes_read: u64,
    /// Containers read to the end of the range.
    pub searched: usize,
    /// Containers that could not be read.
    pub failed: Vec<Failed>,
}

/// What the workers of one search share.
struct Shared {
    web: Arc<Web>,
    names: Vec<ContainerName>,
    query: Query,
    allowance: Allowance,
    /// The next container to take.
    next: AtomicUsize,
    searched: AtomicUsize,
    failed: Mutex<Vec<Failed>>,
}

/// Workers of one search: one fewer than the machine has cores (the collector's runtime keeps one:
/// a scrape is not slowed by a search), at least one, at most [`MAX_WORKERS`].
pub fn worker_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_sub(1).clamp(1, MAX_WORKERS)
    })
}

/// The permits every search's workers share: searches at once wait for each other's workers
/// rather than add to them.
fn workers() -> &'static Arc<Semaphore> {
    static WORKERS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    WORKERS.get_or_init(|| Arc::new(Semaphore::new(worker_count())))
}

/// Searches the histories of `names` (sorted, as [`Key::container`] indexes them) for `query`.
pub async fn search(web: Arc<Web>, names: Vec<ContainerName>, query: Query) -> Found {
    let shared = Arc::new(Shared {
        allowance: Allowance::new(query.max_bytes, query.max_time),
        web,
        names,
        query,
        next: AtomicUsize::new(0),
        searched: AtomicUsize::new(0),
        failed: Mutex::new(Vec::new()),
    });
    let n = worker_count().min(shared.names.len());
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let permit = workers().clone().acquire_owned().await;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                work(&shared)
            })
            .await
        }));
    }
    let mut newest = Newest::new(shared.query.limit);
    for task in tasks {
        if let Ok(Ok(kept)) = task.await {
            newest.merge(kept);
        }
    }
    let (hits, left_out) = newest.into_sorted();
    let failed = std::mem::take(&mut *shared.failed.lock().unwrap_or_else(PoisonError::into_inner));
    Found {
        hits,
        left_out,
        stopped: shared.allowance.stopped(),
        bytes_read: shared.allowance.bytes_read(),
        searched: shared.searched.load(Ordering::Relaxed),
        failed,
        names: shared.names.clone(),
    }
}

/// One worker: takes containers until none is left or the allowance is spent.
fn work(shared: &Shared) -> Newest {
    let mut newest = Newest::new(shared.query.limit);
    let mut buf = Vec::new();
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(name) = shared.names.get(i) else {
            break;
        };
        if shared.allowance.stopped().is_some() {
            break;
        }
        match search_one(shared, i, name, &mut buf, &mut newest) {
            Ok(true) => {
                shared.searched.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => shared
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Failed {
                    container: name.clone(),
                    error: e.to_string(),
                }),
        }
    }
    newest
}

/// Searches container `i`; whether to the end of its range rather than stopped by the allowance.
fn search_one(
    shared: &Shared,
    i: usize,
    name: &ContainerName,
    buf: &mut Vec<u8>,
    newest: &mut Newest,
) -> std::io::Result<bool> {
    let q = &shared.query;
    let stamps = shared.web.times.stamps(name);
    let Some(range) = range(&stamps, q.since, q.until) else {
        // Nothing in the range: searched.
        return Ok(true);
    };
    let filter = Filter {
        rules: shared.web.mapping.rules_for(name.as_str()),
        levels: q.levels,
        pattern: q.pattern.as_ref(),
    };
    let files = history::files(&shared.web.logs_dir, name);
    let mut sink = Collect {
        container: u32::try_from(i).unwrap_or(u32::MAX),
        clock: Clock { stamps, passed: 0 },
        newest,
    };
    history::scan(&files, range, &filter, &shared.allowance, buf, &mut sink)
}

#[cfg(test)]
mod tests;
