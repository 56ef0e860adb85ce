//! Container stats straight from the kernel's cgroup files, without asking the engine.
//!
//! Every stats call costs the engine work and waits for its once-a-second sampler; the numbers it
//! returns come from these files. When the host's cgroup tree is readable (in the image: `--volume
//! /sys/fs/cgroup:/sys/fs/cgroup:ro`), a container's CPU time, memory and pids are read here, and
//! the engine is only asked to list and inspect.
//!
//! Layouts (Docker's cgroupfs and systemd drivers):
//!
//! | | cgroupfs driver | systemd driver |
//! |---|---|---|
//! | v1 | `<root>/<controller>/docker/<id>/` | `<root>/<controller>/system.slice/docker-<id>.scope/` |
//! | v2 | `<root>/docker/<id>/` | `<root>/system.slice/docker-<id>.scope/` |
//!
//! Values, as the engine computes them: memory usage is `memory.usage_in_bytes` (v1) or
//! `memory.current` (v2); the limit is `memory.limit_in_bytes` / `memory.max`, the host's memory when
//! there is none; the inactive file pages (for the working set) are `total_inactive_file` (v1) or
//! `inactive_file` (v2) of `memory.stat`; CPU time is `cpuacct.usage` (v1, ns) or `usage_usec` of
//! `cpu.stat` (v2).

use std::path::{Path, PathBuf};

use crate::container::Throttling;

/// Which cgroup hierarchy the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// One tree per controller (`memory/`, `cpuacct/`, `pids/`).
    V1,
    /// The unified tree.
    V2,
}

/// One reading of a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, page cache included.
    pub memory_usage: u64,
    /// Memory limit (the host's memory when unlimited).
    pub memory_limit: u64,
    /// Inactive file pages, which the kernel can reclaim first.
    pub inactive_file: u64,
    /// Processes and threads, when the pids controller is there.
    pub pids: Option<u64>,
    /// CFS throttling (`cpu.stat`), when the cpu controller is there.
    pub throttling: Option<Throttling>,
    /// Bytes read and written, summed over devices (`io.stat` on v2,
    /// `blkio.throttle.io_service_bytes_recursive` on v1).
    pub io_bytes: Option<(u64, u64)>,
    /// The inode of the container's cgroup directory: a new one means the cgroup was made again, i.e.
    /// the container restarted (its counters began again and inspect's StartedAt changed).
    pub generation: u64,
}

/// The host's cgroup tree.
#[derive(Debug, Clone)]
pub struct Cgroups {
    root: PathBuf,
    version: Version,
    host_memory: u64,
}

/// Limits at or above this mean "no limit" (v1 writes the largest page-aligned i64).
const UNLIMITED: u64 = 1 << 62;

impl Cgroups {
    /// The tree at `root` if it looks like a cgroup mount Docker uses; `None` otherwise.
    pub fn open(root: &Path) -> Option<Cgroups> {
        let version = if root.join("cgroup.controllers").is_file() {
            Version::V2
        } else if root.join("memory").is_dir() && root.join("cpuacct").is_dir() {
            Version::V1
        } else {
            return None;
        };
        Some(Cgroups {
            root: root.to_path_buf(),
            version,
            host_memory: host_memory().unwrap_or(u64::MAX),
        })
    }

    /// v1 or v2.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The root of the tree.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The container's directory under `base` (the tree's root for v2, a controller's for v1).
    fn container_dir(&self, base: &Path, id: &str) -> Option<PathBuf> {
        [
            base.join("docker").join(id),
            base.join("system.slice").join(format!("docker-{id}.scope")),
        ]
        .into_iter()
        .find(|p| p.is_dir())
    }

    /// Reads the container's stats; `None` when its cgroup is not there (another runtime, a
    /// container that just stopped) or a file cannot be read.
    pub fn read(&self, id: &str) -> Option<CgroupStats> {
        if id.is_empty() || id.contains(['/', '.']) {
            return None;
        }
        match self.version {
            Version::V2 => {
                let dir = self.container_dir(&self.root, id)?;
                let generation = inode(&dir)?;
                let cpu_stat = read(&dir.join("cpu.stat"))?;
                let cpu_us = stat_value(&cpu_stat, "usage_usec")?;
                let memory_usage = number(&read(&dir.join("memory.current"))?)?;
                let memory_limit = limit(&read(&dir.join("memory.max"))?, self.host_memory);
                let inactive_file =
                    stat_value(&read(&dir.join("memory.stat"))?, "inactive_file").unwrap_or(0);
                let pids = read(&dir.join("pids.current")).and_then(|t| number(&t));
                let throttling = throttling(&cpu_stat, "throttled_usec", 1000);
                let io_bytes = read(&dir.join("io.stat")).map(|t| io_stat_v2(&t));
                Some(CgroupStats {
                    cpu_ns: cpu_us.saturating_mul(1000),
                    memory_usage,
                    memory_limit,
                    inactive_file,
                    pids,
                    throttling,
                    io_bytes,
                    generation,
                })
            }
            Version::V1 => {
                let memory = self.container_dir(&self.root.join("memory"), id)?;
                let generation = inode(&memory)?;
                let cpu = self.container_dir(&self.root.join("cpuacct"), id)?;
                let cpu_ns = number(&read(&cpu.join("cpuacct.usage"))?)?;
                let memory_usage = number(&read(&memory.join("memory.usage_in_bytes"))?)?;
                let memory_limit = limit(
                    &read(&memory.join("memory.limit_in_bytes"))?,
                    self.host_memory,
                );
                let inactive_file =
                    stat_value(&read(&memory.join("memory.stat"))?, "total_inactive_file")
                        .unwrap_or(0);
                let pids = self
                    .container_dir(&self.root.join("pids"), id)
                    .and_then(|d| read(&d.join("pids.current")))
                    .and_then(|t| number(&t));
                let throttling = self
                    .container_dir(&self.root.join("cpu"), id)
                    .and_then(|d| read(&d.join("cpu.stat")))
                    .and_then(|t| throttling(&t, "throttled_time", 1));
                let io_bytes = self
                    .container_dir(&self.root.join("blkio"), id)
                    .and_then(|d| read(&d.join("blkio.throttle.io_service_bytes_recursive")))
                    .map(|t| io_service_bytes_v1(&t));
                Some(CgroupStats {
                    cpu_ns,
                    memory_usage,
                    memory_limit,
                    inactive_file,
                    pids,
                    throttling,
                    io_bytes,
                    generation,
                })
            }
        }
    }
}

fn inode(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| m.ino())
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `max` (v2) or a huge number (v1) mean no limit: the host's memory, as the engine reports it.
fn limit(text: &str, host_memory: u64) -> u64 {
    match text.trim() {
        "max" => host_memory,
        t => match t.parse::<u64>() {
            Ok(n) if n < UNLIMITED => n.min(host_memory),
            _ => host_memory,
        },
    }
}

/// The value of `key` in a flat-keyed file such as `memory.stat` or `cpu.stat`.
fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// `nr_periods`, `nr_throttled` and the throttled time of a `cpu.stat` (`time_key` in units of
/// `to_ns` nanoseconds).
fn throttling(cpu_stat: &str, time_key: &str, to_ns: u64) -> Option<Throttling> {
    Some(Throttling {
        periods: stat_value(cpu_stat, "nr_periods")?,
        throttled_periods: stat_value(cpu_stat, "nr_throttled")?,
        throttled_ns: stat_value(cpu_stat, time_key)?.saturating_mul(to_ns),
    })
}

/// v1 `blkio.throttle.io_service_bytes_recursive`: lines `8:0 Read 4096`; summed over devices.
fn io_service_bytes_v1(text: &str) -> (u64, u64) {
    let pairs = text.lines().filter_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        Some((fields.next()?, fields.next()?))
    });
    sum_read_write(pairs, "Read", "Write")
}

/// v2 `io.stat`: lines `8:0 rbytes=4096 wbytes=0 rios=1 ...`; summed over devices.
fn io_stat_v2(text: &str) -> (u64, u64) {
    let pairs = text.split_whitespace().filter_map(|f| f.split_once('='));
    sum_read_write(pairs, "rbytes", "wbytes")
}

/// Sums the values of the `read` keys and of the `write` keys among `(key, value)` pairs.
fn sum_read_write<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    read: &str,
    write: &str,
) -> (u64, u64) {
    pairs.fold((0u64, 0u64), |(r, w), (key, value)| {
        match (key, value.parse::<u64>()) {
            (k, Ok(v)) if k == read => (r.saturating_add(v), w),
            (k, Ok(v)) if k == write => (r, w.saturating_add(v)),
            _ => (r, w),
        }
    })
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPUs online on the host.
pub fn online_cpus() -> u32 {
    // SAFETY: sysconf only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).ok().filter(|n| *n > 0).unwrap_or(1)
}

#[cfg(test)]
mod tests;
