use super::*;

const MIB: u64 = 1 << 20;

fn file(age: u32, bytes: u64, modified: i64) -> KeptFile {
    KeptFile {
        age,
        bytes,
        modified,
    }
}

/// A container with a current file of `current` bytes written at `t` and `rotated` files of
/// 1 MiB, `.log.k` written at `t - k`.
fn kept(current: u64, rotated: u32, t: i64) -> Kept {
    let mut files: Vec<KeptFile> = (1..=rotated)
        .rev()
        .map(|k| file(k, MIB, t - i64::from(k)))
        .collect();
    files.push(file(0, current, t));
    Kept { files, index: 64 }
}

fn inventory(containers: &[(&str, Kept)]) -> Inventory {
    Inventory {
        containers: containers
            .iter()
            .map(|(n, k)| (ContainerName::from(*n), k.clone()))
            .collect(),
        other: 100,
    }
}

fn removed(names: &[(&str, i64)]) -> BTreeMap<ContainerName, i64> {
    names
        .iter()
        .map(|(n, t)| (ContainerName::from(*n), *t))
        .collect()
}

fn budget(max_total: u64, keep: Option<u64>) -> Budget {
    Budget {
        max_total,
        keep_removed: keep.map(Duration::from_secs),
    }
}

fn rotated(name: &str, age: u32) -> Step {
    Step::Rotated {
        name: name.into(),
        age,
    }
}

fn whole(name: &str) -> Step {
    Step::Whole { name: name.into() }
}

fn steps(plan: &Plan) -> Vec<Step> {
    plan.steps.iter().map(|(s, _, _)| s.clone()).collect()
}

#[test]
fn under_the_budget_nothing_goes() {
    let inv = inventory(&[("a", kept(MIB, 3, 1000)), ("gone", kept(MIB, 2, 500))]);
    let plan = choose(
        &inv,
        &removed(&[("gone", 900)]),
        1000,
        &budget(100 * MIB, None),
    );
    assert_eq!(plan.steps, []);
    assert_eq!(plan.left, inv.total());
    let plan = choose(&inv, &removed(&[("gone", 900)]), 1000, &budget(0, None));
    assert_eq!(plan.steps, [], "no budget");
}

#[test]
fn removed_containers_go_first_oldest_rotation_first_their_current_file_last() {
    // `a` runs and has the oldest files of all; `gone` and `old` were removed.
    let inv = inventory(&[
        ("a", kept(MIB, 3, 100)),
        ("gone", kept(MIB, 2, 1000)),
        ("old", kept(MIB, 1, 800)),
    ]);
    let total = inv.total();
    // Over by a little: the oldest file of a removed container goes, although `a`'s are older.
    let plan = choose(
        &inv,
        &removed(&[("gone", 1000), ("old", 900)]),
        2000,
        &budget(total - 1, None),
    );
    let low_water = (total - 1) / 20 * LOW_WATER;
    assert!(plan.left <= low_water, "{} <= {low_water}", plan.left);
    let want = [rotated("old", 1), whole("old"), rotated("gone", 2)];
    assert!(
        !plan.steps.is_empty() && plan.steps.len() <= want.len(),
        "{plan:?}"
    );
    assert_eq!(steps(&plan), want[..plan.steps.len()]);
    // Far over: every file of the removed ones, then the rotated files of the rest, oldest first.
    let plan = choose(
        &inv,
        &removed(&[("gone", 1000), ("old", 900)]),
        2000,
        &budget(MIB + 200, None),
    );
    assert_eq!(
        steps(&plan),
        [
            rotated("old", 1),
            whole("old"),
            rotated("gone", 2),
            rotated("gone", 1),
            whole("gone"),
            rotated("a", 3),
            rotated("a", 2),
            rotated("a", 1),
        ]
    );
    assert!(plan.steps.iter().all(|(_, _, r)| *r == Reason::Budget));
    // What is left cannot go: `a`'s current file (and the state files).
    assert_eq!(plan.left, MIB + 64 + 100);
}

#[test]
fn a_current_file_of_a_container_the_engine_has_is_never_chosen() {
    // Only current files, of containers the engine still has (running or stopped): nothing goes.
    let inv = inventory(&[("a", kept(9 * MIB, 0, 10)), ("b", kept(9 * MIB, 0, 5))]);
    let plan = choose(&inv, &removed(&[]), 1000, &budget(MIB, Some(1)));
    assert_eq!(plan.steps, []);
    assert_eq!(plan.left, inv.total());
    for (name, files) in [("a", 4), ("b", 7)] {
        let inv = inventory(&[(name, kept(MIB, files, 100))]);
        let plan = choose(&inv, &removed(&[]), 1000, &budget(MIB, None));
        assert!(
            steps(&plan)
                .iter()
                .all(|s| matches!(s, Step::Rotated { age, .. } if *age > 0)),
            "{plan:?}"
        );
        assert_eq!(plan.steps.len(), files as usize);
    }
}

#[test]
fn expired_removed_containers_go_whole_whatever_the_budget() {
    let inv = inventory(&[
        ("a", kept(MIB, 2, 100)),
        ("expired", kept(MIB, 2, 100)),
        ("recent", kept(MIB, 2, 100)),
    ]);
    let gone = removed(&[("expired", 1000), ("recent", 5000)]);
    // Kept a day: `expired` went at 1000, it is now 1000 + a day.
    let now = 1000 + 86_400;
    let plan = choose(&inv, &gone, now, &budget(0, Some(86_400)));
    assert_eq!(steps(&plan), [whole("expired")]);
    assert_eq!(plan.steps[0].1, 3 * MIB + 64);
    assert_eq!(plan.steps[0].2, Reason::Removed);
    assert_eq!(plan.left, inv.total() - 3 * MIB - 64);
    // A second earlier, it stays.
    let plan = choose(&inv, &gone, now - 1, &budget(0, Some(86_400)));
    assert_eq!(plan.steps, []);
    // With a budget too: the expiry first, then the budget, which does not choose it again.
    let plan = choose(&inv, &gone, now, &budget(2 * MIB + 300, Some(86_400)));
    let s = steps(&plan);
    assert_eq!(s[0], whole("expired"));
    assert_eq!(
        &s[1..4],
        [rotated("recent", 2), rotated("recent", 1), whole("recent")]
    );
    assert_eq!(s.iter().filter(|s| **s == whole("expired")).count(), 1);
    assert!(plan.steps[1..].iter().all(|(_, _, r)| *r == Reason::Budget));
}

#[test]
fn the_inventory_counts_every_file_and_attaches_indexes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = LogsDir::new(tmp.path());
    let name = ContainerName::from("web");
    fs::create_dir_all(dir.container(&name)).expect("mkdir");
    fs::create_dir_all(dir.times_dir()).expect("mkdir");
    fs::write(dir.log_file(&name), b"12345").expect("write");
    fs::write(LogsDir::rotated(&dir.log_file(&name), 1), b"123").expect("write");
    fs::write(LogsDir::rotated(&dir.log_file(&name), 2), b"12").expect("write");
    fs::write(dir.container(&name).join("notes.txt"), b"1").expect("write");
    fs::write(dir.times_file(&name), [0; 32]).expect("write");
    fs::write(dir.times_file(&"lost".into()), [0; 64]).expect("write");
    fs::write(dir.cursor_file(), b"{}").expect("write");
    fs::create_dir_all(tmp.path().join("empty")).expect("mkdir");
    let inv = Inventory::scan(&dir);
    let web = &inv.containers[&name];
    assert_eq!(
        web.files.iter().map(|f| f.age).collect::<Vec<_>>(),
        [2, 1, 0]
    );
    assert_eq!(web.index, 32);
    assert_eq!(inv.other, 1 + 64 + 2, "stray file, lost index, cursors");
    assert_eq!(inv.total(), 5 + 3 + 2 + 32 + 67);
    assert_eq!(
        inv.containers.len(),
        1,
        "a directory without log files is no container"
    );
    assert_eq!(inv.by_container(), [(name.clone(), 42)]);
    // Deleting it whole leaves only what is not its.
    let freed = delete_whole(&dir, &name).expect("delete");
    assert_eq!(freed, 42);
    assert!(!dir.times_file(&name).exists());
    assert!(
        dir.container(&name).join("notes.txt").exists(),
        "not its file"
    );
    assert_eq!(Inventory::scan(&dir).total(), 67);
}

#[test]
fn removed_since_is_the_first_list_that_missed_it_and_survives_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = LogsDir::new(tmp.path());
    fs::create_dir_all(dir.state_dir()).expect("mkdir");
    // Written at 50 s, 60 s, 70 s (in nanoseconds).
    let s = 1_000_000_000;
    let inv = inventory(&[
        ("a", kept(1, 0, 50 * s)),
        ("b", kept(1, 0, 60 * s)),
        ("c", kept(1, 0, 70 * s)),
    ]);
    let mut r = Removed::open(&dir);
    let engine: HashSet<ContainerName> = ["a", "b"].map(ContainerName::from).into();
    // Gone before this run's first list: since its newest file was written.
    assert_eq!(r.update(&inv, Some(&engine), 1000), removed(&[("c", 70)]));
    // The engine cannot be asked: no one counts as removed.
    assert_eq!(r.update(&inv, None, 1100), removed(&[]));
    // `b` goes later in the run: since that list.
    let engine: HashSet<ContainerName> = ["a"].map(ContainerName::from).into();
    assert_eq!(
        r.update(&inv, Some(&engine), 1200),
        removed(&[("b", 1200), ("c", 70)])
    );
    r.save();
    // A restart keeps both; `b` created again is not removed any more.
    let mut r = Removed::open(&dir);
    let engine: HashSet<ContainerName> = ["a", "b"].map(ContainerName::from).into();
    assert_eq!(r.update(&inv, Some(&engine), 5000), removed(&[("c", 70)]));
    r.forget(&"c".into());
    r.save();
    assert_eq!(Removed::open(&dir).since, removed(&[]));
}

#[test]
fn the_estimate_grows_with_what_was_written_and_calls_for_a_scan_over_the_budget() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut k = Keeper::new(budget(1000, None), &LogsDir::new(tmp.path()));
    assert!(k.due(), "the first tick scans");
    k.estimate = Some(950);
    k.last_pass = Some(Instant::now());
    assert!(!k.due());
    let mut pending = crate::logs::container::Pending::default();
    pending.line(crate::logs::levels::Level::Info, 60);
    let written = pending.take(&"a".into()).expect("written");
    k.wrote(std::slice::from_ref(&written));
    assert_eq!(k.estimate, Some(950 + 60 + RECORD as u64));
    assert!(k.due(), "may be over the budget");
    // Only files that may not go are left, 1100 bytes: said once, then scanned again only after a
    // twentieth of the budget more.
    k.scanned = 1100;
    k.estimate = Some(1100);
    assert!(k.unmet.first());
    assert!(!k.due(), "nothing new to delete");
    k.estimate = Some(1149);
    assert!(!k.due());
    k.estimate = Some(1150);
    assert!(k.due(), "a twentieth more");
    let mut k = Keeper::new(budget(0, Some(60)), &LogsDir::new(tmp.path()));
    k.estimate = Some(u64::MAX / 2);
    k.last_pass = Some(Instant::now());
    assert!(!k.due(), "no budget: only every PASS_EVERY");
}

/// The cost of a pass over 1000 containers of 11 files each (BENCHMARKS.md): a scan of LOGS_DIR
/// and the choice, under the budget and over it, and deleting 1000 rotated files. Prints figures;
/// asserts only what was deleted.
#[test]
#[ignore = "a measurement for BENCHMARKS.md: cargo test --release --lib pass_cost -- --ignored --nocapture"]
fn pass_cost_over_1000_containers_of_11_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = LogsDir::new(tmp.path());
    for i in 0..1000 {
        let name = ContainerName::from(format!("c{i:04}").as_str());
        fs::create_dir_all(dir.container(&name)).expect("mkdir");
        fs::write(dir.log_file(&name), [b'x'; 100]).expect("write");
        for age in 1..=10 {
            fs::write(LogsDir::rotated(&dir.log_file(&name), age), [b'x'; 100]).expect("write");
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut scans = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let inv = Inventory::scan(&dir);
        let plan = choose(&inv, &BTreeMap::new(), 0, &budget(u64::MAX, None));
        scans.push(t.elapsed());
        assert_eq!(plan.steps, []);
    }
    let inv = Inventory::scan(&dir);
    let t = Instant::now();
    let plan = choose(
        &inv,
        &BTreeMap::new(),
        0,
        &budget(inv.total() - 1000 * 100, None),
    );
    let chose = t.elapsed();
    let t = Instant::now();
    for (step, _, _) in &plan.steps {
        if let Step::Rotated { name, age } = step {
            delete_rotated(&dir, name, *age).expect("delete");
        }
    }
    let deleted = t.elapsed();
    println!(
        "scan + choice, nothing to delete: {:?} (median of 9); choice of {} files: {chose:?}; \
         deleting them: {deleted:?}",
        median(scans),
        plan.steps.len()
    );
    assert!(plan.steps.len() >= 1000);
}
