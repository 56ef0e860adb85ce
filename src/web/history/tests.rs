use super::*;

use std::path::Path;

use crate::logs::levels::LevelMapping;

/// A history of `name` in a temp LOGS_DIR: the files given oldest first (the last is `.log`).
fn history(name: &str, files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(name)).expect("dir");
    let n = files.len();
    for (i, text) in files.iter().enumerate() {
        let age = n - 1 - i;
        let current = LogsDir::new(dir.path()).log_file(&name.into());
        let file = match u32::try_from(age).expect("a few files") {
            0 => current,
            age => LogsDir::rotated(&current, age),
        };
        std::fs::write(file, text).expect("write");
    }
    dir
}

fn texts(a: &Answer) -> Vec<String> {
    a.lines
        .iter()
        .map(|l| String::from_utf8_lossy(&l.text).into_owned())
        .collect()
}

fn run(dir: &Path, query: &Query) -> Answer {
    let mapping = LevelMapping::builtin();
    let app = ContainerName::from("app");
    search(&LogsDir::new(dir), &app, mapping.rules_for("app"), query).expect("search")
}

const THREE: [&str; 3] = [
    "INFO one\nERROR two\n",
    "WARN three\nINFO four\n",
    "ERROR five\nINFO six\n",
];

#[test]
fn every_rotated_file_is_read_oldest_first_with_each_lines_level() {
    let dir = history("app", &THREE);
    let a = run(dir.path(), &Query::default());
    assert_eq!(
        texts(&a),
        [
            "INFO one",
            "ERROR two",
            "WARN three",
            "INFO four",
            "ERROR five",
            "INFO six"
        ]
    );
    let levels: Vec<Level> = a.lines.iter().map(|l| l.level).collect();
    use Level::*;
    assert_eq!(levels, [Info, Error, Warning, Info, Error, Info]);
    assert_eq!(a.lines[2].at, Position { file: 1, offset: 0 });
    assert_eq!(
        a.lines[5].at,
        Position {
            file: 0,
            offset: 11
        }
    );
    assert_eq!(a.left_out, 0);
    assert_eq!(a.stopped, None);
}

#[test]
fn the_level_filter_keeps_only_the_levels_asked_for() {
    let dir = history("app", &THREE);
    let a = run(
        dir.path(),
        &Query {
            levels: [false, true, true],
            ..Query::default()
        },
    );
    assert_eq!(texts(&a), ["ERROR two", "WARN three", "ERROR five"]);
}

#[test]
fn plain_text_and_regular_expressions_find_lines_in_rotated_files() {
    let dir = history("app", &THREE);
    let plain = run(
        dir.path(),
        &Query {
            pattern: Some(Pattern::text("thr")),
            ..Query::default()
        },
    );
    assert_eq!(texts(&plain), ["WARN three"]);
    assert_eq!(plain.lines[0].at.file, 1);
    let regex = run(
        dir.path(),
        &Query {
            pattern: Some(Pattern::regex("^(ERROR|WARN) t").expect("regex")),
            ..Query::default()
        },
    );
    assert_eq!(texts(&regex), ["ERROR two", "WARN three"]);
    // A match across a line end is no match of either line.
    let across = run(
        dir.path(),
        &Query {
            pattern: Some(Pattern::regex(r"one\nERROR").expect("regex")),
            ..Query::default()
        },
    );
    assert!(across.lines.is_empty(), "{:?}", texts(&across));
    assert!(Pattern::regex("(unclosed").is_err());
}

#[test]
fn the_limit_keeps_the_newest_lines_or_the_first_ones() {
    let dir = history("app", &THREE);
    let last = run(
        dir.path(),
        &Query {
            limit: 2,
            ..Query::default()
        },
    );
    assert_eq!(texts(&last), ["ERROR five", "INFO six"]);
    assert_eq!(last.left_out, 4);
    let first_error = run(
        dir.path(),
        &Query {
            limit: 1,
            first: true,
            levels: [false, false, true],
            ..Query::default()
        },
    );
    assert_eq!(texts(&first_error), ["ERROR two"]);
    assert_eq!(first_error.left_out, 1, "there is more");
}

#[test]
fn a_range_of_positions_bounds_the_lines_across_files() {
    let dir = history("app", &THREE);
    // From "INFO four" (file 1 at 11) to just before "INFO six" (file 0 at 11).
    let a = run(
        dir.path(),
        &Query {
            from: Some(Position {
                file: 1,
                offset: 11,
            }),
            to: Some(Position {
                file: 0,
                offset: 11,
            }),
            ..Query::default()
        },
    );
    assert_eq!(texts(&a), ["INFO four", "ERROR five"]);
    assert_eq!(a.bytes_read, 10 + 11, "only the range is read");
}

#[test]
fn a_line_still_being_written_is_not_shown_and_long_lines_are_cut_for_the_page() {
    let long = format!("INFO {}\n", "x".repeat(SHOWN_LINE_BYTES + 10));
    let dir = history("app", &[&long, "INFO done\nINFO half"]);
    let a = run(dir.path(), &Query::default());
    assert_eq!(a.lines.len(), 2);
    assert_eq!(a.lines[0].text.len(), SHOWN_LINE_BYTES);
    assert_eq!(a.lines[0].cut, 15);
    assert_eq!(texts(&a)[1], "INFO done");
}

#[test]
fn the_byte_limit_stops_a_search_and_says_so() {
    let big = "INFO filler line\n".repeat(200_000);
    let dir = history("app", &[&big, &big]);
    let a = run(
        dir.path(),
        &Query {
            max_bytes: 1 << 20,
            pattern: Some(Pattern::text("nothing like this")),
            ..Query::default()
        },
    );
    assert_eq!(a.stopped, Some(Limit::Bytes));
    assert!(
        a.bytes_read >= 1 << 20 && a.bytes_read < 3 << 20,
        "{}",
        a.bytes_read
    );
}

#[test]
fn only_the_containers_own_numbered_files_are_its_history() {
    let dir = history("app", &THREE);
    for stray in ["app.log.tmp", "app.log.01", "other.log", "app.log.x"] {
        std::fs::write(dir.path().join("app").join(stray), "ERROR stray\n").expect("write");
    }
    let logs_dir = LogsDir::new(dir.path());
    let ages: Vec<u32> = files(&logs_dir, &"app".into())
        .iter()
        .map(|(a, _)| *a)
        .collect();
    assert_eq!(ages, [2, 1, 0]);
    assert!(files(&logs_dir, &"missing".into()).is_empty());
}

#[test]
fn a_line_longer_than_the_read_buffer_is_found_whole_and_the_next_ones_too() {
    let huge = format!("ERROR {}", "y".repeat(5 * CHUNK / 2));
    let text = format!("INFO before\n{huge}\nINFO after\n");
    let dir = history("app", &[&text]);
    let a = run(
        dir.path(),
        &Query {
            pattern: Some(Pattern::regex("^(ERROR|INFO a)").expect("regex")),
            ..Query::default()
        },
    );
    assert_eq!(a.lines.len(), 2);
    assert_eq!(a.lines[0].at.offset, 12);
    assert_eq!(a.lines[0].cut, huge.len() - SHOWN_LINE_BYTES);
    assert_eq!(a.lines[1].text, b"INFO after");
    assert_eq!(a.lines[1].at.offset, 12 + huge.len() as u64 + 1);
    assert_eq!(a.bytes_read, text.len() as u64);
}
