//! Micro-benchmarks of the collector's hot paths: `cargo bench --bench hot_paths`.
//!
//! Each works on data shaped like the engine's: the recorded stats answer, timestamped 100-byte log
//! entries, the default level mapping, and the exposition of 1000 containers.

use std::hint::black_box;

use bollard::models::ContainerStatsResponse;
use container_metrics::cursor::{Cursor, LineAssembler};
use container_metrics::levels::{Level, LevelMapping};
use container_metrics::patterns::LogPatterns;
use container_metrics::rotating_file::RotatingFile;
use container_metrics::stats;
use container_metrics::LogChunk;
use container_metrics::MetricsExporter;
use container_metrics::{ContainerInfo, ContainerMetrics, Extras, Interface, Throttling};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const ENTRIES: usize = 10_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../shared/fixtures/docker-20.10/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `ENTRIES` timestamped payloads of about 100 bytes, as frames carry them.
fn payloads() -> Vec<Vec<u8>> {
    (0..ENTRIES)
        .map(|i| {
            format!(
                "2026-11-24T18:54:{:02}.{:09}Z INFO request {i:08} served in 12 ms from worker 3 path=/api/v1/items\n",
                (i / 1000) % 60,
                i * 1000
            )
            .into_bytes()
        })
        .collect()
}

fn stats_to_metrics(c: &mut Criterion) {
    let body = fixture("stats_stream_false.json");
    let mut g = c.benchmark_group("stats");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse answer and compute numbers", |b| {
        b.iter(|| {
            let answer: ContainerStatsResponse =
                serde_json::from_slice(black_box(&body)).expect("fixture parses");
            let r = stats::reading(&answer).expect("fixture has numbers");
            let cores = r
                .precpu
                .map(|before| stats::cpu_cores(r.cpu, before, r.online_cpus));
            black_box((r.memory_usage, r.memory_limit, cores))
        })
    });
    g.finish();
}

fn line_assembly(c: &mut Criterion) {
    let payloads = payloads();
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("lines");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("assemble 10k framed entries", |b| {
        b.iter(|| {
            let mut assembler = LineAssembler::new(Cursor::starting_at(0));
            let mut n = 0usize;
            let mut sink = |line: container_metrics::cursor::Line<'_>| -> Result<(), ()> {
                n += line.text.len();
                Ok(())
            };
            for p in &payloads {
                assembler
                    .push(LogChunk::Stdout(p.as_slice()), &mut sink)
                    .expect("no error");
            }
            black_box(assembler.finish(i64::MAX, &mut sink).expect("no error"));
            black_box(n)
        })
    });
    g.finish();
}

fn level_classification(c: &mut Criterion) {
    let mapping = LevelMapping::builtin();
    let rules = mapping.rules_for("web-1");
    let lines: Vec<Vec<u8>> = payloads().into_iter().map(|p| p[31..].to_vec()).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("levels");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("classify 10k lines (default mapping)", |b| {
        b.iter(|| {
            let mut counts = [0u32; 3];
            for l in &lines {
                counts[rules.classify(black_box(l)) as usize] += 1;
            }
            black_box(counts)
        })
    });
    g.finish();
}

/// Five patterns of the kind LOG_PATTERNS_PATH holds, none of which the payloads match.
const FIVE_PATTERNS: &str = r#"{"patterns": [
    {"name": "oom", "regex": "OutOfMemoryError|Killed process"},
    {"name": "panic", "regex": "panic:|PANIC"},
    {"name": "deadlock", "regex": "deadlock detected"},
    {"name": "timeout", "regex": "(?i)timed? ?out after [0-9]+"},
    {"name": "fatal", "regex": "FATAL|Fatal error"}
]}"#;

/// A line's level and its pattern matches, as the logs side does for every line written: without
/// patterns, with five that no line matches, and with five of which one line in ten matches one.
fn pattern_matching(c: &mut Criterion) {
    let mapping = LevelMapping::builtin();
    let rules = mapping.rules_for("web-1");
    let lines: Vec<Vec<u8>> = payloads().into_iter().map(|p| p[31..].to_vec()).collect();
    let tenth: Vec<Vec<u8>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match i % 10 {
            0 => [l.as_slice(), b" java.lang.OutOfMemoryError"].concat(),
            _ => l.clone(),
        })
        .collect();
    let five = LogPatterns::from_json(FIVE_PATTERNS).expect("valid");
    let none = LogPatterns::none();
    let mut g = c.benchmark_group("patterns");
    let cases = [
        ("classify 10k lines, no patterns", &none, &lines),
        (
            "classify 10k lines, 5 patterns, none matches",
            &five,
            &lines,
        ),
        (
            "classify 10k lines, 5 patterns, 1 line in 10 matches",
            &five,
            &tenth,
        ),
    ];
    for (name, patterns, lines) in cases {
        let bytes: usize = lines.iter().map(Vec::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        let set = patterns.for_container("web-1");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut counts = [0u32; 3];
                let mut matches = [0u32; 5];
                for l in lines {
                    counts[rules.classify(black_box(l)) as usize] += 1;
                    set.each_match(black_box(l), |i| matches[i] += 1);
                }
                black_box((counts, matches))
            })
        });
    }
    g.finish();
}

fn rotating_writes(c: &mut Criterion) {
    let lines: Vec<Vec<u8>> = payloads().into_iter().map(|p| p[31..].to_vec()).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("files");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("write 10k lines, rotating at 1 MiB, 5 files", |b| {
        b.iter_batched(
            || RotatingFile::new(dir.path().join("bench.log"), 1 << 20, 5),
            |mut file| {
                for l in &lines {
                    file.write_line(l).expect("write");
                }
                file.close().expect("close");
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn exposition(c: &mut Criterion) {
    let exporter = MetricsExporter::new("bench-machine").expect("families");
    for i in 0..1000 {
        let name = format!("container-{i:04}");
        exporter.on_container_metrics(&name, &reference_families(i));
        for level in Level::ALL {
            exporter.on_log_lines(&name, level, 1);
        }
    }
    let full = MetricsExporter::new("bench-machine").expect("families");
    for i in 0..1000 {
        let name = format!("container-{i:04}");
        full.on_container_metrics(&name, &every_family(i));
        for level in Level::ALL {
            full.on_log_lines(&name, level, 1);
        }
    }
    let mut g = c.benchmark_group("exposition");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("encode 1000 containers", |b| {
        b.iter(|| black_box(exporter.encode().expect("encodes").len()))
    });
    g.bench_function("encode 1000 containers, every family", |b| {
        b.iter(|| black_box(full.encode().expect("encodes").len()))
    });
    g.finish();
}

/// Numbers for the reference families only.
fn reference_families(i: u64) -> ContainerMetrics {
    ContainerMetrics {
        started_at: Some(1_795_546_425),
        collected_at: 1_795_550_000,
        memory_used: 12_345_678 + i,
        memory_limit: 67_108_864,
        cpu_cores: Some(0.0123),
        cpus_available: 0.5,
        ..Default::default()
    }
}

/// Numbers for every per-container family (about 33 series): one interface, a CPU limit, block
/// I/O, a health check and compose labels.
fn every_family(i: u64) -> ContainerMetrics {
    ContainerMetrics {
        cpu_seconds: Some(1234.5 + i as f64 / 100.0),
        extras: Extras {
            inactive_file: Some(1_000_000),
            pids: Some(12),
            throttling: Some(Throttling {
                periods: 100_000 + i,
                throttled_periods: 1_000,
                throttled_ns: 12_345_678_901,
            }),
            interfaces: vec![Interface {
                name: "eth0".into(),
                rx: [123_456_789 + i, 98_765, 0, 0],
                tx: [23_456_789, 45_678, 0, 1],
            }],
            io_bytes: Some((4_096_000 + i, 8_192_000)),
        },
        info: ContainerInfo {
            id: format!("{i:064x}"),
            image: "registry.example.com/team/app:1.2.3".into(),
            compose_project: "shop".into(),
            compose_service: format!("service-{}", i % 20),
            restart_count: Some(0),
            oom_killed: Some(false),
            health: Some("healthy".into()),
        },
        ..reference_families(i)
    }
}

criterion_group!(
    benches,
    stats_to_metrics,
    line_assembly,
    level_classification,
    pattern_matching,
    rotating_writes,
    exposition
);
criterion_main!(benches);
