//! `doctor` for the ssh backend: what a connection needs on this machine
//! (ssh config, agent, known_hosts) and whether each host of the spec
//! answers on its SSH port at all.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;

use super::{HostKeyPolicy, PreflightCheck, PreflightContext, expand_home, hosts, settings};

/// Reachability is a quick look, not a connection attempt.
const REACH_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn checks(ctx: &PreflightContext) -> Vec<PreflightCheck> {
    let settings = match settings(&ctx.options) {
        Ok(settings) => settings,
        Err(problem) => {
            return vec![PreflightCheck::fail(
                "ssh-options",
                problem,
                "fix backend.options",
            )];
        }
    };
    let mut checks = vec![ssh_config(&ctx.options)];
    if settings.use_agent {
        checks.push(agent());
    }
    checks.push(known_hosts(&settings.known_hosts, settings.host_key_policy));
    if let Some(spec) = &ctx.spec {
        let targets: Vec<String> = spec
            .node_groups
            .iter()
            .flat_map(|group| hosts(&group.options).unwrap_or_default())
            .collect();
        let timeout = settings.connect_timeout.min(REACH_TIMEOUT);
        checks.extend(
            join_all(
                targets
                    .iter()
                    .map(|target| reachable(target, settings.endpoint(target), timeout)),
            )
            .await,
        );
    }
    checks
}

fn ssh_config(options: &std::collections::BTreeMap<String, Value>) -> PreflightCheck {
    const NAME: &str = "ssh-config";
    let Some(path) = options
        .get("ssh_config")
        .and_then(Value::as_str)
        .filter(|path| !path.is_empty())
        .map(|path| expand_home(&PathBuf::from(path)))
    else {
        return PreflightCheck::pass(NAME, "no ssh config is read (ssh_config is empty)");
    };
    if !path.exists() {
        return PreflightCheck::pass(
            NAME,
            format!(
                "no ssh config at {}: hosts are used as written",
                path.display()
            ),
        );
    }
    match std::fs::read(&path) {
        Ok(_) => PreflightCheck::pass(NAME, format!("{} is readable", path.display())),
        Err(err) => PreflightCheck::fail(
            NAME,
            format!("cannot read {}: {err}", path.display()),
            "make it readable, or set backend.options.ssh_config to \"\"",
        ),
    }
}

fn agent() -> PreflightCheck {
    const NAME: &str = "ssh-agent";
    let fix = "start ssh-agent and ssh-add your key, or set backend.options.use_agent: false and list identity_files";
    match std::env::var_os("SSH_AUTH_SOCK").filter(|socket| !socket.is_empty()) {
        None => PreflightCheck::fail(NAME, "SSH_AUTH_SOCK is not set", fix),
        Some(socket) if !PathBuf::from(&socket).exists() => PreflightCheck::fail(
            NAME,
            format!(
                "SSH_AUTH_SOCK names {}, which does not exist",
                PathBuf::from(socket).display()
            ),
            fix,
        ),
        Some(_) => PreflightCheck::pass(NAME, "an ssh-agent socket is present"),
    }
}

fn known_hosts(path: &std::path::Path, policy: HostKeyPolicy) -> PreflightCheck {
    const NAME: &str = "ssh-known-hosts";
    match std::fs::read(path) {
        Ok(_) => PreflightCheck::pass(NAME, format!("{} is readable", path.display())),
        Err(err)
            if err.kind() == std::io::ErrorKind::NotFound && policy == HostKeyPolicy::AcceptNew =>
        {
            PreflightCheck::pass(
                NAME,
                format!(
                    "{} does not exist yet; accept-new will create it",
                    path.display()
                ),
            )
        }
        Err(err) => PreflightCheck::fail(
            NAME,
            format!("cannot read {}: {err}", path.display()),
            "add the hosts' keys (ssh-keyscan HOST >> known_hosts), or set host_key_policy: accept-new",
        ),
    }
}

async fn reachable(
    target: &str,
    resolved: Result<crate::transport::ssh::SshTarget, String>,
    timeout: Duration,
) -> PreflightCheck {
    let name = format!("ssh-reach({target})");
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(problem) => return PreflightCheck::fail(&name, problem, "fix the host entry"),
    };
    let address = (resolved.host.as_str(), resolved.port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => PreflightCheck::pass(&name, format!("{} answers", resolved.address())),
        Ok(Err(err)) => PreflightCheck::fail(
            &name,
            format!("cannot reach {}: {err}", resolved.address()),
            "check the host is up, its sshd runs and no firewall is in the way",
        ),
        Err(_) => PreflightCheck::fail(
            &name,
            format!(
                "{} did not answer within {}",
                resolved.address(),
                humantime::format_duration(timeout)
            ),
            "check the host is up and reachable from here",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::model::CheckStatus;
    use crate::spec::{BackendSpec, ChecksSpec, ClusterSpec, NodeGroupSpec};

    #[tokio::test]
    async fn a_listening_port_passes_a_closed_one_fails_and_a_missing_known_hosts_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("addr").port();
        let closed = {
            let spare = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            spare.local_addr().expect("addr").port()
        };
        let hosts = vec![format!("127.0.0.1:{open}"), format!("127.0.0.1:{closed}")];
        let options = BTreeMap::from([
            ("use_agent".to_owned(), json!(false)),
            ("ssh_config".to_owned(), json!("")),
            (
                "known_hosts".to_owned(),
                json!(dir.path().join("absent").display().to_string()),
            ),
        ]);
        let spec = ClusterSpec {
            name: "p".into(),
            backend: BackendSpec {
                kind: "ssh".into(),
                path: None,
                options: options.clone(),
            },
            node_groups: vec![NodeGroupSpec {
                config: Default::default(),
                name: "h".into(),
                count: 2,
                roles: vec![],
                options: BTreeMap::from([("hosts".to_owned(), json!(hosts))]),
            }],
            install: None,
            checks: ChecksSpec::default(),
        };
        let checks = checks(&PreflightContext {
            options,
            spec: Some(spec),
        })
        .await;
        let statuses: Vec<(&str, CheckStatus)> = checks
            .iter()
            .map(|check| (check.name.as_str(), check.status))
            .collect();
        let open_name = format!("ssh-reach(127.0.0.1:{open})");
        let closed_name = format!("ssh-reach(127.0.0.1:{closed})");
        assert_eq!(
            statuses,
            vec![
                ("ssh-config", CheckStatus::Pass),
                ("ssh-known-hosts", CheckStatus::Fail),
                (open_name.as_str(), CheckStatus::Pass),
                (closed_name.as_str(), CheckStatus::Fail),
            ]
        );
        assert!(checks[1].message.contains("absent"), "{:?}", checks[1]);
        drop(listener);
    }
}
