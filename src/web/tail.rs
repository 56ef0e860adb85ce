//! The live tail: lines appended to a container's current file after a given point, followed across
//! the collector's rotations, as they are flushed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::history::{files, shown, Pattern, Position};
use crate::container::ContainerName;
use crate::logs::levels::{Level, Rules};
use crate::logs::LogsDir;

/// Read at most this much per poll: a burst is shown over several polls rather than held at once.
const MAX_READ: u64 = 4 << 20;

/// Where a tail stands: the file it reads (by inode, which a rotation keeps) and the offset of the
/// next line in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Inode of the file.
    pub inode: u64,
    /// Offset of the next unread line.
    pub offset: u64,
}

/// One line the tail found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailLine {
    /// Its level.
    pub level: Level,
    /// Its bytes without the line end, cut at [`SHOWN_LINE_BYTES`].
    pub text: Vec<u8>,
    /// Bytes cut off.
    pub cut: usize,
}

/// The end of the current file of `name` now: where a tail opened now starts.
pub fn end_of(logs_dir: &LogsDir, name: &ContainerName) -> Option<Point> {
    let (_, path) = files(logs_dir, name)
        .into_iter()
        .find(|(age, _)| *age == 0)?;
    let meta = std::fs::metadata(path).ok()?;
    // Only whole lines count as read: a line being written is picked up by the tail once complete.
    Some(Point {
        inode: meta.ino(),
        offset: meta.len(),
    })
}

/// The tail of one container, filtered.
#[derive(Debug)]
pub struct Tail {
    logs_dir: LogsDir,
    name: ContainerName,
    at: Option<Point>,
    levels: [bool; 3],
    pattern: Option<Pattern>,
}

impl Tail {
    /// A tail of `name` from `from` (None: from the end of its current file now).
    pub fn new(
        logs_dir: LogsDir,
        name: ContainerName,
        from: Option<Point>,
        levels: [bool; 3],
        pattern: Option<Pattern>,
    ) -> Tail {
        let at = from.or_else(|| end_of(&logs_dir, &name));
        Tail {
            logs_dir,
            name,
            at,
            levels,
            pattern,
        }
    }

    /// Where the tail stands: the next poll reads from there.
    pub fn position(&self) -> Option<Point> {
        self.at
    }

    /// The lines appended since the last poll, oldest first.
    pub fn poll(&mut self, rules: &Rules) -> io::Result<Vec<TailLine>> {
        let mut out = Vec::new();
        let listed = files(&self.logs_dir, &self.name);
        let with_inode: Vec<(Position, u64, PathBuf)> = listed
            .into_iter()
            .filter_map(|(age, p)| {
                let ino = std::fs::metadata(&p).ok()?.ino();
                Some((
                    Position {
                        file: age,
                        offset: 0,
                    },
                    ino,
                    p,
                ))
            })
            .collect();
        let Some(current) = with_inode.iter().find(|(pos, _, _)| pos.file == 0) else {
            return Ok(out);
        };
        let Some(at) = self.at else {
            // No file when the tail opened: the first file is read from its start.
            self.at = Some(Point {
                inode: current.1,
                offset: 0,
            });
            return self.poll(rules);
        };
        // The file the tail was in, and every newer one, in order (a rotation may have happened
        // since the last poll, several even).
        let start = with_inode.iter().position(|(_, ino, _)| *ino == at.inode);
        let chain: Vec<&(Position, u64, PathBuf)> = match start {
            Some(i) => with_inode[i..].iter().collect(),
            // Rotated out of the kept files already: go on with the current one from its start.
            None => vec![current],
        };
        let mut budget = MAX_READ;
        for (i, (_, inode, path)) in chain.iter().enumerate() {
            let offset = if *inode == at.inode { at.offset } else { 0 };
            let (read, complete) = self.read_lines(path, offset, budget, rules, &mut out)?;
            budget = budget.saturating_sub(read);
            self.at = Some(Point {
                inode: *inode,
                offset: offset + read,
            });
            let last = i + 1 == chain.len();
            if !complete || last || budget == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Reads the whole lines of `path` from `offset` (up to `budget` bytes): the bytes taken and
    /// whether the file's end was reached. A rotated file ends with a whole line, so a newer file
    /// is only read once an older one was read to its end.
    fn read_lines(
        &self,
        path: &Path,
        offset: u64,
        budget: u64,
        rules: &Rules,
        out: &mut Vec<TailLine>,
    ) -> io::Result<(u64, bool)> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, true)),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len <= offset {
            return Ok((0, true));
        }
        file.seek(SeekFrom::Start(offset))?;
        let want = (len - offset).min(budget);
        let mut buf = Vec::with_capacity(want as usize);
        file.take(want).read_to_end(&mut buf)?;
        let whole = memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1);
        let mut from = 0;
        for end in memchr::memchr_iter(b'\n', &buf[..whole]) {
            let line = &buf[from..end];
            from = end + 1;
            let level = rules.classify(line);
            if !self.levels[level.index()]
                || self.pattern.as_ref().is_some_and(|p| !p.matches_line(line))
            {
                continue;
            }
            let (text, cut) = shown(line);
            out.push(TailLine { level, text, cut });
        }
        // Read to the end within the budget: a newer file may follow.
        Ok((whole as u64, want == len - offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::levels::LevelMapping;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("append");
    }

    fn texts(lines: &[TailLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| String::from_utf8_lossy(&l.text).into_owned())
            .collect()
    }

    #[test]
    fn the_tail_shows_whole_lines_appended_after_it_opened_across_rotations() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("app")).expect("dir");
        let log = dir.path().join("app/app.log");
        append(&log, "INFO before\n");
        let mapping = LevelMapping::builtin();
        let rules = mapping.rules_for("app");
        let mut tail = Tail::new(dir.path().into(), "app".into(), None, [true; 3], None);
        assert!(tail.poll(rules).expect("poll").is_empty());
        append(&log, "INFO one\nERROR tw");
        assert_eq!(texts(&tail.poll(rules).expect("poll")), ["INFO one"]);
        append(&log, "o\nWARN three\n");
        // The collector rotates: .log becomes .log.1 and a new .log starts.
        std::fs::rename(&log, dir.path().join("app/app.log.1")).expect("rotate");
        append(&log, "INFO four\n");
        let lines = tail.poll(rules).expect("poll");
        assert_eq!(texts(&lines), ["ERROR two", "WARN three", "INFO four"]);
        assert_eq!(lines[0].level, Level::Error);
        append(&log, "INFO five\n");
        assert_eq!(texts(&tail.poll(rules).expect("poll")), ["INFO five"]);
    }

    #[test]
    fn the_tail_keeps_only_the_levels_and_pattern_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("app")).expect("dir");
        let log = dir.path().join("app/app.log");
        let mapping = LevelMapping::builtin();
        let rules = mapping.rules_for("app");
        let mut tail = Tail::new(
            dir.path().into(),
            "app".into(),
            None,
            [false, false, true],
            Some(Pattern::text("db")),
        );
        append(&log, "INFO db ok\nERROR db down\nERROR cache down\n");
        assert_eq!(texts(&tail.poll(rules).expect("poll")), ["ERROR db down"]);
    }
}
