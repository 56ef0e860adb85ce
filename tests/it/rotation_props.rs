//! Property tests of the rotation rules and of crash recovery, over random line sizes and limits.

use std::fs;
use std::path::Path;

use container_metrics::rotating_file::{recover, Recovery, RotatingFile};
use proptest::prelude::*;

/// The family's files, oldest first: (name, content).
fn family(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(u32, String)> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .map(|n| {
            let order = n
                .strip_prefix("c.log.")
                .and_then(|k| k.parse().ok())
                .unwrap_or(0);
            (order, n)
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .map(|(_, n)| {
            let content = fs::read(dir.join(&n)).expect("read");
            (n, content)
        })
        .collect()
}

fn line(len: usize, seed: usize) -> Vec<u8> {
    let mut l: Vec<u8> = (0..len.saturating_sub(1))
        .map(|i| b'a' + ((seed + i) % 26) as u8)
        .collect();
    l.push(b'\n');
    l
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn rotation_keeps_whole_lines_in_at_most_the_file_count_dropping_only_the_oldest(
        lens in prop::collection::vec(1usize..200, 1..60),
        max_bytes in 0u64..2000,
        backup_count in 0u32..5,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = RotatingFile::new(dir.path().join("c.log"), max_bytes, backup_count);
        let mut written = Vec::new();
        let mut rotations = 0u32;
        let mut size = 0u64;
        for (i, len) in lens.iter().enumerate() {
            let l = line(*len, i);
            if max_bytes > 0 && backup_count > 0 && size > 0 && size + l.len() as u64 >= max_bytes {
                rotations += 1;
                size = 0;
            }
            f.write_line(&l).expect("write");
            size += l.len() as u64;
            written.extend_from_slice(&l);
        }
        f.close().expect("close");
        let files = family(dir.path());
        prop_assert!(files.len() <= backup_count as usize + 1, "{} files", files.len());
        for (name, content) in &files {
            let lines = content.iter().filter(|b| **b == b'\n').count();
            prop_assert!(
                max_bytes == 0 || backup_count == 0 || (content.len() as u64) < max_bytes || lines == 1,
                "{name} has {} bytes in {lines} lines", content.len()
            );
        }
        let all: Vec<u8> = files.iter().flat_map(|(_, c)| c.clone()).collect();
        if max_bytes == 0 || backup_count == 0 {
            prop_assert_eq!(files.len(), 1);
        }
        if rotations <= backup_count {
            prop_assert!(all == written, "nothing dropped: the files hold every byte, in order");
        } else {
            prop_assert!(written.ends_with(&all), "the files hold the newest lines");
            prop_assert!(all.is_empty() || written[..written.len() - all.len()].ends_with(b"\n"), "whole lines");
        }
    }

    #[test]
    fn recover_restores_the_marked_state(
        before in prop::collection::vec(1usize..120, 0..20),
        after in prop::collection::vec(1usize..120, 1..20),
        max_bytes in 0u64..800,
        backup_count in 0u32..5,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.log");
        let mut f = RotatingFile::new(path.clone(), max_bytes, backup_count);
        for (i, len) in before.iter().enumerate() {
            f.write_line(&line(*len, i)).expect("write");
        }
        let mark = f.mark().expect("mark");
        let at_mark = family(dir.path());
        for (i, len) in after.iter().enumerate() {
            f.write_line(&line(*len, 100 + i)).expect("write");
        }
        f.close().expect("close");
        match recover(&path, mark, backup_count).expect("recover") {
            Recovery::MarkNotFound => {
                // Only when more rotations happened than files are kept.
                prop_assert!(backup_count > 0 && max_bytes > 0);
            }
            Recovery::Shorter { .. } => prop_assert!(false, "nothing was lost outside"),
            _ => {
                let now = family(dir.path());
                // Rotations after the mark may have dropped the oldest backups: compare the newest.
                let keep = now.len();
                prop_assert!(keep <= at_mark.len() || at_mark.is_empty() && keep <= 1);
                let tail = &at_mark[at_mark.len().saturating_sub(keep)..];
                let now_content: Vec<&Vec<u8>> = now.iter().map(|(_, c)| c).collect();
                let want: Vec<&Vec<u8>> = tail.iter().map(|(_, c)| c).collect();
                if at_mark.is_empty() {
                    prop_assert!(now_content.iter().all(|c| c.is_empty()));
                } else {
                    prop_assert_eq!(now_content, want);
                }
            }
        }
    }
}
