//! `install.files`: extra files copied into the node's install directory.
//!
//! The installer and the rendered config are copied into the same directory,
//! so a `dest` that names either would silently replace it; a `dest` of `.`
//! names the directory itself. These are refused here, with their position,
//! comparing destinations after normalising them (`./x` is `x`).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::error::SpecLocation;
use super::yaml::{Reader, Val};
use super::{FileCopy, INSTALL_CONFIG_FILE};

pub fn read_files(
    reader: &mut Reader,
    val: Val<'_>,
    installer_name: Option<&str>,
) -> Option<Vec<FileCopy>> {
    let items = reader.seq(val)?;
    let mut files = Vec::with_capacity(items.len());
    let mut seen: HashMap<String, SpecLocation> = HashMap::new();
    let mut ok = true;
    for (path, node) in &items {
        let file = reader.map(Val::new(node, path)).and_then(|mut map| {
            let src = map
                .require(reader, "src", "a path on this machine")
                .and_then(|(path, node)| reader.string(Val::new(node, &path)));
            let dest = map
                .require(reader, "dest", "a path inside the node's install directory")
                .and_then(|(path, node)| {
                    let val = Val::new(node, &path);
                    let dest = reader.string(val)?;
                    let problem = dest_problem(&dest, installer_name).or_else(|| {
                        let first = seen.get(&normalise(&dest))?;
                        Some(format!(
                            "another file is already copied to {:?} (line {}, column {}); each file needs its own dest",
                            normalise(&dest),
                            first.line,
                            first.column
                        ))
                    });
                    match problem {
                        Some(message) => {
                            reader.error(val, message);
                            None
                        }
                        None => {
                            seen.insert(normalise(&dest), reader.location(node));
                            Some(dest)
                        }
                    }
                });
            map.finish(reader, &["src", "dest"]);
            Some(FileCopy {
                src: PathBuf::from(src?),
                dest: dest?,
            })
        });
        match file {
            Some(file) => files.push(file),
            None => ok = false,
        }
    }
    ok.then_some(files)
}

/// Why a `dest` cannot be used, if it cannot.
fn dest_problem(dest: &str, installer_name: Option<&str>) -> Option<String> {
    if !is_contained_relative(dest) {
        return Some(format!(
            "expected a relative path that stays inside the install directory (no `..`, not absolute), found {dest:?}"
        ));
    }
    let normal = normalise(dest);
    if normal.is_empty() {
        return Some(format!(
            "{dest:?} names the install directory itself; give the file's name inside it"
        ));
    }
    if Some(normal.as_str()) == installer_name {
        return Some(format!(
            "{dest:?} would replace the installer ({normal}), which is copied to the same directory; choose another name"
        ));
    }
    if normal == INSTALL_CONFIG_FILE {
        return Some(format!(
            "{dest:?} would replace the rendered install config ({INSTALL_CONFIG_FILE}), which is copied to the same directory; choose another name"
        ));
    }
    None
}

/// The path without `.` components or repeated slashes: `./a//b/` is `a/b`.
fn normalise(dest: &str) -> String {
    Path::new(dest)
        .components()
        .filter_map(|part| match part {
            Component::Normal(name) => Some(name.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// True for a relative path with no `..` component, so a copy cannot escape
/// the directory it is meant for.
pub fn is_contained_relative(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse;

    fn errors(files: &str) -> Vec<String> {
        let text = format!(
            "name: demo\nnode_groups: [{{ name: a, count: 1 }}]\ninstall:\n  from: ./bin/setup.sh\n  files:\n{files}"
        );
        match parse(&text, Path::new("c.yaml")) {
            Ok(spec) => panic!("expected errors, parsed {spec:?}"),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn dest_may_not_escape_the_install_dir() {
        assert!(is_contained_relative("genconf/ip-detect"));
        assert!(!is_contained_relative("../etc/passwd"));
        assert!(!is_contained_relative("/etc/passwd"));
        assert!(!is_contained_relative(""));
    }

    #[test]
    fn dest_may_not_name_the_directory_the_installer_or_the_config() {
        let found = errors(
            "    - { src: a, dest: . }\n    - { src: b, dest: ./ }\n    - { src: c, dest: setup.sh }\n    - { src: d, dest: ./setup.sh }\n    - { src: e, dest: config.json }\n    - { src: f, dest: .//config.json }\n",
        );
        assert_eq!(found.len(), 6, "{found:#?}");
        assert!(
            found[0].starts_with(
                "c.yaml:6:23: install.files[0].dest: \".\" names the install directory itself"
            ),
            "{found:#?}"
        );
        assert!(
            found[1].contains("install.files[1].dest: \"./\" names the install directory"),
            "{found:#?}"
        );
        assert!(
            found[2].contains(
                "install.files[2].dest: \"setup.sh\" would replace the installer (setup.sh)"
            ),
            "{found:#?}"
        );
        assert!(
            found[3].contains("install.files[3].dest: \"./setup.sh\" would replace the installer"),
            "{found:#?}"
        );
        assert!(found[4].contains("install.files[4].dest: \"config.json\" would replace the rendered install config (config.json)"), "{found:#?}");
        assert!(found[5].contains("install.files[5].dest: \".//config.json\" would replace the rendered install config"), "{found:#?}");
    }

    #[test]
    fn two_files_may_not_share_a_dest() {
        let found = errors("    - { src: a, dest: conf/x }\n    - { src: b, dest: ./conf//x }\n");
        assert_eq!(
            found,
            vec![
                "c.yaml:7:23: install.files[1].dest: another file is already copied to \"conf/x\" (line 6, column 23); each file needs its own dest"
            ]
        );
    }

    #[test]
    fn ordinary_dests_are_kept_as_written() {
        let text = "name: demo\nnode_groups: [{ name: a, count: 1 }]\ninstall:\n  from: ./setup.sh\n  files:\n    - { src: a, dest: ./genconf/ip-detect }\n    - { src: b, dest: setup.sh.d/extra }\n";
        let spec = parse(text, Path::new("c.yaml")).expect("parses");
        let files = spec.install.expect("install").files;
        assert_eq!(files[0].dest, "./genconf/ip-detect");
        assert_eq!(files[1].dest, "setup.sh.d/extra");
    }
}
