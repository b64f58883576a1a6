//! The dashboard shows a cluster's distribution, in a real terminal (tmux):
//! the built-in script's config is untyped; the example kvstore plugin's
//! typed configs are listed with their values in force (priority 2 behind
//! `a`, an `{env: NAME}` value never resolved), and the processes of each
//! role show in the node groups panel. Needs tmux: skipped with a printed
//! reason when it is missing, except under CI=true.

mod common;

use common::repo_root;
use common::tmux::{Tmux, require_tmux};

#[test]
fn a_script_distribution_shows_its_config_is_untyped() {
    if !require_tmux("a_script_distribution_shows_its_config_is_untyped") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        "name: tuiscript\nnode_groups: [{ name: web, count: 2, roles: [web] }]\n\
         install: { from: install.sh, config: { greeting: hello } }\n",
        "#!/bin/sh\necho installed \"$1\"\n",
    );
    let tmux = Tmux::up("tuiscript", spec.to_str().expect("path"), "script");
    tmux.wait_for("up succeeded");
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("script: untyped config");
    assert!(screen.contains("Configs of tuiscript"), "{screen}");
    assert!(
        screen.contains("▾ web (2)  roles: web "),
        "no processes for a script: {screen}"
    );
    assert!(!screen.contains("[web"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Configs of tuiscript");
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    assert_eq!(tmux.exit(), (0, String::new()));
}

#[test]
fn kvstore_configs_advanced_toggle_and_processes_per_role() {
    if !require_tmux("kvstore_configs_advanced_toggle_and_processes_per_role") {
        return;
    }
    // A copy of the example, so the test can take it away.
    let dir = tempfile::tempdir().expect("dir");
    let plugin = dir.path().join("clusterdeck-plugin-kvstore");
    std::fs::copy(
        repo_root().join("examples/plugins/clusterdeck-plugin-kvstore"),
        &plugin,
    )
    .expect("copy the example plugin");
    let spec = dir.path().join("kv.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: tuikv\nbackend: {{ kind: local }}\nnode_groups:\n\
             \x20 - {{ name: masters, count: 1, roles: [master] }}\n\
             \x20 - {{ name: workers, count: 2, roles: [worker], config: {{ heap_mb: 128 }} }}\n\
             install:\n\
             \x20 distribution: kvstore\n\
             \x20 path: {}\n\
             \x20 config: {{ cluster_token: {{ env: TUI_KV_TOKEN }}, replication: two }}\n",
            plugin.display()
        ),
    )
    .expect("write spec");
    let tmux = Tmux::open(
        "tuikv",
        &format!("up {}", spec.display()),
        "TUI_KV_TOKEN=tui-secret-token",
        "kvstore",
    );
    let screen = tmux.wait_for("up succeeded");
    // Each node's phase is its step: `start` came last, after `configure`.
    assert!(
        screen.contains("Install progress 3 done, 0 failed of 3"),
        "{screen}"
    );
    for node in ["masters-1", "workers-1", "workers-2"] {
        assert!(
            screen.contains(&format!("{node:<16} start ")),
            "{node}:\n{screen}"
        );
    }

    // The processes per role, once the distribution has been described.
    let screen = tmux.wait_for("[master: kv-master]");
    assert!(
        screen.contains("▾ workers (2)  roles: worker  [worker: kv-worker]"),
        "{screen}"
    );

    tmux.keys(&["c"]);
    let screen = tmux.wait_for("kvstore 1.1 · 6 configs");
    assert!(screen.contains("Configs of tuikv"), "{screen}");
    for shown in [
        "cluster_token",
        "{env: TUI_KV_TOKEN}",
        "replication",
        "port",
    ] {
        assert!(screen.contains(shown), "{shown:?} missing:\n{screen}");
    }
    assert!(screen.contains("advanced hidden: a shows them"), "{screen}");
    assert!(!screen.contains("heap_mb"), "priority 2 hidden:\n{screen}");
    assert!(
        !screen.contains("tui-secret-token"),
        "an env reference is never resolved on screen:\n{screen}"
    );

    tmux.keys(&["a"]);
    let screen = tmux.wait_for("heap_mb");
    for shown in [
        "log_level",
        "masters=64 workers=128",
        "debug|info|warn",
        "a hides the advanced",
    ] {
        assert!(screen.contains(shown), "{shown:?} missing:\n{screen}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Configs of tuikv");

    // After an operation that changes the cluster it is described again:
    // with the plugin gone, that fails, shown as one line.
    std::fs::remove_file(&plugin).expect("remove the plugin's copy");
    tmux.keys(&[":"]);
    tmux.type_line("stop");
    tmux.wait_for("stop succeeded");
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("distribution kvstore: ");
    assert_eq!(
        screen.matches("distribution kvstore: ").count(),
        1,
        "one line:\n{screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_gone("Configs of tuikv");

    tmux.keys(&[":"]);
    tmux.type_line("destroy");
    tmux.wait_for("destroy succeeded");
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    assert_eq!(tmux.exit(), (0, String::new()));
}
