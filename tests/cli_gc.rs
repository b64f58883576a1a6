//! `gc` through the real binary: it lists what a damaged cluster left and
//! removes it only when told to.

mod common;

use common::{Deck, text};

/// `gc --yes` removes every orphan on the machine, including one another
/// test of this file is still looking at: the tests here take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn gc_lists_a_damaged_cluster_then_removes_it_with_yes() {
    let _turn = one_at_a_time();
    let deck = Deck::new();
    let cluster = deck.state.path().join("clusters/broken");
    std::fs::create_dir_all(&cluster).expect("dir");
    std::fs::write(cluster.join("cluster.json"), "garbage{").expect("record");

    let dry = deck.run(&["gc"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(out.contains("broken"), "{out}");
    assert!(
        out.contains("`clusterdeck gc --yes` destroys what it left"),
        "{out}"
    );
    assert!(cluster.exists(), "a dry run removes nothing");

    let apply = deck.run(&["gc", "--yes"]);
    assert!(apply.status.success(), "{}", text(&apply.stderr));
    assert!(!cluster.exists(), "{}", text(&apply.stdout));

    let clean = deck.run(&["gc"]);
    assert!(clean.status.success());
    assert!(text(&clean.stdout).contains("nothing to collect"));
}

/// Kills by PID, on drop, whatever still carries `uid`: a failing test must
/// not leave the cluster's daemons running.
struct KillLabelled(String);

impl Drop for KillLabelled {
    fn drop(&mut self) {
        for pid in common::labelled(&self.0) {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

#[test]
fn a_cluster_whose_state_directory_was_deleted_is_found_by_its_labels_and_removed() {
    let _turn = one_at_a_time();
    let lost = Deck::new();
    let up = lost.run(&["up", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let uid = lost.record("quickstart")["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    let _guard = KillLabelled(uid.clone());
    assert!(
        !common::labelled(&uid).is_empty(),
        "the installer's daemons run"
    );
    // The whole state directory goes, and with it every record of the cluster.
    drop(lost);

    let other = Deck::new();
    let dry = other.run(&["gc"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(
        out.contains(&format!(
            "carries cluster uid {uid}, which no cluster here owns"
        )),
        "{out}"
    );
    assert!(
        !common::labelled(&uid).is_empty(),
        "a dry run removes nothing"
    );

    let apply = other.run(&["gc", "--yes"]);
    assert!(apply.status.success(), "{}", text(&apply.stdout));
    assert!(
        common::labelled(&uid).is_empty(),
        "gc --yes stopped every labelled process: {}",
        text(&apply.stdout)
    );
    let clean = other.run(&["gc"]);
    assert!(
        !text(&clean.stdout).contains(&uid),
        "{}",
        text(&clean.stdout)
    );
}

#[test]
fn gc_leaves_a_live_cluster_of_another_state_directory_alone() {
    let _turn = one_at_a_time();
    let owner = Deck::new();
    let up = owner.run(&["up", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let uid = owner.record("quickstart")["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    let _guard = KillLabelled(uid.clone());
    let running = common::labelled(&uid);

    let stranger = Deck::new();
    let apply = stranger.run(&["gc", "--yes"]);
    assert!(apply.status.success(), "{}", text(&apply.stdout));
    assert!(
        !text(&apply.stdout).contains(&uid),
        "{}",
        text(&apply.stdout)
    );
    for pid in running {
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} of another state directory's cluster still runs"
        );
    }
    let destroy = owner.run(&["destroy", "quickstart"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}
