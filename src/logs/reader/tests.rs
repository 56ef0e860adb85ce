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
