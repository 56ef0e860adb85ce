//! An engine that takes few connections at once: 1000 containers behind a unix socket whose listen
//! backlog is 128 (dockerd on a kernel before 5.4), and behind a socket proxy that serves 64
//! connections at once. Connects beyond them fail with EAGAIN; the collector must wait them out, so
//! that every container has its metrics at every collection.
//!
//! Each run lasts `BACKPRESSURE_SECONDS` (default 60) after the first complete scrape.

use std::time::{Duration, Instant};

use crate::support::{
    alone_on_the_machine, base_env, Collector, Engine, FakeContainer, FakeEngine, Listen, Scrape,
};

const CONTAINERS: usize = 1000;

/// How long after the first complete scrape every scrape is checked.
fn run_for() -> Duration {
    let seconds = std::env::var("BACKPRESSURE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// The containers whose CPU series is in the scrape.
fn with_metrics(s: &Scrape) -> usize {
    s.label_sets("container_cpu_usage_percent").len()
}

/// The fake engine's socket is as stingy as a real one: with one connection served and a backlog of
/// 4, the connects beyond the queue fail at once with EAGAIN (WouldBlock).
#[tokio::test]
async fn the_fake_engines_socket_refuses_connects_beyond_its_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("docker.sock");
    let listen = Listen {
        backlog: Some(4),
        max_connections: Some(1),
    };
    let _engine = FakeEngine::behind_socket(&path, listen, false).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        match tokio::net::UnixStream::connect(&path).await {
            Ok(connection) => held.push(connection),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                refused += 1;
            }
        }
        // Room for the accept loop to take what it may.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // One taken, the backlog's (4, and the kernel's one more) queued, the rest refused.
    assert!(
        (5..=7).contains(&held.len()),
        "{} connects got through",
        held.len()
    );
    assert_eq!(refused, 20 - held.len());
}

/// Starts the collector on `engine`'s 1000 containers and checks that the first complete scrape
/// comes within 5 s and that every scrape after it is complete, with no metrics failure said, for
/// [`run_for`]. Returns the last scrape.
fn every_scrape_complete(engine: &Engine) -> Scrape {
    for i in 0..CONTAINERS {
        engine.add_container(FakeContainer::new(&format!("app-{i:04}")));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.extend(
        [
            ("METRICS_COLLECTION_INTERVAL", "2"),
            ("LOGS_COLLECTION_INTERVAL", "2"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let started = Instant::now();
    let collector = Collector::start(dir.path(), &env);
    let first = loop {
        let s = collector.scrape();
        if with_metrics(&s) == CONTAINERS {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "only {} of {CONTAINERS} containers have metrics after 5 s; console:\n{}",
            with_metrics(&s),
            collector.console().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("first complete scrape after {:.2} s", first.as_secs_f64());
    let until = Instant::now() + run_for();
    let mut scrapes = 0;
    let mut last = collector.scrape();
    let mut last_success = 0.0;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(500));
        last = collector.scrape();
        scrapes += 1;
        assert_eq!(
            with_metrics(&last),
            CONTAINERS,
            "a later scrape is not complete; console:\n{}",
            collector.console().join("\n")
        );
        let success = last.sum(
            "collector_last_success_timestamp_seconds",
            &[("kind", "metrics")],
        );
        assert!(success >= last_success, "the last success went back");
        last_success = success;
    }
    let console = collector.console();
    let failures: Vec<&String> = console
        .iter()
        .filter(|l| l.contains("Cannot collect the metrics") || l.contains("[ERROR]"))
        .collect();
    assert!(failures.is_empty(), "failures were said: {failures:?}");
    // The last collection in which no container failed ended within the last few intervals.
    let now = crate::support::unix_now() as f64;
    assert!(
        now - last_success <= 8.0,
        "no clean metrics collection since {last_success} (now {now})"
    );
    assert_eq!(
        last.sum("collector_engine_errors_total", &[]),
        0.0,
        "engine errors were counted"
    );
    eprintln!(
        "{scrapes} complete scrapes; {} connects refused and tried again, {:.2} s paused in all",
        last.sum("collector_engine_refused_connects_total", &[]),
        last.sum("collector_engine_pushback_seconds_total", &[])
    );
    last
}

#[test]
fn a_thousand_containers_behind_a_listen_backlog_of_128_have_metrics_at_every_scrape() {
    let _alone = alone_on_the_machine();
    let engine = Engine::behind_socket(Listen {
        backlog: Some(128),
        max_connections: None,
    });
    let last = every_scrape_complete(&engine);
    // The engine did push back: the test saw the stingy engine, not a generous one.
    assert!(
        last.sum("collector_engine_refused_connects_total", &[]) > 0.0,
        "no connect was refused: the backlog never filled"
    );
}

#[test]
fn a_thousand_containers_behind_a_proxy_of_64_connections_have_metrics_at_every_scrape() {
    let _alone = alone_on_the_machine();
    let engine = Engine::behind_socket(Listen {
        backlog: Some(128),
        max_connections: Some(64),
    });
    let last = every_scrape_complete(&engine);
    assert!(
        last.sum("collector_engine_refused_connects_total", &[]) > 0.0,
        "no connect was refused: the proxy's queue never filled"
    );
}
