//! Self-test of the fake engine in `support`: bollard, the client the collector uses, must
//! see it as it sees the real 20.10 engine; raw requests check the bytes against the recordings.

use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder, StatsOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const SEC: i64 = 1_000_000_000;

async fn engine_with_t1() -> (FakeEngine, Docker) {
    let engine = FakeEngine::start().await;
    engine.add_container(FakeContainer::t1_from_fixtures());
    let docker = engine.client().await;
    (engine, docker)
}

async fn stats_once(
    docker: &Docker,
    id: &str,
    one_shot: bool,
) -> Option<Result<ContainerStatsResponse, BollardError>> {
    let options = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(one_shot)
        .build();
    docker.stats(id, Some(options)).next().await
}

/// `cpu_stats.cpu_usage.total_usage` of the recorded `stats_stream_false.json`.
fn recorded_total_usage() -> u64 {
    fixture_json("stats_stream_false.json")["cpu_stats"]["cpu_usage"]["total_usage"]
        .as_u64()
        .expect("total_usage")
}

fn total_usage(stats: &ContainerStatsResponse) -> u64 {
    stats
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .expect("total_usage")
}

fn pre_total_usage(stats: &ContainerStatsResponse) -> Option<u64> {
    stats
        .precpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
}

async fn logs_since(docker: &Docker, id: &str, since: i32) -> Vec<LogOutput> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .since(since)
        .build();
    docker
        .logs(id, Some(options))
        .map(|item| item.expect("log item"))
        .collect()
        .await
}

/// A plain HTTP/1.0 GET: (status, body bytes).
async fn raw_get(engine: &FakeEngine, target: &str) -> (u16, Vec<u8>) {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", engine.port()))
        .await
        .expect("connect");
    conn.write_all(format!("GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, response[split + 4..].to_vec())
}

fn is_404(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[tokio::test]
async fn t1_is_listed_inspected_and_sampled_as_recorded() {
    let (engine, docker) = engine_with_t1().await;

    let listed = docker.list_containers(None).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some(t1_fixture_id().as_str()));
    assert_eq!(listed[0].names, Some(vec!["/t1".to_string()]));

    let inspect = docker
        .inspect_container(&t1_fixture_id(), None::<InspectContainerOptions>)
        .await
        .expect("inspect");
    let host = inspect.host_config.expect("HostConfig");
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.memory, Some(67_108_864));
    let state = inspect.state.expect("State");
    assert_eq!(state.running, Some(true));
    assert_eq!(state.started_at.as_deref(), Some(t1_started_at().as_str()));
    // By name too, like the engine.
    let by_name = docker
        .inspect_container("t1", None::<InspectContainerOptions>)
        .await
        .expect("inspect by name");
    assert_eq!(by_name.id.as_deref(), Some(t1_fixture_id().as_str()));

    let stats = stats_once(&docker, &t1_fixture_id(), false)
        .await
        .expect("a sample")
        .expect("stats");
    assert_eq!(total_usage(&stats), recorded_total_usage());
    let recorded_pre = fixture_json("stats_stream_false.json")["precpu_stats"]["cpu_usage"]
        ["total_usage"]
        .as_u64();
    assert_eq!(pre_total_usage(&stats), recorded_pre);
    assert_eq!(stats.name.as_deref(), Some("/t1"));

    // t1 carries the recorded one-shot body.
    let one_shot = stats_once(&docker, &t1_fixture_id(), true)
        .await
        .expect("a sample")
        .expect("stats");
    let recorded_one_shot =
        fixture_json("stats_one_shot.json")["cpu_stats"]["cpu_usage"]["total_usage"].as_u64();
    assert_eq!(Some(total_usage(&one_shot)), recorded_one_shot);
    assert_eq!(pre_total_usage(&one_shot), Some(0));

    // negotiate_version asked /version; then the calls above, unversioned (bollard 0.21.1).
    let requests = engine.requests().await;
    assert_eq!(requests[0], ("GET".to_string(), "/version".to_string()));
    assert!(
        requests
            .iter()
            .any(|(m, p)| m == "GET" && p.contains("/containers/json")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|(_, p)| p.contains("one-shot=true")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn versioned_paths_ping_and_info_answer_and_unknown_paths_are_404() {
    let (engine, _docker) = engine_with_t1().await;
    let (status, body) = raw_get(&engine, "/v1.41/containers/json?all=1").await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list[0]["Names"][0], "/t1");
    assert_eq!(raw_get(&engine, "/_ping").await, (200, b"OK".to_vec()));
    let (status, body) = raw_get(&engine, "/v1.41/info").await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["ContainersRunning"], 1);
    assert_eq!(raw_get(&engine, "/v1.41/images/json").await.0, 404);
}

#[tokio::test]
async fn one_shot_of_a_plain_container_has_zero_precpu() {
    let engine = FakeEngine::start().await;
    engine.add_container(FakeContainer::new("web").nano_cpus(2_000_000_000).memory(0));
    let docker = engine.client().await;
    let id = engine.container("web").unwrap().get_id().to_string();
    assert_eq!(id.len(), 64);

    let inspect = docker
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    assert_eq!(inspect.name.as_deref(), Some("/web"));
    assert_eq!(
        inspect.host_config.as_ref().unwrap().nano_cpus,
        Some(2_000_000_000)
    );

    let one_shot = stats_once(&docker, &id, true).await.unwrap().unwrap();
    assert_eq!(total_usage(&one_shot), recorded_total_usage());
    assert_eq!(pre_total_usage(&one_shot), Some(0));
    assert_eq!(one_shot.id.as_deref(), Some(id.as_str()));
    assert_eq!(one_shot.name.as_deref(), Some("/web"));
}

#[tokio::test]
async fn a_second_sample_replaces_the_first() {
    let (engine, docker) = engine_with_t1().await;
    let first = fixture_json("stats_stream_false.json");
    let second = stats_advanced(&first, 50_000_000, SEC as u64);
    engine.set_stats("t1", StatsReply::Json(second));
    let stats = stats_once(&docker, "t1", false).await.unwrap().unwrap();
    assert_eq!(total_usage(&stats), recorded_total_usage() + 50_000_000);
    assert_eq!(pre_total_usage(&stats), Some(recorded_total_usage()));
}

#[tokio::test]
async fn stats_delay_holds_the_answer() {
    let (engine, docker) = engine_with_t1().await;
    engine.set_stats_delay(Duration::from_millis(300));
    let started = Instant::now();
    stats_once(&docker, "t1", true).await.unwrap().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn logs_since_are_filtered_and_timestamped() {
    let (_engine, docker) = engine_with_t1().await;
    let entries = t1_fixture_logs();
    assert!(entries.len() > 100, "{} entries", entries.len());
    let since_secs = (entries[entries.len() / 2].ts_nanos / SEC) as i32;
    let expected: Vec<&LogEntry> = entries
        .iter()
        .filter(|e| e.ts_nanos >= since_secs as i64 * SEC)
        .collect();

    let got = logs_since(&docker, &t1_fixture_id(), since_secs).await;
    assert_eq!(got.len(), expected.len());
    for (item, entry) in got.iter().zip(&expected) {
        let (stream, message) = match item {
            LogOutput::StdOut { message } => (Stream::Stdout, message),
            LogOutput::StdErr { message } => (Stream::Stderr, message),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(stream, entry.stream);
        let ts = format_engine_ts(entry.ts_nanos);
        assert_eq!(ts.len(), 30, "fixed width: {ts}");
        assert_eq!(&message[..], &entry.payload(true)[..]);
        assert!(message.starts_with(format!("{ts} ").as_bytes()));
    }
    assert!(got.iter().any(|o| matches!(o, LogOutput::StdErr { .. })));
}

#[tokio::test]
async fn logs_bodies_match_the_recordings_byte_for_byte() {
    let engine = FakeEngine::start().await;
    engine.add_container(FakeContainer::t1_from_fixtures());
    let tty_entries = parse_tty_with_timestamps(&fixture("logs_t2_tty_nonmultiplexed.raw"));
    assert_eq!(tty_entries.len(), 2);
    assert_eq!(tty_entries[0].text, b"tty out\r\n");
    engine.add_container(FakeContainer::new("t2-tty").tty(true).logs(tty_entries));

    let (status, body) = raw_get(
        &engine,
        "/containers/t1/logs?stdout=1&stderr=1&timestamps=1&since=0",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body == fixture("logs_t1_since0_full.raw"),
        "multiplexed body differs from the recording"
    );

    // tail=40 was recorded earlier than the full log: it is a run of frames inside it.
    let recorded_tail = fixture("logs_t1_stdout_stderr_timestamps.raw");
    assert!(body
        .windows(recorded_tail.len())
        .any(|w| w == recorded_tail));
    let (status, body) = raw_get(
        &engine,
        "/containers/t1/logs?stdout=1&stderr=1&timestamps=1&tail=40",
    )
    .await;
    assert_eq!(status, 200);
    let last_40 = t1_fixture_logs().split_off(t1_fixture_logs().len() - 40);
    assert_eq!(parse_multiplexed_with_timestamps(&body), last_40);

    let (status, body) = raw_get(
        &engine,
        "/containers/t2-tty/logs?stdout=1&stderr=1&timestamps=1",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, fixture("logs_t2_tty_nonmultiplexed.raw"));

    // Neither stream: the engine refuses.
    assert_eq!(
        raw_get(&engine, "/containers/t1/logs?timestamps=1").await.0,
        400
    );
}

#[tokio::test]
async fn since_and_until_bound_the_logs_to_the_nanosecond_late_stamped_entries_too() {
    let engine = FakeEngine::start().await;
    let base = 1_795_546_500 * SEC;
    engine.add_container(FakeContainer::new("app").logs(vec![
        LogEntry::line(base, Stream::Stdout, "a"),
        LogEntry::line(base + 2 * SEC, Stream::Stdout, "b"),
        LogEntry::line(base + SEC + 500_000_000, Stream::Stderr, "c late-stamped"),
        LogEntry::line(base + 3 * SEC, Stream::Stdout, "d"),
    ]));
    let texts = |body: Vec<u8>| -> Vec<String> {
        parse_multiplexed_with_timestamps(&body)
            .into_iter()
            .map(|e| String::from_utf8(e.text).unwrap().trim_end().to_string())
            .collect()
    };
    let s = base / SEC;
    let q = |rest: String| format!("/containers/app/logs?stdout=1&stderr=1&timestamps=1&{rest}");
    let (_, body) = raw_get(&engine, &q(format!("since={}", s + 2))).await;
    assert_eq!(texts(body), ["b", "d"]);
    let (_, body) = raw_get(&engine, &q(format!("since={}.5", s + 1))).await;
    assert_eq!(texts(body), ["b", "c late-stamped", "d"]);
    let (_, body) = raw_get(&engine, &q(format!("since={}.500000001", s + 1))).await;
    assert_eq!(texts(body), ["b", "d"]);
    // until is inclusive; the reader stops at the first entry past it.
    let (_, body) = raw_get(&engine, &q(format!("since={s}&until={}", s + 1))).await;
    assert_eq!(texts(body), ["a"]);
    let (_, body) = raw_get(&engine, &q(format!("until={}&stderr=0", s + 2))).await;
    assert_eq!(texts(body), ["a", "b"]);
    let (_, body) = raw_get(&engine, &q("until=0&tail=2".to_string())).await;
    assert_eq!(texts(body), ["c late-stamped", "d"]);
    let (_, body) = raw_get(&engine, "/containers/app/logs?stdout=1").await;
    assert_eq!(
        body,
        [
            &[1u8, 0, 0, 0, 0, 0, 0, 2][..],
            b"a\n",
            &[1, 0, 0, 0, 0, 0, 0, 2],
            b"b\n",
            &[1, 0, 0, 0, 0, 0, 0, 2],
            b"d\n"
        ]
        .concat()
    );
}

#[tokio::test]
async fn pushed_and_long_lines_arrive_through_bollard() {
    let (engine, docker) = engine_with_t1().await;
    let now = now_nanos();
    let long = "x".repeat(40_000);
    let mut pushed = vec![LogEntry::line(now, Stream::Stderr, "ERROR fresh")];
    pushed.extend(LogEntry::long_line(now + 1, Stream::Stdout, &long));
    assert_eq!(pushed.len(), 4);
    engine.push_logs("t1", pushed);

    let got = logs_since(&docker, &t1_fixture_id(), (now / SEC) as i32).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let ts = format_engine_ts(now + 1);
    let mut joined = Vec::new();
    for (i, item) in got[1..].iter().enumerate() {
        let LogOutput::StdOut { message } = item else {
            panic!("{item:?}")
        };
        assert!(message.starts_with(format!("{ts} ").as_bytes()));
        assert_eq!(message.ends_with(b"\n"), i == 2);
        joined.extend_from_slice(&message[ts.len() + 1..]);
    }
    assert_eq!(joined, format!("{long}\n").into_bytes());
    assert_eq!(
        engine.container("t1").unwrap().get_logs().len(),
        t1_fixture_logs().len() + 4
    );
}

#[tokio::test]
async fn tty_logs_come_back_as_console_bytes() {
    let engine = FakeEngine::start().await;
    let entries = parse_tty_with_timestamps(&fixture("logs_t2_tty_nonmultiplexed.raw"));
    engine.add_container(FakeContainer::new("t2-tty").tty(true).logs(entries));
    let docker = engine.client().await;

    let got = logs_since(&docker, "t2-tty", 0).await;
    let mut bytes = Vec::new();
    for item in &got {
        let LogOutput::Console { message } = item else {
            panic!("{item:?}")
        };
        bytes.extend_from_slice(message);
    }
    assert_eq!(bytes, fixture("logs_t2_tty_nonmultiplexed.raw"));
}

#[tokio::test]
async fn removed_container_is_404_everywhere() {
    let (engine, docker) = engine_with_t1().await;
    engine.remove("t1");

    let err = docker
        .inspect_container(&t1_fixture_id(), None::<InspectContainerOptions>)
        .await
        .unwrap_err();
    assert!(is_404(&err), "{err:?}");
    let BollardError::DockerResponseServerError { message, .. } = &err else {
        unreachable!()
    };
    assert_eq!(message, &format!("No such container: {}", t1_fixture_id()));

    let err = stats_once(&docker, &t1_fixture_id(), false)
        .await
        .expect("an item")
        .unwrap_err();
    assert!(is_404(&err), "{err:?}");
    let first = docker
        .logs(
            &t1_fixture_id(),
            Some(LogsOptionsBuilder::default().stdout(true).build()),
        )
        .next()
        .await;
    assert!(is_404(&first.expect("an item").unwrap_err()));
    assert!(docker.list_containers(None).await.unwrap().is_empty());

    let (status, body) = raw_get(&engine, "/containers/doesnotexist/json").await;
    assert_eq!(status, 404);
    assert_eq!(body, fixture("error_404_no_such_container.json"));
}

#[tokio::test]
async fn a_test_can_make_the_stats_empty_partial_missing_or_exited() {
    let (engine, docker) = engine_with_t1().await;

    engine.set_stats("t1", StatsReply::Empty);
    let answer = stats_once(&docker, "t1", false).await;
    assert!(
        answer.is_none(),
        "an empty body ends bollard's stream: {answer:?}"
    );

    engine.set_stats(
        "t1",
        StatsReply::Partial(r#"{"read":"2026-11-24T18:54:52.5Z","cpu_stats":{"#.into()),
    );
    let answer = stats_once(&docker, "t1", false).await;
    assert!(
        matches!(answer, Some(Err(_))),
        "truncated JSON is an error: {answer:?}"
    );

    engine.set_stats("t1", StatsReply::NotFound);
    let err = stats_once(&docker, "t1", false).await.unwrap().unwrap_err();
    assert!(is_404(&err), "{err:?}");

    engine.set_stats("t1", StatsReply::Exited);
    let zero = stats_once(&docker, "t1", false).await.unwrap().unwrap();
    assert_eq!(total_usage(&zero), 0);
    assert_eq!(zero.name.as_deref(), Some("/t1"));
}

#[tokio::test]
async fn stopped_container_leaves_the_list_but_keeps_its_logs() {
    let (engine, docker) = engine_with_t1().await;
    engine.add_container(FakeContainer::new("t3-exited").running(false).exit_code(3));
    assert_eq!(docker.list_containers(None).await.unwrap().len(), 1);

    engine.stop("t1");
    assert!(docker.list_containers(None).await.unwrap().is_empty());
    let all = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default().all(true).build(),
        ))
        .await
        .unwrap();
    let states: Vec<_> = all
        .iter()
        .map(|c| {
            (
                c.names.clone().unwrap()[0].clone(),
                c.status.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(states.len(), 2);
    assert!(
        states[0].0 == "/t3-exited" && states[0].1.starts_with("Exited (3) "),
        "{states:?}"
    );
    assert!(
        states[1].0 == "/t1" && states[1].1.starts_with("Exited (0) "),
        "{states:?}"
    );

    let inspect = docker
        .inspect_container("t1", None::<InspectContainerOptions>)
        .await
        .unwrap();
    let state = inspect.state.unwrap();
    assert_eq!(state.running, Some(false));
    assert_ne!(state.finished_at.as_deref(), Some(ZERO_TIME));
    let zero = stats_once(&docker, "t1", false).await.unwrap().unwrap();
    assert_eq!(total_usage(&zero), 0);
    assert_eq!(
        logs_since(&docker, "t1", 0).await.len(),
        t1_fixture_logs().len()
    );

    engine.set_running("t1", true);
    assert_eq!(docker.list_containers(None).await.unwrap().len(), 1);
    let stats = stats_once(&docker, "t1", false).await.unwrap().unwrap();
    assert_eq!(total_usage(&stats), recorded_total_usage());
}

#[tokio::test]
async fn engine_down_at_start_comes_up_later() {
    let port = free_port();
    let docker = Docker::connect_with_http(
        &format!("http://127.0.0.1:{port}"),
        10,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let refused = docker.clone().negotiate_version().await;
    assert!(refused.is_err(), "nothing listens yet");

    let engine = FakeEngine::start_on_port(port).await;
    assert_eq!(engine.uri(), format!("tcp://127.0.0.1:{port}"));
    engine.add_container(FakeContainer::t1_from_fixtures());
    let docker = docker.negotiate_version().await.expect("the engine is up");
    assert_eq!(docker.client_version().to_string(), "1.41");
    assert_eq!(docker.list_containers(None).await.unwrap().len(), 1);

    drop(engine);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        docker.list_containers(None).await.is_err(),
        "a dropped engine stops answering"
    );
}

/// The soak runs' engine (`examples/fake_engine.rs`) answers as the others do but keeps no record of
/// the requests, which would grow for as long as it runs.
#[tokio::test]
async fn an_unrecorded_engine_answers_and_keeps_no_record() {
    let engine = FakeEngine::start_unrecorded(free_port()).await;
    engine.add_container(FakeContainer::t1_from_fixtures());
    let (status, body) = raw_get(&engine, "/containers/json").await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(list[0]["Names"][0], "/t1");
    assert!(engine.requests().await.is_empty());
}

/// With the sampler on, stats come as the real engine's do: a plain request after the second sample
/// from now (1-2 s), a one-shot one after the next (at most 1 s).
#[tokio::test]
async fn the_sampler_makes_plain_stats_wait_one_to_two_seconds_and_one_shot_at_most_one() {
    let (engine, docker) = engine_with_t1().await;
    engine.set_sampler(true);
    let id = t1_fixture_id();
    for _ in 0..2 {
        let started = Instant::now();
        stats_once(&docker, &id, false)
            .await
            .expect("an answer")
            .expect("stats");
        let plain = started.elapsed();
        assert!(
            plain >= Duration::from_millis(990) && plain < Duration::from_millis(2200),
            "plain stats after {plain:?}"
        );
        let started = Instant::now();
        stats_once(&docker, &id, true)
            .await
            .expect("an answer")
            .expect("stats");
        let one_shot = started.elapsed();
        assert!(
            one_shot < Duration::from_millis(1200),
            "one-shot stats after {one_shot:?}"
        );
    }
}
