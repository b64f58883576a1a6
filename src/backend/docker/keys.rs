//! The keys of a cluster whose nodes are reached over SSH, kept in its state
//! directory: a client key (its public half goes into each node's
//! `/root/.ssh/authorized_keys`) and a host key every node's sshd serves, so
//! a node recreated at the same address never looks like an impostor to the
//! cluster's own known_hosts. Private keys are written 0600 and never
//! appear in a message.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

use crate::backend::BackendError;

/// Where in a node the host key goes (sshd is started with `-h` on it).
pub const HOST_KEY_PATH: &str = "/etc/ssh/clusterdeck_host_ed25519_key";

/// The cluster's SSH material, as paths and the halves the nodes get.
#[derive(Debug, Clone)]
pub struct ClusterKeys {
    /// The client's private key file.
    pub identity: PathBuf,
    pub known_hosts: PathBuf,
    /// `ssh-ed25519 AAAA... clusterdeck`, for authorized_keys.
    pub client_public: String,
    host_private: PathBuf,
    pub host_public: String,
}

impl ClusterKeys {
    /// The host key's private half, read when it is uploaded; never logged.
    pub fn host_private(&self) -> Result<Vec<u8>, BackendError> {
        std::fs::read(&self.host_private).map_err(|source| {
            BackendError::io(
                format_args!("cannot read {}", self.host_private.display()),
                &source,
            )
        })
    }
}

/// The keys under `<state_dir>/ssh/`, made on first use.
pub fn ensure(state_dir: &Path) -> Result<ClusterKeys, BackendError> {
    let dir = state_dir.join("ssh");
    crate::state::ensure_private_dir(&dir).map_err(|source| {
        BackendError::io(format_args!("cannot create {}", dir.display()), &source)
    })?;
    let identity = dir.join("id_ed25519");
    let host_private = dir.join("host_ed25519_key");
    Ok(ClusterKeys {
        client_public: key_pair(&identity)?,
        host_public: key_pair(&host_private)?,
        identity,
        known_hosts: dir.join("known_hosts"),
        host_private,
    })
}

/// The public half of the key at `path`, made (with `<path>.pub`) if absent.
fn key_pair(path: &Path) -> Result<String, BackendError> {
    let public_path = path.with_extension("pub");
    if path.exists()
        && let Ok(public) = std::fs::read_to_string(&public_path)
    {
        return Ok(public.trim().to_owned());
    }
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed()?));
    let failed = |what: &str| {
        BackendError::other(format!("cannot {what} an ssh key for {}", path.display()))
    };
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|_| failed("encode"))?;
    let mut public = key
        .public_key()
        .to_openssh()
        .map_err(|_| failed("encode"))?;
    public.push_str(" clusterdeck");
    write_private(path, private.as_bytes())?;
    std::fs::write(&public_path, format!("{public}\n")).map_err(|source| {
        BackendError::io(
            format_args!("cannot write {}", public_path.display()),
            &source,
        )
    })?;
    Ok(public)
}

fn seed() -> Result<[u8; 32], BackendError> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut seed))
        .map_err(|source| BackendError::io("cannot read /dev/urandom for an ssh key", &source))?;
    Ok(seed)
}

/// Written 0600 from the start, replacing a half-written file of a crash.
fn write_private(path: &Path, data: &[u8]) -> Result<(), BackendError> {
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(data))
        .map_err(|source| {
            BackendError::io(format_args!("cannot write {}", path.display()), &source)
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn keys_are_made_once_private_and_loadable() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = ensure(dir.path()).expect("made");
        assert!(
            keys.client_public.starts_with("ssh-ed25519 "),
            "{}",
            keys.client_public
        );
        assert!(keys.host_public.starts_with("ssh-ed25519 "));
        assert_ne!(keys.client_public, keys.host_public);
        let mode = std::fs::metadata(&keys.identity)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        russh::keys::load_secret_key(&keys.identity, None).expect("a key russh reads");
        let again = ensure(dir.path()).expect("kept");
        assert_eq!(again.client_public, keys.client_public, "made once");
        assert_eq!(keys.known_hosts, dir.path().join("ssh").join("known_hosts"));
    }
}
