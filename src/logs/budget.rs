//! The disk budget of LOGS_DIR (LOGS_MAX_TOTAL_BYTES) and how long a removed container's files are
//! kept (LOGS_KEEP_REMOVED): what is on disk ([`Inventory`]), since when each removed container is
//! gone ([`Removed`], in `.state/removed.json`), which files go ([`choose`]), and deleting them.
//!
//! The rules, in the order they apply:
//! - a container is *removed* when the engine no longer lists it (running or stopped, watched or
//!   not) and the logs side does not follow it; only a successful list of every container says so,
//!   so while the engine cannot be asked no container counts as removed;
//! - a removed container gone for LOGS_KEEP_REMOVED loses all its files, whatever the budget;
//! - over LOGS_MAX_TOTAL_BYTES, files go oldest first (by when they were last written) until
//!   [`LOW_WATER`] of the budget is left: first every file of removed containers (their current file
//!   last), then the rotated files of the containers the engine still has;
//! - a current file of a container the engine still has is never deleted, nor its cursor.
//!
//! Deleting a removed container whole is ordered so that a crash at any step loses nothing kept
//! and repeats nothing: its cursor leaves the state file first (an atomic rewrite), then its time
//! index, then its files oldest first, then its directory and its entry here. A crash in between
//! leaves files without a cursor, which the next pass finds removed again and deletes. A rotated file
//! is only ever older than what the last commit marked, so deleting it touches no cursor; the time
//! index's records of it are then skipped by the pages, which start at the oldest file kept.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tracing::{debug, error};

use super::atomic::write_atomically;
use super::container::Written;
use super::dir::{is_safe_name, LogsDir};
use super::times::RECORD;
use super::TARGET;
use crate::container::ContainerName;
use crate::say_once::Latch;

/// Once over the budget, files are deleted until this share of it (in twentieths) is left, so the
/// next deletions wait until a twentieth of the budget has been written again.
pub(super) const LOW_WATER: u64 = 19;

/// How often, at least, a pass scans LOGS_DIR and asks the engine for every container when the
/// budget is not exceeded (more often for a LOGS_KEEP_REMOVED under ten times this): between
/// scans, the bytes kept grow by what the ticks wrote.
pub(super) const PASS_EVERY: Duration = Duration::from_secs(60);

const NANOS: i64 = 1_000_000_000;

/// What LOGS_MAX_TOTAL_BYTES and LOGS_KEEP_REMOVED ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    /// The most bytes LOGS_DIR may hold; 0: no budget.
    pub max_total: u64,
    /// How long a removed container's files are kept; `None`: for ever.
    pub keep_removed: Option<Duration>,
}

impl Budget {
    /// Whether neither setting is on: then no pass runs at all.
    pub fn is_off(&self) -> bool {
        self.max_total == 0 && self.keep_removed.is_none()
    }

    /// Where a pass that found LOGS_DIR over the budget stops deleting.
    fn low_water(&self) -> u64 {
        self.max_total / 20 * LOW_WATER
    }
}

/// What the budget pass keeps between ticks.
#[derive(Debug)]
pub(super) struct Keeper {
    pub(super) budget: Budget,
    /// Bytes kept: the last scan's total plus what the ticks wrote since; `None` before a scan. It
    /// can only be too high (the rotation deletes files too), which brings the next scan sooner.
    pub(super) estimate: Option<u64>,
    /// When LOGS_DIR was last scanned, and the bytes kept after that pass.
    pub(super) last_pass: Option<Instant>,
    pub(super) scanned: u64,
    pub(super) removed: Removed,
    /// Said once: only files that may not be deleted are left, and they exceed the budget.
    pub(super) unmet: Latch,
}

impl Keeper {
    pub(super) fn new(budget: Budget, dir: &LogsDir) -> Keeper {
        Keeper {
            budget,
            estimate: None,
            last_pass: None,
            scanned: 0,
            removed: Removed::open(dir),
            unmet: Latch::new(),
        }
    }

    /// A tick's commit made `written` durable: each container's bytes and a time index record.
    pub(super) fn wrote(&mut self, written: &[Written]) {
        if let Some(total) = self.estimate.as_mut() {
            for w in written {
                *total += w.bytes + RECORD as u64;
            }
        }
    }

    /// Whether this tick scans: the first tick, every [`PASS_EVERY`], and whenever the bytes
    /// kept may exceed the budget.
    pub(super) fn due(&self) -> bool {
        let max = self.budget.max_total;
        // When only what may not be deleted is left, a scan each tick would find the same: the
        // next waits until a twentieth of the budget more was written.
        let worth_it = |kept: u64| !self.unmet.said() || kept >= self.scanned + max / 20;
        let over = max > 0
            && self
                .estimate
                .is_none_or(|kept| kept > max && worth_it(kept));
        // A short LOGS_KEEP_REMOVED is kept to a tenth of itself.
        let every = self
            .budget
            .keep_removed
            .map_or(PASS_EVERY, |keep| PASS_EVERY.min(keep / 10));
        over || self.last_pass.is_none_or(|t| t.elapsed() >= every)
    }
}

/// Why a file was deleted: the label of `collector_logs_deleted_bytes_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// LOGS_MAX_TOTAL_BYTES.
    Budget,
    /// LOGS_KEEP_REMOVED.
    Removed,
}

impl Reason {
    /// The metric's label value.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Budget => "budget",
            Reason::Removed => "removed",
        }
    }
}

/// One of a container's log files: its age (0 the current file, k `.log.k`), size and when it
/// was last written (unix nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeptFile {
    pub(super) age: u32,
    pub(super) bytes: u64,
    pub(super) modified: i64,
}

/// What one container keeps in LOGS_DIR.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Kept {
    /// Its log files, oldest first.
    pub(super) files: Vec<KeptFile>,
    /// Its time index.
    pub(super) index: u64,
}

impl Kept {
    fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum::<u64>() + self.index
    }

    fn newest(&self) -> Option<i64> {
        self.files.iter().map(|f| f.modified).max()
    }
}

/// Everything LOGS_DIR holds, as one scan found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Inventory {
    /// Each container directory holding at least one of its log files.
    pub(super) containers: BTreeMap<ContainerName, Kept>,
    /// Everything else: the state files, time indexes without a directory, stray files.
    pub(super) other: u64,
}

impl Inventory {
    /// Bytes of every file under LOGS_DIR.
    pub(super) fn total(&self) -> u64 {
        self.other + self.containers.values().map(Kept::bytes).sum::<u64>()
    }

    /// Bytes kept by each container, by name.
    pub(super) fn by_container(&self) -> Vec<(ContainerName, u64)> {
        self.containers
            .iter()
            .map(|(name, kept)| (name.clone(), kept.bytes()))
            .collect()
    }

    /// Reads LOGS_DIR: one directory listing per container and a stat per file.
    pub(super) fn scan(dir: &LogsDir) -> Inventory {
        let mut inv = Inventory::default();
        let Ok(entries) = fs::read_dir(dir.root()) else {
            return inv;
        };
        let state = dir.state_dir();
        for entry in entries.flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let name = entry.file_name().into_string().ok();
            match name {
                // Counted by attach_indexes, with the time indexes where they belong.
                _ if is_dir && entry.path() == state => {}
                Some(name) if is_dir && is_safe_name(&name) => {
                    inv.scan_container(dir, ContainerName::from(name.as_str()));
                }
                _ if is_dir => inv.other += bytes_below(&entry.path(), 2),
                _ => inv.other += entry.metadata().map_or(0, |m| m.len()),
            }
        }
        inv.attach_indexes(dir);
        inv
    }

    fn scan_container(&mut self, dir: &LogsDir, name: ContainerName) {
        let mut kept = Kept::default();
        let Ok(entries) = fs::read_dir(dir.container(&name)) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let file_name = entry.file_name();
            let age = file_name.to_str().and_then(|f| LogsDir::age(&name, f));
            match age {
                Some(age) if meta.is_file() => kept.files.push(KeptFile {
                    age,
                    bytes: meta.len(),
                    modified: unix_nanos(meta.modified().ok()),
                }),
                _ => self.other += meta.len(),
            }
        }
        if !kept.files.is_empty() {
            kept.files.sort_by_key(|f| std::cmp::Reverse(f.age));
            self.containers.insert(name, kept);
        }
    }

    /// Counts each time index with its container when it has a directory, else with the rest.
    fn attach_indexes(&mut self, dir: &LogsDir) {
        self.other += bytes_below(&dir.state_dir(), 1);
        let Ok(entries) = fs::read_dir(dir.times_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let len = entry.metadata().map_or(0, |m| m.len());
            let name = entry.file_name().into_string().ok();
            match name.and_then(|n| self.containers.get_mut(n.as_str())) {
                Some(kept) => kept.index += len,
                None => self.other += len,
            }
        }
    }
}

/// Bytes of the files in `dir` and, `depth` levels down, in its directories.
fn bytes_below(dir: &Path, depth: u32) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        match entry.metadata() {
            Ok(m) if m.is_dir() && depth > 1 => total += bytes_below(&entry.path(), depth - 1),
            Ok(m) if m.is_file() => total += m.len(),
            _ => {}
        }
    }
    total
}

fn unix_nanos(t: Option<SystemTime>) -> i64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// What to delete: one rotated file, or everything a removed container keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// `.log.<age>` of a container.
    Rotated { name: ContainerName, age: u32 },
    /// Every file of a removed container, its cursor and its time index.
    Whole { name: ContainerName },
}

/// What a pass deletes, in order, and what is left after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// The steps with the bytes each frees and why.
    pub(super) steps: Vec<(Step, u64, Reason)>,
    /// Bytes LOGS_DIR holds once every step is done.
    pub(super) left: u64,
}

/// Chooses what goes: the removed containers expired by LOGS_KEEP_REMOVED, then, over the budget,
/// files oldest first as the module says. `removed` holds each removed container with the unix
/// second since which it is gone; any other container is one the engine still has.
pub(super) fn choose(
    inv: &Inventory,
    removed: &BTreeMap<ContainerName, i64>,
    now: i64,
    budget: &Budget,
) -> Plan {
    let mut plan = Plan {
        steps: Vec::new(),
        left: inv.total(),
    };
    let mut whole: HashSet<&ContainerName> = HashSet::new();
    if let Some(keep) = budget.keep_removed {
        let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
        for (name, since) in removed {
            let Some(kept) = inv.containers.get(name) else {
                continue;
            };
            if now.saturating_sub(*since) >= keep {
                plan.left -= kept.bytes();
                let step = Step::Whole { name: name.clone() };
                plan.steps.push((step, kept.bytes(), Reason::Removed));
                whole.insert(name);
            }
        }
    }
    if budget.max_total == 0 || plan.left <= budget.max_total {
        return plan;
    }
    let target = budget.low_water();
    for (step, bytes) in candidates(inv, removed, &whole) {
        if plan.left <= target {
            break;
        }
        plan.left -= bytes;
        plan.steps.push((step, bytes, Reason::Budget));
    }
    plan
}

/// Where a candidate goes: (0 for a removed container's, 1 for the others', last written, the
/// older rotation first, the name).
type Order<'a> = (u8, i64, std::cmp::Reverse<u32>, &'a ContainerName);

/// Everything the budget may delete, in the order it goes: each removed container's rotated files
/// and then the rest of it, mixed with the other removed containers' by age; then the rotated files
/// of the containers the engine has, oldest first.
fn candidates(
    inv: &Inventory,
    removed: &BTreeMap<ContainerName, i64>,
    skip: &HashSet<&ContainerName>,
) -> Vec<(Step, u64)> {
    // (class, last written, older rotation first) orders them; the name makes the order total.
    let mut found: Vec<(Order, Step, u64)> = Vec::new();
    for (name, kept) in inv.containers.iter().filter(|(n, _)| !skip.contains(n)) {
        let is_removed = removed.contains_key(name);
        let class = u8::from(!is_removed);
        let mut rest = kept.bytes();
        for f in kept.files.iter().filter(|f| f.age > 0) {
            let step = Step::Rotated {
                name: name.clone(),
                age: f.age,
            };
            let key = (class, f.modified, std::cmp::Reverse(f.age), name);
            found.push((key, step, f.bytes));
            rest -= f.bytes;
        }
        if is_removed {
            // The current file and the index, with the cursor: after every rotated file of it.
            let newest = kept.newest().unwrap_or(0);
            let key = (class, newest, std::cmp::Reverse(0), name);
            found.push((key, Step::Whole { name: name.clone() }, rest));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(_, step, bytes)| (step, bytes))
        .collect()
}

/// Deletes `.log.<age>` of `name`; returns the bytes freed (0 when it was gone already).
pub(super) fn delete_rotated(dir: &LogsDir, name: &ContainerName, age: u32) -> io::Result<u64> {
    let path = LogsDir::rotated(&dir.log_file(name), age);
    remove(&path)
}

/// Deletes every file of `name` oldest first, its time index before them, and its directory.
/// Its cursor must be out of the state file already. Returns the bytes freed.
pub(super) fn delete_whole(dir: &LogsDir, name: &ContainerName) -> io::Result<u64> {
    let mut freed = remove(&dir.times_file(name))?;
    let mut files: Vec<(u32, std::path::PathBuf)> = fs::read_dir(dir.container(name))?
        .flatten()
        .filter_map(|e| {
            let age = LogsDir::age(name, e.file_name().to_str()?)?;
            Some((age, e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, path) in files {
        freed += remove(&path)?;
    }
    if let Err(e) = fs::remove_dir(dir.container(name)) {
        // Files that are not the container's stay, and so does their directory.
        debug!(target: TARGET, "{name}: directory kept: {e}");
    }
    Ok(freed)
}

fn remove(path: &Path) -> io::Result<u64> {
    let len = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    match fs::remove_file(path) {
        Ok(()) => Ok(len),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Since when each removed container is gone, kept in `.state/removed.json` so a restart keeps it.
#[derive(Debug)]
pub(super) struct Removed {
    path: std::path::PathBuf,
    since: BTreeMap<ContainerName, i64>,
    dirty: bool,
    /// A list of the engine's containers was compared with LOGS_DIR in this run already: a
    /// container missing from a later one has just gone, at the time of that list.
    compared: bool,
}

/// The content of `.state/removed.json`.
#[derive(Debug, Serialize, Deserialize)]
struct RemovedFile {
    version: u32,
    /// Unix seconds since which each container is found gone.
    since: BTreeMap<ContainerName, i64>,
}

impl Removed {
    /// What an earlier run recorded (nothing, when the file is missing or damaged).
    pub(super) fn open(dir: &LogsDir) -> Removed {
        let path = dir.removed_file();
        let since = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RemovedFile>(&b).ok())
            .map(|f| f.since)
            .unwrap_or_default();
        Removed {
            path,
            since,
            dirty: false,
            compared: false,
        }
    }

    /// Compares LOGS_DIR with the containers the engine has (`present`; `None` when it could not be
    /// asked) and returns the removed ones with the time since which each is gone: the time of the
    /// first list that missed it; for one already gone at the first list of this run, and not
    /// recorded before, when its newest file was last written.
    pub(super) fn update(
        &mut self,
        inv: &Inventory,
        present: Option<&HashSet<ContainerName>>,
        now: i64,
    ) -> BTreeMap<ContainerName, i64> {
        let Some(present) = present else {
            return BTreeMap::new();
        };
        let before = self.since.len();
        self.since
            .retain(|name, _| inv.containers.contains_key(name) && !present.contains(name));
        let mut changed = before != self.since.len();
        for (name, kept) in &inv.containers {
            if present.contains(name) || self.since.contains_key(name) {
                continue;
            }
            let since = match self.compared {
                true => now,
                false => kept.newest().map_or(now, |t| t / NANOS).min(now),
            };
            self.since.insert(name.clone(), since);
            changed = true;
        }
        self.compared = true;
        self.dirty |= changed;
        self.since.clone()
    }

    /// `name` was deleted whole.
    pub(super) fn forget(&mut self, name: &ContainerName) {
        self.dirty |= self.since.remove(name).is_some();
    }

    /// Writes the file if anything changed.
    pub(super) fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let content = RemovedFile {
            version: 1,
            since: self.since.clone(),
        };
        let written = serde_json::to_vec(&content)
            .map_err(io::Error::other)
            .and_then(|bytes| write_atomically(&self.path, &bytes));
        match written {
            Ok(()) => self.dirty = false,
            Err(e) => error!(target: TARGET, "cannot write {}: {e}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests;
