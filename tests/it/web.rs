//! The logs browser and basic auth through the binary: off unless WEB_PORT is set, both ports behind
//! WEB_CONFIG_FILE's users, a bad file refused at start with one line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use assert_cmd::Command;

use crate::support::{base_env, Collector, Engine, FakeContainer};

/// The status line of `GET path` on 127.0.0.1:`port`, with `Authorization: Basic <auth>` if given.
fn status(port: u16, path: &str, auth: Option<&str>) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = auth.map_or(String::new(), |a| format!("Authorization: Basic {a}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The port of a console line `<prefix> N`.
fn port_in(line: &str) -> u16 {
    line.rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

#[test]
fn without_web_port_nothing_but_the_metrics_port_listens() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("app"));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_scrape("app", |s| {
        s.container("container_max_memory_bytes", "app").is_some()
    });
    let console = collector.console().join("\n");
    assert!(!console.contains("Logs are browsed"), "{console}");
    assert!(console.contains("WEB_PORT: (off)"), "{console}");
}

#[test]
fn with_users_both_ports_want_the_password_and_let_it_in() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("app"));
    let dir = tempfile::tempdir().expect("tempdir");
    let hash = bcrypt::hash("s3cret", 4).expect("hash");
    let file = dir.path().join("web.yml");
    std::fs::write(&file, format!("basic_auth_users:\n  alice: {hash}\n")).expect("write");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("WEB_PORT".into(), "0".into()));
    env.push(("WEB_CONFIG_FILE".into(), file.display().to_string()));
    let collector = Collector::start(dir.path(), &env);
    let web = port_in(
        &collector.wait_for_line("the web port", |l| l.contains("Logs are browsed on port ")),
    );
    collector.wait_for_line("auth said", |l| {
        l.contains("Basic auth on every port: 1 user(s)")
    });
    // alice:s3cret and alice:wrong in base64.
    let (right, wrong) = ("YWxpY2U6czNjcmV0", "YWxpY2U6d3Jvbmc=");
    for (port, path) in [
        (collector.port, "/metrics"),
        (web, "/api/containers"),
        (web, "/"),
    ] {
        assert!(
            status(port, path, None).contains(" 401 "),
            "{port}{path} without a password"
        );
        assert!(
            status(port, path, Some(wrong)).contains(" 401 "),
            "{port}{path} with a wrong one"
        );
        assert!(
            status(port, path, Some(right)).contains(" 200 "),
            "{port}{path} with alice's"
        );
    }
}

#[test]
fn a_web_config_file_that_cannot_be_used_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = dir.path().join("tls.yml");
    std::fs::write(&tls, "tls_server_config:\n  cert_file: x.pem\n").expect("write");
    let missing = dir.path().join("missing.yml");
    for (file, says) in [(&tls, "line 1"), (&missing, "missing.yml")] {
        let mut cmd = Command::cargo_bin("container-metrics").expect("binary");
        for setting in container_metrics::SETTINGS {
            cmd.env_remove(setting.env);
        }
        let out = cmd
            .current_dir(dir.path())
            .env("WEB_CONFIG_FILE", file)
            .env("LOGS_DIR", dir.path().join("logs"))
            .env("DOCKER_HOST", "tcp://127.0.0.1:9")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let last = stderr.lines().last().unwrap_or("");
        assert!(
            last.contains("WEB_CONFIG_FILE") && last.contains(says),
            "{stderr}"
        );
    }
}

/// The JSON of `GET path` on the logs browser, with its status code.
fn get_json(port: u16, path: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = crate::support::http_get(port, path);
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (code, json)
}

/// (container, text) of each line of a search answer.
fn hits(answer: &serde_json::Value) -> Vec<(String, String)> {
    answer["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("container"), s("text"))
        })
        .collect()
}

#[test]
fn a_search_of_every_container_merges_their_lines_in_time_order() {
    use crate::support::{now_nanos, LogEntry, Stream};
    let engine = Engine::start();
    for name in ["api", "db", "old"] {
        engine.add_container(FakeContainer::new(name));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A history the Python tool left: no time index.
    let legacy = dir.path().join("logs/legacy");
    std::fs::create_dir_all(&legacy).expect("dir");
    std::fs::write(
        legacy.join("legacy.log"),
        "ERROR legacy disk full\nINFO legacy ok\n",
    )
    .expect("write");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("WEB_PORT".into(), "0".into()));
    env.push(("CONTAINER_RETENTION".into(), "2".into()));
    let collector = Collector::start(dir.path(), &env);
    let web = port_in(
        &collector.wait_for_line("the web port", |l| l.contains("Logs are browsed on port ")),
    );
    // One line a tick and more apart, each its own tick of the index: old, api, db, api.
    let order = [
        ("old", "ERROR old export failed"),
        ("api", "ERROR api upstream timed out"),
        ("db", "ERROR db deadlock detected"),
        ("api", "ERROR api upstream timed out again"),
    ];
    for (i, (name, line)) in order.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(1300));
        }
        let entry = LogEntry::line(now_nanos(), Stream::Stdout, line);
        engine.push_logs(name, vec![entry]);
        let written = || collector.log_text(name).lines().any(|l| l == *line);
        let deadline = std::time::Instant::now() + crate::support::PATIENCE;
        while !written() {
            assert!(std::time::Instant::now() < deadline, "{line} not written");
            std::thread::sleep(Duration::from_millis(50));
        }
        if *name == "old" {
            engine.remove("old");
        }
    }
    let (code, all) = get_json(web, "/api/search?q=ERROR");
    assert_eq!(code, 200, "{all}");
    let mut want = vec![("legacy".to_string(), "ERROR legacy disk full".to_string())];
    want.extend(order.iter().map(|(n, l)| (n.to_string(), l.to_string())));
    assert_eq!(hits(&all), want, "without a time first, then in time order");
    let lines = all["lines"].as_array().expect("lines");
    assert!(lines[0]["time"].is_null(), "the legacy line has no time");
    let times: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["time"].as_str().expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(lines[1]["file"], 0);
    assert_eq!(lines[1]["offset"], 0);
    assert_eq!(lines[1]["level"], "error");
    assert_eq!(all["stopped"], serde_json::Value::Null);
    assert_eq!(all["left_out"], 0);
    assert!(all["bytes_read"].as_u64().unwrap_or(0) > 0);
    assert_eq!(all["containers"], 4, "api, db, legacy and the removed old");
    assert_eq!(all["containers_searched"], 4);

    // The newest two; the rest counted.
    let (_, two) = get_json(web, "/api/search?q=ERROR&limit=2");
    assert_eq!(hits(&two), want[3..].to_vec());
    assert_eq!(two["left_out"], 3);
    // Some containers only.
    let (_, some) = get_json(web, "/api/search?q=ERROR&containers=db,old");
    assert_eq!(hits(&some), [want[1].clone(), want[3].clone()]);
    assert_eq!(some["containers"], 2);
    // Since db's line: db's and api's last, no line without a time. Until api's first: the older.
    let since = times[2].replace('+', "%2B");
    let (_, later) = get_json(web, &format!("/api/search?q=ERROR&since={since}"));
    assert_eq!(hits(&later), want[3..].to_vec());
    let until = times[1];
    let (_, earlier) = get_json(web, &format!("/api/search?q=ERROR&until={until}"));
    assert_eq!(hits(&earlier), want[..3].to_vec());
    // A regular expression, and the levels.
    let (_, re) = get_json(web, "/api/search?q=timed+out%24&regex=1&level=error");
    assert_eq!(hits(&re), [want[2].clone()]);

    for (query, says) in [
        (
            "q=(unclosed&regex=1",
            "q=\"(unclosed\" is not a regular expression",
        ),
        (
            "containers=api,nope",
            "containers: no container named \"nope\"",
        ),
        ("from=0:0", "unknown parameter \"from\""),
        ("since=soon", "since=\"soon\" is not a time"),
    ] {
        let (code, answer) = get_json(web, &format!("/api/search?{query}"));
        assert_eq!(code, 400, "{query}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(says), "{query}: {error}");
    }
}
