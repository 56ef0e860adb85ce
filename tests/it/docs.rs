//! The documents made from code. `docs/settings.md` is the output of `settings_markdown()`, made from
//! the same table as `--help`, so a setting added or changed without the page fails here, with the
//! command that writes the page again: `UPDATE_DOCS=1 cargo test --test it docs::`.

use std::path::Path;

#[test]
fn docs_settings_md_is_made_from_the_settings_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/settings.md");
    let made = container_metrics::settings_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &made).expect("docs/settings.md written");
        return;
    }
    // A missing file reads as empty, so it fails with the same one line.
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == made,
        "docs/settings.md does not match SETTINGS: run `UPDATE_DOCS=1 cargo test --test it docs::` to write it again"
    );
}
