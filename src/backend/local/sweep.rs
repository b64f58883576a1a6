//! Finds and stops processes by the label in their environment.
//!
//! Every process a `local` node runs inherits `CLUSTERDECK_NODE_DIR` and
//! `CLUSTERDECK_CLUSTER_UID`. That label survives double forks, `setsid` and a
//! killed clusterdeck, so destroy can find daemons an installer left behind
//! without trusting recorded PIDs that the OS may since have reused.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Every process but our own, with its raw environment. Processes of other
/// users, or gone since the listing, are unreadable and left out.
fn environments() -> impl Iterator<Item = (i32, Vec<u8>)> {
    let own = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(move |pid| *pid != own)
        .filter_map(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            Some((i32::try_from(pid).ok()?, environ))
        })
}

/// PIDs (other than our own) whose environment has `name=value`.
pub fn labelled_pids(name: &str, value: &str) -> Vec<i32> {
    let needle = format!("{name}={value}").into_bytes();
    environments()
        .filter(|(_, environ)| environ.split(|byte| *byte == 0).any(|var| var == needle))
        .map(|(pid, _)| pid)
        .collect()
}

/// Every process carrying `label`, with the values of `wanted` variables it has.
pub fn labelled_processes(label: &str, wanted: &[&str]) -> Vec<(i32, BTreeMap<String, String>)> {
    environments()
        .filter_map(|(pid, environ)| {
            let mut found = BTreeMap::new();
            for var in environ.split(|byte| *byte == 0) {
                let text = String::from_utf8_lossy(var);
                if let Some((name, value)) = text.split_once('=')
                    && (name == label || wanted.contains(&name))
                {
                    found.insert(name.to_owned(), value.to_owned());
                }
            }
            found.contains_key(label).then_some((pid, found))
        })
        .collect()
}

/// Sends `signal` to every labelled process; returns how many there were.
pub fn signal_labelled(name: &str, value: &str, signal: Signal) -> usize {
    let pids = labelled_pids(name, value);
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), signal);
    }
    pids.len()
}

/// Stops every labelled process: SIGTERM, then SIGKILL for those still there
/// after `grace`. Rescans, since a dying parent may fork. Returns how many
/// distinct processes were signalled.
pub async fn stop_labelled(name: &str, value: &str, grace: Duration) -> usize {
    let mut signalled = BTreeSet::new();
    for round in 0..5 {
        let pids = labelled_pids(name, value);
        if pids.is_empty() {
            break;
        }
        let signal = if round == 0 {
            Signal::SIGTERM
        } else {
            Signal::SIGKILL
        };
        for pid in &pids {
            let _ = kill(Pid::from_raw(*pid), signal);
            // A stopped (powered-off) process only acts on SIGTERM once continued.
            if signal == Signal::SIGTERM {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGCONT);
            }
            signalled.insert(*pid);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            if labelled_pids(name, value).is_empty() {
                return signalled.len();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    signalled.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finds_and_stops_only_labelled_processes() {
        let label = format!("test-{}-{}", std::process::id(), line!());
        let mut labelled = std::process::Command::new("sleep")
            .arg("30")
            .env("CLUSTERDECK_TEST_LABEL", &label)
            .spawn()
            .expect("spawn");
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .env("CLUSTERDECK_TEST_LABEL", "someone-else")
            .spawn()
            .expect("spawn");
        // Right after spawn the child may not have exec'd with its new environment yet.
        let mut found = Vec::new();
        for _ in 0..100 {
            found = labelled_pids("CLUSTERDECK_TEST_LABEL", &label);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(found, vec![i32::try_from(labelled.id()).expect("pid")]);
        let stopped = stop_labelled("CLUSTERDECK_TEST_LABEL", &label, Duration::from_secs(2)).await;
        assert_eq!(stopped, 1);
        assert!(
            labelled.wait().expect("wait").code().is_none(),
            "killed by a signal"
        );
        assert!(
            other.try_wait().expect("try_wait").is_none(),
            "the other one runs on"
        );
        other.kill().expect("kill");
        other.wait().expect("wait");
    }
}
