//! `gc` through the real binary: it lists what a damaged cluster left and
//! removes it only when told to.

mod common;

use common::{Deck, text};

#[test]
fn gc_lists_a_damaged_cluster_then_removes_it_with_yes() {
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
