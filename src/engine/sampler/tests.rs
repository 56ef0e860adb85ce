use super::*;

fn cpu(container_ns: u64, system_ns: u64) -> CpuSample {
    CpuSample {
        container_ns,
        system_ns,
    }
}

fn reading(generation: u64, cpu_ns: u64, wall_ns: u64) -> CgroupReading {
    CgroupReading {
        stats: CgroupStats {
            cpu_ns,
            memory_usage: 10 << 20,
            memory_limit: 256 << 20,
            inactive_file: 4096,
            pids: Some(3),
            throttling: None,
            io_bytes: Some((1, 2)),
            generation,
        },
        cpu: cpu(cpu_ns, wall_ns),
    }
}

fn inspected(generation: Option<u64>, health: Option<&str>) -> Inspected {
    Inspected {
        at: Instant::now(),
        started_at: Some(1_700_000_000),
        nano_cpus: Some(500_000_000),
        exited: None,
        info: ContainerInfo {
            id: "a1".into(),
            health: health.map(str::to_string),
            ..Default::default()
        },
        cgroup: generation,
        pid: None,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn when_a_container_is_inspected_again() {
    let table = [
        // (age of the cached answer, health check, restart seen, inspect again)
        (None, false, false, true),
        (None, true, true, true),
        (Some(Duration::ZERO), false, false, false),
        (Some(4 * MINUTE), false, false, false),
        (
            Some(INSPECT_REFRESH - Duration::from_millis(1)),
            false,
            false,
            false,
        ),
        (Some(INSPECT_REFRESH), false, false, true),
        (Some(10 * MINUTE), false, false, true),
        (Some(Duration::ZERO), true, false, true),
        (Some(Duration::ZERO), false, true, true),
    ];
    for (age, health_check, restarted, again) in table {
        assert_eq!(
            inspect_again(age, health_check, restarted),
            again,
            "age {age:?}, health check {health_check}, restarted {restarted}"
        );
    }
}

#[test]
fn a_cpu_counter_going_back_means_a_restart() {
    assert!(restart_seen(Some(7), 7, Some(cpu(500, 1)), cpu(100, 2)));
    assert_eq!(usable_before(Some(cpu(500, 1)), cpu(100, 2)), None);
}

#[test]
fn a_new_cgroup_directory_means_a_restart() {
    assert!(restart_seen(Some(7), 8, Some(cpu(100, 1)), cpu(200, 2)));
    // An answer cached before the cgroup was seen is not trusted either.
    assert!(restart_seen(None, 8, Some(cpu(100, 1)), cpu(200, 2)));
}

#[test]
fn the_same_cgroup_with_a_counter_going_on_is_no_restart() {
    let table = [
        (cpu(100, 1), cpu(200, 2)),
        // A container idle since the previous reading.
        (cpu(100, 1), cpu(100, 2)),
    ];
    for (before, now) in table {
        assert!(
            !restart_seen(Some(7), 7, Some(before), now),
            "{before:?} -> {now:?}"
        );
        assert_eq!(usable_before(Some(before), now), Some(before));
    }
}

#[test]
fn without_a_previous_cgroup_reading_the_cache_is_not_trusted() {
    assert!(restart_seen(Some(7), 7, None, cpu(100, 2)));
    assert_eq!(usable_before(None, cpu(100, 2)), None);
}

fn sampler_with(id: &ContainerId, state: ContainerState) -> Sampler {
    let sampler = Sampler::new(None);
    sampler.state().insert(id.clone(), state);
    sampler
}

#[test]
fn a_fresh_cached_answer_is_used_and_kept() {
    let id = ContainerId::from("a1");
    let sampler = sampler_with(
        &id,
        ContainerState {
            cgroup_cpu: Some(cpu(100, 1)),
            inspected: Some(inspected(Some(7), None)),
            ..Default::default()
        },
    );
    let cached = sampler.cached_inspect(&id, reading(7, 200, 2));
    assert_eq!(cached.map(|c| c.started_at), Some(Some(1_700_000_000)));
    let state = sampler.state();
    assert!(state[&id].inspected.is_some());
    assert_eq!(state[&id].cgroup_cpu, Some(cpu(100, 1)));
}

#[test]
fn a_restart_drops_the_cached_answer_and_the_cpu_sample() {
    let id = ContainerId::from("a1");
    let sampler = sampler_with(
        &id,
        ContainerState {
            engine_cpu: Some(cpu(9, 9)),
            cgroup_cpu: Some(cpu(100, 1)),
            inspected: Some(inspected(Some(7), None)),
        },
    );
    assert!(sampler.cached_inspect(&id, reading(8, 200, 2)).is_none());
    let state = sampler.state();
    assert!(state[&id].inspected.is_none());
    assert_eq!(state[&id].cgroup_cpu, None);
    assert_eq!(
        state[&id].engine_cpu,
        Some(cpu(9, 9)),
        "not the cgroup's to drop"
    );
}

#[test]
fn a_container_with_a_health_check_is_inspected_every_time_but_keeps_its_cpu_sample() {
    let id = ContainerId::from("a1");
    let sampler = sampler_with(
        &id,
        ContainerState {
            cgroup_cpu: Some(cpu(100, 1)),
            inspected: Some(inspected(Some(7), Some("healthy"))),
            ..Default::default()
        },
    );
    assert!(sampler.cached_inspect(&id, reading(7, 200, 2)).is_none());
    let state = sampler.state();
    assert!(state[&id].inspected.is_none());
    assert_eq!(state[&id].cgroup_cpu, Some(cpu(100, 1)));
}

#[test]
fn a_container_never_inspected_has_nothing_cached() {
    let id = ContainerId::from("a1");
    let sampler = sampler_with(
        &id,
        ContainerState {
            cgroup_cpu: Some(cpu(100, 1)),
            ..Default::default()
        },
    );
    assert!(sampler.cached_inspect(&id, reading(7, 50, 2)).is_none());
    assert!(sampler
        .cached_inspect(&ContainerId::from("b2"), reading(7, 50, 2))
        .is_none());
    assert_eq!(
        sampler.state()[&id].cgroup_cpu,
        Some(cpu(100, 1)),
        "nothing cached, nothing dropped"
    );
}

#[test]
fn forgetting_a_container_drops_everything_kept_of_it() {
    let gone = ContainerId::from("a1");
    let running = ContainerId::from("b2");
    let sampler = sampler_with(&gone, ContainerState::default());
    sampler
        .state()
        .insert(running.clone(), ContainerState::default());
    sampler.forget_all_but(|id| id == &running);
    let state = sampler.state();
    assert!(!state.contains_key(&gone));
    assert!(state.contains_key(&running));
}

#[test]
fn cgroup_metrics_are_cores_over_wall_time_with_the_inspected_values() {
    // One second of wall time, half a second of CPU: half a core.
    let now = reading(7, 1_500_000_000, 2_000_000_000);
    let before = cpu(1_000_000_000, 1_000_000_000);
    let m = cgroup_metrics(now, before, &inspected(Some(7), None), 8);
    assert_eq!(m.cpu_cores, Some(0.5));
    assert_eq!(m.cpus_available, 0.5);
    assert_eq!(m.cpu_seconds, Some(1.5));
    assert_eq!(m.started_at, Some(1_700_000_000));
    assert_eq!((m.memory_used, m.memory_limit), (10 << 20, 256 << 20));
    assert_eq!(m.extras.inactive_file, Some(4096));
    assert_eq!(m.extras.pids, Some(3));
    assert_eq!(m.extras.io_bytes, Some((1, 2)));
    assert_eq!(m.info, ContainerInfo::default(), "the caller's to add");
    assert_eq!(m.exited, None);
}

#[test]
fn an_inspect_answer_gives_the_values_the_metrics_need() {
    let answer: ContainerInspectResponse = serde_json::from_value(serde_json::json!({
        "RestartCount": 2,
        "State": {"Running": false, "ExitCode": 137, "OOMKilled": true,
                  "StartedAt": "2026-11-24T18:54:51.5Z", "Health": {"Status": "none"}},
        "Config": {"Image": "nginx:1.27", "Labels": {"com.docker.compose.project": "shop"}},
        "HostConfig": {"NanoCpus": 1500000000}
    }))
    .expect("an inspect answer");
    let i = Inspected::from_answer(&ContainerId::from("a1"), &answer);
    assert_eq!(i.exited, Some(137));
    assert_eq!(i.nano_cpus, Some(1_500_000_000));
    assert_eq!(i.started_at, stats::unix_seconds("2026-11-24T18:54:51.5Z"));
    assert_eq!(i.cgroup, None);
    assert_eq!(i.info.id, "a1");
    assert_eq!(i.info.image, "nginx:1.27");
    assert_eq!(i.info.compose_project, "shop");
    assert_eq!(i.info.compose_service, "");
    assert_eq!(i.info.restart_count, Some(2));
    assert_eq!(i.info.oom_killed, Some(true));
    assert_eq!(i.info.health, None, "`none` is no health check");
}
