//! The logs browser (WEB_PORT) in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through fantoccini), against the binary and the fake engine, as a user reads the
//! pages: the overview's figures, the level filter, search across rotated files, time ranges, the
//! live tail, a removed container's history, hostile lines, the keyboard, and the layout at a
//! desktop's and a phone's width (with screenshots under `target/screenshots/`).
//!
//! Each test starts its own chromedriver on a free port (and through it its own Chromium with a
//! fresh profile) and kills both when it ends. They need Debian's `chromium` and `chromium-driver`,
//! so they are `#[ignore]`d like the other tests that need outside tools; CI installs both.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::runtime::Runtime;

use crate::support::{
    base_env, format_engine_ts, free_port, http_get, now_nanos, stats_advanced, Collector, Engine,
    FakeContainer, LogEntry, StatsReply, Stream, PATIENCE,
};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// Fails with what to install when Chromium or its WebDriver is not there.
fn require_chromium() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is missing: the browser tests need Chromium and its WebDriver \
             (apt-get install chromium chromium-driver)"
        );
    }
}

/// One headless Chromium session, driven from a blocking test: every call waits for its answer.
/// It has a chromedriver of its own (and a fresh profile); dropping it quits the browser and kills
/// chromedriver's process group: chromedriver and every Chromium process it started.
struct Browser {
    client: Option<Client>,
    runtime: Runtime,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        require_chromium();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the WebDriver client");
        let mut b = Browser {
            client: None,
            runtime,
            driver,
            _profile: tempfile::tempdir().expect("a profile directory"),
        };
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = format!("--user-data-dir={}", b._profile.path().display());
        let window = format!("--window-size={},{}", DESKTOP.0, DESKTOP.1);
        let Value::Object(caps) = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", profile, window],
            },
            // An alert a line managed to open stays open, for `alert_text` to find.
            "unhandledPromptBehavior": "ignore",
        }) else {
            unreachable!()
        };
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        b.client = Some(b.run("a browser session", builder.connect(&url)));
        b
    }

    fn run<T, E: std::fmt::Display>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> T {
        self.runtime
            .block_on(f)
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    fn goto(&self, url: &str) {
        self.run(&format!("open {url}"), self.c().goto(url));
    }

    /// The decoded query of the page's URL, as pairs.
    fn query(&self) -> Vec<(String, String)> {
        let v = self.js("return [...new URLSearchParams(location.search)]");
        serde_json::from_value(v).expect("pairs")
    }

    fn has_query(&self, key: &str, value: &str) -> bool {
        self.query().iter().any(|(k, v)| k == key && v == value)
    }

    /// The value of a script's `return` (a returned promise is waited for).
    fn js(&self, script: &str) -> Value {
        self.run(script, self.c().execute(script, Vec::new()))
    }

    /// Runs `script` until it returns something other than null or false, and returns that.
    fn wait(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.js(script);
            if !(v.is_null() || v == Value::Bool(false)) {
                return v;
            }
            if Instant::now() > deadline {
                let page = self
                    .js("return location.href + '\\n' + document.body.innerText.slice(0, 2000)");
                panic!(
                    "the page never showed {what} within {PATIENCE:?}; page:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&self, css: &str) {
        let e = self.run(css, self.c().find(Locator::Css(css)));
        self.run(&format!("click {css}"), e.click());
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.run(css, self.c().find(Locator::Css(css)));
        self.run(&format!("clear {css}"), e.clear());
        self.run(&format!("type into {css}"), e.send_keys(text));
    }

    /// Presses and releases each key in turn, wherever the focus is (as a person types).
    fn keys(&self, keys: &str) {
        let mut seq = KeyActions::new("keyboard".to_string());
        for value in keys.chars() {
            seq = seq
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.run(&format!("press {keys:?}"), self.c().perform_actions(seq));
    }

    /// The text of the open alert, if a script managed to open one.
    fn alert_text(&self) -> Option<String> {
        self.runtime.block_on(self.c().get_alert_text()).ok()
    }

    /// Resizes the window so that the viewport is `width` x `height`; returns the viewport's size.
    fn resize(&self, (width, height): (u32, u32)) -> (u32, u32) {
        let viewport = || -> (u32, u32) {
            serde_json::from_value(self.js("return [window.innerWidth, window.innerHeight]"))
                .expect("the viewport's size")
        };
        self.run("resize", self.c().set_window_size(width, height));
        // The window's size includes what the browser draws around the page.
        let (w, h) = viewport();
        let (dw, dh) = (width.saturating_sub(w), height.saturating_sub(h));
        self.run("resize", self.c().set_window_size(width + dw, height + dh));
        viewport()
    }

    /// Saves a screenshot of the viewport as `target/screenshots/<name>.png`.
    fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.run("screenshot", self.c().screenshot());
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        let dir = target.join("screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshots directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Waits until the container page shows the answer of a search: (level, text) of each line.
    fn lines(&self) -> Vec<(String, String)> {
        let v = self.wait(
            "the lines of a search",
            "const s = document.getElementById('status').textContent;
             if (!/^\\d+ lines?\\b/.test(s)) return null;
             return [...document.querySelectorAll('#lines > li')].map(li =>
               [li.className, li.querySelector('span.text').textContent]);",
        );
        serde_json::from_value(v).expect("pairs")
    }

    /// Clicks `css` (a button that runs a search) and waits for the new answer.
    fn search(&self, css: &str) -> Vec<(String, String)> {
        self.js("document.getElementById('status').textContent = ''; return 1");
        self.click(css);
        self.lines()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Moves the CPU counters of running containers on, so the collector sees `cores` in use by each,
/// until the engine is dropped.
fn keep_busy(engine: Weak<Engine>, cores: Vec<(String, f64)>) {
    const STEP: u64 = 250_000_000;
    std::thread::spawn(move || {
        while let Some(engine) = engine.upgrade() {
            for (name, cores) in &cores {
                if let Some(StatsReply::Json(prev)) = engine.container(name).map(|c| c.stats) {
                    let next = stats_advanced(&prev, (cores * STEP as f64) as u64, STEP);
                    engine.set_stats(name, StatsReply::Json(next));
                }
            }
            drop(engine);
            std::thread::sleep(Duration::from_nanos(STEP));
        }
    });
}

/// A collector with its logs browser on, against a fake engine, and a browser to read it with.
/// Fields drop in order: the browser, the collector, then the engine.
struct Site {
    browser: Browser,
    collector: Collector,
    engine: Arc<Engine>,
    web: u16,
    _dir: tempfile::TempDir,
}

impl Site {
    /// Starts everything, and waits until the board lists every container and each one's first
    /// lines are in its file.
    fn start(containers: Vec<Service>, env: &[(&str, &str)]) -> Site {
        require_chromium();
        let engine = Arc::new(Engine::start());
        let (mut busy, mut last) = (Vec::new(), Vec::new());
        for s in containers {
            let name = s.container.name.clone();
            if s.cores > 0.0 {
                busy.push((name.clone(), s.cores));
            }
            let line: Option<String> = s.container.logs.last().map(|e| text(&e.text));
            last.push((name, line));
            engine.add_container(s.container);
        }
        keep_busy(Arc::downgrade(&engine), busy);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut all = base_env(&engine.uri(), dir.path());
        all.push(("WEB_PORT".into(), "0".into()));
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let collector = Collector::start(dir.path(), &all);
        let line = collector.wait_for_line("announcing the logs browser", |l| {
            l.contains("Logs are browsed on port ")
        });
        let web = line
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        let browser = Browser::start();
        let site = Site {
            browser,
            collector,
            engine,
            web,
            _dir: dir,
        };
        site.until("the board to list every container with figures", || {
            let (_, _, body) = http_get(site.web, "/api/containers");
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            let figures = |name: &str| {
                let mut listed = v["containers"].as_array().into_iter().flatten();
                listed.any(|c| c["name"] == name && !c["cpu_cores"].is_null())
            };
            last.iter().all(|(name, _)| figures(name))
        });
        for (name, line) in &last {
            if let Some(line) = line {
                site.written(name, line);
            }
        }
        site
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.web)
    }

    fn until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "no {what} within {PATIENCE:?}; console:\n{}",
                self.collector.console().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the collector wrote `line` to the current file of `name`.
    fn written(&self, name: &str, line: &str) {
        self.until(&format!("line {line:?} in {name}'s file"), || {
            self.collector.log_text(name).lines().any(|l| l == line)
        });
    }

    /// The fake engine logs `line` for `name` now.
    fn log(&self, name: &str, line: &str) {
        let entry = LogEntry::line(now_nanos(), Stream::Stdout, line);
        self.engine.push_logs(name, vec![entry]);
    }

    /// Opens a container's page and waits for its lines.
    fn open(&self, path: &str) -> Vec<(String, String)> {
        self.browser.goto(&self.url(path));
        self.browser.lines()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_string()
}

/// The level the built-in mapping gives a line.
fn level_of(line: &str) -> &'static str {
    if line.contains("ERROR") {
        "level-error"
    } else if line.contains("WARN") {
        "level-warning"
    } else {
        "level-info"
    }
}

/// (level class, text) of each line, as the container page shows them.
fn shown(lines: &[&str]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|l| (level_of(l).into(), l.to_string()))
        .collect()
}

/// A container of the fake engine and the cores it keeps busy.
struct Service {
    container: FakeContainer,
    cores: f64,
}

/// A container with no CPU load and these lines, one a second up to now.
fn quiet(name: &str, lines: &[&str]) -> Service {
    Service {
        container: FakeContainer::new(name).logs(entries(lines)),
        cores: 0.0,
    }
}

fn entries(lines: &[&str]) -> Vec<LogEntry> {
    let now = now_nanos();
    let n = lines.len() as i64;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| LogEntry::line(now - (n - i as i64) * 1_000_000_000, Stream::Stdout, l))
        .collect()
}

/// A running service: CPUs available, cores in use, memory in use and its limit (MiB), and lines.
fn service(name: &str, cpus: f64, cores: f64, mib: f64, limit_mib: u64, lines: &[&str]) -> Service {
    let StatsReply::Json(mut stats) = StatsReply::fixture() else {
        unreachable!()
    };
    stats["memory_stats"]["usage"] = json!((mib * 1048576.0) as u64);
    stats["memory_stats"]["limit"] = json!(limit_mib << 20);
    let started = now_nanos() - 3 * 3600 * 1_000_000_000 - 17 * 60 * 1_000_000_000;
    let container = FakeContainer::new(name)
        .nano_cpus((cpus * 1e9) as i64)
        .memory((limit_mib << 20) as i64)
        .started_at(&format_engine_ts(started))
        .stats(StatsReply::Json(stats))
        .logs(entries(lines));
    Service { container, cores }
}

const API: &[&str] = &[
    "INFO listening on 0.0.0.0:8080",
    "INFO GET /health 200 0.8ms",
    "INFO GET /v1/orders?page=2 200 41ms",
    "INFO POST /v1/orders 201 87ms",
    "WARN slow query 1.2s: SELECT * FROM orders WHERE customer_id = $1",
    "INFO GET /health 200 0.7ms",
    "ERROR upstream timed out after 30s (payments.internal:443)",
    "INFO GET /v1/orders/8812 200 12ms",
    "INFO GET /v1/search?q=blue+running+shoes&size=42&sort=price_asc&filters=brand:acme,brand:zephyr,color:blue,in_stock:true&session=7f3c9a1e4b2d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f 200 63ms",
    "WARN retrying payments.internal (attempt 2 of 3)",
    "INFO GET /health 200 0.9ms",
    "ERROR upstream timed out after 30s (payments.internal:443)",
    "INFO POST /v1/orders 201 91ms",
    "INFO GET /health 200 0.8ms",
];
const WEB: &[&str] = &[
    "INFO nginx/1.25.3 started, 4 worker processes",
    "INFO 10.0.3.7 \"GET / HTTP/1.1\" 200 5120 \"Mozilla/5.0\"",
    "INFO 10.0.3.7 \"GET /static/app.js HTTP/1.1\" 200 48213",
    "INFO 10.0.3.9 \"GET /static/app.css HTTP/1.1\" 304 0",
    "WARN an upstream response is buffered to a temporary file",
    "INFO 10.0.3.12 \"GET /orders HTTP/1.1\" 200 9344",
];
const DB: &[&str] = &[
    "INFO database system is ready to accept connections",
    "INFO checkpoint starting: time",
    "INFO checkpoint complete: wrote 412 buffers (2.5%); sync=0.031 s",
    "WARNING: there is no transaction in progress",
    "ERROR: duplicate key value violates unique constraint \"orders_pkey\"",
    "INFO automatic vacuum of table \"shop.public.orders\": index scans: 1",
    "ERROR: duplicate key value violates unique constraint \"orders_pkey\"",
];
const WORKER: &[&str] = &[
    "INFO picked job 4411 (send-receipt)",
    "INFO job 4411 done in 312ms",
    "INFO picked job 4412 (resize-image)",
    "INFO job 4412 done in 1.9s",
];

/// Four services as a small shop runs them.
fn fleet() -> Vec<Service> {
    vec![
        service("api", 1.0, 0.231, 182.4, 512, API),
        service("web", 0.5, 0.042, 23.7, 256, WEB),
        service("db", 2.0, 0.618, 655.0, 1024, DB),
        service("worker", 1.0, 0.087, 96.2, 512, WORKER),
    ]
}

/// `182.4 MiB` in bytes, and the rounding of the figure (half its last digit's unit).
fn bytes(text: &str) -> (f64, f64) {
    let (n, unit) = text.trim().split_once(' ').expect("<number> <unit>");
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        other => panic!("unit {other}"),
    };
    let n: f64 = n.parse().expect("a number");
    let half = if unit == "B" { 0.5 } else { 0.05 * scale };
    (n * scale, half)
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_overview_lists_every_container_with_the_figures_of_the_scrape() {
    let site = Site::start(fleet(), &[]);
    let b = &site.browser;
    b.goto(&site.url("/"));
    let rows = b.wait(
        "a row per container with its figures",
        "const rows = [...document.querySelectorAll('#containers tbody tr')];
         if (rows.length !== 4 || rows.some(r => r.querySelector('td.cpu').textContent === '–'))
           return null;
         return rows.map(r => ({
           name: r.dataset.name, link: r.querySelector('td a').getAttribute('href'),
           text: r.querySelector('td a').textContent, state: r.children[1].textContent,
           cpu: r.querySelector('td.cpu').textContent, memory: r.querySelector('td.memory').textContent,
           lines: r.querySelector('td.lines').textContent, sparks: r.querySelectorAll('svg.spark').length,
         }));",
    );
    let s = site.collector.scrape();
    let rows = rows.as_array().expect("rows");
    let order: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for (name, lines) in [("api", API), ("web", WEB), ("db", DB), ("worker", WORKER)] {
        let r = rows.iter().find(|r| r["name"] == name).expect("row");
        assert_eq!(r["text"], name);
        assert_eq!(r["link"], format!("/containers/{name}"));
        assert_eq!(r["state"], "running");
        assert_eq!(r["sparks"], 3, "{name}: three sparklines");
        let cpu = r["cpu"].as_str().unwrap();
        let (cores, available) = cpu.split_once(" / ").expect("cores / available");
        let want = s.container("container_cpu_usage_percent", name);
        let cores: f64 = cores.parse().expect("cores");
        assert!(
            (cores - want.unwrap()).abs() <= 5e-4 + 1e-9,
            "{name}: {cpu}, {want:?}"
        );
        let want = s.container("container_cpus_available", name);
        assert_eq!(available.parse::<f64>().ok(), want, "{name}: {cpu}");
        let memory = r["memory"].as_str().unwrap();
        let (used, limit) = memory.split_once(" / ").expect("used / limit");
        for (shown, family) in [
            (used, "container_used_memory_bytes"),
            (limit, "container_max_memory_bytes"),
        ] {
            let want = s.container(family, name).expect(family);
            let (got, half) = bytes(shown);
            assert!(
                (got - want).abs() <= half,
                "{name}: {shown}, {family} {want}"
            );
        }
        let count = |level: &str| lines.iter().filter(|l| level_of(l) == level).count();
        let want_lines = format!(
            "{} error · {} warning · {} info",
            count("level-error"),
            count("level-warning"),
            count("level-info")
        );
        assert_eq!(r["lines"], want_lines.as_str(), "{name}");
        for level in ["error", "warning", "info"] {
            let n = count(&format!("level-{level}")) as f64;
            assert_eq!(s.logs(name, level).unwrap_or(0.0), n, "{name} {level}");
        }
    }
    // Containers with errors in the last hour first (as many in both: then by name).
    assert_eq!(order, ["api", "db", "web", "worker"]);
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_level_filter_hides_info_lines_and_stays_in_the_url() {
    let site = Site::start(fleet(), &[]);
    let b = &site.browser;
    let all = site.open("/containers/api");
    assert_eq!(all.len(), API.len());
    b.click("input[name=level][value=info]");
    let shown = b.search("#search");
    let mut want = self::shown(API);
    want.retain(|(level, _)| level != "level-info");
    assert_eq!(shown, want, "only warning and error lines, in order");
    assert_eq!(b.query(), [("level".into(), "warning,error".into())]);
    // The URL alone brings the same view back.
    let search = b.js("return location.search");
    let again = site.open(&format!("/containers/api{}", search.as_str().unwrap()));
    assert_eq!(again, want);
    let checked =
        b.js("return [...document.querySelectorAll('input[name=level]')].map(i => i.checked)");
    assert_eq!(checked, json!([false, true, true]));
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_search_finds_a_line_in_a_rotated_file_by_text_and_by_regex() {
    const WANTED: &str = "ERROR card 4f9a1c2e declined by issuer: insufficient funds";
    let mut lines = vec![WANTED.to_string()];
    // 51 bytes each with its newline: 39 to a 2000-byte file, so the wanted line's file (it and 38
    // more) is two rotations old once 38 + 39 + 23 more are written.
    lines.extend((0..100).map(|i| format!("INFO GET /health 200 0.8ms request={i:018}")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let site = Site::start(
        vec![quiet("payments", &refs)],
        &[("LOGS_CONTAINER_MAX_FILE_SIZE", "2000")],
    );
    let dir = site.collector.logs_dir().join("payments");
    let read = |suffix: &str| std::fs::read_to_string(dir.join(format!("payments.log{suffix}")));
    for suffix in ["", ".1"] {
        assert!(
            !read(suffix).expect("a kept file").contains(WANTED),
            "in .log{suffix}"
        );
    }
    let oldest = read(".2").expect("payments.log.2");
    assert!(
        oldest.starts_with(&format!("{WANTED}\n")),
        "the wanted line is in payments.log.2"
    );

    let b = &site.browser;
    site.open("/containers/payments");
    b.type_into("#q", "declined by issuer");
    let found = b.search("#search");
    assert_eq!(found, self::shown(&[WANTED]));
    let at = b.js("return document.querySelector('#lines li').dataset.at");
    assert!(
        at.as_str().unwrap_or("").starts_with("2:"),
        "from .log.2: {at}"
    );
    assert!(b.has_query("q", "declined by issuer"), "{:?}", b.query());

    b.type_into("#q", r"^ERROR card [0-9a-f]{8} declined\b");
    b.click("#regex");
    let found = b.search("#search");
    assert_eq!(found, self::shown(&[WANTED]));
    assert!(b.has_query("regex", "1"), "{:?}", b.query());
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_time_range_shows_exactly_the_lines_written_in_it() {
    let site = Site::start(vec![quiet("jobs", &["INFO jobs runner up"])], &[]);
    let mut bounds = Vec::new();
    let mut batches = Vec::new();
    for batch in ["A", "B", "C"] {
        if batch != "A" {
            // Two ticks and more between batches: each batch is one tick of the index.
            std::thread::sleep(Duration::from_millis(1200));
            bounds.push(now_nanos());
            std::thread::sleep(Duration::from_millis(1200));
        }
        let lines: Vec<String> = (1..=3)
            .map(|i| format!("INFO batch {batch} job {i} done"))
            .collect();
        let now = now_nanos();
        let entries = lines
            .iter()
            .enumerate()
            .map(|(i, l)| LogEntry::line(now + i as i64 * 1000, Stream::Stdout, l))
            .collect();
        site.engine.push_logs("jobs", entries);
        site.written("jobs", &lines[2]);
        batches.push(lines);
    }
    let rfc3339 = |ns: i64| {
        chrono::DateTime::from_timestamp_nanos(ns)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let (since, until) = (rfc3339(bounds[0]), rfc3339(bounds[1]));
    let shown = site.open(&format!("/containers/jobs?since={since}&until={until}"));
    let texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts, batches[1],
        "exactly batch B between {since} and {until}"
    );
    let b = &site.browser;
    let fields = b.js(
        "return [document.getElementById('since').value, document.getElementById('until').value]",
    );
    assert_eq!(fields, json!([since, until]), "the range is in the form");
    // Since alone: B and C.
    b.type_into("#until", "");
    let texts: Vec<String> = b.search("#search").into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, [batches[1].clone(), batches[2].clone()].concat());
}

const COUNT: &str = "return document.querySelectorAll('#lines > li').length";

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_live_tail_shows_a_new_line_without_a_reload() {
    let site = Site::start(fleet(), &[]);
    let b = &site.browser;
    let before = site.open("/containers/api");
    b.js("window.__marker = 1; return 1");
    b.click("#live");
    b.wait(
        "the live tail open",
        "return document.getElementById('live').getAttribute('aria-pressed') === 'true'
           && document.getElementById('status').textContent.startsWith('Live: new lines')",
    );
    let line = format!("ERROR payment {} refused: card expired", now_nanos());
    let pushed = Instant::now();
    site.log("api", &line);
    let seen = b.wait(
        "the new line at the bottom",
        &format!(
            "const last = document.querySelector('#lines > li:last-child');
             return last && last.querySelector('.text').textContent === {} && last.className;",
            json!(line)
        ),
    );
    eprintln!(
        "live tail: shown {:?} after it was logged",
        pushed.elapsed()
    );
    assert_eq!(seen, "level-error");
    assert_eq!(
        b.js("return window.__marker"),
        1,
        "the page was not reloaded"
    );
    let count = b.js(COUNT);
    assert_eq!(count, before.len() + 1, "appended, the earlier lines kept");
    // Live off: no more lines come.
    b.click("#live");
    let later = format!("INFO after the tail stopped {}", now_nanos());
    site.log("api", &later);
    site.written("api", &later);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(b.js(COUNT), count);
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_removed_containers_history_is_still_browsable() {
    const BATCH: &[&str] = &[
        "INFO nightly export started",
        "WARN 3 rows skipped: missing customer id",
        "INFO nightly export finished: 18234 rows",
    ];
    let site = Site::start(
        vec![quiet("api", &["INFO up"]), quiet("export", BATCH)],
        &[("CONTAINER_RETENTION", "2")],
    );
    site.engine.remove("export");
    let b = &site.browser;
    b.goto(&site.url("/"));
    let state = b.wait(
        "the removed container gone",
        "const r = document.querySelector('#containers tr[data-name=export]');
         return r && r.children[1].textContent === 'gone' && r.children[1].className;",
    );
    assert_eq!(state, "state-gone");
    let running =
        b.js("return document.querySelector('tr[data-name=api]').children[1].textContent");
    assert_eq!(running, "running");
    b.click("tr[data-name=export] a");
    let shown = b.lines();
    assert_eq!(b.js("return location.pathname"), "/containers/export");
    assert_eq!(shown, self::shown(BATCH));
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_overview_shows_what_is_kept_on_disk_against_the_budget() {
    let site = Site::start(
        vec![quiet("api", &["INFO up"]), quiet("export", &["INFO done"])],
        &[
            ("LOGS_MAX_TOTAL_BYTES", "50MiB"),
            ("LOGS_KEEP_REMOVED", "7d"),
        ],
    );
    let b = &site.browser;
    b.goto(&site.url("/"));
    let kept = b.wait(
        "the bytes kept",
        "const p = document.getElementById('kept');
         return !p.hidden && p.textContent.startsWith('Logs on disk: ') && !p.textContent.includes('–')
           && p.textContent;",
    );
    let kept = kept.as_str().expect("text");
    assert!(kept.contains("(budget 50.0 MiB)"), "{kept}");
    assert!(
        kept.contains("removed containers' logs kept 7 d 0 h"),
        "{kept}"
    );
    let cell = b.wait(
        "api's bytes kept",
        "const c = document.querySelector('tr[data-name=api] td.kept');
         return c && c.textContent !== '–' && c.textContent;",
    );
    assert!(cell.as_str().is_some_and(|t| t.ends_with(" B")), "{cell}");
    // Only text: no element was made of what the API said.
    assert_eq!(
        b.js("return document.getElementById('kept').children.length"),
        0
    );
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn hostile_lines_show_as_text_and_run_nothing() {
    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "ERROR <svg onload=alert(2)><b>bold</b></svg>",
        "<iframe src=\"javascript:alert(3)\"></iframe>",
        "WARN &lt;not an entity&gt; &amp; {{constructor.constructor('alert(4)')()}}",
    ];
    let site = Site::start(vec![quiet("web", HOSTILE)], &[]);
    let b = &site.browser;
    let check = |b: &Browser, want: usize| {
        let shape = b.js("const list = document.getElementById('lines');
             return {
               lis: list.querySelectorAll(':scope > li').length,
               shapes: [...list.children].map(li => li.children.length + ':' +
                 li.querySelector('.text').children.length),
               elements: list.querySelectorAll('*').length,
               images: document.images.length, scripts: [...document.scripts].map(s => s.getAttribute('src')).join(' '),
               frames: document.querySelectorAll('iframe, svg, b').length,
             };");
        let shapes = vec!["2:0"; want];
        assert_eq!(shape["lis"], want);
        assert_eq!(
            shape["shapes"],
            json!(shapes),
            "li > span.lvl + span.text, no more"
        );
        assert_eq!(shape["elements"], 3 * want, "{shape}");
        assert_eq!(shape["images"], 0);
        assert_eq!(
            shape["scripts"], "/assets/common.js /assets/container.js",
            "the page's own scripts alone"
        );
        assert_eq!(shape["frames"], 0);
        assert_eq!(b.alert_text(), None, "no alert opened");
    };
    let shown = site.open("/containers/web");
    let texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, HOSTILE, "each line's text exactly");
    check(b, HOSTILE.len());
    // A hostile query in the URL fills the form as text too.
    let q = "\"><img src=x onerror=alert(1)>";
    let encoded: String = q.bytes().map(|c| format!("%{c:02X}")).collect();
    let shown = site.open(&format!("/containers/web?q={encoded}"));
    assert_eq!(shown, self::shown(&[q]));
    assert_eq!(b.js("return document.getElementById('q').value"), q);
    check(b, 1);
    // URL text never becomes a path: a traversal is no container.
    for path in [
        "/containers/..%2F..%2Fetc",
        "/containers/..%2F..%2Fetc%2Fpasswd",
        "/api/containers/..%2F..%2Fetc/lines",
        "/containers/web%2F..%2F..%2Fetc",
    ] {
        b.goto(&site.url(path));
        let body = b.js("return document.body.innerText");
        let text = body.as_str().unwrap_or("");
        assert!(text.contains("no such page or container"), "{path}: {text}");
        let status = b.js(&format!("return fetch({path:?}).then(r => r.status)"));
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(b.alert_text(), None);
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_keyboard_alone_finds_a_container_and_searches_its_lines() {
    let site = Site::start(fleet(), &[]);
    let b = &site.browser;
    b.goto(&site.url("/"));
    b.wait(
        "the rows",
        "return document.querySelectorAll('#containers tbody tr').length === 4",
    );
    // (A refresh replaces the rows; it puts the focus back on the same container's link.)
    let focused = "return document.activeElement.id || document.activeElement.textContent";
    b.keys("/");
    assert_eq!(b.js(focused), "filter", "/ focuses the filter");
    b.keys("db");
    let shown = b.wait(
        "only db's row",
        "const shown = [...document.querySelectorAll('#containers tbody tr')].filter(r => !r.hidden);
         return shown.length === 1 && shown[0].dataset.name;",
    );
    assert_eq!(shown, "db");
    b.keys(&char::from(Key::Tab).to_string());
    assert_eq!(
        b.js(focused),
        "search-all",
        "Tab goes to the search of every container's logs for the text"
    );
    b.keys(&char::from(Key::Tab).to_string());
    assert_eq!(b.js(focused), "db", "then to db's link");
    b.keys(&char::from(Key::Enter).to_string());
    let lines = b.lines();
    assert_eq!(b.js("return location.pathname"), "/containers/db");
    assert_eq!(lines.len(), DB.len());
    b.keys("/");
    assert_eq!(b.js(focused), "q", "/ focuses the search");
    b.keys(&format!("duplicate key{}", char::from(Key::Enter)));
    // The search runs with the query in the URL (set before the lines are asked for).
    b.wait(
        "the search in the URL",
        "return location.search.includes('q=')",
    );
    let lines = b.lines();
    let mut want = self::shown(DB);
    want.retain(|(_, t)| t.contains("duplicate key"));
    assert_eq!(lines, want);
    assert!(b.has_query("q", "duplicate key"), "{:?}", b.query());
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn the_pages_fit_a_desktop_and_a_phone_without_sideways_scrolling() {
    // Named as a real host would be: these are the screenshots of docs/screenshots/.
    let site = Site::start(fleet(), &[("MACHINE_NAME", "shop-prod-1")]);
    let b = &site.browser;
    for (width, height) in [DESKTOP, PHONE] {
        let size = format!("{width}x{height}");
        assert_eq!(b.resize((width, height)), (width, height), "the viewport");
        b.goto(&site.url("/"));
        b.wait(
            "every row with its figures",
            "const rows = [...document.querySelectorAll('#containers tbody tr')];
             return rows.length === 4 && rows.every(r => r.querySelector('td.cpu').textContent !== '–');",
        );
        fits(b, &format!("overview-{size}"));
        site.open("/containers/api");
        fits(b, &format!("container-{size}"));
        b.goto(&site.url("/search?q=ERROR&regex=1"));
        b.wait(
            "the errors of two containers",
            "return document.querySelectorAll('#hits > li').length >= 3 || null;",
        );
        fits(b, &format!("search-{size}"));
    }
}

/// Checks the page shown is no wider than the viewport, and saves its screenshot as `name`.
fn fits(b: &Browser, name: &str) {
    let v = b.js("return [document.documentElement.scrollWidth, window.innerWidth]");
    let [scroll, inner]: [u64; 2] = serde_json::from_value(v).expect("widths");
    assert!(scroll <= inner + 1, "{name}: {scroll} px wide in {inner}");
    eprintln!("saved {}", b.screenshot(name).display());
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn on_a_phone_a_short_line_takes_the_room_of_its_label_and_its_text() {
    let site = Site::start(fleet(), &[]);
    let b = &site.browser;
    assert_eq!(b.resize(PHONE), PHONE);
    site.open("/containers/api");
    // Label above text: each as tall as one line of its own (padding aside).
    let sizes = b.js(
        "return [...document.querySelectorAll('#lines > li')].slice(0, 4).map(li => {
           const lvl = li.querySelector('.lvl'), text = li.querySelector('.text');
           return [lvl.getBoundingClientRect().height, parseFloat(getComputedStyle(lvl).lineHeight),
                   text.getBoundingClientRect().height, parseFloat(getComputedStyle(text).lineHeight)];
         });",
    );
    let sizes: Vec<[f64; 4]> = serde_json::from_value(sizes).expect("sizes");
    for (i, [lvl, lvl_line, text, text_line]) in sizes.into_iter().enumerate() {
        assert!(
            lvl < 1.5 * lvl_line + 4.0 && text < 1.5 * text_line,
            "line {i} ({:?}) at {}x{}: its label is {lvl}px tall for a {lvl_line}px line, its \
             text {text}px for {text_line}px (app.css: the label's `flex: 0 0 4.5rem` becomes a \
             height once the phone layout stacks label and text with `flex-direction: column`)",
            API[i],
            PHONE.0,
            PHONE.1
        );
    }
}

/// Waits until the search page shows an answer: (container, level class, text) of each line.
fn hits(b: &Browser) -> Vec<(String, String, String)> {
    let v = b.wait(
        "the answer of a search",
        "const s = document.getElementById('status').textContent;
         if (!/^\\d+ lines? from/.test(s)) return null;
         return [...document.querySelectorAll('#hits > li')].map(li =>
           [li.querySelector('a.container').textContent, li.className,
            li.querySelector('span.text').textContent]);",
    );
    serde_json::from_value(v).expect("triples")
}

/// Logs each (container, line) a tick and more apart: each line is its own tick of the index.
fn log_in_turn(site: &Site, order: &[(&str, &str)]) {
    for (i, (name, line)) in order.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(1300));
        }
        site.log(name, line);
        site.written(name, line);
    }
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_search_of_every_container_shows_their_lines_in_time_order_and_links_to_each() {
    let site = Site::start(
        vec![
            quiet("api", &["INFO api up"]),
            quiet("db", &["INFO db up"]),
            quiet("export", &["INFO export up"]),
        ],
        &[("CONTAINER_RETENTION", "2")],
    );
    let order = [
        ("export", "ERROR export: 3 rows refused"),
        ("api", "ERROR api: upstream refused the connection"),
        ("db", "WARN db: connection refused by replica"),
        ("api", "ERROR api: payment refused"),
    ];
    log_in_turn(&site, &order[..1]);
    site.engine.remove("export");
    log_in_turn(&site, &order[1..]);
    let b = &site.browser;
    b.goto(&site.url("/"));
    b.wait(
        "export gone",
        "const r = document.querySelector('#containers tr[data-name=export]');
         return r && r.children[1].textContent === 'gone';",
    );
    // From the overview's filter box to the search of every container.
    b.type_into("#filter", "refused");
    b.click("#search-all");
    let shown = hits(b);
    assert_eq!(b.js("return location.pathname"), "/search");
    assert!(b.has_query("q", "refused"), "{:?}", b.query());
    let want: Vec<(String, String, String)> = order
        .iter()
        .map(|(c, l)| (c.to_string(), level_of(l).to_string(), l.to_string()))
        .collect();
    assert_eq!(
        shown, want,
        "in time order, the removed export's line first"
    );
    // Each line's time links to its place in its container's page, which opens there, marked.
    let at = b.js("return document.querySelectorAll('#hits > li')[2].dataset.at");
    b.click("#hits > li:nth-child(3) a.time");
    b.wait(
        "the container page at the line",
        "const t = document.querySelector('#lines li.target');
         return t && t.querySelector('.text').textContent;",
    );
    assert_eq!(b.js("return location.pathname"), "/containers/db");
    assert!(
        b.has_query("at", at.as_str().unwrap_or("?")),
        "{:?}",
        b.query()
    );
    let target = b.js("return document.querySelector('#lines li.target .text').textContent");
    assert_eq!(target, order[2].1);
    // The container page's link searches every container, with this one filled in.
    b.click("#search-all");
    let shown = hits(b);
    assert!(b.has_query("containers", "db"), "{:?}", b.query());
    assert_eq!(shown.len(), 2, "db's two lines: {shown:?}");
    // Back: the search before, shown again from the URL.
    b.run("back", b.c().back());
    b.run("back", b.c().back());
    assert_eq!(hits(b), want);
    assert!(b.has_query("q", "refused"), "{:?}", b.query());
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_search_of_every_container_keeps_hostile_text_as_text() {
    const HOSTILE: &[&str] = &[
        "ERROR <img src=x onerror=alert(1)>",
        "ERROR \"><script>alert(2)</script>",
        "ERROR <a href=\"javascript:alert(3)\">click</a>",
    ];
    let site = Site::start(vec![quiet("web", HOSTILE)], &[]);
    let b = &site.browser;
    b.goto(&site.url("/search?q=ERROR"));
    let shown: Vec<String> = hits(b).into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(shown, HOSTILE);
    let shape = b.js("return {
        images: document.images.length, scripts: [...document.scripts].map(s => s.getAttribute('src')).join(' '),
        links: document.querySelectorAll('#hits a').length,
        spans: document.querySelectorAll('#hits span.text *').length };");
    assert_eq!(
        shape,
        json!({"images": 0, "scripts": "/assets/common.js /assets/search.js", "links": 6, "spans": 0})
    );
    // A hostile container name in the URL: refused, said as text, kept in the field as text.
    let name = "<img src=x onerror=alert(4)>";
    let encoded: String = name.bytes().map(|c| format!("%{c:02X}")).collect();
    b.goto(&site.url(&format!("/search?q=x&containers={encoded}")));
    let said = b.wait(
        "the refusal",
        "const s = document.getElementById('status');
         return s.classList.contains('err') && s.textContent;",
    );
    assert_eq!(said, format!("containers: no container named \"{name}\""));
    assert_eq!(
        b.js("return document.getElementById('containers').value"),
        name
    );
    assert_eq!(b.js("return document.images.length"), 0);
    // A bad regular expression: the API's words.
    b.goto(&site.url("/search?q=%28unclosed&regex=1"));
    let said = b.wait(
        "the refusal of the regex",
        "const s = document.getElementById('status');
         return s.classList.contains('err') && s.textContent;",
    );
    assert!(
        said.as_str()
            .unwrap_or_default()
            .starts_with("q=\"(unclosed\" is not a regular expression"),
        "{said}"
    );
    assert_eq!(b.alert_text(), None, "no alert opened");
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
fn a_search_of_every_container_works_from_the_keyboard_and_fits_a_phone() {
    let long = format!("ERROR {}", "a-very-long-token-without-spaces/".repeat(20));
    let site = Site::start(
        vec![
            quiet("api", &["INFO api up", &long]),
            quiet("db", &["ERROR db: duplicate key"]),
        ],
        &[],
    );
    let b = &site.browser;
    assert_eq!(b.resize((375, 812)), (375, 812));
    b.goto(&site.url("/search"));
    b.wait(
        "the page",
        "return document.getElementById('status').textContent.startsWith('Search the lines')",
    );
    let focused = "return document.activeElement.id || document.activeElement.textContent";
    b.keys("/");
    assert_eq!(b.js(focused), "q", "/ focuses the text");
    b.keys(&format!("ERROR{}", char::from(Key::Enter)));
    let shown = hits(b);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(b.has_query("q", "ERROR"), "{:?}", b.query());
    fits(b, "search-375x812");
    // Tab reaches the form's controls, then the lines' links, each with a visible focus ring.
    let mut reached = Vec::new();
    for _ in 0..16 {
        b.keys(&char::from(Key::Tab).to_string());
        let e = b.js(
            "const e = document.activeElement, s = getComputedStyle(e);
             return [e.tagName + (e.className ? '.' + e.className : ''), s.outlineStyle, s.outlineWidth];",
        );
        reached.push(e);
    }
    let time_link = reached
        .iter()
        .find(|e| e[0] == "A.time")
        .unwrap_or_else(|| panic!("no line link reached by Tab: {reached:?}"));
    assert_eq!(time_link[1], "solid", "a visible focus: {time_link}");
    assert!(reached.iter().any(|e| e[0] == "A.container"), "{reached:?}");
    // Enter on a line's link opens its place.
    b.js("document.querySelector('#hits a.time').focus(); return 1");
    b.keys(&char::from(Key::Enter).to_string());
    b.wait(
        "the container page at the line",
        "return document.querySelector('#lines li.target') !== null",
    );
    fits(b, "container-at-375x812");
}
