//! Who to connect as and how: backend options, `~/.ssh/config` (Host,
//! HostName, Port, User, IdentityFile) and per-node `user@host:port`.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::model::HostKeyPolicy;

/// Connection settings shared by every node of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshSettings {
    /// Used when neither the node nor the ssh config names a user.
    pub user: String,
    pub port: u16,
    /// Tried in order, after the ssh config's IdentityFile entries.
    pub identity_files: Vec<PathBuf>,
    pub use_agent: bool,
    /// `None`: no ssh config file is read.
    pub ssh_config: Option<PathBuf>,
    pub known_hosts: PathBuf,
    pub host_key_policy: HostKeyPolicy,
    pub connect_timeout: Duration,
}

/// One node's resolved address and login.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshTarget {
    /// The name as written in the spec (an alias, maybe).
    pub alias: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
}

impl SshTarget {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Splits `user@host:port` (user and port optional; `[v6]:port` allowed).
pub fn split_target(target: &str) -> (Option<&str>, &str, Option<u16>) {
    let (user, rest) = match target.split_once('@') {
        Some((user, rest)) => (Some(user), rest),
        None => (None, target),
    };
    if let Some(inner) = rest.strip_prefix('[')
        && let Some((host, port)) = inner.split_once("]:")
    {
        return (user, host, port.parse().ok());
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (user, host, Some(port)),
            Err(_) => (user, rest, None),
        },
        _ => (user, rest, None),
    }
}

impl SshSettings {
    /// Resolves a spec host entry: explicit parts win, then the ssh config's
    /// entry for the host, then these settings.
    pub fn endpoint(&self, target: &str) -> Result<SshTarget, String> {
        let (user, host, port) = split_target(target);
        if host.is_empty() {
            return Err(format!("host {target:?} names no host"));
        }
        let params = match &self.ssh_config {
            Some(path) => Some(read_config(path)?.query(host)),
            None => None,
        };
        let params = params.as_ref();
        let mut identity_files: Vec<PathBuf> = params
            .and_then(|params| params.identity_file.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|path| expand_home(&path))
            .collect();
        identity_files.extend(self.identity_files.iter().map(|path| expand_home(path)));
        Ok(SshTarget {
            alias: target.to_owned(),
            host: params
                .and_then(|params| params.host_name.clone())
                .unwrap_or_else(|| host.to_owned()),
            port: port
                .or_else(|| params.and_then(|params| params.port))
                .unwrap_or(self.port),
            user: user
                .map(str::to_owned)
                .or_else(|| params.and_then(|params| params.user.clone()))
                .unwrap_or_else(|| self.user.clone()),
            identity_files,
        })
    }
}

fn read_config(path: &Path) -> Result<ssh2_config::SshConfig, String> {
    let file = std::fs::File::open(path)
        .map_err(|err| format!("cannot read ssh config {}: {err}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    ssh2_config::SshConfig::default()
        .parse(&mut reader, ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS)
        .map_err(|err| format!("cannot parse ssh config {}: {err}", path.display()))
}

/// `~/x` → `$HOME/x`, as OpenSSH does for IdentityFile.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(config: Option<PathBuf>) -> SshSettings {
        SshSettings {
            user: "deploy".into(),
            port: 22,
            identity_files: vec![PathBuf::from("/keys/id")],
            use_agent: false,
            ssh_config: config,
            known_hosts: PathBuf::from("/dev/null"),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn targets_split_into_user_host_and_port() {
        assert_eq!(split_target("web1"), (None, "web1", None));
        assert_eq!(
            split_target("root@10.0.0.1:2222"),
            (Some("root"), "10.0.0.1", Some(2222))
        );
        assert_eq!(split_target("[::1]:22"), (None, "::1", Some(22)));
        assert_eq!(split_target("::1"), (None, "::1", None));
    }

    #[test]
    fn ssh_config_aliases_resolve_and_explicit_parts_win() {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "Host node1\n  HostName 127.0.0.1\n  Port 2201\n  User ops\n  IdentityFile /keys/node1\n",
        )
        .expect("write");
        let settings = settings(Some(config));
        let endpoint = settings.endpoint("node1").expect("resolves");
        assert_eq!(endpoint.host, "127.0.0.1");
        assert_eq!(endpoint.port, 2201);
        assert_eq!(endpoint.user, "ops");
        assert_eq!(
            endpoint.identity_files,
            vec![PathBuf::from("/keys/node1"), PathBuf::from("/keys/id")]
        );
        let explicit = settings.endpoint("root@node1:22").expect("resolves");
        assert_eq!((explicit.user.as_str(), explicit.port), ("root", 22));
        let plain = settings.endpoint("other").expect("resolves");
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.user.as_str()),
            ("other", 22, "deploy")
        );
    }
}
