//! Names, the layout, and what commits report.

use super::*;

#[test]
fn names_that_could_escape_logs_dir_are_refused() {
    for ok in ["t1", "my-app_1.web", "A", "0abc"] {
        assert!(is_safe_name(ok), "{ok}");
    }
    for bad in [
        "", ".", "..", "../etc", "a/b", "/abs", ".hidden", "-x", "a\0b", "é",
    ] {
        assert!(!is_safe_name(bad), "{bad:?}");
    }
}

#[test]
fn layout() {
    assert_eq!(
        log_path(Path::new("/tmp/logs"), "web"),
        PathBuf::from("/tmp/logs/web/web.log")
    );
}
