//! `doctor` for the local backend: can this machine run node processes the
//! way the backend needs (a `/bin/sh`, process groups, a readable `/proc`),
//! and is a `root` option usable.

use std::os::unix::process::CommandExt;
use std::path::Path;

use super::{PreflightCheck, PreflightContext};

pub async fn checks(ctx: &PreflightContext) -> Vec<PreflightCheck> {
    let mut checks = vec![shell_and_process_groups().await, proc_readable()];
    if let Some(root) = ctx.options.get("root").and_then(|root| root.as_str()) {
        checks.push(root_usable(Path::new(root)));
    }
    checks
}

/// Commands run as `/bin/sh -c` in a process group of their own, so a
/// timeout kills the whole group.
async fn shell_and_process_groups() -> PreflightCheck {
    const NAME: &str = "local-shell";
    let mut command = std::process::Command::new("/bin/sh");
    command.arg("-c").arg("exit 0").process_group(0);
    let mut command = tokio::process::Command::from(command);
    match command.status().await {
        Ok(status) if status.success() => {
            PreflightCheck::pass(NAME, "/bin/sh runs commands in process groups of their own")
        }
        Ok(status) => PreflightCheck::fail(
            NAME,
            format!("/bin/sh -c 'exit 0' ended with {status}"),
            "install a POSIX shell as /bin/sh",
        ),
        Err(err) => PreflightCheck::fail(
            NAME,
            format!("cannot start /bin/sh in a new process group: {err}"),
            "install a POSIX shell as /bin/sh; in a container, allow setpgid/setsid",
        ),
    }
}

/// Node processes are found again by the labels in `/proc/<pid>/environ`.
fn proc_readable() -> PreflightCheck {
    const NAME: &str = "local-proc";
    let own = format!("/proc/{}/environ", std::process::id());
    match std::fs::read(&own) {
        Ok(_) => PreflightCheck::pass(NAME, "/proc shows process environments"),
        Err(err) => PreflightCheck::fail(
            NAME,
            format!("cannot read {own}: {err}; destroy could not find node daemons"),
            "mount /proc (procfs) readable by this user",
        ),
    }
}

fn root_usable(root: &Path) -> PreflightCheck {
    const NAME: &str = "local-root";
    if !root.is_absolute() {
        return PreflightCheck::fail(
            NAME,
            format!("root {} is not an absolute path", root.display()),
            "give backend.options.root as an absolute path",
        );
    }
    let writable = root
        .ancestors()
        .find(|dir| dir.exists())
        .is_some_and(|dir| {
            let probe = dir.join(format!(".clusterdeck-preflight-{}", std::process::id()));
            let made = std::fs::create_dir(&probe).is_ok();
            let _ = std::fs::remove_dir(&probe);
            made
        });
    if writable {
        PreflightCheck::pass(
            NAME,
            format!("node directories can go under {}", root.display()),
        )
    } else {
        PreflightCheck::fail(
            NAME,
            format!("cannot create node directories under {}", root.display()),
            "pick a root this user can write to",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::CheckStatus;

    #[tokio::test]
    async fn this_machine_passes_and_a_relative_root_fails() {
        let checks = checks(&PreflightContext {
            options: BTreeMap::from([("root".to_owned(), serde_json::json!("relative/dir"))]),
            spec: None,
        })
        .await;
        let statuses: Vec<(&str, CheckStatus)> = checks
            .iter()
            .map(|check| (check.name.as_str(), check.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("local-shell", CheckStatus::Pass),
                ("local-proc", CheckStatus::Pass),
                ("local-root", CheckStatus::Fail),
            ]
        );
        assert!(checks[2].fix.is_some());
    }
}
