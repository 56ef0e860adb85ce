//! A log file rotated exactly like Python's `logging.handlers.RotatingFileHandler`, and the crash
//! recovery that undoes writes made after the last commit.
//!
//! Rotation rule (the Python tool's contract with its users): before writing a line that would bring
//! the file to `max_bytes` or beyond, `<name>.(i)` becomes `<name>.(i+1)` for i = backup_count-1 .. 1,
//! `<name>` becomes `<name>.1`, and the line goes to a fresh `<name>`. The oldest beyond `backup_count`
//! is dropped, an empty file is never rotated, and `max_bytes == 0` or `backup_count == 0` means the
//! file just grows. So a file exceeds `max_bytes` only when it holds a single line that does. Sizes are
//! bytes. (No crate implements these rules: file-rotate cuts lines, rolling-file checks after the
//! write, logroller renames on a background thread.)
//!
//! Crash safety: the caller persists a [`FileMark`] (the file's inode and length) together with its log
//! cursor after [`RotatingFile::mark`]. [`recover`] later cuts off whatever was written after that mark,
//! undoing rotations if needed, so the lines involved can be fetched and written again exactly once.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dir::LogsDir;

/// Buffer of one open log file: enough for a burst of lines, small enough for dozens open at once.
const BUFFER: usize = 32 * 1024;

/// How many leading bytes of a file identify it, with its inode, in a [`FileMark`].
const HEAD: u64 = 64;

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases, for marks that outlive them.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The hash of the first `min(len, HEAD)` bytes of `path`.
fn head_of(path: &Path, len: u64) -> io::Result<u64> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(HEAD as usize);
    File::open(path)?
        .take(len.min(HEAD))
        .read_to_end(&mut buf)?;
    Ok(fnv1a(&buf))
}

/// Where the committed bytes of a log file end: its inode and length at the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileMark {
    /// Inode of the base file, `None` if it did not exist.
    pub inode: Option<u64>,
    /// Its length in bytes.
    pub len: u64,
    /// Hash of its first bytes: a deleted file's inode number can be given to a new file, which must
    /// not be taken for the marked one.
    #[serde(default)]
    pub head: Option<u64>,
    /// Its birth time in nanoseconds, where the file system records one: tells a new file with a
    /// reused inode number from the marked one even when the marked file was empty.
    #[serde(default)]
    pub born: Option<u64>,
}

fn born(m: &fs::Metadata) -> Option<u64> {
    let t = m
        .created()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    u64::try_from(t.as_nanos()).ok()
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The files are as the mark says: nothing to undo.
    Clean,
    /// Bytes written after the mark were cut off the base file.
    Truncated {
        /// How many.
        bytes: u64,
    },
    /// Rotations happened after the mark: the files written since were removed and the marked file
    /// is the base file again, cut to its marked length.
    RolledBack {
        /// Rotations undone.
        rotations: u32,
        /// Bytes removed in all.
        bytes: u64,
    },
    /// The marked file is shorter than the mark: bytes were lost outside this program (a power loss
    /// before the OS wrote them, or someone truncated the file). Nothing was changed.
    Shorter {
        /// How many bytes are missing.
        missing: u64,
    },
    /// No file has the marked inode (the files were deleted or replaced): nothing was changed.
    MarkNotFound,
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// One container's log file and its rotated predecessors.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backup_count: u32,
    writer: Option<BufWriter<File>>,
    /// Length of the base file including buffered bytes; valid while `writer` is open.
    size: u64,
    /// (inode, head hash) of the base file once it is at least HEAD bytes long.
    head: Option<(u64, u64)>,
    /// Rotations since the last [`RotatingFile::take_rotations`].
    rotations: u64,
    /// Offset in the base file where the last line written starts.
    last_start: u64,
}

impl RotatingFile {
    /// A file at `path`, opened on the first write (creating its directory if needed).
    pub fn new(path: PathBuf, max_bytes: u64, backup_count: u32) -> RotatingFile {
        RotatingFile {
            path,
            max_bytes,
            backup_count,
            writer: None,
            size: 0,
            head: None,
            rotations: 0,
            last_start: 0,
        }
    }

    /// Where the last line written starts: rotations since [`RotatingFile::take_rotations`], and its
    /// offset in the base file.
    pub fn last_line_at(&self) -> (u64, u64) {
        (self.rotations, self.last_start)
    }

    /// The rotations since the last call: the commit adds them to the file's generation (a rollback
    /// undoes them, and drops the count).
    pub fn take_rotations(&mut self) -> u64 {
        std::mem::take(&mut self.rotations)
    }

    /// The base file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self) -> io::Result<()> {
        if self.writer.is_some() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.writer = Some(BufWriter::with_capacity(BUFFER, file));
        Ok(())
    }

    fn should_roll_over(&self, len: u64) -> bool {
        self.max_bytes > 0
            && self.backup_count > 0
            && self.size > 0
            && self.size + len >= self.max_bytes
    }

    fn roll_over(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        for i in (1..self.backup_count).rev() {
            let from = LogsDir::rotated(&self.path, i);
            if exists(&from) {
                let to = LogsDir::rotated(&self.path, i + 1);
                if exists(&to) {
                    fs::remove_file(&to)?;
                }
                fs::rename(&from, &to)?;
            }
        }
        let first = LogsDir::rotated(&self.path, 1);
        if exists(&first) {
            fs::remove_file(&first)?;
        }
        if exists(&self.path) {
            fs::rename(&self.path, &first)?;
        }
        self.rotations += 1;
        self.open()
    }

    /// Writes one record, `line` including its `\n`, rotating first if the rule says so.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.open()?;
        let len = line.len() as u64;
        if self.should_roll_over(len) {
            self.roll_over()?;
        }
        self.last_start = self.size;
        match self.writer.as_mut() {
            Some(w) => w.write_all(line)?,
            None => return Err(io::Error::other("log file not open")),
        }
        self.size += len;
        Ok(())
    }

    /// Hands the buffered bytes to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Flushes and closes the file; the next write opens it again. Bounds the descriptors held when
    /// thousands of containers are followed.
    pub fn close(&mut self) -> io::Result<()> {
        match self.writer.take() {
            Some(mut w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Flushes, then says where the base file ends now: the point a commit records. Creates the file
    /// (empty) if it does not exist yet, so that every mark names a file: without one, a crash could
    /// leave rotated files that no mark can tell from older ones.
    pub fn mark(&mut self) -> io::Result<FileMark> {
        self.flush()?;
        if self.writer.is_none() && !exists(&self.path) {
            // Created, not opened for writing: no buffer is held for a file nothing was written to.
            if let Some(dir) = self.path.parent() {
                fs::create_dir_all(dir)?;
            }
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        let m = fs::metadata(&self.path)?;
        // The head of a file stops changing once it is HEAD bytes long: read it once then.
        let head = match self.head {
            Some((inode, hash)) if inode == m.ino() => hash,
            _ => {
                let hash = head_of(&self.path, m.len())?;
                if m.len() >= HEAD {
                    self.head = Some((m.ino(), hash));
                }
                hash
            }
        };
        Ok(FileMark {
            inode: Some(m.ino()),
            len: m.len(),
            head: Some(head),
            born: born(&m),
        })
    }

    /// Forgets the buffered bytes without writing them and undoes everything written after `mark`
    /// (after a failed write, so that the file and the committed cursor agree again).
    pub fn rollback(&mut self, mark: FileMark) -> io::Result<Recovery> {
        if let Some(w) = self.writer.take() {
            // into_parts hands back the file without flushing the buffer.
            drop(w.into_parts());
        }
        self.rotations = 0;
        recover(&self.path, mark, self.backup_count)
    }
}

fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// Undoes what was written to `path` (and its rotated files) after `mark` was taken.
pub fn recover(path: &Path, mark: FileMark, backup_count: u32) -> io::Result<Recovery> {
    let Some(inode) = mark.inode else {
        return recover_unmarked(path);
    };
    match fs::metadata(path) {
        Ok(m) if is_marked(&mark, inode, path, &m) => {
            return Ok(match cut(&mark, path, m.len())? {
                Ok(0) => Recovery::Clean,
                Ok(bytes) => Recovery::Truncated { bytes },
                Err(missing) => Recovery::Shorter { missing },
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    for j in 1..=backup_count {
        let marked = LogsDir::rotated(path, j);
        let Ok(m) = fs::metadata(&marked) else {
            continue;
        };
        if !is_marked(&mark, inode, &marked, &m) {
            continue;
        }
        let bytes = match cut(&mark, &marked, m.len())? {
            Ok(b) => b,
            Err(missing) => return Ok(Recovery::Shorter { missing }),
        };
        return roll_back(path, j, backup_count, bytes);
    }
    Ok(Recovery::MarkNotFound)
}

/// The file did not exist at the commit: whatever it holds now came after, and is cut off.
fn recover_unmarked(path: &Path) -> io::Result<Recovery> {
    match fs::metadata(path) {
        Ok(m) if m.len() > 0 => {
            truncate(path, 0)?;
            Ok(Recovery::Truncated { bytes: m.len() })
        }
        Ok(_) => Ok(Recovery::Clean),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Recovery::Clean),
        Err(e) => Err(e),
    }
}

/// Cuts the marked file `file`, `len` bytes long now, back to the mark's length: `Ok(bytes cut)`,
/// or `Err(bytes missing)` when it is shorter than at the mark (lost outside the collector).
fn cut(mark: &FileMark, file: &Path, len: u64) -> io::Result<Result<u64, u64>> {
    if len > mark.len {
        truncate(file, mark.len)?;
        Ok(Ok(len - mark.len))
    } else if len < mark.len {
        Ok(Err(mark.len - len))
    } else {
        Ok(Ok(0))
    }
}

/// Whether `file` (with metadata `m`) is the marked file: the right inode and, when the mark has
/// one, the same birth time and first bytes, since an inode number alone can be reused.
fn is_marked(mark: &FileMark, inode: u64, file: &Path, m: &fs::Metadata) -> bool {
    m.ino() == inode
        && match (mark.born, born(m)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
        && match mark.head {
            // Too short to hold the marked head: not the marked file (or not verifiably).
            Some(_) if m.len() < mark.len.min(HEAD) => false,
            Some(head) => head_of(file, mark.len).is_ok_and(|h| h == head),
            None => true,
        }
}

/// The marked file is `j` rotations old and already cut back (`bytes` cut): removes the files
/// newer than it, written after the commit, and moves it and the older ones back into place.
fn roll_back(path: &Path, j: u32, backup_count: u32, mut bytes: u64) -> io::Result<Recovery> {
    // Everything newer than the marked file was written after the commit.
    for newer in
        std::iter::once(path.to_path_buf()).chain((1..j).map(|i| LogsDir::rotated(path, i)))
    {
        if let Ok(n) = fs::metadata(&newer) {
            bytes += n.len();
            fs::remove_file(&newer)?;
        }
    }
    // Shift the marked file and the older ones back by j places.
    for k in 0..=(backup_count - j) {
        let from = LogsDir::rotated(path, j + k);
        if !exists(&from) {
            continue;
        }
        let to = if k == 0 {
            path.to_path_buf()
        } else {
            LogsDir::rotated(path, k)
        };
        fs::rename(&from, &to)?;
    }
    Ok(Recovery::RolledBack {
        rotations: j,
        bytes,
    })
}

#[cfg(test)]
mod tests;
