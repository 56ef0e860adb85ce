//! A container's network counters from its network namespace, as the kernel shows them in
//! `/proc/<pid>/net/dev` of any process inside it (its init process, inspect's `State.Pid`): what
//! the engine's stats report under `networks`, read without asking the engine.

use std::path::Path;

use crate::container::Interface;

/// The interfaces of a `net/dev` text, sorted by name, without `lo` (the engine leaves it out too).
pub fn parse(text: &str) -> Vec<Interface> {
    let mut out: Vec<Interface> = text
        .lines()
        .filter_map(|line| {
            let (name, numbers) = line.split_once(':')?;
            let name = name.trim();
            if name.is_empty() || name == "lo" || name.contains(' ') {
                return None;
            }
            let n: Vec<u64> = numbers
                .split_whitespace()
                .map(|v| v.parse().ok())
                .collect::<Option<Vec<u64>>>()?;
            // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes
            // packets errs drop fifo colls carrier compressed.
            if n.len() < 16 {
                return None;
            }
            Some(Interface {
                name: name.to_string(),
                rx: [n[0], n[1], n[2], n[3]],
                tx: [n[8], n[9], n[10], n[11]],
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The interfaces of the process `pid` under `proc_root`; `None` when its file cannot be read (the
/// process is not visible there: another pid namespace, or it ended).
pub fn read(proc_root: &Path, pid: i64) -> Option<Vec<Interface>> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("net/dev")).ok()?;
    Some(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:   12345      67    1    2    0     0          0         0     6789      45    3    4    0     0       0          0
  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
";

    #[test]
    fn the_kernels_counters_give_each_interface_but_lo_sorted() {
        let got = parse(NET_DEV);
        assert_eq!(
            got,
            [
                Interface {
                    name: "eth0".into(),
                    rx: [12345, 67, 1, 2],
                    tx: [6789, 45, 3, 4],
                },
                Interface {
                    name: "eth1".into(),
                    rx: [1, 2, 3, 4],
                    tx: [9, 10, 11, 12],
                },
            ]
        );
    }

    #[test]
    fn odd_lines_and_a_missing_process_give_nothing() {
        assert!(parse("eth0: 1 2 3\nnot a line\n:\n").is_empty());
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path(), 42), None);
        std::fs::create_dir_all(dir.path().join("42/net")).expect("dirs");
        std::fs::write(dir.path().join("42/net/dev"), NET_DEV).expect("write");
        assert_eq!(read(dir.path(), 42).map(|i| i.len()), Some(2));
    }
}
