//! The dashboard with a backend plugin, in a real terminal (tmux): `up` of
//! examples/plugins/dirs.yaml through the Python dirs plugin shows its nodes
//! and check results; `:backends` lists the plugin beside the built-ins;
//! `:destroy` removes the cluster. Needs tmux: skipped with a printed reason
//! when it is missing, except under CI=true.

mod common;

use common::repo_root;
use common::tmux::{Tmux, require_tmux};

#[test]
fn dashboard_up_through_the_dirs_plugin_and_its_backends_popup() {
    if !require_tmux("dashboard_up_through_the_dirs_plugin_and_its_backends_popup") {
        return;
    }
    let plugins = repo_root().join("examples/plugins");
    let env = format!("PATH={}:$PATH", plugins.display());
    let tmux = Tmux::open("dirs-demo", "up examples/plugins/dirs.yaml", &env, "plugin");

    let screen = tmux.wait_for("up succeeded");
    assert!(
        screen.contains("Install progress 3 done, 0 failed of 3"),
        "{screen}"
    );
    assert!(screen.contains("agents-[1-2] (2)"), "{screen}");
    assert!(screen.contains("masters-1"), "{screen}");
    assert!(screen.contains("agent-up"), "{screen}");
    assert!(screen.contains("dirs"), "the backend is named: {screen}");

    tmux.keys(&[":"]);
    tmux.type_line("backends");
    let screen = tmux.wait_for("plugin 0.1.0 (backend)");
    assert!(screen.contains("Backends · Esc closes"), "{screen}");
    assert!(screen.contains("local        built-in"), "{screen}");
    assert!(screen.contains("ssh          built-in"), "{screen}");
    assert!(
        screen.contains(
            &plugins
                .join("clusterdeck-plugin-dirs")
                .display()
                .to_string()
        ),
        "{screen}"
    );
    assert!(screen.contains("stop-start"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Backends · Esc closes");

    tmux.keys(&[":"]);
    tmux.type_line("destroy");
    tmux.wait_for("destroy succeeded");
    assert!(
        !tmux.state_dir().join("clusters").join("dirs-demo").exists(),
        "destroyed through the plugin"
    );
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    assert_eq!(tmux.exit(), (0, String::new()));
}
