//! `install.log_paths`: which files on a node of each role `export` fetches
//! into its diagnostic bundle, as `{role: [path or glob, ...]}`.
//!
//! A path is expanded by the node's own shell (globs) and a directory stands
//! for every regular file below it, so only characters with no other meaning
//! to a shell are accepted: the path goes into a command line unquoted.

use std::collections::BTreeMap;

use super::yaml::{Reader, Val};

/// Characters a log path may hold besides letters and digits: the glob
/// characters `*`, `?`, `[`, `]` and those with no meaning to a shell.
const PATH_PUNCTUATION: &str = "._-/*?[]+@,:=%";

/// True for a path or glob `export` can hand to a node's shell as it is:
/// letters, digits and [`PATH_PUNCTUATION`], not starting with `-`, and,
/// when relative, with no `..` component.
pub fn is_valid_log_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('-')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PATH_PUNCTUATION.contains(c))
        && !path.split('/').any(|part| part == "..")
}

pub(super) fn read_log_paths(
    reader: &mut Reader,
    val: Val<'_>,
) -> Option<BTreeMap<String, Vec<String>>> {
    let mut map = reader.map(val)?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (role, path, node) in map.take_all() {
        let role_val = Val::new(node, &path);
        let Some(items) = reader.seq(role_val) else {
            ok = false;
            continue;
        };
        let mut paths = Vec::with_capacity(items.len());
        for (item_path, item) in items {
            let item_val = Val::new(item, &item_path);
            match reader.string(item_val) {
                Some(text) if is_valid_log_path(&text) => paths.push(text),
                Some(text) => {
                    reader.error(
                        item_val,
                        format!(
                            "expected a path or glob of letters, digits and {PATH_PUNCTUATION} (no `..`, not starting with `-`), found {text:?}"
                        ),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        out.insert(role, paths);
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::spec::parse;

    #[test]
    fn paths_with_shell_meaning_or_escaping_are_refused() {
        for good in [
            "logs/*.log",
            "/var/log/app.log",
            "install/out-[0-9].txt",
            "a",
        ] {
            assert!(is_valid_log_path(good), "{good}");
        }
        for bad in [
            "", "../x", "a/../b", "-rf", "a b", "$(id)", "a;b", "`x`", "~/x",
        ] {
            assert!(!is_valid_log_path(bad), "{bad}");
        }
    }

    #[test]
    fn log_paths_parse_per_role_and_bad_ones_are_located() {
        let text = "name: demo\nnode_groups: [{ name: a, count: 1, roles: [web] }]\ninstall:\n  from: ./i.sh\n  log_paths:\n    web: [logs/*.log, /var/log/web.log]\n";
        let spec = parse(text, Path::new("c.yaml")).expect("parses");
        let paths = spec.install.expect("install").log_paths;
        assert_eq!(paths["web"], vec!["logs/*.log", "/var/log/web.log"]);
        let text = "name: demo\nnode_groups: [{ name: a, count: 1 }]\ninstall:\n  from: ./i.sh\n  log_paths:\n    web: [ok.log, '../x']\n    db: one.log\n";
        let found: Vec<String> = match parse(text, Path::new("c.yaml")) {
            Ok(spec) => panic!("expected errors, parsed {spec:?}"),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(
            found,
            vec![
                "c.yaml:6:19: install.log_paths.web[1]: expected a path or glob of letters, digits and ._-/*?[]+@,:=% (no `..`, not starting with `-`), found \"../x\"",
                "c.yaml:7:9: install.log_paths.db: expected a list, found \"one.log\"",
            ]
        );
    }
}
