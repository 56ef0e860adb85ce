use super::*;

const ID: &str = "4f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a0f3c2b1a";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// A v1 tree with the cgroupfs driver's layout, as Docker 20.10 on Debian 12 makes it.
fn v1_tree(root: &Path, limit: &str) {
    let mem = root.join("memory/docker").join(ID);
    write(&mem, "memory.usage_in_bytes", "2371584\n");
    write(&mem, "memory.limit_in_bytes", limit);
    write(
        &mem,
        "memory.stat",
        "cache 405504\nrss 110592\ntotal_cache 405504\ntotal_rss 110592\ntotal_inactive_file 270336\ntotal_active_file 135168\n",
    );
    write(
        &root.join("cpuacct/docker").join(ID),
        "cpuacct.usage",
        "52881223\n",
    );
    write(&root.join("pids/docker").join(ID), "pids.current", "3\n");
    write(
        &root.join("cpu/docker").join(ID),
        "cpu.stat",
        "nr_periods 470\nnr_throttled 12\nthrottled_time 345000000\nnr_bursts 0\nburst_time 0\n",
    );
    write(
        &root.join("blkio/docker").join(ID),
        "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 2\nTotal 12291\n",
    );
}

fn v2_scope(root: &Path) -> PathBuf {
    root.join("system.slice").join(format!("docker-{ID}.scope"))
}

/// A v2 tree with the systemd driver's layout.
fn v2_tree(root: &Path, max: &str) {
    write(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
    let dir = v2_scope(root);
    write(
        &dir,
        "cpu.stat",
        "usage_usec 52881\nuser_usec 30000\nsystem_usec 22881\nnr_periods 40\nnr_throttled 3\nthrottled_usec 1500\n",
    );
    write(&dir, "memory.current", "2371584\n");
    write(&dir, "memory.max", max);
    write(
        &dir,
        "memory.stat",
        "anon 110592\nfile 405504\nactive_file 135168\ninactive_file 270336\n",
    );
    write(&dir, "pids.current", "3\n");
    write(
        &dir,
        "io.stat",
        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=1 wbytes=2 rios=1 wios=1\n",
    );
}

#[test]
fn a_v1_cgroupfs_tree_gives_every_number() {
    let dir = tempfile::tempdir().unwrap();
    v1_tree(dir.path(), "67108864\n");
    let cg = Cgroups::open(dir.path()).expect("a v1 tree");
    assert_eq!(cg.version(), Version::V1);
    assert_eq!(
        cg.read(ID),
        Some(CgroupStats {
            cpu_ns: 52_881_223,
            memory_usage: 2_371_584,
            memory_limit: 67_108_864,
            inactive_file: 270_336,
            pids: Some(3),
            throttling: Some(Throttling {
                periods: 470,
                throttled_periods: 12,
                throttled_ns: 345_000_000,
            }),
            io_bytes: Some((4097, 8194)),
            generation: inode(&dir.path().join("memory/docker").join(ID)).unwrap(),
        })
    );
    assert_eq!(cg.read("0000"), None, "another container");
}

#[test]
fn v1_without_a_limit_reports_the_hosts_memory() {
    let dir = tempfile::tempdir().unwrap();
    v1_tree(dir.path(), "9223372036854771712\n");
    let cg = Cgroups::open(dir.path()).unwrap();
    let host = host_memory().expect("/proc/meminfo");
    assert_eq!(cg.read(ID).unwrap().memory_limit, host);
}

#[test]
fn a_v2_systemd_tree_gives_every_number() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path(), "max\n");
    let cg = Cgroups::open(dir.path()).expect("a v2 tree");
    assert_eq!(cg.version(), Version::V2);
    let s = cg.read(ID).expect("found under system.slice");
    assert_eq!(s.cpu_ns, 52_881_000);
    assert_eq!(s.memory_usage, 2_371_584);
    assert_eq!(s.memory_limit, host_memory().unwrap());
    assert_eq!(s.inactive_file, 270_336);
    assert_eq!(s.pids, Some(3));
    assert_eq!(
        s.throttling,
        Some(Throttling {
            periods: 40,
            throttled_periods: 3,
            throttled_ns: 1_500_000,
        })
    );
    assert_eq!(s.io_bytes, Some((4097, 8194)));
}

#[test]
fn a_v2_cgroupfs_tree_gives_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path(), "max\n");
    let from = v2_scope(dir.path());
    let to = dir.path().join("docker").join(ID);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::rename(from, &to).unwrap();
    write(&to, "memory.max", "134217728\n");
    let cg = Cgroups::open(dir.path()).unwrap();
    assert_eq!(cg.read(ID).unwrap().memory_limit, 134_217_728);
}

#[test]
fn odd_ids_and_a_directory_without_cgroups_give_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Cgroups::open(dir.path()).is_none());
    v2_tree(dir.path(), "max\n");
    let cg = Cgroups::open(dir.path()).unwrap();
    for id in ["", "../etc", "a/b", ".."] {
        assert_eq!(cg.read(id), None, "{id:?}");
    }
}

#[test]
fn unreadable_numbers_give_none() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path(), "max\n");
    let d = v2_scope(dir.path());
    write(&d, "memory.current", "lots\n");
    assert_eq!(Cgroups::open(dir.path()).unwrap().read(ID), None);
}
