//! The tail window against every log, and the cut frames a reply can end with.

use super::*;
use proptest::prelude::*;

/// What a tail request would make of `log` (timestamps in file order): the engine takes the
/// last `wanted` entries, then leaves out those before the request's `since`.
fn through_tail(log: &[i64], cursor: Cursor, wanted: usize) -> Option<Vec<usize>> {
    let mut window = TailWindow::new(cursor, wanted);
    let from = window.request_since() * 1_000_000_000;
    for (i, ts) in log
        .iter()
        .enumerate()
        .skip(log.len().saturating_sub(wanted))
    {
        if *ts >= from && !window.push(Some(*ts), i) {
            return None;
        }
    }
    window.finish()
}

proptest! {
    /// A tail answer is taken only when it is exactly the full answer, whatever the log, the
    /// cursor and the window (every window size is tried); entries reach the log up to 0.9 s
    /// after their timestamp (stdout and stderr out of order). And it is taken whenever the
    /// window holds the whole log.
    #[test]
    fn a_tail_answer_stands_for_the_full_one_only_when_it_is_the_same(
        steps in proptest::collection::vec((0i64..700_000_000, 0i64..900_000_000), 0..300),
        since in 0i64..150,
        skip in 0u64..12,
    ) {
        let base = 1_700_000_000i64;
        let mut written = base * 1_000_000_000;
        let log: Vec<i64> = steps
            .iter()
            .map(|(step, late)| {
                written += step;
                written - late
            })
            .collect();
        let cursor = Cursor { since: base + since, skip };
        let full: Vec<usize> = (0..log.len())
            .filter(|i| log[*i] >= cursor.since * 1_000_000_000)
            .collect();
        for wanted in 1..=log.len() + 1 {
            let tail = through_tail(&log, cursor, wanted);
            if let Some(answer) = &tail {
                prop_assert_eq!(answer, &full, "window {}", wanted);
            }
            if wanted > log.len() && full.len() as u64 >= skip {
                prop_assert!(tail.is_some());
            }
        }
    }
}

#[test]
fn tail_windows_give_up_on_entries_without_timestamps_and_on_short_answers() {
    let cursor = Cursor {
        since: 100,
        skip: 2,
    };
    let mut w = TailWindow::new(cursor, 10);
    assert_eq!(w.request_since(), 100 - TAIL_MARGIN_SECS);
    assert!(!w.push(None, 0), "no timestamp: ask in full");
    let mut w = TailWindow::new(cursor, 10);
    assert!(w.push(Some(99_000_000_000), 0));
    assert!(w.push(Some(100_000_000_000), 1));
    assert_eq!(
        w.finish(),
        None,
        "one entry from since on, two already skipped"
    );
    let mut w = TailWindow::new(cursor, 2);
    assert!(w.push(Some(100_000_000_000), 0));
    assert!(!w.push(Some(101_000_000_000), 1), "the window is full");
}

#[test]
fn cut_frame_headers_are_recognised() {
    assert!(is_cut_frame_header(&[1]));
    assert!(is_cut_frame_header(&[2, 0, 0, 0, 0, 0]));
    assert!(is_cut_frame_header(&[1, 0, 0, 0, 0, 0, 0x31]));
    assert!(!is_cut_frame_header(b"hello"));
    assert!(
        !is_cut_frame_header(&[1, 0, 0, 0, 0, 0, 0, 9]),
        "a whole header"
    );
    assert!(!is_cut_frame_header(&[3, 0, 0]));
    assert!(!is_cut_frame_header(&[1, 0, 7]));
    assert!(!is_cut_frame_header(&[]));
}

/// Patterns see a line as it is written to the file: partial entries joined into one line, and a
/// line longer than MAX_LINE_BYTES cut (a match past the cut is not counted).
#[test]
fn patterns_match_the_line_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.log");
    let mut file = RotatingFile::new(path.clone(), 1 << 20, 1);
    let mut pending = Pending::default();
    let mut tick_first = None;
    let mapping = LevelMapping::builtin();
    let patterns =
        LogPatterns::from_json(r#"{"patterns": [{"name": "oom", "regex": "OutOf Memory"}]}"#)
            .expect("valid");
    let mut writer = LineWriter::new(
        &mut file,
        &mut pending,
        &mut tick_first,
        (mapping.rules_for("web"), patterns.for_container("web")),
    );
    let mut assembler = LineAssembler::new(Cursor::starting_at(0)).with_max_line(64);
    let ts = "2026-11-24T18:53:45.000000001Z ";
    let chunks: [&[u8]; 4] = [
        // Two partial entries that make one line: "OutOf" + " Memory".
        b"OutOf",
        b" Memory\n",
        // A match past the cut at 64 bytes.
        &[b"x".repeat(80).as_slice(), b" OutOf Memory\n"].concat(),
        // A match before it.
        &[
            b"OutOf Memory ".as_slice(),
            b"y".repeat(80).as_slice(),
            b"\n",
        ]
        .concat(),
    ];
    for text in chunks {
        let chunk = [ts.as_bytes(), text].concat();
        assembler
            .push(LogChunk::Stdout(chunk.as_slice()), &mut |l| writer.write(l))
            .expect("written");
    }
    drop(writer);
    file.close().expect("close");
    let written = std::fs::read_to_string(&path).expect("read");
    assert_eq!(written.lines().count(), 3, "{written}");
    assert!(written.starts_with("OutOf Memory\n"), "{written}");
    let counts: Vec<(String, u64)> = pending
        .take(&"web".into())
        .expect("written")
        .pattern_matches()
        .map(|(p, n)| (p.to_string(), n))
        .collect();
    assert_eq!(counts, [("oom".to_string(), 2)], "{written}");
}
