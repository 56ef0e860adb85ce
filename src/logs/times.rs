//! The time index of a container's history: for each tick that wrote lines, the engine timestamp of
//! its first line and where that line starts in the rotated files. The log files keep the Python
//! tool's format (no timestamps), so this is what lets "the last hour" or a `since`/`until` range be
//! found without reading a whole history.
//!
//! One file per container (where [`LogsDir::times_file`](super::dir::LogsDir::times_file) says),
//! of fixed 32-byte records appended by each commit. The commit records the file's length with the cursors, and the crash recovery cuts
//! the file back to that length, so the index holds exactly the committed ticks. A file's place in
//! the rotation is a *generation*: how many rotations came before it; `.log` is the newest
//! generation, `.log.k` the one k rotations older.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use super::atomic::write_atomically;

/// Bytes of one record.
pub(super) const RECORD: usize = 32;

/// Records that point at files the rotation deleted are dropped once there are this many.
const PRUNE_AT: usize = 1024;

/// One tick that wrote lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Engine timestamp (unix nanoseconds) of the tick's first line.
    pub ts: i64,
    /// Generation of the file that line is in.
    pub generation: u64,
    /// Its offset in that file.
    pub offset: u64,
    /// Generation of the newest file at the end of the tick: `.log`'s, until a later tick rotates.
    pub newest: u64,
}

impl Tick {
    fn to_bytes(self) -> [u8; RECORD] {
        let mut b = [0; RECORD];
        b[0..8].copy_from_slice(&self.ts.to_le_bytes());
        b[8..16].copy_from_slice(&self.generation.to_le_bytes());
        b[16..24].copy_from_slice(&self.offset.to_le_bytes());
        b[24..32].copy_from_slice(&self.newest.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> Tick {
        let word = |i: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&b[i..i + 8]);
            w
        };
        Tick {
            ts: i64::from_le_bytes(word(0)),
            generation: u64::from_le_bytes(word(8)),
            offset: u64::from_le_bytes(word(16)),
            newest: u64::from_le_bytes(word(24)),
        }
    }
}

/// Every record of the file, oldest first (a torn last record is left out).
pub fn read(path: &Path) -> io::Result<Vec<Tick>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(bytes.chunks_exact(RECORD).map(Tick::from_bytes).collect())
}

/// Appends `tick`; returns the file's new length.
pub fn append(path: &Path, committed_len: u64, tick: Tick) -> io::Result<u64> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    let len = f.metadata()?.len();
    if len != committed_len {
        // Left by a tick that was not committed (or torn): back to the commit first.
        f.set_len(committed_len.min(len))?;
    }
    f.write_all(&tick.to_bytes())?;
    Ok(committed_len.min(len) + RECORD as u64)
}

/// Cuts the file back to what the last commit recorded (the crash recovery).
pub fn recover(path: &Path, committed_len: u64) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.len() > committed_len => {
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(committed_len)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a container followed afresh (no commit of its own) continues from: the generation of its
/// newest file and the index's length, as the file left by an earlier run says.
pub fn resume(path: &Path) -> (u64, u64) {
    let ticks = read(path).unwrap_or_default();
    let newest = ticks.last().map_or(0, |t| t.newest);
    (newest, (ticks.len() * RECORD) as u64)
}

/// Drops the records of files the rotation deleted (older than `backup_count` rotations before
/// `newest`) once there are many; returns the file's new length.
pub fn prune(path: &Path, len: u64, newest: u64, backup_count: u32) -> io::Result<u64> {
    if len < (PRUNE_AT * RECORD) as u64 {
        return Ok(len);
    }
    let oldest_kept = newest.saturating_sub(u64::from(backup_count));
    let ticks = read(path)?;
    let dead = ticks
        .iter()
        .take_while(|t| t.generation < oldest_kept)
        .count();
    if dead < PRUNE_AT {
        return Ok(len);
    }
    let mut bytes = Vec::with_capacity((ticks.len() - dead) * RECORD);
    for t in &ticks[dead..] {
        bytes.extend_from_slice(&t.to_bytes());
    }
    write_atomically(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Where the first line at or after `ts_nanos` starts, among `ticks`: (generations before the
/// newest file, offset), `Err(true)` when every line is older, `Err(false)` when none is kept
/// that old (the range starts with the history).
pub fn locate(
    ticks: &[Tick],
    ts_nanos: i64,
    backup_count: Option<u32>,
) -> Result<(u64, u64), bool> {
    let Some(last) = ticks.last() else {
        return Err(false);
    };
    let i = ticks.partition_point(|t| t.ts < ts_nanos);
    let Some(t) = ticks.get(i) else {
        return Err(true);
    };
    let age = last.newest.saturating_sub(t.generation);
    if backup_count.is_some_and(|b| age > u64::from(b)) {
        // Its file is deleted: the kept history starts after it.
        return Err(false);
    }
    if i == 0 {
        return Err(false);
    }
    Ok((age, t.offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::dir::LogsDir;

    fn tick(ts: i64, generation: u64, offset: u64, newest: u64) -> Tick {
        Tick {
            ts,
            generation,
            offset,
            newest,
        }
    }

    #[test]
    fn records_read_back_and_a_torn_one_is_left_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = LogsDir::new(dir.path()).times_file(&"app".into());
        let len = append(&p, 0, tick(10, 0, 0, 0)).expect("append");
        let len = append(&p, len, tick(20, 0, 50, 1)).expect("append");
        assert_eq!(len, 64);
        OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut f| f.write_all(&[1, 2, 3]))
            .expect("tear");
        assert_eq!(
            read(&p).expect("read"),
            [tick(10, 0, 0, 0), tick(20, 0, 50, 1)]
        );
        assert_eq!(resume(&p), (1, 64));
    }

    #[test]
    fn what_the_commit_did_not_record_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = LogsDir::new(dir.path()).times_file(&"app".into());
        let len = append(&p, 0, tick(10, 0, 0, 0)).expect("append");
        // A tick after the commit, then a crash.
        append(&p, len, tick(20, 0, 9, 0)).expect("append");
        recover(&p, len).expect("recover");
        assert_eq!(read(&p).expect("read"), [tick(10, 0, 0, 0)]);
        // An append over an uncommitted record replaces it.
        append(&p, len, tick(30, 0, 9, 0)).expect("append");
        let len = append(&p, len, tick(31, 0, 9, 0)).expect("append");
        assert_eq!(len, 64);
        assert_eq!(read(&p).expect("read")[1].ts, 31);
    }

    #[test]
    fn a_moment_is_found_at_the_first_tick_at_or_after_it() {
        // Ticks at 10, 20, 30; a rotation between the second and the third.
        let ticks = [tick(10, 0, 0, 0), tick(20, 0, 100, 1), tick(30, 1, 40, 1)];
        assert_eq!(locate(&ticks, 5, None), Err(false), "before everything");
        assert_eq!(locate(&ticks, 10, None), Err(false));
        assert_eq!(locate(&ticks, 11, None), Ok((1, 100)), ".log.1 at 100");
        assert_eq!(locate(&ticks, 30, None), Ok((0, 40)));
        assert_eq!(locate(&ticks, 31, None), Err(true), "after everything");
        assert_eq!(locate(&[], 31, None), Err(false));
        // With one rotated file kept, generation 0 is .log.1: still there.
        assert_eq!(locate(&ticks, 11, Some(1)), Ok((1, 100)));
        assert_eq!(locate(&ticks, 11, Some(0)), Err(false), "deleted");
    }

    #[test]
    fn records_of_deleted_files_are_pruned_once_there_are_many() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = LogsDir::new(dir.path()).times_file(&"app".into());
        let mut len = 0;
        // PRUNE_AT + 5 ticks in generation 0, then 10 in generation 5.
        for i in 0..(PRUNE_AT as u64 + 15) {
            let generation = if i < PRUNE_AT as u64 + 5 { 0 } else { 5 };
            len = append(&p, len, tick(i as i64, generation, i, generation)).expect("append");
        }
        assert_eq!(
            prune(&p, len, 5, 5).expect("kept"),
            len,
            "generation 0 is still kept"
        );
        let pruned = prune(&p, len, 5, 2).expect("prune");
        let left = read(&p).expect("read");
        assert_eq!(left.len(), 10);
        assert_eq!(pruned, (left.len() * RECORD) as u64);
        assert!(left.iter().all(|t| t.generation == 5));
        assert_eq!(left.last().map(|t| t.ts), Some(PRUNE_AT as i64 + 14));
    }
}
