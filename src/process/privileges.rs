//! Giving up root after start-up.
//!
//! The Python tool's `docker run` line starts the container as root and mounts the Docker socket
//! (`root:docker`, mode 0660) and a host directory (owned by root). To keep that line working and
//! still not run as root, the image starts as root with `RUN_AS=65534:65534`, and the collector,
//! before it starts any thread:
//!
//! 1. creates LOGS_DIR and gives it, and everything in it, to that user (like the data directories
//!    of database images); the directories of the LAST_* files and the files themselves too, unless
//!    the directory is shared (sticky or world-writable, like `/tmp`) or is `/`;
//! 2. looks at the Docker socket: if its group may read and write it, that group is added to the
//!    process's groups, so no `--group-add` is needed;
//! 3. looks at CONTAINER_LOGS_ROOT, the engine's containers directory: the engine keeps its log files
//!    there as `root:root`, mode 0640, in directories only root's group may enter (0710), so root's
//!    group is added to read them; nothing else of root's is kept;
//! 4. switches group and user (`setgroups`, `setgid`, `setuid`), which also drops every capability,
//!    and checks that root cannot be regained.
//!
//! When the socket cannot be used that way (missing at start, or only its owner may use it) the
//! collector stays root and says why: collecting is worth more than the drop. Started as another
//! user (`docker run --user 65534 --group-add <socket gid>`), nothing happens here.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::{Config, RunAs};

/// What [`drop_root`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process did not run as root, or RUN_AS was not set: nothing to do.
    Unchanged,
    /// Still root, for the reason given.
    KeptRoot(String),
    /// Now running as `run_as`, with `groups` as supplementary groups.
    Dropped {
        /// The new user and group.
        run_as: RunAs,
        /// Supplementary groups (the Docker socket's group, if it was needed).
        groups: Vec<u32>,
        /// Files and directories whose owner was changed.
        chowned: usize,
        /// Paths that could not be given to the new user, with the error.
        problems: Vec<String>,
    },
}

/// The switch of user itself failed: continuing would run as root against the user's setting.
#[derive(Debug, thiserror::Error)]
#[error("RUN_AS {run_as}: cannot {step}: {source}")]
pub struct DropError {
    run_as: RunAs,
    step: &'static str,
    source: io::Error,
}

/// Drops root as described in the module documentation. Must be called before any thread starts.
pub fn drop_root(config: &Config) -> Result<Outcome, DropError> {
    let Some(run_as) = config.run_as else {
        return Ok(Outcome::Unchanged);
    };
    if !rustix::process::geteuid().is_root() {
        return Ok(Outcome::Unchanged);
    }
    let mut groups = match socket_groups(&config.docker_host, run_as) {
        Ok(groups) => groups,
        Err(reason) => return Ok(Outcome::KeptRoot(reason)),
    };
    if let Some(gid) = logs_root_group(config.container_logs_root.as_deref(), run_as) {
        if !groups.contains(&gid) {
            groups.push(gid);
        }
    }
    let mut owner = Owner {
        run_as,
        chowned: 0,
        problems: Vec::new(),
    };
    owner.own_tree(&config.logs_dir);
    for file in [
        &config.last_metrics_collected_at_file,
        &config.last_logs_collected_at_file,
    ] {
        owner.own_file_and_dir(file);
    }
    switch_user(run_as, &groups)?;
    Ok(Outcome::Dropped {
        run_as,
        groups,
        chowned: owner.chowned,
        problems: owner.problems,
    })
}

/// The supplementary groups `run_as` needs to use the engine's socket; an error says why it cannot.
fn socket_groups(docker_host: &str, run_as: RunAs) -> Result<Vec<u32>, String> {
    let Some(path) = docker_host.strip_prefix("unix://") else {
        return Ok(Vec::new()); // TCP: no file permissions involved.
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        format!("cannot see the Docker socket {path} to learn its group ({e}); staying root")
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if meta.uid() == run_as.uid && mode & 0o600 == 0o600 || mode & 0o006 == 0o006 {
        return Ok(Vec::new());
    }
    if mode & 0o060 == 0o060 {
        return Ok(vec![meta.gid()]);
    }
    Err(format!(
        "the Docker socket {path} (mode {mode:04o}, owner {}:{}) lets only its owner in; staying root",
        meta.uid(),
        meta.gid()
    ))
}

/// The group `run_as` needs to read the engine's json-file logs under `root`, if any: the
/// directory's group, when that group may enter it and `run_as` is neither its owner nor in it.
fn logs_root_group(root: Option<&Path>, run_as: RunAs) -> Option<u32> {
    let meta = std::fs::metadata(root?).ok().filter(|m| m.is_dir())?;
    let mode = meta.permissions().mode();
    (meta.uid() != run_as.uid && meta.gid() != run_as.gid && mode & 0o010 != 0).then(|| meta.gid())
}

/// Gives paths to the new user, counting what changed and collecting what could not be changed.
struct Owner {
    run_as: RunAs,
    chowned: usize,
    problems: Vec<String>,
}

impl Owner {
    fn chown(&mut self, path: &Path, meta: &std::fs::Metadata) {
        if meta.uid() == self.run_as.uid && meta.gid() == self.run_as.gid {
            return;
        }
        match std::os::unix::fs::lchown(path, Some(self.run_as.uid), Some(self.run_as.gid)) {
            Ok(()) => self.chowned += 1,
            Err(e) => self.problems.push(format!("{}: {e}", path.display())),
        }
    }

    /// LOGS_DIR, created if missing, and everything under it (symbolic links are not followed).
    fn own_tree(&mut self, root: &Path) {
        if is_root_dir(root) {
            self.problems.push(format!(
                "{}: will not change the owner of /",
                root.display()
            ));
            return;
        }
        if let Err(e) = std::fs::create_dir_all(root) {
            self.problems.push(format!("{}: {e}", root.display()));
            return;
        }
        let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
        while let Some(path) = pending.pop() {
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    self.problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            self.chown(&path, &meta);
            if meta.is_dir() {
                match std::fs::read_dir(&path) {
                    Ok(entries) => pending.extend(entries.flatten().map(|e| e.path())),
                    Err(e) => self.problems.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }

    /// A LAST_* file and its directory: the file is replaced by a rename, which needs the directory.
    fn own_file_and_dir(&mut self, file: &Path) {
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            self.problems.push(format!("{}: {e}", dir.display()));
            return;
        }
        match std::fs::metadata(dir) {
            // A shared directory (such as /tmp) already lets everyone create files; leave it alone.
            Ok(m) if m.permissions().mode() & 0o1002 != 0 => {}
            Ok(_) if is_root_dir(dir) => self.problems.push(format!(
                "{}: will not change the owner of /",
                file.display()
            )),
            Ok(m) => self.chown(dir, &m),
            Err(e) => self.problems.push(format!("{}: {e}", dir.display())),
        }
        if let Ok(m) = std::fs::symlink_metadata(file) {
            self.chown(file, &m);
        }
    }
}

fn is_root_dir(path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p == Path::new("/"))
}

/// Switches to `run_as` with `groups`. The kernel changes the identity of the calling thread only
/// (glibc's wrappers make every thread follow); [`drop_root`] runs before any other thread exists,
/// so the calling thread is the whole process, and a process that already runs other threads is
/// refused rather than left with threads that are still root.
fn switch_user(run_as: RunAs, groups: &[u32]) -> Result<(), DropError> {
    use rustix::thread::{set_thread_gid, set_thread_groups, set_thread_uid, Gid, Uid};
    let fail = |step: &'static str| {
        move |e: rustix::io::Errno| DropError {
            run_as,
            step,
            source: e.into(),
        }
    };
    if let Some(threads @ 2..) = threads() {
        return Err(DropError {
            run_as,
            step: "switch user",
            source: io::Error::other(format!(
                "{threads} threads already run, and each would stay root"
            )),
        });
    }
    // Unchecked: an id the kernel cannot use (such as -1) is its error to give, as it always was.
    let groups: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw_unchecked(g)).collect();
    set_thread_groups(&groups).map_err(fail("set the supplementary groups"))?;
    set_thread_gid(Gid::from_raw_unchecked(run_as.gid)).map_err(fail("set the group"))?;
    set_thread_uid(Uid::from_raw_unchecked(run_as.uid)).map_err(fail("set the user"))?;
    if set_thread_uid(Uid::ROOT).is_ok() {
        return Err(DropError {
            run_as,
            step: "give up root (root could be regained)",
            source: io::Error::other("setuid(0) succeeded"),
        });
    }
    Ok(())
}

/// The threads of this process, as /proc shows them; `None` if it cannot be read.
fn threads() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/task").ok()?.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOBODY: RunAs = RunAs {
        uid: 65534,
        gid: 65534,
    };

    #[test]
    fn the_engine_logs_directorys_group_is_added_when_it_may_enter() {
        let dir = tempfile::tempdir().unwrap();
        let gid = std::fs::metadata(dir.path()).unwrap().gid();
        let set =
            |mode| std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode));
        set(0o710).unwrap();
        assert_eq!(logs_root_group(Some(dir.path()), NOBODY), Some(gid));
        set(0o700).unwrap();
        assert_eq!(
            logs_root_group(Some(dir.path()), NOBODY),
            None,
            "the group may not enter"
        );
        set(0o710).unwrap();
        let own_group = RunAs { uid: 65534, gid };
        assert_eq!(
            logs_root_group(Some(dir.path()), own_group),
            None,
            "already its group"
        );
        assert_eq!(logs_root_group(None, NOBODY), None);
        assert_eq!(
            logs_root_group(Some(&dir.path().join("missing")), NOBODY),
            None
        );
    }

    #[test]
    fn a_process_that_already_runs_threads_is_not_switched() {
        let before = rustix::process::geteuid();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || wait.recv());
        let err = switch_user(NOBODY, &[]).expect_err("refused");
        drop(done);
        let _ = other.join();
        assert!(err.to_string().contains("threads already run"), "{err}");
        assert_eq!(rustix::process::geteuid(), before, "nothing switched");
    }

    #[test]
    fn tcp_needs_no_group() {
        assert_eq!(
            socket_groups("tcp://127.0.0.1:2375", NOBODY),
            Ok(Vec::new())
        );
    }

    #[test]
    fn a_missing_socket_keeps_root_and_says_which() {
        let err = socket_groups("unix:///nonexistent/docker.sock", NOBODY).unwrap_err();
        assert!(err.contains("/nonexistent/docker.sock"), "{err}");
        assert!(err.contains("staying root"), "{err}");
    }

    #[test]
    fn the_socket_group_is_added_only_when_it_can_read_and_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let host = format!("unix://{}", path.display());
        let gid = std::fs::metadata(&path).unwrap().gid();
        let set = |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
        set(0o660).unwrap();
        assert_eq!(socket_groups(&host, NOBODY), Ok(vec![gid]));
        set(0o666).unwrap();
        assert_eq!(socket_groups(&host, NOBODY), Ok(Vec::new()));
        set(0o640).unwrap();
        let err = socket_groups(&host, NOBODY).unwrap_err();
        assert!(err.contains("mode 0640"), "{err}");
    }
}
