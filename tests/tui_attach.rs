//! Attaching the dashboard to a cluster made elsewhere shows what its last
//! debuggers found, per node, not only its validators. Needs tmux: skipped
//! with a printed reason when it is missing, except under CI=true.

mod common;

use common::tmux::{Tmux, require_tmux};

#[test]
fn an_attach_shows_the_last_debugger_results() {
    if !require_tmux("an_attach_shows_the_last_debugger_results") {
        return;
    }
    // Made headless first, as from another terminal.
    let deck = common::Deck::new();
    let up = deck.run(&["up", "--headless", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", common::text(&up.stderr));
    let tmux = Tmux::open_in(deck, "quickstart", "attach quickstart", "", "attach-debug");
    tmux.wait_for("showing cluster quickstart");
    // The debuggers ran in the headless `up`; nothing re-ran them here.
    let screen = tmux.wait_for("agent-up");
    assert!(screen.contains("master-config"), "{screen}");
    assert!(
        screen.contains("role-count"),
        "the validators still show: {screen}"
    );
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit(), (0, String::new()));
    let destroy = tmux.deck.run(&["destroy", "quickstart"]);
    assert!(
        destroy.status.success(),
        "{}",
        common::text(&destroy.stderr)
    );
}
