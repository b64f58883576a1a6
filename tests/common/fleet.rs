//! A fleet of real OpenSSH servers on loopback ports, one sshd (own config,
//! host key, pid) per node, for a dedicated login user. Stopped on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The login user `scripts/test` creates for the fleet.
pub const USER: &str = "cdtest";
const SSHD: &str = "/usr/sbin/sshd";

pub struct SshNode {
    pub port: u16,
    pub host_key: PathBuf,
    config: PathBuf,
    child: Option<Child>,
}

pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<SshNode>,
    /// The client key the login user accepts.
    pub key: PathBuf,
    /// known_hosts listing every node's real host key.
    pub known_hosts: PathBuf,
    /// An empty HOME for clusterdeck, so no personal ssh files interfere.
    pub home: PathBuf,
}

/// Why the fleet cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    if !Path::new(SSHD).exists() {
        return Some(format!(
            "{SSHD} is missing (apt-get install openssh-server)"
        ));
    }
    if !nix::unistd::Uid::effective().is_root() {
        return Some("sshd must run as root to log in as the test user".to_owned());
    }
    let user = Command::new("id").arg(USER).output();
    if !user.is_ok_and(|out| out.status.success()) {
        return Some(format!(
            "the login user {USER} does not exist (scripts/test creates it)"
        ));
    }
    None
}

/// The fleet, or `None` (with the reason printed) where it cannot run.
/// Under CI=true a missing server is a failure, never a skip.
pub fn fleet(test: &str, size: usize) -> Option<Fleet> {
    if let Some(reason) = unavailable() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {reason}; under CI=true the sshd fleet is required"
        );
        eprintln!("SKIPPED {test}: {reason}");
        return None;
    }
    Some(Fleet::start(size))
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "clusterdeck-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn chmod(path: &Path, mode: u32) {
    let mut perms = std::fs::metadata(path).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, mode);
    std::fs::set_permissions(path, perms).expect("chmod");
}

impl Fleet {
    fn start(size: usize) -> Self {
        let dir = tempfile::tempdir().expect("fleet dir");
        // sshd reads authorized_keys as the login user.
        chmod(dir.path(), 0o755);
        let key = dir.path().join("client_key");
        keygen(&key);
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(key.with_extension("pub"), &authorized).expect("authorized_keys");
        chmod(&authorized, 0o644);
        let _ = std::fs::create_dir_all("/run/sshd");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let mut nodes = Vec::new();
        let mut known = String::new();
        for index in 0..size {
            let host_key = dir.path().join(format!("host_key_{index}"));
            keygen(&host_key);
            let port = free_port();
            let config = dir.path().join(format!("sshd_config_{index}"));
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {dir}/sshd_{index}.pid\n\
                     AuthorizedKeysFile {authorized}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAllowUsers {USER}\n\
                     MaxStartups 1000:30:2000\nMaxSessions 100\nLogLevel ERROR\nPrintMotd no\n",
                    key = host_key.display(),
                    dir = dir.path().display(),
                    authorized = authorized.display(),
                ),
            )
            .expect("sshd_config");
            let public = std::fs::read_to_string(host_key.with_extension("pub")).expect("host pub");
            let mut parts = public.split_whitespace();
            let (kind, blob) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            known.push_str(&format!("[127.0.0.1]:{port} {kind} {blob}\n"));
            nodes.push(SshNode {
                port,
                host_key,
                config,
                child: None,
            });
        }
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, known).expect("known_hosts");
        let mut fleet = Self {
            dir,
            nodes,
            key,
            known_hosts,
            home,
        };
        for index in 0..size {
            fleet.start_node(index);
        }
        fleet
    }

    pub fn start_node(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let log = std::fs::File::create(node.config.with_extension("log")).expect("log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        node.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", node.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd on port {} did not start",
                node.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops one node's sshd, as a machine that went down.
    pub fn stop_node(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn hosts(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect()
    }

    /// A spec for the whole fleet as one group, with extra YAML appended.
    pub fn spec(&self, name: &str, options: &str, extra: &str) -> PathBuf {
        let hosts: Vec<String> = self
            .hosts()
            .iter()
            .map(|host| format!("\"{host}\""))
            .collect();
        let text = format!(
            "name: {name}\nbackend:\n  kind: ssh\n  options:\n    user: {USER}\n    identity_files: [\"{key}\"]\n    known_hosts: \"{known}\"\n    ssh_config: \"\"\n    use_agent: false\n{options}node_groups:\n  - name: web\n    count: {count}\n    roles: [web]\n    options: {{ hosts: [{hosts}] }}\n{extra}",
            key = self.key.display(),
            known = self.known_hosts.display(),
            count = self.nodes.len(),
            hosts = hosts.join(", "),
        );
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).expect("spec");
        path
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.stop_node(index);
        }
    }
}
