//! STUB (replaced by the real module).
use std::io::{self, Write};
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FileMark {
    pub inode: Option<u64>,
    pub len: u64,
}
#[derive(Debug, PartialEq, Eq)]
pub enum Recovery {
    Clean,
    Truncated { bytes: u64 },
    RolledBack { rotations: u32, bytes: u64 },
    Shorter { missing: u64 },
    MarkNotFound,
}
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    f: Option<std::fs::File>,
}
impl RotatingFile {
    pub fn new(path: PathBuf, _m: u64, _b: u32) -> Self {
        RotatingFile { path, f: None }
    }
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.f.is_none() {
            if let Some(p) = self.path.parent() {
                std::fs::create_dir_all(p)?;
            }
            self.f = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        self.f.as_mut().map(|f| f.write_all(line)).unwrap_or(Ok(()))
    }
    pub fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    pub fn close(&mut self) -> io::Result<()> {
        self.f = None;
        Ok(())
    }
    pub fn mark(&mut self) -> io::Result<FileMark> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(m) => Ok(FileMark {
                inode: Some(m.ino()),
                len: m.len(),
            }),
            Err(_) => Ok(FileMark::default()),
        }
    }
    pub fn rollback(&mut self, mark: FileMark) -> io::Result<Recovery> {
        self.f = None;
        recover(&self.path, mark, 0)
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}
pub fn recover(_p: &Path, _m: FileMark, _b: u32) -> io::Result<Recovery> {
    Ok(Recovery::Clean)
}
