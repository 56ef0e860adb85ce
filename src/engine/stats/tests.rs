use super::*;

fn stats(json: &str) -> ContainerStatsResponse {
    serde_json::from_str(json).expect("valid stats JSON")
}

fn fixture(name: &str) -> ContainerStatsResponse {
    let path = format!(
        "{}/fixtures/docker-20.10/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture present");
    stats(&text)
}

/// A cgroup v2 host: no percpu_usage, no max_usage, `inactive_file` instead of `total_inactive_file`.
const CGROUP_V2: &str = r#"{
    "read": "2026-11-24T18:54:52.527702384Z",
    "preread": "2026-11-24T18:54:51.51827707Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 2000000000, "usage_in_kernelmode": 1, "usage_in_usermode": 1},
                  "system_cpu_usage": 9000000000000, "online_cpus": 4},
    "precpu_stats": {"cpu_usage": {"total_usage": 1000000000}, "system_cpu_usage": 8996000000000, "online_cpus": 4},
    "memory_stats": {"usage": 10485760, "limit": 268435456,
                     "stats": {"anon": 4096, "file": 8192, "inactive_file": 4096}}
}"#;

#[test]
fn recorded_cgroup_v1_sample_gives_the_reference_values() {
    let r = reading(&fixture("stats_stream_false.json")).expect("complete sample");
    // The expected values straight from the JSON, so a re-recorded fixture keeps this test true.
    let path = format!(
        "{}/fixtures/docker-20.10/stats_stream_false.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let n = |p: &str| raw.pointer(p).and_then(serde_json::Value::as_u64).expect(p);
    assert_eq!(r.memory_usage, n("/memory_stats/usage"));
    assert_eq!(r.memory_limit, n("/memory_stats/limit"));
    assert_eq!(u64::from(r.online_cpus), n("/cpu_stats/online_cpus"));
    let pre = r.precpu.expect("stream=false carries precpu");
    let cores = (n("/cpu_stats/cpu_usage/total_usage") - n("/precpu_stats/cpu_usage/total_usage"))
        as f64
        / (n("/cpu_stats/system_cpu_usage") - n("/precpu_stats/system_cpu_usage")) as f64
        * n("/cpu_stats/online_cpus") as f64;
    assert_eq!(
        cpu_cores(r.cpu, pre, r.online_cpus),
        (cores * 10_000.0).round() / 10_000.0
    );
}

#[test]
fn one_shot_sample_has_no_precpu() {
    let r = reading(&fixture("stats_one_shot.json")).expect("complete sample");
    assert_eq!(r.precpu, None);
    assert!(r.cpu.container_ns > 0);
}

#[test]
fn a_cgroup_v2_sample_gives_memory_and_cpu() {
    let r = reading(&stats(CGROUP_V2)).expect("complete sample");
    assert_eq!(
        (r.memory_usage, r.memory_limit, r.online_cpus),
        (10_485_760, 268_435_456, 4)
    );
    // 1e9 / 4e9 * 4 = 1.0 core
    assert_eq!(
        cpu_cores(r.cpu, r.precpu.expect("precpu"), r.online_cpus),
        1.0
    );
}

#[test]
fn exited_container_gives_no_sample() {
    assert_eq!(
        reading(&fixture("stats_t3_exited_stream_false.json")),
        Err(StatsError::NotRunning)
    );
}

#[test]
fn partial_and_empty_samples_are_refused() {
    let cases = [
        ("{}", StatsError::NotRunning),
        (
            r#"{"read":"2026-11-24T18:54:52Z"}"#,
            StatsError::Missing("memory_stats"),
        ),
        (
            r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{}}"#,
            StatsError::Missing("memory_stats.usage"),
        ),
        (
            r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{"usage":1}}"#,
            StatsError::Missing("memory_stats.limit"),
        ),
        (
            r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{"usage":1,"limit":2}}"#,
            StatsError::Missing("cpu_stats"),
        ),
        (
            r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{"usage":1,"limit":2},
                "cpu_stats":{"cpu_usage":{"total_usage":5}}}"#,
            StatsError::Missing("cpu_stats.system_cpu_usage"),
        ),
        (
            r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{"usage":1,"limit":2},
                "cpu_stats":{"cpu_usage":{"total_usage":5},"system_cpu_usage":7}}"#,
            StatsError::Missing("cpu_stats.online_cpus"),
        ),
    ];
    for (json, want) in cases {
        assert_eq!(reading(&stats(json)), Err(want), "{json}");
    }
}

#[test]
fn online_cpus_falls_back_to_percpu_count() {
    let r = reading(&stats(
        r#"{"read":"2026-11-24T18:54:52Z","memory_stats":{"usage":1,"limit":2},
            "cpu_stats":{"cpu_usage":{"total_usage":5,"percpu_usage":[1,2,2]},"system_cpu_usage":7,"online_cpus":0}}"#,
    ))
    .expect("complete");
    assert_eq!(r.online_cpus, 3);
}

#[test]
fn cpu_cores_are_the_share_of_system_time_times_the_cpus() {
    let s = |c, s| CpuSample {
        container_ns: c,
        system_ns: s,
    };
    let cases = [
        // (now, before, cpus, want)
        (s(2_000, 10_000), s(1_000, 8_000), 2, 1.0),
        (s(1_000, 10_000), s(1_000, 8_000), 2, 0.0), // no container time
        (s(2_000, 8_000), s(1_000, 8_000), 2, 0.0),  // no system time
        (s(500, 10_000), s(1_000, 8_000), 2, 0.0),   // counters reset (restart)
        (s(1_000_001, 3_000_000), s(1, 0), 1, 0.3333), // rounding
        (s(2_000_000, 2_000_000), s(0, 0), 2, 2.0),  // two full cores
        (s(123_456_789, 1_000_000_000), s(0, 0), 1, 0.1235),
    ];
    for (now, before, cpus, want) in cases {
        assert_eq!(
            cpu_cores(now, before, cpus),
            want,
            "{now:?} {before:?} {cpus}"
        );
    }
}

#[test]
fn cpus_available_is_the_cpu_limit_or_else_the_online_cpus() {
    assert_eq!(cpus_available(Some(500_000_000), 2), 0.5);
    assert_eq!(cpus_available(Some(1_500_000_000), 2), 1.5);
    assert_eq!(cpus_available(Some(0), 2), 2.0);
    assert_eq!(cpus_available(None, 8), 8.0);
}

#[test]
fn unix_seconds_truncates() {
    assert_eq!(
        unix_seconds("2026-11-24T18:53:45.928599818Z"),
        Some(1_795_546_425)
    );
    assert_eq!(unix_seconds("0001-01-01T00:00:00Z"), None);
    assert_eq!(unix_seconds("yesterday"), None);
}
