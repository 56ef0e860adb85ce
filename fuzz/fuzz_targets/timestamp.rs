//! Any bytes where the engine's timestamp should be: no panic, and the rest is a suffix of the input.
#![no_main]

use container_metrics::cursor::{parse_timestamp, split_timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_timestamp(data);
    let (ts, rest) = split_timestamp(data);
    assert!(data.ends_with(rest));
    if ts.is_none() {
        assert_eq!(rest, data, "no timestamp: the whole payload is the text");
    }
});
