//! A cluster's recent events, one JSON line each (docs/events.md), kept so
//! `export` can bundle what happened: bounded by rotation at
//! [`EVENT_LOG_LIMIT`] with one previous file kept.
//!
//! The log never creates the cluster's directory: lines written before it
//! exists (an `up` still validating) wait in memory, a few at most, and are
//! dropped with the log if it never appears.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::fsutil::open_private_append;

/// Size past which the log is rotated.
pub const EVENT_LOG_LIMIT: u64 = 4 * 1024 * 1024;
/// The current file, and the one rotation keeps.
pub const EVENT_LOG_FILE: &str = "events.jsonl";
pub const EVENT_LOG_PREVIOUS: &str = "events.1.jsonl";
/// Lines kept in memory while the cluster's directory does not exist.
const PENDING_LINES: usize = 256;

#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    limit: u64,
    file: Option<BufWriter<File>>,
    /// Bytes in the current file.
    written: u64,
    pending: Vec<Vec<u8>>,
}

impl EventLog {
    /// The log in a cluster's directory (which may not exist yet).
    pub fn new(dir: PathBuf) -> Self {
        Self::with_limit(dir, EVENT_LOG_LIMIT)
    }

    pub fn with_limit(dir: PathBuf, limit: u64) -> Self {
        Self {
            dir,
            limit,
            file: None,
            written: 0,
            pending: Vec::new(),
        }
    }

    /// Appends one line (a newline is added). Buffered: [`Self::flush`]
    /// makes it durable. An error means the line (or an earlier one) could
    /// not be written; the caller decides whether that matters.
    pub fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        let mut owned = line.to_vec();
        owned.push(b'\n');
        if self.file.is_none() && !self.open()? {
            if self.pending.len() < PENDING_LINES {
                self.pending.push(owned);
            }
            return Ok(());
        }
        for line in std::mem::take(&mut self.pending) {
            self.write(&line)?;
        }
        self.write(&owned)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    /// Opens the current file; `false` while the directory does not exist.
    fn open(&mut self) -> std::io::Result<bool> {
        if !self.dir.is_dir() {
            return Ok(false);
        }
        let path = self.dir.join(EVENT_LOG_FILE);
        let file = open_private_append(&path)?;
        self.written = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(true)
    }

    fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 > self.limit {
            self.rotate()?;
        }
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        file.write_all(line)?;
        self.written += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        std::fs::rename(
            self.dir.join(EVENT_LOG_FILE),
            self.dir.join(EVENT_LOG_PREVIOUS),
        )?;
        let file = open_private_append(&self.dir.join(EVENT_LOG_FILE))?;
        self.file = Some(BufWriter::new(file));
        self.written = 0;
        Ok(())
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        // Nothing to report to: a lost tail of the log fails nothing.
        let _ = self.flush();
    }
}

/// The recent events of a cluster: the previous file, then the current one.
/// Missing files are simply empty.
pub fn read_event_log(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for name in [EVENT_LOG_PREVIOUS, EVENT_LOG_FILE] {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_for_the_directory_and_the_log_rotates_keeping_one_file() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("demo");
        let mut log = EventLog::with_limit(dir.clone(), 100);
        log.append(b"early").expect("buffered");
        assert!(!dir.exists(), "the log never creates the directory");
        std::fs::create_dir(&dir).expect("dir");
        for index in 0..30 {
            log.append(format!("line-{index:02}").as_bytes())
                .expect("append");
        }
        log.flush().expect("flush");
        let current = std::fs::read_to_string(dir.join(EVENT_LOG_FILE)).expect("current");
        let previous = std::fs::read_to_string(dir.join(EVENT_LOG_PREVIOUS)).expect("previous");
        assert!(current.len() <= 100 && previous.len() <= 100);
        assert!(current.ends_with("line-29\n"), "{current}");
        let recent = String::from_utf8(read_event_log(&dir).expect("read")).expect("utf8");
        assert!(recent.ends_with(&current));
        assert!(!recent.contains("early"), "rotated away long ago: {recent}");
        let lines: Vec<&str> = recent.lines().collect();
        let numbers: Vec<u32> = lines
            .iter()
            .filter_map(|line| line.strip_prefix("line-")?.parse().ok())
            .collect();
        assert!(
            numbers.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "{lines:?}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(EVENT_LOG_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
