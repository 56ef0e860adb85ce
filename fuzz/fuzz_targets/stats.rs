//! Arbitrary stats answers: no panic anywhere from the JSON to the numbers, and CPU is finite and
//! never negative.
#![no_main]

use bollard::models::ContainerStatsResponse;
use container_metrics::stats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = serde_json::from_slice::<ContainerStatsResponse>(data) else {
        return;
    };
    if let Some(read) = response.read.as_deref() {
        let _ = stats::unix_seconds(read);
    }
    let Ok(reading) = stats::reading(&response) else {
        return;
    };
    let before = reading.precpu.unwrap_or(reading.cpu);
    for (a, b) in [(reading.cpu, before), (before, reading.cpu)] {
        let cores = stats::cpu_cores(a, b, reading.online_cpus);
        assert!(cores.is_finite() && cores >= 0.0, "cpu {cores}");
    }
    let cpus = stats::cpus_available(Some(i64::from(data.len() as u32)), reading.online_cpus);
    assert!(cpus.is_finite() && cpus >= 0.0);
});
