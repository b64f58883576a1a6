//! More faults of a backend plugin through the real binary: methods it does
//! not implement (-32601), optional ones coped with and a required one
//! failing with the documented error; and the plugin killed (SIGKILL) while
//! create_group is in flight, after which `destroy` starts it afresh and,
//! driven by the journal, leaves nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::plugins::patched_dirs;
use common::{Deck, labelled, repo_root, text};

const SPEC: &str = "examples/plugins/dirs.yaml";
const NAME: &str = "dirs-demo";

/// PATH with `first` (holding a patched plugin) before the examples.
fn path_with(first: &Path) -> String {
    format!(
        "{}:{}:{}",
        first.display(),
        repo_root().join("examples/plugins").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run(deck: &Deck, path: &str, args: &[&str]) -> Output {
    deck.command(args)
        .env("PATH", path)
        .env_remove("CLUSTERDECK_DIRS_FAULT")
        .output()
        .expect("run clusterdeck")
}

fn nodes_root(deck: &Deck) -> PathBuf {
    deck.state
        .path()
        .join("clusters")
        .join(NAME)
        .join("dirs-nodes")
}

fn dirs_made(deck: &Deck) -> Vec<PathBuf> {
    std::fs::read_dir(nodes_root(deck))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn uid_of(deck: &Deck, path: &str) -> String {
    let inspect = run(deck, path, &["inspect", NAME, "--json"]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let record: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("record");
    record["uid"].as_str().expect("uid").to_owned()
}

/// Destroy succeeds and nothing of the cluster is left: no node directory,
/// no labelled process, no state.
fn destroy_leaves_nothing(deck: &Deck, path: &str, uid: &str, dirs: &[PathBuf]) {
    let destroy = run(deck, path, &["destroy", NAME]);
    assert!(
        destroy.status.success(),
        "{}\n{}",
        text(&destroy.stdout),
        text(&destroy.stderr)
    );
    assert!(
        labelled(uid).is_empty(),
        "left running: {:?}",
        labelled(uid)
    );
    for dir in dirs {
        assert!(!dir.exists(), "{} remains", dir.display());
    }
    assert!(!deck.state.path().join("clusters").join(NAME).exists());
}

#[test]
fn optional_methods_answering_not_implemented_are_coped_with() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    patched_dirs(
        dir.path(),
        "for m in ['preflight', 'validate', 'discover']:\n    del dirs.METHODS[m]",
    );
    let path = path_with(dir.path());
    let up = run(&deck, &path, &["up", "--headless", SPEC]);
    let stdout = text(&up.stdout);
    assert!(up.status.success(), "{stdout}\n{}", text(&up.stderr));
    assert!(stdout.contains("results: 3 pass, 0 fail"), "{stdout}");
    // discover is what `inspect` asks for live state: without it the known
    // nodes are shown as they are.
    let uid = uid_of(&deck, &path);
    let dirs = dirs_made(&deck);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    destroy_leaves_nothing(&deck, &path, &uid, &dirs);
}

#[test]
fn a_required_method_answering_not_implemented_fails_each_node_as_unsupported() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    patched_dirs(dir.path(), "del dirs.METHODS['create_group']");
    let path = path_with(dir.path());
    let up = run(&deck, &path, &["up", "--headless", SPEC]);
    let stdout = text(&up.stdout);
    assert_eq!(up.status.code(), Some(1), "{stdout}\n{}", text(&up.stderr));
    assert!(
        stdout.contains("\"dirs\" cannot create_group (not implemented by the plugin)"),
        "{stdout}"
    );
    assert!(dirs_made(&deck).is_empty());
    let uid = uid_of(&deck, &path);
    destroy_leaves_nothing(&deck, &path, &uid, &[]);
}

/// The plugin started by the clusterdeck process `parent`.
fn plugin_of(parent: u32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // pid (comm) state ppid ...
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == Some(parent)
                && String::from_utf8_lossy(&cmdline).contains("clusterdeck-plugin-dirs")
        })
}

#[test]
fn a_plugin_killed_mid_create_fails_up_and_destroy_restarts_it_and_leaves_nothing() {
    let deck = Deck::new();
    let path = path_with(&repo_root().join("examples/plugins"));
    // The plugin makes (and journals) its first node, then hangs: it is
    // killed from outside while create_group is in flight.
    let child = deck
        .command(&["up", "--headless", SPEC])
        .env("PATH", &path)
        .env("CLUSTERDECK_DIRS_FAULT", "hang-in-create")
        .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "60000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let deadline = Instant::now() + Duration::from_secs(30);
    let plugin = loop {
        if let Some(plugin) = plugin_of(child.id())
            && !dirs_made(&deck).is_empty()
        {
            break plugin;
        }
        assert!(Instant::now() < deadline, "the plugin never made a node");
        std::thread::sleep(Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(plugin),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL the plugin");
    let up = child.wait_with_output().expect("up ends");
    let stdout = text(&up.stdout);
    assert_eq!(up.status.code(), Some(1), "{stdout}\n{}", text(&up.stderr));
    assert!(
        stdout.contains(
            "plugin dirs failed during create_group: exited (signal: 9 (SIGKILL)) without answering"
        ),
        "{stdout}"
    );
    let made = dirs_made(&deck);
    assert_eq!(made.len(), 1, "{made:?}");
    let uid = uid_of(&deck, &path);
    destroy_leaves_nothing(&deck, &path, &uid, &made);
}
