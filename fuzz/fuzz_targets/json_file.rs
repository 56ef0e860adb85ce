//! Any bytes as the engine's json-file log (and the same bytes gzipped as its rotated file): reading
//! it never panics, hands out only places at line ends inside the files, always forward, and finding
//! an engine cursor's place in it never panics either.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use container_metrics::cursor::Cursor;
use container_metrics::engine_files::{position_of, read_after, FilesCursor};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir")).path()
}

fuzz_target!(|input: (u8, i64, u16, &[u8])| {
    let (split, since, skip, data) = input;
    let base = dir().join("c-json.log");
    let cut = data.len() * usize::from(split) / 256;
    let (rotated, current) = data.split_at(cut);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(rotated).expect("gzip");
    std::fs::write(dir().join("c-json.log.1.gz"), gz.finish().expect("gzip")).expect("write");
    std::fs::write(&base, current).expect("write");
    let mut last: Option<(u64, u64)> = None;
    let mut files_seen = Vec::new();
    let found = read_after(&base, &FilesCursor::default(), &mut |place, _entry| {
        if !files_seen.contains(&place.head) {
            files_seen.push(place.head);
        }
        let file = files_seen.iter().position(|h| *h == place.head).expect("seen") as u64;
        let here = (file, place.offset);
        assert!(last.is_none_or(|l| l < here), "places go forward: {last:?} then {here:?}");
        assert!(place.offset as usize <= rotated.len().max(current.len()), "inside the files");
        last = Some(here);
        true
    });
    if let Ok(found) = found {
        assert!(!found.cursor_file_gone, "a cursor before everything has no file to lose");
    }
    let _ = position_of(&base, Cursor { since, skip: u64::from(skip) });
});
