use std::io::Write;

use proptest::prelude::*;

use super::*;

const SEC: i64 = 1_000_000_000;
/// 2026-12-01T00:00:00Z.
const T0: i64 = 1_796_083_200 * SEC;

/// One entry as the json-file driver writes it.
fn entry(ts: i64, stream: &str, text: &str) -> String {
    let time = chrono::DateTime::from_timestamp_nanos(ts)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    format!(
        "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"{time}\"}}\n",
        serde_json::to_string(text).expect("a string")
    )
}

/// `n` numbered stdout lines from `first`, 10 ms apart from `ts`.
fn lines(first: usize, n: usize, ts: i64) -> String {
    (first..first + n)
        .map(|i| {
            entry(
                ts + (i as i64) * 10_000_000,
                "stdout",
                &format!("line {i}\n"),
            )
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// Every entry's text after `cursor`, and the cursor after them.
fn read_all(base: &Path, cursor: &FilesCursor) -> (Vec<String>, FilesCursor, Found) {
    let mut texts = Vec::new();
    let mut at = *cursor;
    let found = read_after(base, cursor, &mut |place, e| {
        let ts = e.as_ref().and_then(|e| e.ts);
        if let Some(e) = e {
            texts.push(e.text.trim_end().to_string());
        }
        at.took(place.head, place.offset, ts);
        true
    })
    .expect("read");
    (texts, at, found)
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[test]
fn entries_decode_with_their_stream_time_and_escapes() {
    let line = entry(T0 + 5, "stderr", "a \"quoted\" \u{1} tab\t line\n");
    let e = decode(line.trim_end().as_bytes()).expect("an entry");
    assert!(e.stderr);
    assert_eq!(e.ts, Some(T0 + 5));
    assert_eq!(e.text, "a \"quoted\" \u{1} tab\t line\n");
    // Newer engines add attributes; a piece of a long line has no line end.
    let with_attrs =
        br#"{"log":"piece","stream":"stdout","attrs":{"tag":"x"},"time":"2026-12-01T00:00:01.5Z"}"#;
    let e = decode(with_attrs).expect("an entry");
    assert!(!e.stderr);
    assert_eq!(e.ts, Some(T0 + SEC + SEC / 2));
    assert_eq!(e.text, "piece");
    assert_eq!(decode(b"{\"log\":\"cut"), None);
    assert_eq!(decode(b"not json"), None);
}

#[test]
fn a_file_is_read_from_its_offset_and_an_entry_still_being_written_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("c-json.log");
    let half = entry(T0 + 5 * SEC, "stdout", "late\n");
    std::fs::write(&base, lines(0, 3, T0) + &half[..20]).expect("write");
    let (texts, at, found) = read_all(&base, &FilesCursor::before_all(0));
    assert_eq!(texts, numbered(0..3));
    assert_eq!(found, Found::default());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&base)
        .expect("open");
    f.write_all(&half.as_bytes()[20..]).expect("append");
    let (texts, at2, _) = read_all(&base, &at);
    assert_eq!(
        texts,
        ["late"],
        "the entry once it is whole, and nothing before it again"
    );
    assert_eq!(read_all(&base, &at2).0, Vec::<String>::new());
}

#[test]
fn the_engines_rotation_and_gzip_are_followed_without_a_line_lost_or_repeated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("c-json.log");
    let name = |suffix: &str| PathBuf::from(format!("{}{suffix}", base.display()));
    std::fs::write(&base, lines(0, 5, T0)).expect("write");
    let (texts, at, _) = read_all(&base, &FilesCursor::before_all(0));
    assert_eq!(texts, numbered(0..5));
    // More lines, then the engine rotates (max-file=3, compress=true): .log -> .1, gzipped to
    // .1.gz; a new .log; again: .1.gz -> .2.gz, .log -> .1 (still plain: being compressed).
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&base)
        .expect("open");
    f.write_all(lines(5, 3, T0 + SEC).as_bytes())
        .expect("append");
    let first = std::fs::read(&base).expect("read");
    std::fs::write(name(".1.gz"), gzip(&first)).expect("gz");
    std::fs::write(&base, lines(8, 4, T0 + 2 * SEC)).expect("new file");
    std::fs::rename(name(".1.gz"), name(".2.gz")).expect("rotate");
    std::fs::rename(&base, name(".1")).expect("rotate");
    std::fs::write(&base, lines(12, 2, T0 + 3 * SEC)).expect("new file");
    let (texts, at, found) = read_all(&base, &at);
    assert_eq!(
        texts,
        numbered(5..14),
        "the rest of the gzipped file, then .1, then the new one"
    );
    assert!(!found.cursor_file_gone);
    // .1 is compressed meanwhile (both exist for a moment): nothing is read twice.
    std::fs::write(
        name(".1.gz"),
        gzip(&std::fs::read(name(".1")).expect("read")),
    )
    .expect("gz");
    assert_eq!(read_all(&base, &at).0, Vec::<String>::new());
    std::fs::remove_file(name(".1")).expect("rm");
    assert_eq!(read_all(&base, &at).0, Vec::<String>::new());
    // A cursor in a file the engine deleted since: said, and the oldest file kept is read.
    let (_, in_second, _) = read_all(&name(".1.gz"), &FilesCursor::before_all(0));
    std::fs::remove_file(name(".2.gz")).expect("rm");
    std::fs::remove_file(name(".1.gz")).expect("rm");
    let (texts, _, found) = read_all(&base, &in_second);
    assert!(found.cursor_file_gone);
    assert_eq!(texts, numbered(12..14));
}

#[test]
fn a_gzip_cut_short_gives_what_it_holds_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("c-json.log");
    let rotated = lines(0, 200, T0);
    let gz = gzip(rotated.as_bytes());
    std::fs::write(format!("{}.1.gz", base.display()), &gz[..gz.len() / 2]).expect("gz");
    std::fs::write(&base, lines(200, 1, T0 + 3 * SEC)).expect("write");
    let (texts, at, found) = read_all(&base, &FilesCursor::before_all(0));
    assert!(found.cut, "the cut is seen");
    assert!(
        !texts.is_empty() && texts.len() < 200,
        "{} lines",
        texts.len()
    );
    assert_eq!(texts, numbered(0..texts.len()), "whole entries, in order");
    // The engine's complete file replaces it: the rest comes, once.
    std::fs::write(format!("{}.1.gz", base.display()), &gz).expect("gz");
    let (rest, _, found) = read_all(&base, &at);
    assert!(!found.cut);
    assert_eq!(rest, numbered(texts.len()..201));
}

#[test]
fn the_engine_cursors_place_is_found_in_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("c-json.log");
    // 30 lines a second for 20 s, over a rotated file and the current one.
    let all: Vec<(i64, String)> = (0..600)
        .map(|i| (T0 + i * SEC / 30, format!("line {i}")))
        .collect();
    let text = |range: std::ops::Range<usize>| -> String {
        all[range]
            .iter()
            .map(|(ts, t)| entry(*ts, "stdout", &format!("{t}\n")))
            .collect()
    };
    std::fs::write(format!("{}.1", base.display()), text(0..250)).expect("write");
    std::fs::write(&base, text(250..600)).expect("write");
    for (since_sec, skip) in [
        (0i64, 0u64),
        (3, 0),
        (5, 7),
        (8, 29),
        (8, 30),
        (9, 45),
        (19, 30),
        (25, 0),
    ] {
        let cursor = Cursor {
            since: T0 / SEC + since_sec,
            skip,
        };
        let at = position_of(&base, cursor).expect("position");
        // What the engine would answer: the entries from `since` on, less the first `skip`.
        let want: Vec<String> = all
            .iter()
            .filter(|(ts, _)| *ts >= cursor.since * SEC)
            .skip(skip as usize)
            .map(|(_, t)| t.clone())
            .collect();
        let (texts, after, _) = read_all(&base, &at);
        assert_eq!(texts, want, "since +{since_sec} s, skip {skip}");
        // And the engine cursor kept along says the same of what is left.
        let engine = after.engine_cursor();
        let left = all
            .iter()
            .filter(|(ts, _)| *ts >= engine.since * SEC)
            .count() as u64;
        assert_eq!(
            engine.skip, left,
            "after everything, the engine cursor skips all of it"
        );
    }
}

#[test]
fn a_large_file_is_searched_by_halving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big");
    // About 4 MB: 40,000 entries, 10 ms apart.
    std::fs::write(&path, lines(0, 40_000, T0)).expect("write");
    let file = File::open(&path).expect("open");
    let target = T0 + 300 * SEC;
    let offset = search_plain(&file, target).expect("search");
    let bytes = std::fs::read(&path).expect("read");
    assert!(
        offset == 0 || bytes[offset as usize - 1] == b'\n',
        "a line start"
    );
    let before = &bytes[..offset as usize];
    let last_before = before
        .split(|b| *b == b'\n')
        .rfind(|l| !l.is_empty())
        .and_then(decode)
        .and_then(|e| e.ts)
        .expect("entries before");
    assert!(last_before < target, "everything before it is older");
    assert!(
        bytes.len() as u64 - offset > 0 && (target - last_before) < 30 * SEC,
        "and it is close: {} s before",
        (target - last_before) / SEC
    );
}

#[test]
fn a_files_identity_survives_renaming_and_compression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("a");
    let text = lines(0, 50, T0);
    std::fs::write(&plain, &text).expect("write");
    let gz = dir.path().join("a.gz");
    std::fs::write(&gz, gzip(text.as_bytes())).expect("gz");
    let head = |p: &Path, gz: bool| {
        Segment::open(p.to_path_buf(), gz)
            .expect("open")
            .expect("there")
            .head
    };
    assert_eq!(head(&plain, false), head(&gz, true));
    assert_eq!(head(&plain, false).map(|h| h.1), Some(Some(T0)));
    std::fs::write(&plain, &text[..10]).expect("write");
    assert_eq!(head(&plain, false), None, "no whole first line yet");
}

proptest! {
    /// Whatever the order of the entries' times (stdout and stderr interleave out of order by less
    /// than a second), after any number of them were taken the engine cursor skips exactly the ones
    /// taken among those its answer holds.
    #[test]
    fn the_engine_cursor_kept_along_skips_exactly_what_was_taken(
        steps in proptest::collection::vec((0i64..1500, 0i64..900), 1..200),
        start in 0i64..3,
        taken in 0usize..200,
    ) {
        let mut ts = T0;
        let times: Vec<i64> = steps
            .iter()
            .map(|(forward, jitter)| {
                ts += forward * 1_000_000;
                ts - jitter * 1_000_000
            })
            .collect();
        let taken = taken.min(times.len());
        let mut cursor = FilesCursor::before_all(T0 / SEC + start - 1);
        let mut sinces = vec![cursor.since];
        for (i, t) in times[..taken].iter().enumerate() {
            cursor.took(1, i as u64, Some(*t));
            sinces.push(cursor.since);
        }
        let engine = cursor.engine_cursor();
        let in_answer = |t: &&i64| **t >= engine.since * SEC;
        let taken_in_answer = times[..taken].iter().filter(in_answer).count() as u64;
        prop_assert_eq!(engine.skip, taken_in_answer);
        // A later entry the answer leaves out was before the first `since` already: moving the
        // cursor on never leaves out one that the first cursor's answer held.
        for t in times[taken..].iter().filter(|t| !in_answer(t)) {
            prop_assert!(*t < sinces[0] * SEC, "{} left out", t);
        }
        prop_assert!(sinces.windows(2).all(|w| w[0] <= w[1]), "since never goes back");
    }
}

#[test]
fn no_current_file_is_not_found_for_both_the_read_and_the_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("missing-json.log");
    let e = position_of(&base, Cursor { since: 5, skip: 3 }).expect_err("no file");
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    let e = read_after(&base, &FilesCursor::default(), &mut |_, _| true).expect_err("no file");
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
}
