//! LOGS_DIR and the name of everything in it. The logs side writes these files and the logs browser
//! reads them; both ask [`LogsDir`] for a path, so the layout is written down once:
//!
//! ```text
//! LOGS_DIR/
//!   <container>/<container>.log       the current file
//!   <container>/<container>.log.<n>   the file n rotations older (Python's RotatingFileHandler names)
//!   .state/cursors.json               every container's last commit
//!   .state/times/<container>          the container's time index
//!   .state/removed.json               since when each removed container is gone (the budget)
//! ```
//!
//! A container's name is used as it is, as a directory and a file name, only once
//! [`is_safe_name`] accepted it. Docker names cannot start with a dot, so `.state` never clashes
//! with a container's directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::container::ContainerName;

/// The directory, inside LOGS_DIR, of what the logs side keeps besides the logs themselves.
const STATE_DIR: &str = ".state";
/// The file, inside [`STATE_DIR`], of every container's last commit.
const CURSOR_FILE: &str = "cursors.json";
/// The file, inside [`STATE_DIR`], of when each removed container was found gone.
const REMOVED_FILE: &str = "removed.json";
/// The directory, inside [`STATE_DIR`], of the time index files.
const TIMES_DIR: &str = "times";
/// What a container's name becomes as the name of its current file.
const LOG_EXTENSION: &str = ".log";

/// Docker's own rule for names, which also keeps every path inside LOGS_DIR.
pub fn is_safe_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// LOGS_DIR: the one value that knows where each file of the logs side lives. Cloning it is cheap,
/// so the collector's parts each hold the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsDir {
    root: Arc<Path>,
}

impl LogsDir {
    /// LOGS_DIR at `root`. Nothing is created or checked here: the logs side creates what it needs
    /// when it writes, and the browser reads what is there.
    pub fn new(root: impl Into<PathBuf>) -> LogsDir {
        LogsDir {
            root: Arc::from(root.into()),
        }
    }

    /// LOGS_DIR itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of `container`'s files.
    pub fn container(&self, container: &ContainerName) -> PathBuf {
        self.root.join(container.as_str())
    }

    /// The current file of `container`: `<container>/<container>.log`.
    pub fn log_file(&self, container: &ContainerName) -> PathBuf {
        self.container(container)
            .join(LogsDir::log_file_name(container))
    }

    /// The name of `container`'s current file, without its directory: `<container>.log`. Also the
    /// name a download of its lines is offered under, so a saved copy is named like the file.
    pub fn log_file_name(container: &ContainerName) -> String {
        format!("{container}{LOG_EXTENSION}")
    }

    /// The directory of the cursor file and the time index: `.state`.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// The file of every container's last commit: `.state/cursors.json`.
    pub fn cursor_file(&self) -> PathBuf {
        self.state_dir().join(CURSOR_FILE)
    }

    /// The directory of every container's time index: `.state/times`.
    pub fn times_dir(&self) -> PathBuf {
        self.state_dir().join(TIMES_DIR)
    }

    /// The time index of `container`: `.state/times/<container>`.
    pub fn times_file(&self, container: &ContainerName) -> PathBuf {
        self.times_dir().join(container.as_str())
    }

    /// Since when each removed container is gone: `.state/removed.json`.
    pub fn removed_file(&self) -> PathBuf {
        self.state_dir().join(REMOVED_FILE)
    }

    /// The file `n` rotations older than the current file `log_file`: `<log_file>.<n>`, Python's
    /// name for it. (A path rather than a container's name, because the rotation works on any file.)
    pub fn rotated(log_file: &Path, n: u32) -> PathBuf {
        let mut name = log_file.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// How many rotations older than the current file of `container` the file named `file_name` in
    /// its directory is: 0 for `<container>.log`, n for `<container>.log.<n>`; `None` for any other
    /// name. The number is written as the rotation writes it: digits without a leading zero, so
    /// `.log.0`, `.log.01`, `.log.x` and `.log.` are not the container's files.
    pub fn age(container: &ContainerName, file_name: &str) -> Option<u32> {
        let rest = file_name
            .strip_prefix(container.as_str())?
            .strip_prefix(LOG_EXTENSION)?;
        if rest.is_empty() {
            return Some(0);
        }
        rest.strip_prefix('.')
            .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
    }
}

impl From<PathBuf> for LogsDir {
    fn from(root: PathBuf) -> LogsDir {
        LogsDir::new(root)
    }
}

impl From<&Path> for LogsDir {
    fn from(root: &Path) -> LogsDir {
        LogsDir::new(root)
    }
}

#[cfg(test)]
mod tests {
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
    fn every_file_has_its_place() {
        let dir = LogsDir::new("/tmp/logs");
        assert_eq!(dir.root(), Path::new("/tmp/logs"));
        assert_eq!(dir.container(&"web".into()), PathBuf::from("/tmp/logs/web"));
        assert_eq!(
            dir.log_file(&"web".into()),
            PathBuf::from("/tmp/logs/web/web.log")
        );
        assert_eq!(LogsDir::log_file_name(&"web".into()), "web.log");
        assert_eq!(dir.state_dir(), PathBuf::from("/tmp/logs/.state"));
        assert_eq!(
            dir.cursor_file(),
            PathBuf::from("/tmp/logs/.state/cursors.json")
        );
        assert_eq!(
            dir.removed_file(),
            PathBuf::from("/tmp/logs/.state/removed.json")
        );
        assert_eq!(
            dir.times_file(&"web".into()),
            PathBuf::from("/tmp/logs/.state/times/web")
        );
        assert_eq!(
            LogsDir::rotated(&dir.log_file(&"web".into()), 3),
            PathBuf::from("/tmp/logs/web/web.log.3")
        );
    }

    #[test]
    fn a_rotated_name_reads_back_as_its_number() {
        let dir = LogsDir::new("/tmp/logs");
        for name in ["web", "a", "my-app_1.web", "a.log"].map(ContainerName::from) {
            let current = dir.log_file(&name);
            let file_name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
            assert_eq!(
                file_name(&current).and_then(|f| LogsDir::age(&name, &f)),
                Some(0),
                "{name}"
            );
            for n in [1, 2, 9, 10, 99, 100, u32::MAX] {
                let rotated = LogsDir::rotated(&current, n);
                assert_eq!(rotated.parent(), Some(dir.container(&name).as_path()));
                let back = file_name(&rotated).and_then(|f| LogsDir::age(&name, &f));
                assert_eq!(back, Some(n), "{name} {n}");
            }
        }
    }

    #[test]
    fn only_the_containers_own_numbered_names_are_its_files() {
        for (file_name, age) in [
            ("app.log", Some(0)),
            ("app.log.1", Some(1)),
            ("app.log.10", Some(10)),
            ("app.log.4294967295", Some(u32::MAX)),
            ("app.log.4294967296", None),
            ("app.log.0", None),
            ("app.log.01", None),
            ("app.log.x", None),
            ("app.log.1x", None),
            ("app.log.+1", None),
            ("app.log.-1", None),
            ("app.log.", None),
            ("app.log.tmp", None),
            ("app.log.1.gz", None),
            ("app.logs", None),
            ("app", None),
            ("other.log", None),
            ("other.log.1", None),
            ("xapp.log", None),
            ("app.log.1 ", None),
        ] {
            assert_eq!(LogsDir::age(&"app".into(), file_name), age, "{file_name}");
        }
        // A container whose name ends like another's file is told apart by the whole name.
        assert_eq!(LogsDir::age(&"app.log".into(), "app.log.1"), None);
        assert_eq!(LogsDir::age(&"app.log".into(), "app.log.log.1"), Some(1));
    }
}
