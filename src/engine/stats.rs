//! Turns the engine's stats and inspect answers into the numbers the reference metrics define.
//!
//! Pure functions, no I/O. The rules are the Python tool's: memory is `memory_stats.usage` (page cache
//! included) against `memory_stats.limit`; "CPU percent" is really cores in use, (Δ container CPU time /
//! Δ system CPU time) × online CPUs, rounded to 4 decimals; CPUs available is `NanoCpus / 1e9` when a
//! limit is set, else the online CPUs.

use bollard::models::{ContainerCpuStats, ContainerStatsResponse};

/// The sample types filled in here live with the other data of a container; these paths stay.
pub use crate::container::{Extras, Interface, Throttling};

/// The engine's "no sample" time, sent for a container that is not running.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Cumulative CPU counters of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// CPU time used by the container, nanoseconds.
    pub container_ns: u64,
    /// CPU time of the whole host, nanoseconds (as the engine reports it).
    pub system_ns: u64,
}

/// The numbers one stats answer gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsReading {
    /// `memory_stats.usage`.
    pub memory_usage: u64,
    /// `memory_stats.limit` (the host's memory when the container has no limit).
    pub memory_limit: u64,
    /// CPUs online for the container.
    pub online_cpus: u32,
    /// This sample's CPU counters.
    pub cpu: CpuSample,
    /// The engine's previous sample, present unless the request was one-shot.
    pub precpu: Option<CpuSample>,
}

/// Why a stats answer gives no numbers this cycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// The container is not running: the engine sends zeros and a zero time.
    #[error("no sample: the container is not running")]
    NotRunning,
    /// A field the metrics need is missing (a container that is stopping answers with partial stats).
    #[error("partial stats: {0} is missing")]
    Missing(&'static str),
}

fn cpu_sample(stats: &ContainerCpuStats) -> Option<CpuSample> {
    let container_ns = stats.cpu_usage.as_ref()?.total_usage?;
    let system_ns = stats.system_cpu_usage?;
    Some(CpuSample {
        container_ns,
        system_ns,
    })
}

/// Reads the numbers out of one stats answer.
pub fn reading(stats: &ContainerStatsResponse) -> Result<StatsReading, StatsError> {
    match stats.read.as_deref() {
        None | Some(ZERO_TIME) => return Err(StatsError::NotRunning),
        Some(_) => {}
    }
    let memory = stats
        .memory_stats
        .as_ref()
        .ok_or(StatsError::Missing("memory_stats"))?;
    let memory_usage = memory
        .usage
        .ok_or(StatsError::Missing("memory_stats.usage"))?;
    let memory_limit = memory
        .limit
        .ok_or(StatsError::Missing("memory_stats.limit"))?;
    let cpu_stats = stats
        .cpu_stats
        .as_ref()
        .ok_or(StatsError::Missing("cpu_stats"))?;
    let cpu = cpu_sample(cpu_stats).ok_or(StatsError::Missing("cpu_stats.system_cpu_usage"))?;
    // Older engines leave online_cpus out; the docker CLI then counts the per-CPU counters.
    let online_cpus = match cpu_stats.online_cpus {
        Some(n) if n > 0 => n,
        _ => cpu_stats
            .cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map(|v| u32::try_from(v.len()).unwrap_or(u32::MAX))
            .filter(|n| *n > 0)
            .ok_or(StatsError::Missing("cpu_stats.online_cpus"))?,
    };
    let precpu = stats
        .precpu_stats
        .as_ref()
        .and_then(cpu_sample)
        .filter(|s| s.system_ns > 0);
    Ok(StatsReading {
        memory_usage,
        memory_limit,
        online_cpus,
        cpu,
        precpu,
    })
}

/// The extra numbers of one stats answer.
pub fn extras(stats: &ContainerStatsResponse) -> Extras {
    let memory = stats.memory_stats.as_ref().and_then(|m| m.stats.as_ref());
    let inactive_file = memory.and_then(|m| {
        m.get("total_inactive_file")
            .or_else(|| m.get("inactive_file"))
            .copied()
    });
    let throttling = stats
        .cpu_stats
        .as_ref()
        .and_then(|c| c.throttling_data.as_ref())
        .map(|t| Throttling {
            periods: t.periods.unwrap_or(0),
            throttled_periods: t.throttled_periods.unwrap_or(0),
            throttled_ns: t.throttled_time.unwrap_or(0),
        });
    let mut interfaces: Vec<Interface> = stats
        .networks
        .iter()
        .flatten()
        .map(|(name, n)| Interface {
            name: name.clone(),
            rx: [n.rx_bytes, n.rx_packets, n.rx_errors, n.rx_dropped].map(|v| v.unwrap_or(0)),
            tx: [n.tx_bytes, n.tx_packets, n.tx_errors, n.tx_dropped].map(|v| v.unwrap_or(0)),
        })
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    let io_bytes = stats
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .map(|entries| {
            let sum = |op: &str| {
                entries
                    .iter()
                    .filter(|e| e.op.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(op)))
                    .filter_map(|e| e.value)
                    .fold(0u64, u64::saturating_add)
            };
            (sum("read"), sum("write"))
        });
    Extras {
        inactive_file,
        pids: stats.pids_stats.as_ref().and_then(|p| p.current),
        throttling,
        interfaces,
        io_bytes,
    }
}

/// Cores in use between two samples: (Δ container / Δ system) × online CPUs, rounded to 4 decimals,
/// and 0 unless both deltas are positive (a restarted container's counters go backwards).
pub fn cpu_cores(now: CpuSample, before: CpuSample, online_cpus: u32) -> f64 {
    let container = now.container_ns.saturating_sub(before.container_ns);
    let system = now.system_ns.saturating_sub(before.system_ns);
    if container == 0 || system == 0 {
        return 0.0;
    }
    round4(container as f64 / system as f64 * f64::from(online_cpus))
}

/// Rounds half away from zero to 4 decimals, as Python's `round(x, 4)` does for the values seen here.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// CPUs the container may use: its `--cpus` limit, or every online CPU when it has none.
pub fn cpus_available(nano_cpus: Option<i64>, online_cpus: u32) -> f64 {
    match nano_cpus {
        Some(n) if n > 0 => n as f64 / 1e9,
        _ => f64::from(online_cpus),
    }
}

/// Seconds since the epoch of an engine time such as `2026-11-24T18:53:45.928599818Z`, truncated to
/// whole seconds; `None` for the engine's zero time or text that is not a time.
pub fn unix_seconds(rfc3339: &str) -> Option<i64> {
    if rfc3339.starts_with("0001-01-01") {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests;
