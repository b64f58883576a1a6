//! A backend plugin named by its file in the spec (`backend.path`), through
//! the real binary, with neither the plugins directory nor `PATH` holding
//! it: `up` from one directory, `inspect`, `scale` and `destroy` from
//! another, leaving nothing; a plugin file gone at destroy time named with
//! what remains (and by gc); a bad path and a path on a built-in kind
//! refused at their line and column before anything is created.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::plugins::{dirs_plugin, make_executable};
use common::{Deck, labelled, text};
use serde_json::Value;

/// A project directory: the spec, and the example dirs plugin copied under
/// a name discovery would never look for.
struct Project {
    dir: tempfile::TempDir,
    /// An empty XDG data dir, so the plugins directory holds nothing.
    data_home: tempfile::TempDir,
    /// A directory that is neither the project nor the repository.
    elsewhere: tempfile::TempDir,
}

const PLUGIN: &str = "plugins/dirs-backend";

impl Project {
    fn new(name: &str, backend: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("project dir"),
            data_home: tempfile::tempdir().expect("data home"),
            elsewhere: tempfile::tempdir().expect("elsewhere"),
        };
        let plugins = project.dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("plugins dir");
        let copy = project.dir.path().join(PLUGIN);
        std::fs::copy(dirs_plugin(), &copy).expect("copy the plugin");
        make_executable(&copy);
        let spec = format!(
            "name: {name}
backend:
{backend}
node_groups:
  - name: masters
    count: 1
    roles: [master]
  - name: agents
    count: 1
    roles: [agent]
checks:
  debuggers:
    - name: reachable
      run: \"echo reached\"
      expect: \"^reached$\"
      timeout: 10s
"
        );
        std::fs::write(project.dir.path().join("spec.yaml"), spec).expect("write spec");
        project
    }

    fn spec(&self) -> PathBuf {
        self.dir.path().join("spec.yaml")
    }

    fn plugin(&self) -> PathBuf {
        self.dir.path().join(PLUGIN)
    }

    /// clusterdeck run in `cwd`, with the system's PATH less any directory
    /// holding a dirs plugin, and an empty plugins directory.
    fn run(&self, deck: &Deck, cwd: &Path, args: &[&str]) -> Output {
        deck.command(args)
            .current_dir(cwd)
            .env("PATH", path_without_dirs_plugins())
            .env("XDG_DATA_HOME", self.data_home.path())
            .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "10000")
            .env_remove("CLUSTERDECK_DIRS_FAULT")
            .output()
            .expect("run clusterdeck")
    }
}

/// The system's PATH, without any directory where discovery would find a
/// `clusterdeck-plugin-dirs`.
fn path_without_dirs_plugins() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("clusterdeck-plugin-dirs").exists())
        .collect();
    std::env::join_paths(kept)
        .expect("join PATH")
        .to_string_lossy()
        .into_owned()
}

fn nodes_root(deck: &Deck, name: &str) -> PathBuf {
    deck.state
        .path()
        .join("clusters")
        .join(name)
        .join("dirs-nodes")
}

fn dirs_in(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

const BY_PATH: &str = "  kind: dirs\n  path: ./plugins/dirs-backend";

#[test]
fn a_plugin_named_by_its_path_brings_a_cluster_up_and_is_found_again_from_elsewhere() {
    let deck = Deck::new();
    let name = "pp-up";
    let project = Project::new(name, BY_PATH);
    // Found by kind, there is no dirs backend at all here.
    let by_kind = project.elsewhere.path().join("by-kind.yaml");
    std::fs::write(
        &by_kind,
        "name: pp-kind\nbackend: dirs\nnode_groups:\n  - {name: a, count: 1}\n",
    )
    .expect("write spec");
    let by_kind = project.run(
        &deck,
        project.elsewhere.path(),
        &["validate", &by_kind.display().to_string()],
    );
    assert!(!by_kind.status.success());
    assert!(
        text(&by_kind.stdout).contains("no plugin clusterdeck-plugin-dirs was found"),
        "{}",
        text(&by_kind.stdout)
    );

    // `up` from the directory above the project, the spec given relatively.
    let parent = project.dir.path().parent().expect("parent");
    let relative = project
        .spec()
        .strip_prefix(parent)
        .expect("under parent")
        .display()
        .to_string();
    let validate = project.run(&deck, parent, &["validate", &relative]);
    succeeded(&validate);
    // doctor also judges the state directory, which must be private.
    let mut perms = std::fs::metadata(deck.state.path())
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
    std::fs::set_permissions(deck.state.path(), perms).expect("chmod");
    let doctor = project.run(&deck, parent, &["doctor", &relative]);
    succeeded(&doctor);
    assert!(
        text(&doctor.stdout).contains("dirs: dirs-proc: pass"),
        "the plugin's preflight ran: {}",
        text(&doctor.stdout)
    );
    let up = project.run(&deck, parent, &["up", "--headless", &relative]);
    succeeded(&up);
    let made = dirs_in(&nodes_root(&deck, name));
    assert_eq!(made.len(), 2, "{made:?}");

    // Everything later runs elsewhere, where `./plugins/...` means nothing.
    let elsewhere = project.elsewhere.path();
    let inspect = project.run(&deck, elsewhere, &["inspect", name, "--json"]);
    succeeded(&inspect);
    let record: Value = serde_json::from_slice(&inspect.stdout).expect("record");
    let recorded = record["spec"]["backend"]["path"].as_str().expect("path");
    assert!(Path::new(recorded).is_absolute(), "{recorded}");
    assert_eq!(
        std::fs::canonicalize(recorded).expect("recorded plugin"),
        std::fs::canonicalize(project.plugin()).expect("plugin")
    );
    let shown = project.run(&deck, elsewhere, &["inspect", name]);
    succeeded(&shown);
    assert!(
        text(&shown.stdout).contains("backend  dirs (create, destroy,"),
        "the plugin was started for its capabilities: {}",
        text(&shown.stdout)
    );
    let uid = record["uid"].as_str().expect("uid").to_owned();

    let scale = project.run(&deck, elsewhere, &["scale", name, "agents", "2"]);
    succeeded(&scale);
    let made = dirs_in(&nodes_root(&deck, name));
    assert_eq!(made.len(), 3, "{made:?}");

    let destroy = project.run(&deck, elsewhere, &["destroy", name]);
    succeeded(&destroy);
    for dir in &made {
        assert!(!dir.exists(), "{} remains", dir.display());
    }
    assert!(!nodes_root(&deck, name).exists());
    assert!(
        labelled(&uid).is_empty(),
        "left running: {:?}",
        labelled(&uid)
    );
    assert!(!deck.state.path().join("clusters").join(name).exists());
}

#[test]
fn a_plugin_file_gone_at_destroy_time_is_named_with_what_remains() {
    let deck = Deck::new();
    let name = "pp-gone";
    let project = Project::new(name, BY_PATH);
    let spec = project.spec().display().to_string();
    succeeded(&project.run(&deck, project.dir.path(), &["up", "--headless", &spec]));
    let made = dirs_in(&nodes_root(&deck, name));
    assert_eq!(made.len(), 2, "{made:?}");

    let hidden = project.dir.path().join("dirs-backend.moved");
    std::fs::rename(project.plugin(), &hidden).expect("move the plugin away");
    let elsewhere = project.elsewhere.path();
    let destroy = project.run(&deck, elsewhere, &["destroy", name]);
    assert!(!destroy.status.success(), "{}", text(&destroy.stdout));
    let stderr = text(&destroy.stderr);
    let plugin = std::path::absolute(project.plugin()).expect("absolute");
    assert!(
        stderr.contains(&format!(
            "{} (backend.path of kind \"dirs\") does not exist",
            plugin.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 resource(s) remain: node-dir agents-1, node-dir masters-1")
            || stderr.contains("2 resource(s) remain: node-dir masters-1, node-dir agents-1"),
        "{stderr}"
    );
    for dir in &made {
        assert!(dir.exists(), "nothing is destroyed without its backend");
    }
    // gc asks the plugins known clusters name by path, and says when one is gone.
    let gc = project.run(&deck, elsewhere, &["gc"]);
    let said = format!("{}{}", text(&gc.stdout), text(&gc.stderr));
    assert!(
        said.contains(&format!(
            "{} (backend.path of kind \"dirs\") does not exist: what it labelled is not listed",
            plugin.display()
        )),
        "{said}"
    );

    // Back in place, the same destroy finishes the job.
    std::fs::rename(&hidden, project.plugin()).expect("put the plugin back");
    succeeded(&project.run(&deck, elsewhere, &["destroy", name]));
    for dir in &made {
        assert!(!dir.exists(), "{} remains", dir.display());
    }
    assert!(!deck.state.path().join("clusters").join(name).exists());
}

/// `validate` and `up` of a spec whose backend is refused: the `backend`
/// validator fails at `backend.path` (line 4, column 9 of the spec), and
/// `up` creates nothing.
fn refused_at_the_path(name: &str, backend: &str, expected: &str) {
    let deck = Deck::new();
    let project = Project::new(name, backend);
    let spec = project.spec().display().to_string();
    let validate = project.run(
        &deck,
        project.elsewhere.path(),
        &["-o", "json", "validate", &spec],
    );
    assert!(!validate.status.success());
    let view: Value = serde_json::from_slice(&validate.stdout).expect("validate json");
    let backend_outcome = view["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .find(|outcome| outcome["name"] == "backend")
        .cloned()
        .expect("a backend validator");
    assert_eq!(backend_outcome["status"], "fail", "{view}");
    assert_eq!(backend_outcome["field"], "backend.path", "{view}");
    assert_eq!(backend_outcome["location"]["line"], 4, "{view}");
    assert_eq!(backend_outcome["location"]["column"], 9, "{view}");
    let message = backend_outcome["message"].as_str().unwrap_or_default();
    assert!(message.contains(expected), "{message}");

    let up = project.run(
        &deck,
        project.elsewhere.path(),
        &["up", "--headless", &spec],
    );
    assert_eq!(up.status.code(), Some(1), "{}", text(&up.stderr));
    let stdout = text(&up.stdout);
    assert!(
        stdout.contains(&format!("{spec}:4:9: ")),
        "positioned: {stdout}"
    );
    assert!(text(&up.stderr).contains("1 validator(s) failed"));
    assert!(
        !deck.state.path().join("clusters").join(name).exists(),
        "nothing was created"
    );
}

#[test]
fn a_path_that_is_no_executable_is_refused_at_its_line_before_anything_is_created() {
    refused_at_the_path(
        "pp-missing",
        "  kind: dirs\n  path: ./plugins/nowhere",
        "/plugins/nowhere (backend.path of kind \"dirs\") does not exist",
    );
    refused_at_the_path(
        "pp-not-exec",
        "  kind: dirs\n  path: ./spec.yaml",
        "/spec.yaml (backend.path of kind \"dirs\") is not an executable file",
    );
}

#[test]
fn a_path_on_a_built_in_kind_is_refused_at_its_line() {
    refused_at_the_path(
        "pp-builtin",
        "  kind: local\n  path: ./plugins/dirs-backend",
        "backend \"local\" is built in and has no path",
    );
}

#[test]
fn a_plugin_at_the_path_naming_another_kind_is_refused() {
    refused_at_the_path(
        "pp-other-kind",
        "  kind: other\n  path: ./plugins/dirs-backend",
        "its info names the backend \"dirs\", not \"other\"",
    );
}
