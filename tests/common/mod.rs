//! Shared helpers for tests that run the real `clusterdeck` binary.
#![allow(dead_code)]

pub mod bundle;
pub mod crash;
pub mod docker;
pub mod fleet;
pub mod http;
pub mod moto;
pub mod plugins;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_clusterdeck");

/// A private state directory per test, so tests never see each other's clusters.
pub struct Deck {
    pub state: tempfile::TempDir,
}

impl Deck {
    pub fn new() -> Self {
        Self {
            state: tempfile::tempdir().expect("state dir"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("CLUSTERDECK_STATE_DIR", self.state.path())
            .env_remove("RUST_BACKTRACE")
            .current_dir(repo_root());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run clusterdeck")
    }

    /// JSON events printed by a `-o json` run.
    pub fn events(output: &Output) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }

    pub fn record(&self, name: &str) -> serde_json::Value {
        let output = self.run(&["inspect", name, "--json"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("record json")
    }
}

/// The node directories a cluster record lists.
pub fn node_dirs(record: &serde_json::Value) -> Vec<String> {
    record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["id"].as_str().expect("id").to_owned())
        .collect()
}

impl Deck {
    /// Destroys a cluster and checks nothing of it is left: no labelled
    /// process, no node directory, no state.
    pub fn destroy_leaves_nothing(&self, name: &str, uid: &str, node_dirs: &[String]) {
        let destroy = self.run(&["destroy", name]);
        assert!(destroy.status.success(), "{}", text(&destroy.stderr));
        assert!(
            labelled(uid).is_empty(),
            "left running: {:?}",
            labelled(uid)
        );
        for dir in node_dirs {
            assert!(!Path::new(dir).exists(), "{dir} remains");
        }
        assert!(!self.state.path().join("clusters").join(name).exists());
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// PIDs of live processes labelled with a cluster uid.
pub fn labelled(uid: &str) -> Vec<u32> {
    let needle = format!("CLUSTERDECK_CLUSTER_UID={uid}");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Writes a spec (and an installer script beside it) into `dir`.
pub fn write_spec(dir: &Path, spec: &str, installer: &str) -> PathBuf {
    let installer_path = dir.join("install.sh");
    std::fs::write(&installer_path, installer).expect("write installer");
    let mut perms = std::fs::metadata(&installer_path)
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&installer_path, perms).expect("chmod");
    let spec_path = dir.join("spec.yaml");
    std::fs::write(&spec_path, spec).expect("write spec");
    spec_path
}
