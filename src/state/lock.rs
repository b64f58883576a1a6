//! One lock per cluster, so two clusterdeck processes never change a cluster at once.
//!
//! The lock itself is an OS file lock. Who holds it is told by one entry per
//! holder in a directory beside it (`lock.holders/<pid>-<mode>-<n>`), created
//! after the lock is taken and removed when it is released: the name alone
//! carries everything, so a reader never sees half an entry, and shared
//! holders each have their own entry instead of overwriting one another.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::StateError;
use super::fsutil::ensure_private_dir;

/// How often, and how far apart, a process that finds the cluster locked
/// looks again for the holder's entry (which the holder writes just after
/// taking the lock) or for the lock to be free.
const BUSY_RETRIES: u32 = 30;
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Makes entries of two locks held by one process distinct.
static NEXT_ENTRY: AtomicU64 = AtomicU64::new(0);

/// Held for as long as an operation runs; the OS drops the lock if the process
/// dies, so a crash never leaves a cluster locked.
#[derive(Debug)]
pub struct ClusterLock {
    _file: File,
    /// This holder's entry, removed on release.
    entry: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// For operations that create or destroy resources.
    Exclusive,
    /// For operations that only run commands on existing nodes.
    Shared,
}

impl LockMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Shared => "shared",
        }
    }
}

impl ClusterLock {
    pub fn acquire(path: &Path, cluster: &str, mode: LockMode) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let holders = holders_dir(path);
        // As the holders' /proc/<pid>/fd links show it.
        let lock_path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        for attempt in 0..=BUSY_RETRIES {
            let taken = match mode {
                LockMode::Exclusive => file.try_lock(),
                LockMode::Shared => file.try_lock_shared(),
            };
            match taken {
                Ok(()) => {
                    let entry = register(&holders, mode);
                    return Ok(Self { _file: file, entry });
                }
                Err(TryLockError::WouldBlock) => {
                    // The holder may have the lock but not yet its entry.
                    if let Some(holder) = describe_holders(&holders, &lock_path) {
                        return Err(busy(cluster, holder));
                    }
                    if attempt < BUSY_RETRIES {
                        std::thread::sleep(BUSY_RETRY_PAUSE);
                    }
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
        }
        Err(busy(cluster, "pid unknown".to_owned()))
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        if let Some(entry) = &self.entry {
            // Gone already when destroy removed the cluster's directory.
            let _ = std::fs::remove_file(entry);
        }
    }
}

fn busy(cluster: &str, holder: String) -> StateError {
    StateError::Busy {
        name: cluster.to_owned(),
        holder,
    }
}

fn holders_dir(lock: &Path) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(".holders");
    PathBuf::from(name)
}

/// Records this process as a holder. Only for the "busy" message of another
/// process, so a failure here does not fail the lock.
fn register(holders: &Path, mode: LockMode) -> Option<PathBuf> {
    ensure_private_dir(holders).ok()?;
    if mode == LockMode::Exclusive {
        // No one else holds the lock now: any entry left is from a process
        // that died without releasing it cleanly.
        if let Ok(entries) = std::fs::read_dir(holders) {
            for entry in entries.filter_map(Result::ok) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let entry = holders.join(format!(
        "{}-{}-{}",
        std::process::id(),
        mode.as_str(),
        NEXT_ENTRY.fetch_add(1, Ordering::Relaxed)
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&entry)
        .ok()?;
    Some(entry)
}

/// "pid 12" for an exclusive holder, "shared lock, pids 12, 34" for shared
/// ones; `None` when no live holder has an entry (yet).
fn describe_holders(holders: &Path, lock_path: &Path) -> Option<String> {
    let mut exclusive = Vec::new();
    let mut shared = Vec::new();
    for entry in std::fs::read_dir(holders).ok()?.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some((pid, mode)) = name.to_str().and_then(parse_entry) else {
            continue;
        };
        if !holds_open(pid, lock_path) {
            continue;
        }
        let pids = if mode == LockMode::Exclusive {
            &mut exclusive
        } else {
            &mut shared
        };
        if !pids.contains(&pid) {
            pids.push(pid);
        }
    }
    if let Some(pid) = exclusive.first() {
        return Some(format!("pid {pid}"));
    }
    shared.sort_unstable();
    let list: Vec<String> = shared.iter().map(u32::to_string).collect();
    match list.len() {
        0 => None,
        1 => Some(format!("shared lock, pid {}", list[0])),
        _ => Some(format!("shared lock, pids {}", list.join(", "))),
    }
}

/// Holder entries of processes that no longer hold the lock (they died
/// without releasing it cleanly), for `doctor`.
pub fn stale_holder_entries(lock_path: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(holders_dir(lock_path)) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(parse_entry)
                .is_some_and(|(pid, _)| !holds_open(pid, lock_path))
        })
        .map(|entry| entry.path())
        .collect();
    stale.sort();
    stale
}

/// Whether `pid` has the lock file open, as every holder does. An entry of
/// a process that died while holding the lock is stale, and so is one whose
/// pid has since been reused by a process that never opened the lock.
fn holds_open(pid: u32, lock_path: &Path) -> bool {
    let fds = Path::new("/proc").join(pid.to_string()).join("fd");
    match std::fs::read_dir(&fds) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == lock_path)),
        // Alive but not ours to look into: take the entry at its word.
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => true,
        Err(_) => false,
    }
}

fn parse_entry(name: &str) -> Option<(u32, LockMode)> {
    let mut parts = name.splitn(3, '-');
    let pid = parts.next()?.parse().ok()?;
    let mode = match parts.next()? {
        "exclusive" => LockMode::Exclusive,
        "shared" => LockMode::Shared,
        _ => return None,
    };
    parts.next()?;
    Some((pid, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder_of(result: Result<ClusterLock, StateError>) -> String {
        match result {
            Err(StateError::Busy { holder, .. }) => holder,
            other => panic!("expected busy, got {other:?}"),
        }
    }

    #[test]
    fn an_exclusive_holder_is_named_by_its_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let held = ClusterLock::acquire(&path, "demo", LockMode::Exclusive).expect("lock");
        let own = format!("pid {}", std::process::id());
        assert_eq!(
            holder_of(ClusterLock::acquire(&path, "demo", LockMode::Shared)),
            own
        );
        assert_eq!(
            holder_of(ClusterLock::acquire(&path, "demo", LockMode::Exclusive)),
            own
        );
        drop(held);
        assert_eq!(
            std::fs::read_dir(holders_dir(&path)).expect("dir").count(),
            0,
            "the entry goes with the lock"
        );
    }

    #[test]
    fn shared_holders_are_named_as_such_and_not_by_an_earlier_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        // An earlier exclusive holder came and went.
        drop(ClusterLock::acquire(&path, "demo", LockMode::Exclusive).expect("lock"));
        let first = ClusterLock::acquire(&path, "demo", LockMode::Shared).expect("shared");
        let second = ClusterLock::acquire(&path, "demo", LockMode::Shared).expect("shared");
        let expected = format!("shared lock, pid {}", std::process::id());
        assert_eq!(
            holder_of(ClusterLock::acquire(&path, "demo", LockMode::Exclusive)),
            expected
        );
        drop(first);
        assert_eq!(
            holder_of(ClusterLock::acquire(&path, "demo", LockMode::Exclusive)),
            expected,
            "the other shared holder is still there"
        );
        drop(second);
        ClusterLock::acquire(&path, "demo", LockMode::Exclusive).expect("free again");
    }

    #[test]
    fn a_holder_without_an_entry_yet_is_waited_for_and_never_shown_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let file = File::create(&path).expect("create");
        // Holds the lock the way a process does between taking it and writing its entry.
        file.try_lock().expect("raw lock");
        let holder = holder_of(ClusterLock::acquire(&path, "demo", LockMode::Exclusive));
        assert_eq!(holder, "pid unknown");

        // An entry appearing during the retries is picked up.
        let holders = holders_dir(&path);
        ensure_private_dir(&holders).expect("dir");
        let late = holders.join(format!("{}-exclusive-late", std::process::id()));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            File::create(late).expect("entry");
        });
        let holder = holder_of(ClusterLock::acquire(&path, "demo", LockMode::Shared));
        writer.join().expect("writer");
        assert_eq!(holder, format!("pid {}", std::process::id()));
    }

    #[test]
    fn entries_of_dead_processes_are_ignored_and_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let holders = holders_dir(&path);
        ensure_private_dir(&holders).expect("dir");
        // No process has pid 0 in /proc.
        File::create(holders.join("0-exclusive-0")).expect("stale entry");
        let held = ClusterLock::acquire(&path, "demo", LockMode::Exclusive).expect("lock");
        assert!(!holders.join("0-exclusive-0").exists());
        assert_eq!(
            holder_of(ClusterLock::acquire(&path, "demo", LockMode::Shared)),
            format!("pid {}", std::process::id())
        );
        drop(held);
    }

    #[test]
    fn an_entry_whose_pid_was_reused_by_another_process_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let shared = ClusterLock::acquire(&path, "demo", LockMode::Shared).expect("shared");
        // A live process that never opened the lock, as after pid reuse.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn");
        let holders = holders_dir(&path);
        File::create(holders.join(format!("{}-exclusive-0", other.id()))).expect("entry");
        let holder = holder_of(ClusterLock::acquire(&path, "demo", LockMode::Exclusive));
        other.kill().expect("kill");
        other.wait().expect("reap");
        assert_eq!(holder, format!("shared lock, pid {}", std::process::id()));
        drop(shared);
    }
}
