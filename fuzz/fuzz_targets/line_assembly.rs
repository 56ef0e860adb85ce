//! Engine answers cut into arbitrary chunks: the assembler never panics, never hands out a line with
//! a line end in it, and its cursor never goes back or counts more entries than it was given.
#![no_main]

use container_metrics::cursor::{Cursor, Line, LineAssembler};
use container_metrics::LogChunk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let start = Cursor {
        since: i64::from(data[0]) * 1_000_000,
        skip: u64::from(data[1] % 8),
    };
    let cap = 16 + usize::from(data[2]) * 8;
    let mut assembler = LineAssembler::new(start).with_max_line(cap);
    let mut entries = 0u64;
    let mut sink = |line: Line<'_>| -> Result<(), ()> {
        assert!(!line.text.contains(&b'\n'), "a line end inside a line");
        assert!(
            line.text.len() <= cap + 64,
            "a line over the cap and its marker"
        );
        Ok(())
    };
    let mut rest = &data[3..];
    let mut last = assembler.position();
    while rest.len() >= 2 {
        let kind = rest[0] % 3;
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let piece = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let chunk = match kind {
            0 => {
                entries += 1;
                LogChunk::Stdout(piece)
            }
            1 => {
                entries += 1;
                LogChunk::Stderr(piece)
            }
            _ => {
                entries += piece.iter().filter(|b| **b == b'\n').count() as u64;
                LogChunk::Console(piece)
            }
        };
        let _ = assembler.push(chunk, &mut sink);
        let now = assembler.position();
        assert!(
            now.since == last.since && now.skip >= last.skip,
            "the cursor went back"
        );
        assert!(
            now.skip <= entries.max(start.skip),
            "counted an entry it was not given"
        );
        last = now;
    }
    if let Ok(next) = assembler.finish(i64::MAX, &mut sink) {
        assert!(next.since >= start.since, "finish moved the cursor back");
    }
});
