//! The cluster's SSH key: an ed25519 pair made here (the private half never
//! leaves this machine: 0600 in the cluster's state directory), its public
//! half imported into EC2 so new instances authorise it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

use crate::backend::BackendError;

pub const FILE: &str = "aws_ed25519";

pub fn private_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

/// The EC2 key pair's name for a cluster.
pub fn key_name(uid: &str) -> String {
    format!("clusterdeck-{uid}")
}

/// The public key (OpenSSH format) of the cluster's key, made first if
/// the state directory has none yet (a retried `up` reuses it).
pub fn ensure(state_dir: &Path) -> Result<String, BackendError> {
    let path = private_key_path(state_dir);
    let key = match std::fs::read_to_string(&path) {
        Ok(text) => PrivateKey::from_openssh(&text).map_err(|_| {
            BackendError::other(format!("{} is not an OpenSSH private key", path.display()))
        })?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(&path)?,
        Err(error) => {
            return Err(BackendError::io(
                format!("reading {}", path.display()),
                &error,
            ));
        }
    };
    key.public_key()
        .to_openssh()
        .map_err(|_| BackendError::other("the cluster's public key could not be encoded"))
}

fn create(path: &Path) -> Result<PrivateKey, BackendError> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut seed))
        .map_err(|error| BackendError::io("reading /dev/urandom for a key", &error))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    key.set_comment("clusterdeck");
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|_| BackendError::other("the cluster's private key could not be encoded"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| BackendError::io(format!("creating {}", dir.display()), &error))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| BackendError::io(format!("creating {}", path.display()), &error))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| BackendError::io(format!("writing {}", path.display()), &error))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let public = ensure(dir.path()).expect("made");
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        let mode = std::fs::metadata(private_key_path(dir.path()))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(ensure(dir.path()).expect("reused"), public);
    }
}
