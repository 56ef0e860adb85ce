//! Arbitrary mapping files: parsing never panics, and a parsed mapping classifies anything.
#![no_main]

use container_metrics::levels::LevelMapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mapping) = LevelMapping::from_json(text) {
        let half = text.len() / 2;
        let name = text.get(..half).unwrap_or("");
        let _ = mapping.rules_for(name).classify(data);
        let _ = mapping.rules_for("").classify(&data[half..]);
    }
});
