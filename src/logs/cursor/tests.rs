use super::*;
use std::convert::Infallible;

const SEC: i64 = 1_000_000_000;
/// 2026-11-24T18:54:49Z
const T0: i64 = 1_795_546_489;

fn ts(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

fn frame(ns: i64, text: &str) -> Vec<u8> {
    format!("{} {}", ts(ns), text).into_bytes()
}

/// Engine entries: (stream, unix ns, text with its `\n` when the entry ends a line).
type Entries = Vec<(Stream, i64, String)>;

/// What the engine answers for `since`: the entries with a timestamp >= since, in log order.
fn answer(entries: &Entries, since: i64) -> Vec<(Stream, Vec<u8>)> {
    entries
        .iter()
        .filter(|(_, ns, _)| *ns >= since * SEC)
        .map(|(s, ns, t)| (*s, frame(*ns, t)))
        .collect()
}

/// Reads an answer through the assembler; returns the lines handed out and the next cursor.
fn read(cursor: Cursor, frames: &[(Stream, Vec<u8>)], now: i64) -> (Vec<String>, Cursor) {
    read_with(cursor, frames, now, DEFAULT_MAX_LINE)
}

/// [`read`] with a cap of `cap` bytes per line.
fn read_with(
    cursor: Cursor,
    frames: &[(Stream, Vec<u8>)],
    now: i64,
    cap: usize,
) -> (Vec<String>, Cursor) {
    let mut out = Vec::new();
    let mut sink = |l: Line<'_>| -> Result<(), Infallible> {
        out.push(String::from_utf8_lossy(l.text).into_owned());
        Ok(())
    };
    let mut a = LineAssembler::new(cursor).with_max_line(cap);
    for (s, f) in frames {
        let chunk = match s {
            Stream::Stdout => LogChunk::Stdout(f.as_slice()),
            Stream::Stderr => LogChunk::Stderr(f.as_slice()),
            Stream::Console => LogChunk::Console(f.as_slice()),
        };
        let Ok(()) = a.push(chunk, &mut sink);
    }
    let Ok(next) = a.finish(now, &mut sink);
    (out, next)
}

fn line(stream: Stream, ns: i64, text: &str) -> (Stream, i64, String) {
    (stream, ns, format!("{text}\n"))
}

#[test]
fn timestamps_parse_and_split() {
    let (t, rest) = split_timestamp(b"2026-11-24T18:54:49.546754462Z INFO line 314\n");
    assert_eq!(t, Some(T0 * SEC + 546_754_462));
    assert_eq!(rest, b"INFO line 314\n");
    let (t, rest) = split_timestamp(b"no timestamp here\n");
    assert_eq!((t, rest), (None, &b"no timestamp here\n"[..]));
    assert_eq!(parse_timestamp(b"2026-11-24T18:54:49Z"), Some(T0 * SEC));
    assert_eq!(parse_timestamp(b"2026-13-24T18:54:49Z"), None);
    assert_eq!(parse_timestamp(&[0xff, 0xfe]), None);
}

#[test]
fn polls_write_each_line_once_while_the_log_grows() {
    let mut log: Entries = Vec::new();
    let mut written = Vec::new();
    let mut cursor = Cursor::starting_at(T0 - 60);
    let mut n = 0;
    // 12 polls, 7 lines between polls, 0.3 s apart, stdout and stderr alternating.
    for poll in 0..12 {
        for _ in 0..7 {
            let stream = if n % 2 == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            log.push(line(
                stream,
                T0 * SEC + n * 300_000_000,
                &format!("line {n}"),
            ));
            n += 1;
        }
        let (lines, next) = read(
            cursor,
            &answer(&log, cursor.since),
            T0 * SEC + n * 300_000_000,
        );
        written.extend(lines);
        assert!(next.since >= cursor.since, "poll {poll}: cursor went back");
        cursor = next;
    }
    let want: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
    assert_eq!(written, want);
    assert!(
        cursor.since > T0 + 20,
        "the cursor moved forward: {cursor:?}"
    );
}

#[test]
fn stdout_and_stderr_out_of_order_within_a_second_are_read_once() {
    // stderr's entry was stamped before stdout's but logged after it, in the same second and
    // across a second boundary.
    let log: Entries = vec![
        line(Stream::Stdout, (T0 + 1) * SEC + 5, "a"),
        line(Stream::Stderr, (T0 + 1) * SEC + 1, "b"),
        line(Stream::Stdout, (T0 + 2) * SEC + 2, "c"),
        line(Stream::Stderr, (T0 + 1) * SEC + 999_999_999, "d"),
        line(Stream::Stdout, (T0 + 2) * SEC + 10, "e"),
    ];
    let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), (T0 + 3) * SEC);
    assert_eq!(lines, ["a", "b", "c", "d", "e"]);
    // One second before the newest entry: every entry of that answer was written.
    assert_eq!(
        cursor,
        Cursor {
            since: T0 + 1,
            skip: 5
        }
    );
    let mut grown = log.clone();
    grown.push(line(Stream::Stderr, (T0 + 2) * SEC + 5, "f"));
    let (lines, _) = read(cursor, &answer(&grown, cursor.since), (T0 + 3) * SEC);
    assert_eq!(lines, ["f"]);
}

#[test]
fn many_lines_with_the_same_timestamp_are_each_written_once() {
    let t = (T0 + 5) * SEC + 123;
    let mut log: Entries = (0..5)
        .map(|i| line(Stream::Stdout, t, &format!("same {i}")))
        .collect();
    let (first, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
    assert_eq!(first.len(), 5);
    assert_eq!(
        cursor,
        Cursor {
            since: T0 + 4,
            skip: 5
        }
    );
    log.extend((5..8).map(|i| line(Stream::Stdout, t, &format!("same {i}"))));
    let (second, cursor) = read(cursor, &answer(&log, cursor.since), t + SEC);
    assert_eq!(second, ["same 5", "same 6", "same 7"]);
    assert_eq!(cursor.skip, 8);
    let (third, _) = read(cursor, &answer(&log, cursor.since), t + SEC);
    assert!(third.is_empty(), "nothing new, nothing repeated: {third:?}");
}

#[test]
fn long_lines_split_in_16k_pieces_are_joined() {
    let big = "x".repeat(16 * 1024);
    let t = (T0 + 1) * SEC;
    let log: Entries = vec![
        (Stream::Stdout, t, big.clone()),
        line(Stream::Stderr, t + 1, "interleaved"),
        (Stream::Stdout, t + 2, big.clone()),
        (Stream::Stdout, t + 3, "end\n".to_string()),
        line(Stream::Stdout, t + 4, "after"),
    ];
    let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0] == format!("{big}{big}end"),
        "the pieces are joined in order"
    );
    assert_eq!(lines[1], "interleaved");
    assert_eq!(lines[2], "after");
    assert_eq!(cursor.skip, 5);
}

#[test]
fn an_unfinished_long_line_is_held_back_with_what_follows() {
    let big = "y".repeat(16 * 1024);
    let t = (T0 + 1) * SEC;
    let mut log: Entries = vec![
        line(Stream::Stdout, t, "before"),
        (Stream::Stdout, t + 1, big.clone()),
        line(Stream::Stderr, t + 2, "meanwhile"),
    ];
    // The answer ends before the long line's last piece, and the piece is fresh.
    let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + SEC);
    assert_eq!(lines, ["before"]);
    assert_eq!(cursor, Cursor { since: T0, skip: 1 });
    log.push((Stream::Stdout, t + 3, "tail\n".to_string()));
    let (lines, cursor) = read(cursor, &answer(&log, cursor.since), t + SEC);
    assert_eq!(lines.len(), 2);
    assert!(lines[0] == format!("{big}tail"), "joined");
    assert_eq!(lines[1], "meanwhile");
    assert_eq!(cursor.skip, 4);
}

#[test]
fn a_stale_line_without_newline_is_completed() {
    let t = (T0 + 1) * SEC;
    let log: Entries = vec![(Stream::Stdout, t, "Password: ".to_string())];
    let (lines, cursor) = read(Cursor::starting_at(T0), &answer(&log, T0), t + 3 * SEC);
    assert_eq!(lines, ["Password: "]);
    assert_eq!(cursor, Cursor { since: T0, skip: 1 });
}

#[test]
fn tty_console_bytes_give_the_same_lines_in_any_chunking() {
    let raw = std::fs::read(format!(
        "{}/fixtures/docker-20.10/logs_t2_tty_nonmultiplexed.raw",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    for split in [1, 7, 31, raw.len()] {
        let frames: Vec<(Stream, Vec<u8>)> = raw
            .chunks(split)
            .map(|c| (Stream::Console, c.to_vec()))
            .collect();
        let (lines, cursor) = read(Cursor::starting_at(0), &frames, i64::MAX);
        assert_eq!(lines, ["tty out", "tty err"], "chunks of {split}");
        assert_eq!(cursor.skip, 2);
    }
}

#[test]
fn a_recorded_multiplexed_answer_gives_its_40_lines() {
    let raw = std::fs::read(format!(
        "{}/fixtures/docker-20.10/logs_t1_stdout_stderr_timestamps.raw",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let mut frames = Vec::new();
    let mut rest = &raw[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let stream = if rest[0] == 1 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        frames.push((stream, rest[8..8 + len].to_vec()));
        rest = &rest[8 + len..];
    }
    let (lines, _) = read(Cursor::starting_at(0), &frames, i64::MAX);
    // The recording was made with tail=40.
    assert_eq!(lines.len(), 40);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("INFO line ") || l.starts_with("ERROR oops ")));
}

#[test]
fn position_never_counts_a_line_not_handed_out() {
    let t = (T0 + 1) * SEC;
    let mut a = LineAssembler::new(Cursor::starting_at(T0));
    let mut n = 0;
    let mut sink = |_: Line<'_>| -> Result<(), Infallible> {
        n += 1;
        Ok(())
    };
    let Ok(()) = a.push(LogChunk::Stdout(&frame(t, "one\n")), &mut sink);
    assert_eq!(a.position(), Cursor { since: T0, skip: 1 });
    let Ok(()) = a.push(LogChunk::Stdout(&frame(t, "piece")), &mut sink);
    let Ok(()) = a.push(LogChunk::Stderr(&frame(t, "two\n")), &mut sink);
    assert_eq!(a.position(), Cursor { since: T0, skip: 1 });
    let Ok(()) = a.push(LogChunk::Stdout(&frame(t, "rest\n")), &mut sink);
    assert_eq!(a.position(), Cursor { since: T0, skip: 4 });
    assert_eq!(n, 3);
}

#[test]
fn skipped_entries_are_not_handed_out_again() {
    let t = (T0 + 1) * SEC;
    let log: Entries = (0..6)
        .map(|i| line(Stream::Stdout, t + i, &format!("l{i}")))
        .collect();
    let (lines, _) = read(Cursor { since: T0, skip: 4 }, &answer(&log, T0), t);
    assert_eq!(lines, ["l4", "l5"]);
}

type Frames = Vec<(Stream, Vec<u8>)>;

#[test]
fn lines_over_the_cap_are_cut_and_marked() {
    let t = (T0 + 1) * SEC;
    let cases: Vec<(&str, Frames, Vec<String>)> = vec![
        (
            "one long entry",
            vec![
                (Stream::Stdout, frame(t, "0123456789ABCDEF\n")),
                (Stream::Stdout, frame(t, "short\n")),
            ],
            vec![format!("0123456789{}", cut_marker(6)), "short".into()],
        ),
        (
            "pieces of one line",
            vec![
                (Stream::Stderr, frame(t, "01234567")),
                (Stream::Stderr, frame(t, "abcdefgh")),
                (Stream::Stderr, frame(t, "end\n")),
            ],
            vec![format!("01234567ab{}", cut_marker(9))],
        ),
        (
            "exactly the cap",
            vec![(Stream::Stdout, frame(t, "0123456789\n"))],
            vec!["0123456789".into()],
        ),
        (
            "a TTY line without end",
            vec![
                (Stream::Console, format!("{} ", ts(t)).into_bytes()),
                (Stream::Console, vec![b'x'; 200]),
                (Stream::Console, b"y\r\nnext\r\n".to_vec()),
            ],
            vec![],
        ),
    ];
    for (what, frames, want) in cases {
        let (lines, cursor) = read_with(Cursor::starting_at(0), &frames, i64::MAX, 10);
        if what == "a TTY line without end" {
            assert_eq!(lines.len(), 2, "{what}: {lines:?}");
            assert!(
                lines[0].starts_with("xxxxxxxxxx") && lines[0].contains("[line cut: "),
                "{what}: {lines:?}"
            );
            assert!(lines[0].len() < 200, "{what}: cut");
            assert_eq!(lines[1], "next", "{what}");
            assert_eq!(cursor.skip, 2, "{what}: two entries");
        } else {
            assert_eq!(lines, want, "{what}");
            assert_eq!(
                cursor.skip,
                frames.len() as u64,
                "{what}: every entry counted once"
            );
        }
    }
}

#[test]
fn line_ends_inside_an_entry_make_separate_lines() {
    let t = (T0 + 1) * SEC;
    let frames = vec![
        (Stream::Stdout, frame(t, "one\ntwo\n")),
        (Stream::Stdout, frame(t, "\nthree")),
        (Stream::Stdout, frame(t, " end\n")),
    ];
    let (lines, cursor) = read(Cursor::starting_at(T0), &frames, t + SEC);
    assert_eq!(lines, ["one", "two", "", "three end"]);
    assert_eq!(cursor.skip, 3, "the cursor counts entries, not lines");
}

#[test]
fn sink_errors_stop_the_answer() {
    let mut a = LineAssembler::new(Cursor::starting_at(0));
    let mut sink = |_: Line<'_>| -> Result<(), &'static str> { Err("disk full") };
    assert_eq!(
        a.push(LogChunk::Stdout(&frame(SEC, "x\n")), &mut sink),
        Err("disk full")
    );
}
