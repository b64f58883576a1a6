//! Every plugin discovery can see, for `clusterdeck plugins`: the
//! executables `clusterdeck-plugin-*` of the plugins directory and of `PATH`,
//! the first of each name winning as in a shell, each started once to ask
//! what it is and then killed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use super::backend::fetch_info;
use super::client::PluginClient;
use super::discovery::{PREFIX, is_executable, is_plugin_name, search_dirs};
use super::error::PluginError;
use super::handshake::initialize_any;

/// A plugin found by name: the executable that wins, and the ones of the
/// same name later in the search order that it hides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPlugin {
    pub name: String,
    pub path: PathBuf,
    pub shadowed: Vec<PathBuf>,
}

/// What a plugin said of itself in `initialize` and `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDescription {
    pub version: String,
    pub kinds: Vec<String>,
    pub capabilities: Vec<&'static str>,
}

/// Every plugin in `dirs` (searched in order), sorted by name. Directories
/// that cannot be read are skipped: a stale `PATH` entry is no error.
pub fn discover_in(dirs: &[PathBuf]) -> Vec<FoundPlugin> {
    let mut found: BTreeMap<String, FoundPlugin> = BTreeMap::new();
    for dir in dirs {
        for (name, path) in plugins_in(dir) {
            match found.get_mut(&name) {
                Some(first) if first.path != path && !first.shadowed.contains(&path) => {
                    first.shadowed.push(path);
                }
                Some(_) => {}
                None => {
                    found.insert(
                        name.clone(),
                        FoundPlugin {
                            name,
                            path,
                            shadowed: Vec::new(),
                        },
                    );
                }
            }
        }
    }
    found.into_values().collect()
}

/// Every plugin in the plugins directory and on `PATH`.
pub fn discover() -> Vec<FoundPlugin> {
    discover_in(&search_dirs())
}

/// The plugins of one directory, sorted by name.
fn plugins_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut plugins: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let name = file.strip_prefix(PREFIX)?.to_owned();
            let path = entry.path();
            (is_plugin_name(&name) && is_executable(&path)).then_some((name, path))
        })
        .collect();
    plugins.sort();
    plugins
}

/// Starts the plugin, hand-shakes, asks a backend plugin for its info, and
/// kills it again (waiting until it is gone), whatever the outcome. Validator
/// and debugger plugins have no info: their kinds and version are all a
/// listing shows of them.
pub fn describe(plugin: &FoundPlugin, silence: Duration) -> Result<PluginDescription, PluginError> {
    let client = Arc::new(PluginClient::start(&plugin.name, &plugin.path, silence)?);
    let asking = Arc::clone(&client);
    let name = plugin.name.clone();
    // A thread of its own with its own runtime: the dashboard lists plugins
    // from a blocking task, where no runtime may be started.
    let described = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| PluginError::Handshake {
                plugin: name.clone(),
                detail: format!("cannot start a runtime: {err}"),
            })?;
        runtime.block_on(ask(&asking, &name))
    })
    .join()
    .unwrap_or_else(|_| {
        Err(PluginError::Handshake {
            plugin: plugin.name.clone(),
            detail: "the listing thread panicked".to_owned(),
        })
    });
    client.stop("clusterdeck only listed it");
    described
}

async fn ask(client: &PluginClient, name: &str) -> Result<PluginDescription, PluginError> {
    let hello = initialize_any(client).await?;
    let capabilities = if hello.kinds.iter().any(|kind| kind == "backend") {
        let info = fetch_info(client).await?;
        if info.kind != name {
            return Err(PluginError::Handshake {
                plugin: name.to_owned(),
                detail: format!("its info names the backend {:?}, not {name:?}", info.kind),
            });
        }
        info.capabilities.names()
    } else {
        Vec::new()
    };
    Ok(PluginDescription {
        version: hello.version,
        kinds: hello.kinds,
        capabilities,
    })
}

/// How long a listed plugin may stay silent unless
/// `CLUSTERDECK_PLUGIN_SILENCE_MS` says otherwise: a listing should not wait
/// a minute for one hung plugin.
pub const LIST_SILENCE: Duration = Duration::from_secs(10);

/// A plugin found, and what it said of itself (or why it could not).
pub type Described = (FoundPlugin, Result<PluginDescription, PluginError>);

/// Every plugin discovery sees, each described on a thread of its own: one
/// slow plugin costs its own timeout, not the sum of all of them. Blocks
/// until all have answered or timed out.
pub fn describe_all() -> Vec<Described> {
    let silence = match std::env::var_os(super::discovery::SILENCE_ENV) {
        Some(_) => super::discovery::silence(),
        None => LIST_SILENCE,
    };
    let found = discover();
    std::thread::scope(|scope| {
        let probes: Vec<_> = found
            .into_iter()
            .map(|found| {
                scope.spawn(move || {
                    let description = describe(&found, silence);
                    (found, description)
                })
            })
            .collect();
        probes
            .into_iter()
            .filter_map(|probe| probe.join().ok())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn put(dir: &Path, file: &str, mode: u32) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn the_first_of_a_name_wins_and_later_ones_are_shadowed() {
        let first = tempfile::tempdir().expect("dir");
        let second = tempfile::tempdir().expect("dir");
        let a1 = put(first.path(), "clusterdeck-plugin-a", 0o755);
        put(first.path(), "clusterdeck-plugin-notexec", 0o644);
        put(first.path(), "clusterdeck-plugin-", 0o755);
        put(first.path(), "clusterdeck-plugin-bad.name", 0o755);
        put(first.path(), "other-tool", 0o755);
        let a2 = put(second.path(), "clusterdeck-plugin-a", 0o755);
        let b = put(second.path(), "clusterdeck-plugin-b", 0o755);
        let missing = first.path().join("missing");
        let dirs = vec![
            first.path().to_path_buf(),
            missing,
            second.path().to_path_buf(),
            // The same directory twice on PATH hides nothing.
            second.path().to_path_buf(),
        ];
        assert_eq!(
            discover_in(&dirs),
            vec![
                FoundPlugin {
                    name: "a".to_owned(),
                    path: a1,
                    shadowed: vec![a2],
                },
                FoundPlugin {
                    name: "b".to_owned(),
                    path: b,
                    shadowed: Vec::new(),
                },
            ]
        );
    }
}
