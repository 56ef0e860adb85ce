//! Log entries as the engine stores them, the `/containers/{id}/logs` query, and the two wire
//! encodings (multiplexed frames for a non-TTY container, raw bytes for a TTY one).

use chrono::{DateTime, Utc};

/// The size at which the engine cuts a long line into several entries (its copier's buffer).
pub const ENGINE_LINE_SPLIT: usize = 16 * 1024;

/// Which of the container's output streams an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The stream byte of a multiplexed frame header.
    pub fn frame_byte(self) -> u8 {
        match self {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }
}

/// One entry of a container's log, as the engine's json-file driver keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// When the engine read it, in unix nanoseconds.
    pub ts_nanos: i64,
    pub stream: Stream,
    /// The bytes as the application wrote them, normally ending with `\n`. A line longer than
    /// 16 KiB is kept as several entries, only the last one ending with `\n`.
    pub text: Vec<u8>,
    /// Sent instead of the timestamp when asked for timestamps (a broken engine); the entry is still
    /// selected by `ts_nanos`.
    pub bad_timestamp: Option<String>,
}

impl LogEntry {
    /// A whole line; `\n` is appended unless `text` already ends with it.
    pub fn line(ts_nanos: i64, stream: Stream, text: &str) -> LogEntry {
        let mut bytes = text.as_bytes().to_vec();
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        LogEntry {
            ts_nanos,
            stream,
            text: bytes,
            bad_timestamp: None,
        }
    }

    /// An entry with exactly these bytes (no `\n` added): a partial chunk, CRLF text, ...
    pub fn raw(ts_nanos: i64, stream: Stream, text: impl Into<Vec<u8>>) -> LogEntry {
        LogEntry {
            ts_nanos,
            stream,
            text: text.into(),
            bad_timestamp: None,
        }
    }

    /// A whole line whose timestamp the engine sends as `stamp` (unparseable, out of range, ...).
    pub fn with_bad_timestamp(ts_nanos: i64, stream: Stream, stamp: &str, text: &str) -> LogEntry {
        LogEntry {
            bad_timestamp: Some(stamp.to_string()),
            ..LogEntry::line(ts_nanos, stream, text)
        }
    }

    /// A line of any length stored the way the engine stores it: `text` plus `\n` cut into
    /// 16 KiB pieces, all with the same timestamp, only the last ending with `\n`.
    pub fn long_line(ts_nanos: i64, stream: Stream, text: &str) -> Vec<LogEntry> {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        bytes
            .chunks(ENGINE_LINE_SPLIT)
            .map(|piece| LogEntry::raw(ts_nanos, stream, piece))
            .collect()
    }

    /// The payload the engine sends for this entry: `<ts> <text>` with timestamps, else `<text>`.
    pub fn payload(&self, timestamps: bool) -> Vec<u8> {
        if !timestamps {
            return self.text.clone();
        }
        let mut out = match &self.bad_timestamp {
            Some(stamp) => stamp.clone().into_bytes(),
            None => format_engine_ts(self.ts_nanos).into_bytes(),
        };
        out.push(b' ');
        out.extend_from_slice(&self.text);
        out
    }
}

impl LogEntry {
    /// The entry as the json-file driver writes it, line end included.
    pub fn json_line(&self) -> String {
        let stream = match self.stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        format!(
            "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"{}\"}}\n",
            serde_json::to_string(&String::from_utf8_lossy(&self.text)).expect("a string"),
            format_engine_ts(self.ts_nanos)
        )
    }
}

/// The engine's fixed-width RFC3339Nano in UTC: `2026-11-24T18:54:49.546754462Z`.
pub fn format_engine_ts(ts_nanos: i64) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000);
    let nanos = ts_nanos.rem_euclid(1_000_000_000) as u32;
    let t: DateTime<Utc> =
        DateTime::from_timestamp(secs, nanos).expect("timestamp in chrono's range");
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Parses an RFC3339 timestamp (any fraction width, any offset) into unix nanoseconds.
pub fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok()?.timestamp_nanos_opt()
}

/// Turns a recorded non-TTY body fetched with `timestamps=1` (e.g. `logs_t1_since0_full.raw`)
/// back into entries. Panics on a malformed body: this is a test helper.
pub fn parse_multiplexed_with_timestamps(raw: &[u8]) -> Vec<LogEntry> {
    let mut entries = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        assert!(
            rest.len() >= 8,
            "truncated frame header: {} bytes left",
            rest.len()
        );
        let stream = match rest[0] {
            1 => Stream::Stdout,
            2 => Stream::Stderr,
            other => panic!("unexpected stream byte {other} in a frame header"),
        };
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        assert!(rest.len() >= 8 + len, "truncated frame: wants {len} bytes");
        entries.push(split_timestamp(&rest[8..8 + len], stream));
        rest = &rest[8 + len..];
    }
    entries
}

/// Turns a recorded TTY body fetched with `timestamps=1` (e.g. `logs_t2_tty_nonmultiplexed.raw`)
/// back into entries: one per line, bytes kept as they are (CRLF included), all on stdout.
pub fn parse_tty_with_timestamps(raw: &[u8]) -> Vec<LogEntry> {
    raw.split_inclusive(|b| *b == b'\n')
        .map(|line| split_timestamp(line, Stream::Stdout))
        .collect()
}

fn split_timestamp(payload: &[u8], stream: Stream) -> LogEntry {
    let space = payload
        .iter()
        .position(|b| *b == b' ')
        .unwrap_or_else(|| panic!("no timestamp in {:?}", String::from_utf8_lossy(payload)));
    let ts = std::str::from_utf8(&payload[..space]).expect("ASCII timestamp");
    let ts_nanos = parse_rfc3339_nanos(ts).unwrap_or_else(|| panic!("bad timestamp {ts:?}"));
    LogEntry::raw(ts_nanos, stream, &payload[space + 1..])
}

/// The parts of a logs request the fake honours.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogQuery {
    pub stdout: bool,
    pub stderr: bool,
    pub timestamps: bool,
    /// Inclusive lower bound, unix ns.
    pub since: Option<i64>,
    /// Inclusive upper bound, unix ns.
    pub until: Option<i64>,
    /// Only the last N entries of the log (before the other filters, like json-file).
    pub tail: Option<usize>,
}

impl LogQuery {
    /// Reads the query string the way the 20.10 daemon does. Errors carry the engine's message.
    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<LogQuery, String> {
        let mut q = LogQuery::default();
        for (key, value) in pairs {
            match key.as_str() {
                "stdout" => q.stdout = engine_bool(&value),
                "stderr" => q.stderr = engine_bool(&value),
                "timestamps" => q.timestamps = engine_bool(&value),
                "since" if !value.is_empty() => q.since = Some(parse_engine_seconds(&value)?),
                // until=0 (bollard's default) means "no bound" to the engine.
                "until" if !value.is_empty() && value != "0" => {
                    q.until = Some(parse_engine_seconds(&value)?)
                }
                // "all" or anything unparsable or negative means every line.
                "tail" => {
                    q.tail = value
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .map(|n| n as usize)
                }
                _ => {}
            }
        }
        if !q.stdout && !q.stderr {
            return Err("Bad parameters: you must choose at least one stream".to_string());
        }
        Ok(q)
    }

    /// Which stored entries the engine would send, in stored order. The json-file reader drops
    /// entries before `since` (it filters, it does not seek: a late-stamped entry is skipped
    /// wherever it is) and stops at the first entry after `until`.
    pub fn select<'e>(&self, entries: &'e [LogEntry]) -> Vec<&'e LogEntry> {
        let start = match self.tail {
            Some(n) => entries.len().saturating_sub(n),
            None => 0,
        };
        let mut out = Vec::new();
        for entry in &entries[start..] {
            if self.since.is_some_and(|since| entry.ts_nanos < since) {
                continue;
            }
            if self.until.is_some_and(|until| entry.ts_nanos > until) {
                break;
            }
            let wanted = match entry.stream {
                Stream::Stdout => self.stdout,
                Stream::Stderr => self.stderr,
            };
            if wanted {
                out.push(entry);
            }
        }
        out
    }

    /// The response body: one frame per entry, or the raw payloads for a TTY container.
    pub fn render(&self, entries: &[LogEntry], tty: bool) -> Vec<u8> {
        let mut body = Vec::new();
        for entry in self.select(entries) {
            let payload = entry.payload(self.timestamps);
            if !tty {
                body.push(entry.stream.frame_byte());
                body.extend_from_slice(&[0, 0, 0]);
                body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            }
            body.extend_from_slice(&payload);
        }
        body
    }
}

/// The daemon's `httputils.BoolValue`: false for "", "0", "no", "false", "none"; true otherwise.
pub(crate) fn engine_bool(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
}

/// `since`/`until` as the daemon reads them: `secs` or `secs.fraction` (fraction right-padded to
/// nanoseconds), into unix ns.
pub(crate) fn parse_engine_seconds(value: &str) -> Result<i64, String> {
    let bad = || format!("invalid value for time: {value:?}");
    let (secs, frac) = match value.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (value, None),
    };
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(bad())
        }
        Some(f) => f.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - f.len() as u32),
    };
    Ok(secs * 1_000_000_000 + nanos)
}
