//! The text exposition format 0.0.4, written by hand, byte for byte as the crate's `TextEncoder`
//! writes it (a test holds the two to the same bytes), straight from the table.

use std::io::Write;

use super::families::Family;
use super::table::{Labels, Rows, Table};

/// Writes the text exposition of one of `table`'s families, and returns how many samples it wrote
/// (none, and no header either, for a family without series).
pub(super) fn write_family(
    table: &Table,
    rows: &Rows,
    family: &Family,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let start = out.len();
    let kind = if family.counter { "counter" } else { "gauge" };
    write_header(out, family.name, family.help, kind);
    let headers = out.len();
    let mut samples = 0usize;
    let mut result = Ok(());
    table.each_series(rows, family, |labels, value| {
        if result.is_ok() {
            result = write_sample(out, family.name, labels, value);
            samples += 1;
        }
    });
    result?;
    if out.len() == headers {
        out.truncate(start);
    }
    Ok(samples)
}

/// `# HELP` and `# TYPE` lines, as the crate's `TextEncoder` writes them.
fn write_header(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    if !help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        write_escaped(out, help, false);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b'\n');
}

/// One sample line, as the crate's `TextEncoder` writes it: the value as f64's `Display`.
fn write_sample(
    out: &mut Vec<u8>,
    name: &str,
    labels: &Labels<'_>,
    value: f64,
) -> std::io::Result<()> {
    out.extend_from_slice(name.as_bytes());
    let mut separator = b'{';
    for (label, text) in labels {
        out.push(separator);
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped(out, text, true);
        out.push(b'"');
        separator = b',';
    }
    if !labels.is_empty() {
        out.push(b'}');
    }
    writeln!(out, " {value}")
}

/// `text` with `\` and newline escaped, and `"` too when `quotes` (label values; help texts keep
/// theirs), as the crate escapes them.
fn write_escaped(out: &mut Vec<u8>, text: &str, quotes: bool) {
    let mut rest = text.as_bytes();
    loop {
        let found = if quotes {
            memchr::memchr3(b'\\', b'\n', b'"', rest)
        } else {
            memchr::memchr2(b'\\', b'\n', rest)
        };
        let Some(at) = found else {
            out.extend_from_slice(rest);
            return;
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(match rest[at] {
            b'\n' => b"\\n",
            b'\\' => b"\\\\",
            _ => b"\\\"",
        });
        rest = &rest[at + 1..];
    }
}
