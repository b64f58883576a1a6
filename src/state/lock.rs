//! One lock per cluster, so two clusterdeck processes never change a cluster at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::StateError;

/// Held for as long as an operation runs; the OS drops the lock if the process
/// dies, so a crash never leaves a cluster locked.
#[derive(Debug)]
pub struct ClusterLock {
    _file: File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// For operations that create or destroy resources.
    Exclusive,
    /// For operations that only run commands on existing nodes.
    Shared,
}

impl ClusterLock {
    pub fn acquire(path: &Path, cluster: &str, mode: LockMode) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let attempt = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StateError::Busy {
                    name: cluster.to_owned(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        if mode == LockMode::Exclusive {
            // Only for the "busy" message of a second process; not load-bearing.
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "pid {}", std::process::id());
        }
        Ok(Self { _file: file })
    }
}
