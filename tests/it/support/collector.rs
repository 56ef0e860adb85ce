//! Runs the real binary the way a user would, and reads what it exposes: the scrape, the log files,
//! the console.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::machine::{self, Share};

/// How long a test waits for something that should happen within a few collection ticks.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running collector process.
pub struct Collector {
    child: Option<Child>,
    /// The port of its Prometheus endpoint.
    pub port: u16,
    /// Its console output so far.
    console: Arc<Mutex<Vec<String>>>,
    /// The directory given as LOGS_DIR's parent and for the LAST_* files.
    pub root: PathBuf,
    /// Its test's share of the machine, for as long as it runs.
    _machine: Option<Rc<Share>>,
}

/// Settings for a test run: fast ticks, a port of its own, everything inside `root`.
pub fn base_env(engine: &str, root: &Path) -> Vec<(String, String)> {
    let pairs = [
        ("DOCKER_HOST", engine.to_string()),
        ("METRICS_EXPORTER_PORT", "0".to_string()),
        ("METRICS_COLLECTION_INTERVAL", "1".to_string()),
        ("LOGS_COLLECTION_INTERVAL", "1".to_string()),
        ("LOGS_DIR", root.join("logs").display().to_string()),
        (
            "LAST_METRICS_COLLECTED_AT_FILE",
            root.join("last-metrics-collected-at.txt")
                .display()
                .to_string(),
        ),
        (
            "LAST_LOGS_COLLECTED_AT_FILE",
            root.join("last-logs-collected-at.txt")
                .display()
                .to_string(),
        ),
        // The recorded logs are older than a minute: take everything the engine holds.
        ("DEFAULT_LOGS_SINCE_NOW", "1000000000".to_string()),
        ("MACHINE_NAME", "test-machine".to_string()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl Collector {
    /// Starts the binary with `env` (on top of every setting's variable cleared) and waits until its
    /// endpoint is up, which happens once the engine answered.
    pub fn start(root: &Path, env: &[(String, String)]) -> Collector {
        let mut c = Collector::spawn(root, env);
        c.port = c.wait_for_port();
        c
    }

    /// Starts the binary without waiting for the endpoint (for an engine that is not up yet).
    pub fn spawn(root: &Path, env: &[(String, String)]) -> Collector {
        let machine = machine::share();
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("container-metrics"));
        // Nothing from the developer's environment may leak into the run: every setting is the
        // default or what the test gives.
        for setting in container_metrics::SETTINGS {
            cmd.env_remove(setting.env);
        }
        cmd.current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the collector binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let console = Arc::new(Mutex::new(Vec::new()));
        let sink = console.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("console lock").push(line);
            }
        });
        Collector {
            child: Some(child),
            port: 0,
            console,
            root: root.to_path_buf(),
            _machine: machine,
        }
    }

    /// The process id of the running collector.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The console lines printed so far.
    pub fn console(&self) -> Vec<String> {
        self.console.lock().expect("console lock").clone()
    }

    /// Waits until a console line satisfies `pred`, and returns it.
    pub fn wait_for_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(l) = self.console().into_iter().find(|l| pred(l)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no console line {what} within {PATIENCE:?}; console:\n{}",
                self.console().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for "Metrics are exported on port N" and returns N.
    pub fn wait_for_port(&self) -> u16 {
        let line = self.wait_for_line("announcing the port", |l| {
            l.contains("Metrics are exported on port ")
        });
        let port = line.rsplit(' ').next().and_then(|p| p.parse().ok());
        port.unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    /// One GET of `path`: (status line, headers, body).
    pub fn get(&self, path: &str) -> (String, String, String) {
        http_get(self.port, path)
    }

    /// One scrape of `/metrics`.
    pub fn scrape(&self) -> Scrape {
        let (status, _, body) = self.get("/metrics");
        assert!(status.contains(" 200 "), "scrape answered {status}");
        Scrape::parse(&body)
    }

    /// A scrape that begins after a whole tick has ended from now on. A scrape gathers the
    /// collector's own counters (`collector_*`) when it begins and writes the containers' series as
    /// it goes, so one taken just after lines reached the files may show the lines' counts but not
    /// yet the tick's reads; the LAST_LOGS_COLLECTED_AT_FILE is written once a tick is all counted.
    pub fn scrape_after_a_tick(&self) -> Scrape {
        let file = self.root.join("last-logs-collected-at.txt");
        let modified = || std::fs::metadata(&file).and_then(|m| m.modified()).ok();
        let before = modified();
        let deadline = Instant::now() + PATIENCE;
        while modified() == before {
            assert!(
                Instant::now() < deadline,
                "no tick ended within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.scrape()
    }

    /// Scrapes until `pred` holds.
    pub fn wait_for_scrape(&self, what: &str, pred: impl Fn(&Scrape) -> bool) -> Scrape {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let s = self.scrape();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "scrape never showed {what} within {PATIENCE:?}; last scrape:\n{}\nconsole:\n{}",
                s.text,
                self.console().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for the exit: (status, time from signal to exit).
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        self.signal("TERM");
        let sent = Instant::now();
        let status = self.wait_exit();
        (status, sent.elapsed())
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(&mut self) {
        self.signal("KILL");
        self.wait_exit();
    }

    fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill runs");
        assert!(ok.success(), "kill -{name} {pid}");
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the collector did not exit within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// LOGS_DIR of this run.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The current log file of `container`, as text (empty if it does not exist).
    pub fn log_text(&self, container: &str) -> String {
        let p = self
            .logs_dir()
            .join(container)
            .join(format!("{container}.log"));
        std::fs::read_to_string(p).unwrap_or_default()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A plain HTTP/1.1 GET on 127.0.0.1:`port`, read to the end.
pub fn http_get(port: u16, path: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the endpoint accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let chunked = headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status.to_string(), headers.to_string(), body)
}

/// The body of an answer sent with `Transfer-Encoding: chunked` (how the exposition is streamed).
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = after[size..]
            .strip_prefix("\r\n")
            .expect("a chunk ends with CRLF");
    }
}

/// A parsed exposition: series (name + sorted labels) -> value.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The raw text.
    pub text: String,
    series: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parses the text format 0.0.4 (enough of it for our families: no escaped quotes in labels).
    pub fn parse(text: &str) -> Scrape {
        let mut series = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            let (name, labels) = match key.split_once('{') {
                Some((n, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels end with }");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once("=\"").expect("label k=\"v\"");
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (n.to_string(), labels)
                }
                None => (key.to_string(), BTreeMap::new()),
            };
            series.push((name, labels, value));
        }
        Scrape {
            text: text.to_string(),
            series,
        }
    }

    /// The value of the series `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.series
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| *v)
    }

    /// The value of `name{machine="test-machine",container=...}`.
    pub fn container(&self, name: &str, container: &str) -> Option<f64> {
        self.value(
            name,
            &[("machine", "test-machine"), ("container", container)],
        )
    }

    /// The value of `container_logs_total{machine="test-machine",container=...,level=...}`.
    pub fn logs(&self, container: &str, level: &str) -> Option<f64> {
        self.value(
            "container_logs_total",
            &[
                ("machine", "test-machine"),
                ("container", container),
                ("level", level),
            ],
        )
    }

    /// The sum of the series `name` whose labels include `labels` (0 when there is none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .sum()
    }

    /// Every label set of `name`.
    pub fn label_sets(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.series
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, _)| l.clone())
            .collect()
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
