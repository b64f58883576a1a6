//! Fake backend plugins for tests: the example dirs plugin with some of its
//! methods patched, and a proxy that records every protocol line in both
//! directions, in order.

use std::path::{Path, PathBuf};

use super::repo_root;

/// The example plugin.
pub fn dirs_plugin() -> PathBuf {
    repo_root().join("examples/plugins/clusterdeck-plugin-dirs")
}

pub fn make_executable(path: &Path) {
    let mut perms = std::fs::metadata(path).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

/// `dir/clusterdeck-plugin-dirs`: the example plugin loaded as a module,
/// `patch` (Python, with the module as `dirs`) run before it serves.
pub fn patched_dirs(dir: &Path, patch: &str) -> PathBuf {
    let path = dir.join("clusterdeck-plugin-dirs");
    let script = format!(
        r#"#!/usr/bin/env python3
import importlib.machinery, importlib.util, json, os, sys
loader = importlib.machinery.SourceFileLoader("dirs", {real:?})
dirs = importlib.util.module_from_spec(importlib.util.spec_from_loader("dirs", loader))
loader.exec_module(dirs)
{patch}
dirs.main()
"#,
        real = dirs_plugin().display().to_string(),
    );
    std::fs::write(&path, script).expect("write plugin");
    make_executable(&path);
    path
}

/// `dir/clusterdeck-plugin-<name>`: runs `real`, appending every line it is
/// sent (`> `) and every line it writes (`< `) to `log`, in the order they
/// pass.
pub fn recording_proxy(dir: &Path, name: &str, real: &Path, log: &Path) -> PathBuf {
    let path = dir.join(format!("clusterdeck-plugin-{name}"));
    let script = format!(
        r#"#!/usr/bin/env python3
import subprocess, sys, threading
lock = threading.Lock()
log = open({log:?}, "a")
child = subprocess.Popen([{real:?}], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
def record(mark, line):
    with lock:
        log.write(mark + line.decode().rstrip("\n") + "\n")
        log.flush()
def to_plugin():
    for line in sys.stdin.buffer:
        record("> ", line)
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()
threading.Thread(target=to_plugin, daemon=True).start()
for line in child.stdout:
    record("< ", line)
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
sys.exit(child.wait())
"#,
        log = log.display().to_string(),
        real = real.display().to_string(),
    );
    std::fs::write(&path, script).expect("write proxy");
    make_executable(&path);
    path
}
