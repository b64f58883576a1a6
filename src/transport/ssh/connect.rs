//! Opening one authenticated SSH connection: host key checked against
//! known_hosts (strict, or accept-new), then keys from ssh-agent and files.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::PublicKeyOrCertificate;
use russh::keys::agent::client::AgentClient;
use russh::keys::known_hosts::{
    check_known_hosts_path, known_host_keys_path, learn_known_hosts_path,
};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};

use super::settings::{HostKeyPolicy, SshSettings, SshTarget};
use crate::transport::{ConnectError, ConnectErrorKind};

/// Serialises appends to known_hosts when many nodes learn keys at once.
static LEARNING: Mutex<()> = Mutex::new(());

/// Checks the server's host key; the reason for a refusal is kept, since
/// russh only reports that the check failed.
pub struct Verifier {
    node: String,
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    refusal: Arc<Mutex<Option<ConnectError>>>,
}

impl Verifier {
    fn refuse(&self, kind: ConnectErrorKind, reason: String) -> Result<bool, russh::Error> {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(ConnectError::new(kind, reason));
        }
        Ok(false)
    }
}

fn fingerprint(key: &russh::keys::PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return self.refuse(
                ConnectErrorKind::Other,
                format!(
                    "node {} ({}:{}) offered a host certificate; only plain host keys are checked",
                    self.node, self.host, self.port
                ),
            );
        };
        match check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(true),
            Err(russh::keys::Error::KeyChanged { line }) => {
                let recorded = known_host_keys_path(&self.host, self.port, &self.known_hosts)
                    .ok()
                    .and_then(|keys| keys.into_iter().find(|(at, _)| *at == line))
                    .map_or_else(|| "unknown".to_owned(), |(_, key)| fingerprint(&key));
                self.refuse(ConnectErrorKind::HostKeyMismatch, format!(
                    "host key mismatch for node {} ({}:{}): known_hosts {} line {line} has {recorded}, the server offered {}",
                    self.node,
                    self.host,
                    self.port,
                    self.known_hosts.display(),
                    fingerprint(key)
                ))
            }
            // Not listed (or no known_hosts file yet).
            Ok(false) | Err(_) => match self.policy {
                HostKeyPolicy::AcceptNew => {
                    let _guard = LEARNING.lock();
                    if let Some(parent) = self.known_hosts.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    learn_known_hosts_path(&self.host, self.port, key, &self.known_hosts)?;
                    Ok(true)
                }
                HostKeyPolicy::Strict => self.refuse(ConnectErrorKind::HostKeyUnknown, format!(
                    "unknown host key {} for node {} ({}:{}): it is not in {}; add it, or set host_key_policy: accept-new",
                    fingerprint(key),
                    self.node,
                    self.host,
                    self.port,
                    self.known_hosts.display()
                )),
            },
        }
    }
}

pub type Session = Handle<Verifier>;

/// Private keys read once per process, by path.
pub type KeyCache = Mutex<std::collections::HashMap<PathBuf, Arc<PrivateKey>>>;

pub async fn connect(
    node: &str,
    endpoint: &SshTarget,
    settings: &SshSettings,
    keys: &KeyCache,
) -> Result<Session, ConnectError> {
    let config = Arc::new(client::Config {
        // Without it every exchange waits on Nagle's algorithm (~40 ms).
        nodelay: true,
        keepalive_interval: Some(Duration::from_secs(30)),
        ..client::Config::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let verifier = Verifier {
        node: node.to_owned(),
        host: endpoint.host.clone(),
        port: endpoint.port,
        known_hosts: settings.known_hosts.clone(),
        policy: settings.host_key_policy,
        refusal: refusal.clone(),
    };
    let address = (endpoint.host.as_str(), endpoint.port);
    let connected = tokio::time::timeout(
        settings.connect_timeout,
        client::connect(config, address, verifier),
    )
    .await
    .map_err(|_| {
        ConnectError::new(
            ConnectErrorKind::Timeout,
            format!(
                "no SSH connection to {} within {}",
                endpoint.address(),
                humantime::format_duration(settings.connect_timeout)
            ),
        )
    })?;
    let mut session = connected.map_err(|err| {
        refusal
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| {
                ConnectError::new(
                    classify(&err),
                    format!("cannot connect to {}: {err}", endpoint.address()),
                )
            })
    })?;
    authenticate(&mut session, endpoint, settings, keys).await?;
    Ok(session)
}

async fn authenticate(
    session: &mut Session,
    endpoint: &SshTarget,
    settings: &SshSettings,
    keys: &KeyCache,
) -> Result<(), ConnectError> {
    let auth = |message: String| ConnectError::new(ConnectErrorKind::Auth, message);
    let user = endpoint.user.as_str();
    let mut tried = Vec::new();
    let rsa_hash = session
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    if settings.use_agent && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match AgentClient::connect_env().await {
            Ok(mut agent) => {
                let identities = agent.request_identities().await.unwrap_or_default();
                for identity in identities {
                    let key = identity.public_key().into_owned();
                    let hash = if key.algorithm().is_rsa() {
                        rsa_hash
                    } else {
                        None
                    };
                    if let Ok(AuthResult::Success) = session
                        .authenticate_publickey_with(user, key, hash, &mut agent)
                        .await
                    {
                        return Ok(());
                    }
                }
                tried.push("ssh-agent".to_owned());
            }
            Err(err) => tried.push(format!("ssh-agent (unreachable: {err})")),
        }
    }
    for path in identity_files(endpoint) {
        let key = match load_key(&path, keys) {
            Ok(Some(key)) => key,
            Ok(None) => continue,
            Err(problem) => {
                tried.push(problem);
                continue;
            }
        };
        let key = PrivateKeyWithHashAlg::new(key, rsa_hash);
        match session.authenticate_publickey(user, key).await {
            Ok(AuthResult::Success) => return Ok(()),
            Ok(_) => tried.push(path.display().to_string()),
            Err(err) => {
                return Err(auth(format!(
                    "authentication with {} failed: {err}",
                    path.display()
                )));
            }
        }
    }
    if tried.is_empty() {
        tried.push(
            "no keys: give identity_files, an ssh config IdentityFile, or an ssh-agent".to_owned(),
        );
    }
    Err(auth(format!(
        "authentication as {user} on {} failed (tried: {})",
        endpoint.address(),
        tried.join(", ")
    )))
}

/// The kind of a failure to open the TCP connection or the SSH session.
fn classify(err: &russh::Error) -> ConnectErrorKind {
    match err {
        russh::Error::IO(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectErrorKind::Refused,
            std::io::ErrorKind::TimedOut => ConnectErrorKind::Timeout,
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof => ConnectErrorKind::Closed,
            // Name resolution failures come back as uncategorised I/O errors.
            _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                ConnectErrorKind::Unresolved
            }
            _ => ConnectErrorKind::Other,
        },
        russh::Error::Disconnect | russh::Error::HUP => ConnectErrorKind::Closed,
        russh::Error::ConnectionTimeout | russh::Error::KeepaliveTimeout => {
            ConnectErrorKind::Timeout
        }
        _ => ConnectErrorKind::Other,
    }
}

/// The endpoint's keys, or OpenSSH's default ones when none is named.
fn identity_files(endpoint: &SshTarget) -> Vec<PathBuf> {
    if !endpoint.identity_files.is_empty() {
        return endpoint.identity_files.clone();
    }
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| Path::new(&home).join(".ssh").join(name))
        .collect()
}

/// `Ok(None)` when the file does not exist; an error text (never the key)
/// when it cannot be used.
fn load_key(path: &Path, keys: &KeyCache) -> Result<Option<Arc<PrivateKey>>, String> {
    if let Ok(cache) = keys.lock()
        && let Some(key) = cache.get(path)
    {
        return Ok(Some(key.clone()));
    }
    if !path.exists() {
        return Ok(None);
    }
    let key = russh::keys::load_secret_key(path, None).map_err(|err| {
        format!(
            "{} (unusable: {err}; encrypted keys need an ssh-agent)",
            path.display()
        )
    })?;
    let key = Arc::new(key);
    if let Ok(mut cache) = keys.lock() {
        cache.insert(path.to_path_buf(), key.clone());
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_keep_their_kind() {
        let refused = russh::Error::IO(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused), ConnectErrorKind::Refused);
        let unresolved = russh::Error::IO(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        assert_eq!(classify(&unresolved), ConnectErrorKind::Unresolved);
        assert_eq!(
            classify(&russh::Error::Disconnect),
            ConnectErrorKind::Closed
        );
    }
}
