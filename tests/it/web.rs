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
