//! Turns spec text into a [`ClusterSpec`], reporting every problem at once.

use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYamlOwned};

use super::error::{SpecError, SpecErrors, SpecLocation};
use super::files::read_files;
use super::installer_url::{FromKind, classify, is_sha256_hex};
use super::positions::SpecPositions;
use super::prescan::prescan;
use super::secrets::check_env_references;
use super::source::clean_text;
use super::yaml::{MapView, Reader, Val};
use super::{
    BackendSpec, ChecksSpec, ClusterSpec, DEFAULT_DEBUGGER_TIMEOUT, DebuggerSpec, InstallSource,
    InstallSpec, NodeGroupSpec, PluginCheck, ValidatorSpec,
};

const TOP_FIELDS: &[&str] = &["name", "backend", "node_groups", "install", "checks"];

pub fn decode(text: &str, origin: &Path) -> Result<ClusterSpec, SpecErrors> {
    decode_with_positions(text, origin).map(|(spec, _)| spec)
}

/// Decodes, and records where every element of the spec is.
pub fn decode_with_positions(
    text: &str,
    origin: &Path,
) -> Result<(ClusterSpec, SpecPositions), SpecErrors> {
    let text = clean_text(text, origin)?;
    // Refuse aliases, repeated keys and deep nesting before saphyr builds a
    // tree: its loader expands aliases and keeps only the last repeated key.
    let syntax_error = |err: &saphyr_parser::ScanError| {
        let marker = err.marker();
        SpecError::at(
            SpecLocation {
                file: origin.to_path_buf(),
                line: marker.line(),
                column: marker.col() + 1,
            },
            "",
            format!("this is not valid YAML: {}", err.info()),
        )
    };
    match prescan(text, origin) {
        Ok(found) if found.errors.is_empty() => {}
        Ok(found) => return Err(SpecErrors(found.errors)),
        Err((mut errors, err)) => {
            errors.push(syntax_error(&err));
            return Err(SpecErrors(errors));
        }
    }
    let documents = MarkedYamlOwned::load_from_str(text)
        .map_err(|err| SpecErrors::single(syntax_error(&err)))?;
    let root = match documents.as_slice() {
        [] => {
            return Err(SpecErrors::single(SpecError::file(
                origin,
                "the file is empty; a spec needs at least `name` and `node_groups`",
            )));
        }
        [root] => root,
        [_, second, ..] => {
            let mut reader = Reader::new(origin);
            reader.error(
                Val::new(second, ""),
                "a spec file holds one YAML document; found a second one",
            );
            return Err(SpecErrors(reader.errors));
        }
    };
    let mut reader = Reader::new(origin);
    let spec = read_spec(&mut reader, Val::new(root, ""));
    match spec {
        Some(spec) if reader.errors.is_empty() => {
            let mut positions = std::collections::BTreeMap::new();
            reader.record_positions(Val::new(root, ""), &mut positions);
            Ok((spec, SpecPositions::new(positions)))
        }
        _ => {
            let mut errors = reader.errors;
            errors.sort_by_key(|error| {
                error
                    .location
                    .as_ref()
                    .map(|at| (at.line, at.column))
                    .unwrap_or_default()
            });
            Err(SpecErrors(errors))
        }
    }
}

fn read_spec(reader: &mut Reader, root: Val<'_>) -> Option<ClusterSpec> {
    let mut map = reader.map(root)?;
    let name = map
        .require(reader, "name", "the cluster's name")
        .and_then(|(path, node)| reader.name(Val::new(node, &path)));
    let backend = match map.take("backend") {
        Some((path, node)) => read_backend(reader, Val::new(node, &path)),
        None => Some(BackendSpec::default()),
    };
    let node_groups = map
        .require(reader, "node_groups", "a list of {name, count, roles}")
        .and_then(|(path, node)| read_groups(reader, Val::new(node, &path)));
    let install = match map.take("install") {
        Some((path, node)) => read_install(reader, Val::new(node, &path)).map(Some),
        None => Some(None),
    };
    let checks = match map.take("checks") {
        Some((path, node)) => read_checks(reader, Val::new(node, &path)),
        None => Some(ChecksSpec::default()),
    };
    map.finish(reader, TOP_FIELDS);
    Some(ClusterSpec {
        name: name?,
        backend: backend?,
        node_groups: node_groups?,
        install: install?,
        checks: checks?,
    })
}

/// `backend: docker` is short for `backend: {kind: docker}`.
fn read_backend(reader: &mut Reader, val: Val<'_>) -> Option<BackendSpec> {
    if reader_is_string(val) {
        return reader.name(val).map(|kind| BackendSpec {
            kind,
            path: None,
            options: Default::default(),
        });
    }
    let mut map = reader.map(val)?;
    let kind = match map.take("kind") {
        Some((path, node)) => reader.name(Val::new(node, &path)),
        None => Some(BackendSpec::default().kind),
    };
    let file = match map.take("path") {
        Some((path, node)) => read_file_path(reader, Val::new(node, &path)).map(Some),
        None => Some(None),
    };
    let options = match map.take("options") {
        Some((path, node)) => read_options(reader, Val::new(node, &path)),
        None => Some(Default::default()),
    };
    map.finish(reader, &["kind", "path", "options"]);
    Some(BackendSpec {
        kind: kind?,
        path: file?,
        options: options?,
    })
}

/// A file named in the spec: a non-empty string, kept as written.
fn read_file_path(reader: &mut Reader, val: Val<'_>) -> Option<PathBuf> {
    let file = reader.string(val)?;
    if file.is_empty() {
        reader.error(val, "expected the path of a file, found an empty string");
        return None;
    }
    Some(PathBuf::from(file))
}

fn read_options(
    reader: &mut Reader,
    val: Val<'_>,
) -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
    if val.is_null() {
        return Some(Default::default());
    }
    reader.json_map(val)
}

fn reader_is_string(val: Val<'_>) -> bool {
    matches!(
        &val.node.data,
        saphyr::YamlDataOwned::Value(saphyr::ScalarOwned::String(_))
    )
}

fn read_groups(reader: &mut Reader, val: Val<'_>) -> Option<Vec<NodeGroupSpec>> {
    let items = reader.seq(val)?;
    if items.is_empty() {
        reader.error(val, "expected at least one node group");
        return None;
    }
    let mut groups = Vec::with_capacity(items.len());
    let mut ok = true;
    for (path, node) in &items {
        match read_group(reader, Val::new(node, path)) {
            Some(group) => groups.push(group),
            None => ok = false,
        }
    }
    ok.then_some(groups)
}

fn read_group(reader: &mut Reader, val: Val<'_>) -> Option<NodeGroupSpec> {
    let mut map = reader.map(val)?;
    let name = map
        .require(reader, "name", "the group's name")
        .and_then(|(path, node)| reader.name(Val::new(node, &path)));
    let count = map
        .require(reader, "count", "a whole number ≥ 0")
        .and_then(|(path, node)| reader.whole_number(Val::new(node, &path)));
    let roles = match map.take("roles") {
        Some((path, node)) => reader.name_list(Val::new(node, &path)),
        None => Some(Vec::new()),
    };
    let options = match map.take("options") {
        Some((path, node)) => read_options(reader, Val::new(node, &path)),
        None => Some(Default::default()),
    };
    let config = match map.take("config") {
        Some((path, node)) => read_options(reader, Val::new(node, &path)),
        None => Some(Default::default()),
    };
    map.finish(reader, &["name", "count", "roles", "options", "config"]);
    Some(NodeGroupSpec {
        name: name?,
        count: count?,
        roles: roles?,
        options: options?,
        config: config?,
    })
}

fn read_install(reader: &mut Reader, val: Val<'_>) -> Option<InstallSpec> {
    let mut map = reader.map(val)?;
    let distribution = match map.take("distribution") {
        Some((path, node)) => reader.name(Val::new(node, &path)),
        None => Some("script".to_owned()),
    };
    let plugin_path = match map.take("path") {
        Some((path, node)) => {
            let val = Val::new(node, &path);
            let file = reader.string(val);
            if distribution.as_deref() == Some("script") {
                reader.error(
                    val,
                    "the built-in script distribution has no path: name a distribution plugin, or use `from` for the installer",
                );
            }
            file.map(|file| Some(PathBuf::from(file)))
        }
        None => Some(None),
    };
    let version = match map.take("version") {
        Some((path, node)) => reader.string(Val::new(node, &path)).map(Some),
        None => Some(None),
    };
    let phases = match map.take("phases") {
        Some((path, node)) => read_phases(reader, Val::new(node, &path)),
        None => Some(Vec::new()),
    };
    let taken = if distribution.as_deref() == Some("script") {
        map.require(reader, "from", "a path to the installer, or an http(s) URL")
    } else {
        map.take("from")
    };
    let taken_from = taken.is_some() || distribution.as_deref() == Some("script");
    let from = taken.and_then(|(path, node)| {
        let val = Val::new(node, &path);
        let text = reader.string(val)?;
        if text.trim().is_empty() {
            reader.error(val, "expected a path or a URL, found an empty string");
            return None;
        }
        match classify(&text) {
            FromKind::Path => Some(InstallSource::Path(PathBuf::from(text))),
            FromKind::Url => Some(InstallSource::Url(text)),
            FromKind::BadUrl(problem) => {
                reader.error(val, problem);
                None
            }
        }
    });
    let config = match map.take("config") {
        Some((path, node)) => {
            let val = Val::new(node, &path);
            let config = reader.json(val);
            check_env_references(reader, val);
            config
        }
        None => Some(serde_json::Value::Object(Default::default())),
    };
    let installer_name = match &from {
        Some(InstallSource::Path(path)) => path.file_name().and_then(|name| name.to_str()),
        _ => None,
    };
    let files = match map.take("files") {
        Some((path, node)) => read_files(reader, Val::new(node, &path), installer_name),
        None => Some(Vec::new()),
    };
    let timeout = match map.take("timeout") {
        Some((path, node)) => reader.duration(Val::new(node, &path)).map(Some),
        None => Some(None),
    };
    let sha256 = match map.take("sha256") {
        Some((path, node)) => read_sha256(reader, Val::new(node, &path), from.as_ref()),
        None => Some(None),
    };
    let decommission = match map.take("decommission") {
        Some((path, node)) => {
            let val = Val::new(node, &path);
            reader.string(val).and_then(|command| {
                if command.trim().is_empty() {
                    reader.error(val, "expected a shell command, found an empty string");
                    None
                } else {
                    Some(Some(command))
                }
            })
        }
        None => Some(None),
    };
    let log_paths = match map.take("log_paths") {
        Some((path, node)) => super::log_paths::read_log_paths(reader, Val::new(node, &path)),
        None => Some(Default::default()),
    };
    map.finish(
        reader,
        &[
            "distribution",
            "path",
            "version",
            "phases",
            "from",
            "config",
            "files",
            "timeout",
            "sha256",
            "decommission",
            "log_paths",
        ],
    );
    let from = match (from, taken_from) {
        (Some(from), _) => Some(from),
        (None, false) => None,
        (None, true) => return None,
    };
    Some(InstallSpec {
        distribution: distribution?,
        path: plugin_path?,
        version: version?,
        phases: phases?,
        from,
        config: config?,
        files: files?,
        timeout: timeout?,
        sha256: sha256?,
        decommission: decommission?,
        log_paths: log_paths?,
    })
}

/// `phases: [start, decommission]`: the phases after `configure` a script
/// takes part in.
fn read_phases(reader: &mut Reader, val: Val<'_>) -> Option<Vec<crate::model::Phase>> {
    let items = reader.seq(val)?;
    let mut phases = Vec::new();
    let mut ok = true;
    for (path, node) in &items {
        let val = Val::new(node, path);
        let Some(name) = reader.string(val) else {
            ok = false;
            continue;
        };
        match crate::model::Phase::parse(&name) {
            Some(crate::model::Phase::Configure) => {
                reader.error(val, "configure always runs: list only the phases after it (start, scale, decommission, terminate)");
                ok = false;
            }
            Some(phase) if !phases.contains(&phase) => phases.push(phase),
            Some(_) => {}
            None => {
                reader.error(
                    val,
                    format!(
                        "unknown phase {name:?}: expected start, scale, decommission or terminate"
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(phases)
}

/// The digest a downloaded installer must have; a path source has nothing
/// to download, so a digest there is a mistake worth pointing at.
fn read_sha256(
    reader: &mut Reader,
    val: Val<'_>,
    from: Option<&InstallSource>,
) -> Option<Option<String>> {
    let digest = reader.string(val)?;
    if !is_sha256_hex(&digest) {
        reader.error(
            val,
            format!(
                "expected a SHA-256 digest of 64 hexadecimal digits, found {digest:?} ({} characters)",
                digest.chars().count()
            ),
        );
        return None;
    }
    if let Some(InstallSource::Path(_)) = from {
        reader.error(
            val,
            "`sha256` only applies when `from` is an http(s) URL; remove it for a path",
        );
        return None;
    }
    Some(Some(digest.to_ascii_lowercase()))
}

fn read_checks(reader: &mut Reader, val: Val<'_>) -> Option<ChecksSpec> {
    let mut map = reader.map(val)?;
    let validators = match map.take("validators") {
        Some((path, node)) => read_list(reader, Val::new(node, &path), read_validator),
        None => Some(Vec::new()),
    };
    let debuggers = match map.take("debuggers") {
        Some((path, node)) => read_list(reader, Val::new(node, &path), read_debugger),
        None => Some(Vec::new()),
    };
    map.finish(reader, &["validators", "debuggers"]);
    Some(ChecksSpec {
        validators: validators?,
        debuggers: debuggers?,
    })
}

fn read_list<T>(
    reader: &mut Reader,
    val: Val<'_>,
    item: fn(&mut Reader, Val<'_>) -> Option<T>,
) -> Option<Vec<T>> {
    let items = reader.seq(val)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (path, node) in &items {
        match item(reader, Val::new(node, path)) {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

const VALIDATOR_RULES: &[&str] = &["role-count", "required-option"];

fn read_validator(reader: &mut Reader, val: Val<'_>) -> Option<ValidatorSpec> {
    let mut map = reader.map(val)?;
    if let Some(plugin) = map.take("plugin") {
        let check = read_plugin_check(reader, &mut map, plugin);
        map.finish(reader, &["plugin", "path", "options"]);
        return check.map(ValidatorSpec::Plugin);
    }
    let (rule_path, rule_node) =
        map.require(reader, "rule", "one of: role-count, required-option")?;
    let rule_val = Val::new(rule_node, &rule_path);
    let rule = reader.string(rule_val)?;
    let spec = match rule.as_str() {
        "role-count" => {
            let role = map
                .require(reader, "role", "the role to count")
                .and_then(|(path, node)| reader.name(Val::new(node, &path)));
            let mut bound = |field: &str| match map.take(field) {
                Some((path, node)) => reader.whole_number(Val::new(node, &path)).map(Some),
                None => Some(None),
            };
            let (equals, min, max) = (bound("equals"), bound("min"), bound("max"));
            let (equals, min, max) = (equals?, min?, max?);
            if equals.is_none() && min.is_none() && max.is_none() {
                reader.error(
                    val,
                    "role-count needs at least one of `equals`, `min`, `max`",
                );
            }
            map.finish(reader, &["rule", "role", "equals", "min", "max"]);
            ValidatorSpec::RoleCount {
                role: role?,
                equals,
                min,
                max,
            }
        }
        "required-option" => {
            let option = map
                .require(reader, "option", "the backend option that must be set")
                .and_then(|(path, node)| reader.string(Val::new(node, &path)));
            map.finish(reader, &["rule", "option"]);
            ValidatorSpec::RequiredOption { option: option? }
        }
        other => {
            reader.error(
                rule_val,
                format!(
                    "unknown validator rule {other:?}; expected one of: {}",
                    VALIDATOR_RULES.join(", ")
                ),
            );
            return None;
        }
    };
    Some(spec)
}

/// `plugin: NAME` with an optional `path` and `options`, the rest of the
/// mapping left to the caller.
fn read_plugin_check(
    reader: &mut Reader,
    map: &mut MapView<'_>,
    (path, node): (String, &MarkedYamlOwned),
) -> Option<PluginCheck> {
    let plugin = reader.name(Val::new(node, &path));
    let file = match map.take("path") {
        Some((path, node)) => reader
            .string(Val::new(node, &path))
            .map(|file| Some(PathBuf::from(file))),
        None => Some(None),
    };
    let options = match map.take("options") {
        Some((path, node)) => read_options(reader, Val::new(node, &path)),
        None => Some(Default::default()),
    };
    Some(PluginCheck {
        plugin: plugin?,
        path: file?,
        options: options?,
    })
}

fn read_plugin_debugger(
    reader: &mut Reader,
    mut map: MapView<'_>,
    plugin: (String, &MarkedYamlOwned),
) -> Option<DebuggerSpec> {
    let check = read_plugin_check(reader, &mut map, plugin);
    let name = match map.take("name") {
        Some((path, node)) => reader.name(Val::new(node, &path)),
        None => check.as_ref().map(|check| check.plugin.clone()),
    };
    let roles = match map.take("roles") {
        Some((path, node)) => reader.name_list(Val::new(node, &path)),
        None => Some(Vec::new()),
    };
    let timeout = match map.take("timeout") {
        Some((path, node)) => reader.duration(Val::new(node, &path)),
        None => Some(DEFAULT_DEBUGGER_TIMEOUT),
    };
    map.finish(
        reader,
        &["plugin", "path", "options", "name", "roles", "timeout"],
    );
    Some(DebuggerSpec {
        name: name?,
        roles: roles?,
        run: String::new(),
        plugin: Some(check?),
        expect: None,
        exit_code: 0,
        timeout: timeout?,
    })
}

fn read_debugger(reader: &mut Reader, val: Val<'_>) -> Option<DebuggerSpec> {
    let mut map = reader.map(val)?;
    if let Some(plugin) = map.take("plugin") {
        return read_plugin_debugger(reader, map, plugin);
    }
    let name = map
        .require(reader, "name", "the debugger's name")
        .and_then(|(path, node)| reader.name(Val::new(node, &path)));
    let roles = match map.take("roles") {
        Some((path, node)) => reader.name_list(Val::new(node, &path)),
        None => Some(Vec::new()),
    };
    let run = map
        .require(reader, "run", "a shell command")
        .and_then(|(path, node)| reader.string(Val::new(node, &path)));
    let expect = match map.take("expect") {
        Some((path, node)) => {
            let val = Val::new(node, &path);
            reader
                .string(val)
                .and_then(|pattern| match regex::Regex::new(&pattern) {
                    Ok(_) => Some(Some(pattern)),
                    Err(err) => {
                        let text = err.to_string();
                        let last = text.lines().last().unwrap_or_default();
                        let detail = last.trim_start_matches("error: ");
                        reader.error(val, format!("expected a regular expression: {detail}"));
                        None
                    }
                })
        }
        None => Some(None),
    };
    let exit_code = match map.take("exit_code") {
        Some((path, node)) => reader.integer(Val::new(node, &path)),
        None => Some(0),
    };
    let timeout = match map.take("timeout") {
        Some((path, node)) => reader.duration(Val::new(node, &path)),
        None => Some(DEFAULT_DEBUGGER_TIMEOUT),
    };
    map.finish(
        reader,
        &["name", "roles", "run", "expect", "exit_code", "timeout"],
    );
    Some(DebuggerSpec {
        name: name?,
        roles: roles?,
        run: run?,
        plugin: None,
        expect: expect?,
        exit_code: exit_code?,
        timeout: timeout?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match decode(text, Path::new("cluster.yaml")) {
            Ok(spec) => panic!("expected errors, parsed {spec:?}"),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn minimal_spec_gets_defaults() {
        let spec = decode(
            "name: demo\nnode_groups:\n  - {name: a, count: 2, roles: [agent]}\n",
            Path::new("x.yaml"),
        )
        .expect("parses");
        assert_eq!(spec.backend.kind, "local");
        assert_eq!(spec.node_groups[0].count, 2);
        assert_eq!(spec.node_groups[0].roles, vec!["agent"]);
        assert!(spec.install.is_none());
        assert!(spec.checks.debuggers.is_empty());
    }

    #[test]
    fn a_backend_plugin_may_be_named_by_its_file_relative_to_the_spec() {
        let text = "name: demo\nbackend:\n  kind: dirs\n  path: ./plugins/clusterdeck-plugin-dirs\n  options: {root: /srv}\nnode_groups:\n  - {name: a, count: 1}\n";
        let origin = Path::new("/specs/here/cluster.yaml");
        let (spec, positions) = decode_with_positions(text, origin).expect("parses");
        assert_eq!(spec.backend.kind, "dirs");
        assert_eq!(
            spec.backend.path,
            Some(PathBuf::from("./plugins/clusterdeck-plugin-dirs"))
        );
        assert_eq!(spec.backend.options["root"], "/srv");
        let location = positions.source_location("backend.path").expect("located");
        assert_eq!((location.line, location.column), (4, 9));
        let loaded = super::super::LoadedSpec {
            spec,
            path: origin.to_path_buf(),
            positions,
        };
        assert_eq!(
            loaded.backend_path(),
            Some(PathBuf::from("/specs/here/plugins/clusterdeck-plugin-dirs"))
        );
        // Without a path a backend is found by kind, and its record says so.
        let plain = decode(
            "name: demo\nbackend: dirs\nnode_groups:\n  - {name: a, count: 1}\n",
            origin,
        )
        .expect("parses");
        assert_eq!(plain.backend.path, None);
        let json = serde_json::to_value(&plain.backend).expect("json");
        assert!(json.get("path").is_none(), "{json}");
    }

    #[test]
    fn a_backend_path_must_be_a_non_empty_string() {
        assert_eq!(
            errors(
                "name: demo\nbackend: {kind: dirs, path: [x]}\nnode_groups:\n  - {name: a, count: 1}\n"
            ),
            vec!["cluster.yaml:2:23: backend.path: expected a string, found a list"]
        );
        assert_eq!(
            errors(
                "name: demo\nbackend: {kind: dirs, path: \"\"}\nnode_groups:\n  - {name: a, count: 1}\n"
            ),
            vec![
                "cluster.yaml:2:29: backend.path: expected the path of a file, found an empty string"
            ]
        );
    }

    #[test]
    fn count_error_names_line_column_and_path() {
        let text = "name: demo\nnode_groups:\n  - name: masters\n    count: 1\n  - name: agents\n    count: three\n";
        assert_eq!(
            errors(text),
            vec![
                r#"cluster.yaml:6:12: node_groups[1].count: expected a whole number ≥ 0, found "three""#
            ]
        );
    }

    #[test]
    fn all_errors_are_reported_in_file_order() {
        let text = "name: demo\nnodegroups: []\nbackend: {kind: local, optons: {}}\nchecks:\n  debuggers:\n    - {name: x, run: true, timeout: soon}\n";
        let found = errors(text);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("cluster.yaml:1:1: missing required field `node_groups`"),
            "{found:#?}"
        );
        assert!(
            found[1].contains("nodegroups: unknown field; did you mean `node_groups`?"),
            "{found:#?}"
        );
        assert!(
            found[2].contains("backend.optons: unknown field; did you mean `options`?"),
            "{found:#?}"
        );
        assert!(
            found[3].contains("checks.debuggers[0].run: expected a string, found true"),
            "{found:#?}"
        );
        assert!(
            found[4].contains("checks.debuggers[0].timeout: expected a duration"),
            "{found:#?}"
        );
    }

    #[test]
    fn missing_field_in_a_nested_mapping_points_at_the_mapping() {
        let text =
            "name: demo\nnode_groups:\n  - name: a\n    count: 1\n  - name: b\n    roles: [x]\n";
        assert_eq!(
            errors(text),
            vec![
                "cluster.yaml:5:5: node_groups[1]: missing required field `count` (a whole number ≥ 0)"
            ]
        );
    }

    #[test]
    fn yaml_syntax_error_has_a_location() {
        let found = errors("name: demo\nnode_groups: [\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("cluster.yaml:"), "{found:?}");
        assert!(found[0].contains("not valid YAML"), "{found:?}");
    }

    #[test]
    fn plugin_checks_are_read_next_to_the_built_in_ones() {
        let spec = decode(
            "name: demo\nnode_groups:\n  - {name: a, count: 1, roles: [agent]}\n\
             checks:\n  validators:\n    - {plugin: odd, path: ./odd, options: {role: agent}}\n\
             \x20 debuggers:\n    - {plugin: pid, roles: [agent], timeout: 5s}\n",
            Path::new("x.yaml"),
        )
        .expect("parses");
        assert_eq!(
            spec.checks.validators,
            vec![ValidatorSpec::Plugin(PluginCheck {
                plugin: "odd".into(),
                path: Some(PathBuf::from("./odd")),
                options: [("role".to_owned(), serde_json::json!("agent"))].into(),
            })]
        );
        let debugger = &spec.checks.debuggers[0];
        assert_eq!(debugger.name, "pid", "named after the plugin by default");
        assert_eq!(debugger.run, "");
        assert_eq!(debugger.timeout, std::time::Duration::from_secs(5));
        assert_eq!(
            debugger
                .plugin
                .as_ref()
                .map(|plugin| plugin.plugin.as_str()),
            Some("pid")
        );
        // A recorded spec reads back the same.
        let json = serde_json::to_string(&spec).expect("serializes");
        assert_eq!(
            serde_json::from_str::<ClusterSpec>(&json).expect("reads"),
            spec
        );

        let found = errors(
            "name: demo\nnode_groups:\n  - {name: a, count: 1, roles: [agent]}\n\
             checks:\n  debuggers:\n    - {plugin: pid, run: \"true\"}\n",
        );
        assert!(
            found
                .iter()
                .any(|error| error.contains("run: unknown field")),
            "{found:?}"
        );
        let found = errors(
            "name: demo\nnode_groups:\n  - {name: a, count: 1, roles: [agent]}\n\
             checks:\n  validators:\n    - {plugin: \"../x\"}\n",
        );
        assert_eq!(found.len(), 1, "a plugin name is a plain word: {found:?}");
    }
}
