use super::*;

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use crate::logs::levels::LevelMapping;
use crate::logs::LogsDir;
use crate::web::{Board, Bound, Times};

fn key(time: Option<i64>, container: u32, file: u32, offset: u64) -> Key {
    Key {
        time,
        container,
        file: Reverse(file),
        offset,
    }
}

fn hit(key: Key) -> Hit {
    Hit {
        key,
        level: Level::Info,
        text: format!("{key:?}").into_bytes(),
        cut: 0,
    }
}

#[test]
fn keys_sort_lines_without_a_time_first_then_by_time_container_and_place() {
    let mut keys = vec![
        key(Some(5), 0, 0, 10),
        key(None, 1, 0, 0),
        key(Some(5), 0, 1, 99),
        key(Some(4), 2, 0, 0),
        key(None, 0, 3, 7),
        key(Some(5), 1, 5, 0),
    ];
    keys.sort();
    assert_eq!(
        keys,
        [
            key(None, 0, 3, 7),
            key(None, 1, 0, 0),
            key(Some(4), 2, 0, 0),
            key(Some(5), 0, 1, 99),
            key(Some(5), 0, 0, 10),
            key(Some(5), 1, 5, 0),
        ],
        "an older file (.log.1) before a newer one (.log) of the same container"
    );
}

#[test]
fn newest_keeps_the_last_lines_and_counts_the_others_without_making_them() {
    let mut n = Newest::new(2);
    let mut made = 0;
    for t in [3, 1, 4, 1, 5] {
        n.offer(key(Some(t), 0, 0, t as u64 * 10 + made), || {
            made += 1;
            hit(key(Some(t), 0, 0, t as u64 * 10 + made - 1))
        });
    }
    // 3 and 1 kept, 4 replaces 1, the second 1 is not made, 5 replaces 3.
    assert_eq!(made, 4);
    let (hits, left_out) = n.into_sorted();
    let times: Vec<Option<i64>> = hits.iter().map(|h| h.key.time).collect();
    assert_eq!(times, [Some(4), Some(5)]);
    assert_eq!(left_out, 3);

    let mut none = Newest::new(0);
    none.offer(key(None, 0, 0, 0), || panic!("a limit of 0 keeps nothing"));
    assert_eq!(none.into_sorted(), (Vec::new(), 1));
}

fn stamp(file: u32, offset: u64, ts: i64) -> Stamp {
    Stamp {
        at: Position { file, offset },
        ts,
    }
}

#[test]
fn since_and_until_bound_the_range_at_ticks_and_since_leaves_out_lines_without_a_time() {
    // Ticks at 10 (.log.1 at 0), 20 (.log.1 at 50), 30 (.log at 0).
    let s = [stamp(1, 0, 10), stamp(1, 50, 20), stamp(0, 0, 30)];
    let at = |file, offset| Some(Position { file, offset });
    assert_eq!(range(&s, None, None), Some(Range::default()));
    assert_eq!(range(&s, Some(15), None).map(|r| r.from), Some(at(1, 50)));
    assert_eq!(range(&s, Some(5), None).map(|r| r.from), Some(at(1, 0)));
    assert_eq!(range(&s, Some(31), None), None, "every line is older");
    assert_eq!(
        range(&[], Some(0), None),
        None,
        "no time: not since anything"
    );
    assert_eq!(range(&s, None, Some(20)).map(|r| r.to), Some(at(0, 0)));
    assert_eq!(range(&s, None, Some(19)).map(|r| r.to), Some(at(1, 50)));
    assert_eq!(range(&s, None, Some(30)).map(|r| r.to), Some(None));
    assert_eq!(
        range(&s, None, Some(9)).map(|r| r.to),
        Some(at(1, 0)),
        "only the lines before the first tick"
    );
    assert_eq!(
        range(&[], None, Some(9)),
        Some(Range::default()),
        "without an index, every line is older than any until"
    );
}

#[test]
fn a_lines_time_is_that_of_the_tick_at_or_before_it() {
    let mut c = Clock {
        stamps: vec![stamp(1, 40, 10), stamp(1, 90, 20), stamp(0, 0, 30)],
        passed: 0,
    };
    let at = |file, offset| Position { file, offset };
    assert_eq!(c.time_at(at(2, 500)), None, "an older file");
    assert_eq!(c.time_at(at(1, 0)), None, "before the first tick");
    assert_eq!(c.time_at(at(1, 40)), Some(10));
    assert_eq!(c.time_at(at(1, 89)), Some(10));
    assert_eq!(c.time_at(at(1, 90)), Some(20));
    assert_eq!(c.time_at(at(1, 5000)), Some(20));
    assert_eq!(c.time_at(at(0, 0)), Some(30));
    assert_eq!(c.time_at(at(0, 7)), Some(30));
}

proptest! {
    #[test]
    fn merged_workers_keep_what_a_sort_of_every_offer_keeps(
        keys in prop::collection::btree_set(
            (prop::option::of(0i64..20), 0u32..4, 0u32..3, 0u64..50), 0..80),
        workers in 1usize..4,
        limit in 0usize..30,
    ) {
        let keys: Vec<Key> = keys.into_iter().map(|(t, c, f, o)| key(t, c, f, o)).collect();
        let mut each: Vec<Newest> = (0..workers).map(|_| Newest::new(limit)).collect();
        for (i, k) in keys.iter().enumerate() {
            each[i % workers].offer(*k, || hit(*k));
        }
        let mut all = Newest::new(limit);
        for n in each {
            all.merge(n);
        }
        let (hits, left_out) = all.into_sorted();
        let mut want = keys.clone();
        want.sort();
        let kept = want.split_off(want.len().saturating_sub(limit));
        prop_assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), kept);
        prop_assert_eq!(left_out as usize, want.len());
    }
}

/// A time index given by hand: each container's stamps.
#[derive(Debug, Default)]
struct Given(HashMap<ContainerName, Vec<Stamp>>);

impl Times for Given {
    fn position(&self, _: &ContainerName, _: i64) -> Bound {
        Bound::Start
    }

    fn stamps(&self, container: &ContainerName) -> Vec<Stamp> {
        self.0.get(container).cloned().unwrap_or_default()
    }
}

/// A container's history: its files oldest first, each its lines.
type History = Vec<Vec<String>>;

fn web(dir: &std::path::Path, histories: &[(String, History)], times: Given) -> Arc<Web> {
    let logs_dir = LogsDir::new(dir);
    let board = Board::default();
    for (name, files) in histories {
        let name = ContainerName::from(name.as_str());
        std::fs::create_dir_all(logs_dir.container(&name)).expect("dir");
        let current = logs_dir.log_file(&name);
        for (i, lines) in files.iter().enumerate() {
            let age = (files.len() - 1 - i) as u32;
            let path = match age {
                0 => current.clone(),
                age => LogsDir::rotated(&current, age),
            };
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(path, text).expect("write");
        }
        board.on_history([&name]);
    }
    Arc::new(Web {
        logs_dir,
        mapping: Arc::new(LevelMapping::builtin()),
        board,
        times: Arc::new(times),
        machine: "m".into(),
    })
}

fn query(text: Option<&str>, limit: usize) -> Query {
    Query {
        levels: [true; 3],
        pattern: text.map(Pattern::text),
        limit,
        since: None,
        until: None,
        max_bytes: history::MAX_BYTES,
        max_time: history::MAX_TIME,
    }
}

fn run(web: &Arc<Web>, query: Query) -> Found {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let names = web.board.names();
    runtime.block_on(search(web.clone(), names, query))
}

/// Every line of every history with its key and text, as a sort of everything would have them.
fn naive(histories: &[(String, History)], times: &Given) -> Vec<(Key, String)> {
    let mut all = Vec::new();
    for (c, (name, files)) in histories.iter().enumerate() {
        let stamps = times.stamps(&ContainerName::from(name.as_str()));
        for (i, lines) in files.iter().enumerate() {
            let file = (files.len() - 1 - i) as u32;
            let mut offset = 0;
            for l in lines {
                let p = Position { file, offset };
                let time = stamps
                    .iter()
                    .rev()
                    .find(|s| chrono(s.at) <= chrono(p))
                    .map(|s| s.ts);
                all.push((key(time, c as u32, file, offset), l.clone()));
                offset += l.len() as u64 + 1;
            }
        }
    }
    all.sort();
    all
}

fn histories() -> impl Strategy<Value = Vec<(History, Vec<(usize, i64)>)>> {
    let line = prop::sample::select(vec!["INFO a", "ERROR needle b", "WARN c needle", "INFO dd"]);
    let file = prop::collection::vec(line.prop_map(String::from), 0..6);
    // Each container: 1-3 files, and ticks at some of its lines (index in all its lines, a step).
    let container = (
        prop::collection::vec(file, 1..4),
        prop::collection::btree_map(0usize..18, 0i64..3, 0..5),
    );
    prop::collection::vec(container, 1..5).prop_map(|cs| {
        cs.into_iter()
            .map(|(files, ticks)| (files, ticks.into_iter().collect()))
            .collect()
    })
}

/// The stamps of `files` for ticks at (line number, step): times grow by each step from 100.
fn stamps_of(files: &History, ticks: &[(usize, i64)]) -> Vec<Stamp> {
    let mut at = Vec::new();
    for (i, lines) in files.iter().enumerate() {
        let file = (files.len() - 1 - i) as u32;
        let mut offset = 0;
        for l in lines {
            at.push(Position { file, offset });
            offset += l.len() as u64 + 1;
        }
    }
    let mut ts = 100;
    let mut seen = BTreeSet::new();
    ticks
        .iter()
        .filter_map(|(line, step)| {
            let p = *at.get(*line)?;
            seen.insert(*line).then(|| {
                ts += step;
                Stamp { at: p, ts }
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_search_of_every_container_equals_a_sort_of_every_match(
        generated in histories(),
        limit in 0usize..12,
        since in prop::option::of(99i64..110),
        until in prop::option::of(99i64..110),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut histories = Vec::new();
        let mut times = Given::default();
        for (i, (files, ticks)) in generated.iter().enumerate() {
            let name = format!("c{i}");
            times.0.insert(ContainerName::from(name.as_str()), stamps_of(files, ticks));
            histories.push((name, files.clone()));
        }
        let want: Vec<(Key, String)> = naive(&histories, &times)
            .into_iter()
            .filter(|(_, l)| l.contains("needle"))
            .filter(|(k, _)| since.is_none_or(|s| k.time.is_some_and(|t| t >= s)))
            .filter(|(k, _)| until.is_none_or(|u| k.time.is_none_or(|t| t <= u)))
            .collect();
        let web = web(dir.path(), &histories, times);
        let q = Query { since, until, ..query(Some("needle"), limit) };
        let found = run(&web, q);
        let got: Vec<(Key, String)> = found
            .hits
            .iter()
            .map(|h| (h.key, String::from_utf8_lossy(&h.text).into_owned()))
            .collect();
        let kept = want.len().saturating_sub(limit);
        prop_assert_eq!(&got[..], &want[kept..]);
        prop_assert_eq!(found.left_out as usize, kept);
        prop_assert_eq!(found.searched, histories.len());
        prop_assert_eq!(found.stopped, None);
    }
}

#[test]
fn the_byte_limit_holds_for_the_whole_search_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: Vec<String> = (0..20_000).map(|i| format!("INFO filler {i:08}")).collect();
    let histories: Vec<(String, History)> = (0..6)
        .map(|i| (format!("c{i}"), vec![big.clone()]))
        .collect();
    let web = web(dir.path(), &histories, Given::default());
    let whole = run(&web, query(Some("nothing like it"), 10));
    assert_eq!(whole.stopped, None);
    assert_eq!(whole.searched, 6);
    let q = Query {
        max_bytes: whole.bytes_read / 3,
        ..query(Some("nothing like it"), 10)
    };
    let cut = run(&web, q);
    assert_eq!(cut.stopped, Some(history::Limit::Bytes));
    assert!(cut.searched < 6, "{}", cut.searched);
    assert!(
        cut.bytes_read >= whole.bytes_read / 3 && cut.bytes_read < whole.bytes_read,
        "{} of {}",
        cut.bytes_read,
        whole.bytes_read
    );
    let q = Query {
        max_time: Duration::ZERO,
        ..query(Some("nothing like it"), 10)
    };
    assert_eq!(run(&web, q).stopped, Some(history::Limit::Time));
}
