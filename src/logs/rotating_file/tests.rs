use super::*;

/// Every file of the family: (file name, content), base file first, then .1, .2, ...
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by_key(|n| {
        n.rsplit('.')
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    });
    names
        .into_iter()
        .map(|n| {
            let content = fs::read_to_string(dir.join(&n)).expect("read");
            (n, content)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn written(
    dir: &Path,
    max_bytes: u64,
    backup_count: u32,
    lines: &[&str],
) -> Vec<Vec<(String, String)>> {
    let mut f = RotatingFile::new(dir.join("c.log"), max_bytes, backup_count);
    lines
        .iter()
        .map(|l| {
            f.write_line(l.as_bytes()).expect("write");
            f.flush().expect("flush");
            files(dir)
        })
        .collect()
}

#[test]
fn rollovers_follow_pythons_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    // max 10 bytes, 2 backups, 4-byte lines: two lines fit (8 < 10), a third would reach 12.
    let after = written(
        dir.path(),
        10,
        2,
        &[
            "aaa\n", "bbb\n", "ccc\n", "ddd\n", "eee\n", "fff\n", "ggg\n",
        ],
    );
    let want = [
        pairs(&[("c.log", "aaa\n")]),
        pairs(&[("c.log", "aaa\nbbb\n")]),
        pairs(&[("c.log", "ccc\n"), ("c.log.1", "aaa\nbbb\n")]),
        pairs(&[("c.log", "ccc\nddd\n"), ("c.log.1", "aaa\nbbb\n")]),
        pairs(&[
            ("c.log", "eee\n"),
            ("c.log.1", "ccc\nddd\n"),
            ("c.log.2", "aaa\nbbb\n"),
        ]),
        pairs(&[
            ("c.log", "eee\nfff\n"),
            ("c.log.1", "ccc\nddd\n"),
            ("c.log.2", "aaa\nbbb\n"),
        ]),
        // The oldest (aaa, bbb) is dropped: at most backup_count + 1 files.
        pairs(&[
            ("c.log", "ggg\n"),
            ("c.log.1", "eee\nfff\n"),
            ("c.log.2", "ccc\nddd\n"),
        ]),
    ];
    for (i, (got, want)) in after.iter().zip(want.iter()).enumerate() {
        assert_eq!(got, want, "after write {}", i + 1);
    }
}

#[test]
fn reaching_max_bytes_exactly_rotates() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 + 4 = 8 >= 8: the second line goes to a fresh file.
    let after = written(dir.path(), 8, 1, &["aaa\n", "bbb\n"]);
    assert_eq!(after[1], pairs(&[("c.log", "bbb\n"), ("c.log.1", "aaa\n")]));
}

#[test]
fn nothing_rotates_when_max_bytes_or_the_file_count_is_0() {
    for (max, count) in [(0, 5), (10, 0), (0, 0)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let after = written(
            dir.path(),
            max,
            count,
            &["aaaaaa\n", "bbbbbb\n", "cccccc\n"],
        );
        assert_eq!(
            after.last().expect("writes"),
            &pairs(&[("c.log", "aaaaaa\nbbbbbb\ncccccc\n")]),
            "max {max} count {count}"
        );
    }
}

#[test]
fn a_line_larger_than_max_bytes_gets_a_file_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = "x".repeat(30) + "\n";
    // Into an empty file: no rotation (an empty file is never rotated).
    let after = written(dir.path(), 10, 3, &[&big, "a\n", &big]);
    assert_eq!(after[0], pairs(&[("c.log", &big)]));
    // Next line: the file is already over the limit, so it rotates.
    assert_eq!(after[1], pairs(&[("c.log", "a\n"), ("c.log.1", &big)]));
    // The big line again: rotation, then it stands alone.
    assert_eq!(
        after[2],
        pairs(&[("c.log", &big), ("c.log.1", "a\n"), ("c.log.2", &big)])
    );
}

#[test]
fn existing_content_counts_and_close_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("c.log"), "old1\n").expect("seed");
    let mut f = RotatingFile::new(dir.path().join("c.log"), 12, 1);
    f.write_line(b"new1\n").expect("write"); // 5 + 5 = 10 < 12
    f.close().expect("close");
    f.write_line(b"new2\n").expect("write"); // 10 + 5 >= 12: rotate
    f.close().expect("close");
    assert_eq!(
        files(dir.path()),
        pairs(&[("c.log", "new2\n"), ("c.log.1", "old1\nnew1\n")])
    );
}

#[test]
fn the_first_write_creates_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = RotatingFile::new(dir.path().join("web/web.log"), 100, 2);
    f.write_line(b"hello\n").expect("write");
    f.close().expect("close");
    assert_eq!(
        fs::read_to_string(dir.path().join("web/web.log")).expect("read"),
        "hello\n"
    );
}

/// Writes `committed` lines, marks, writes `after` lines, and returns the mark.
fn crash_after(path: &Path, max: u64, count: u32, committed: &[&str], after: &[&str]) -> FileMark {
    let mut f = RotatingFile::new(path.to_path_buf(), max, count);
    for l in committed {
        f.write_line(l.as_bytes()).expect("write");
    }
    let mark = f.mark().expect("mark");
    for l in after {
        f.write_line(l.as_bytes()).expect("write");
    }
    f.close().expect("close");
    mark
}

#[test]
fn recover_cuts_bytes_after_the_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let mark = crash_after(&p, 100, 2, &["a\n", "b\n"], &["c\n", "torn"]);
    assert_eq!(
        recover(&p, mark, 2).expect("recover"),
        Recovery::Truncated { bytes: 6 }
    );
    assert_eq!(files(dir.path()), pairs(&[("c.log", "a\nb\n")]));
    assert_eq!(
        recover(&p, mark, 2).expect("again"),
        Recovery::Clean,
        "idempotent"
    );
}

#[test]
fn recover_undoes_one_and_two_rotations() {
    for (after, rotations) in [
        (&["ccc\n", "ddd\n"][..], 1),
        (&["ccc\n", "ddd\n", "eee\n", "fff\n"][..], 2),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.log");
        // A committed rotation first: c.log.1 = "000\n111\n" predates the mark.
        let mark = crash_after(&p, 10, 3, &["000\n", "111\n", "aaa\n", "bbb\n"], after);
        let got = recover(&p, mark, 3).expect("recover");
        assert!(
            matches!(got, Recovery::RolledBack { rotations: r, .. } if r == rotations),
            "{got:?}"
        );
        assert_eq!(
            files(dir.path()),
            pairs(&[("c.log", "aaa\nbbb\n"), ("c.log.1", "000\n111\n")]),
            "after {rotations} rotation(s)"
        );
    }
}

#[test]
fn recover_undoes_a_rotation_and_cuts_the_marked_file_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    // Mark after "aaa"; then "bbb" lands in the same file, then a rotation.
    let mark = crash_after(&p, 10, 2, &["aaa\n"], &["bbb\n", "ccc\n"]);
    let got = recover(&p, mark, 2).expect("recover");
    assert_eq!(
        got,
        Recovery::RolledBack {
            rotations: 1,
            bytes: 8
        }
    );
    assert_eq!(files(dir.path()), pairs(&[("c.log", "aaa\n")]));
}

#[test]
fn recover_empties_a_file_that_was_empty_at_the_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let mark = crash_after(&p, 100, 2, &[], &["x\n", "y\n"]);
    assert!(
        mark.inode.is_some() && mark.len == 0,
        "mark() creates the file: {mark:?}"
    );
    assert_eq!(
        recover(&p, mark, 2).expect("recover"),
        Recovery::Truncated { bytes: 4 }
    );
    assert_eq!(fs::read_to_string(&p).expect("read"), "");
}

#[test]
fn recover_reports_what_it_cannot_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let long = format!("{}\n", "x".repeat(99));
    let mark = crash_after(&p, 1000, 2, &[&long, "b\n"], &[]);
    // Someone cut the last line off: same inode, same head, fewer bytes.
    OpenOptions::new()
        .write(true)
        .open(&p)
        .expect("open")
        .set_len(100)
        .expect("truncate");
    assert_eq!(
        recover(&p, mark, 2).expect("recover"),
        Recovery::Shorter { missing: 2 }
    );
    // Replaced by a new file (written beside it first, so it cannot reuse the old inode).
    let new = dir.path().join("new");
    fs::write(&new, "new file\n").expect("new file");
    fs::rename(&new, &p).expect("replace");
    assert_eq!(
        recover(&p, mark, 2).expect("recover"),
        Recovery::MarkNotFound
    );
    assert_eq!(
        fs::read_to_string(&p).expect("read"),
        "new file\n",
        "left alone"
    );
}

#[test]
fn a_new_file_with_the_marked_inode_is_not_taken_for_the_marked_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let mark = crash_after(&p, 1000, 2, &["committed line\n"], &[]);
    // Another file now has the marked inode number (as after deletion and reuse), but other bytes.
    let forged = FileMark {
        inode: Some(fs::metadata(&p).expect("meta").ino()),
        ..mark
    };
    fs::write(&p, "other content, longer than the mark\n").expect("rewrite in place");
    assert_eq!(
        recover(&p, forged, 2).expect("recover"),
        Recovery::MarkNotFound
    );
    assert_eq!(
        fs::read_to_string(&p).expect("read"),
        "other content, longer than the mark\n"
    );
}

#[test]
fn a_mark_from_before_heads_were_recorded_still_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let mark = crash_after(&p, 1000, 2, &["a\n"], &["b\n"]);
    let old = FileMark { head: None, ..mark };
    assert_eq!(
        recover(&p, old, 2).expect("recover"),
        Recovery::Truncated { bytes: 2 }
    );
}

#[test]
fn rollback_discards_buffered_and_uncommitted_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.log");
    let mut f = RotatingFile::new(p.clone(), 1000, 2);
    f.write_line(b"kept\n").expect("write");
    let mark = f.mark().expect("mark");
    f.write_line(b"flushed\n").expect("write");
    f.flush().expect("flush");
    f.write_line(b"buffered\n").expect("write");
    assert_eq!(
        f.rollback(mark).expect("rollback"),
        Recovery::Truncated { bytes: 8 }
    );
    f.write_line(b"again\n").expect("write after rollback");
    f.close().expect("close");
    assert_eq!(fs::read_to_string(&p).expect("read"), "kept\nagain\n");
}
