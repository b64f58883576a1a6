//! The module layering of docs/architecture.md, checked against the source so
//! an import cycle cannot creep back in unnoticed: every module may name only
//! modules of a lower layer (and itself).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

/// Top-level modules by layer, lowest first. A module may use modules of
/// any lower layer, never one of its own layer or above.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["spec"],
    &["state", "transport"],
    &["backend", "distribution"],
    &["checks", "plugin"],
    &["engine"],
    &["headless"],
    &["tui"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The `.rs` files of a top-level module: `src/<name>.rs` or `src/<name>/**`.
fn sources(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every top-level module a source text names, as `crate::x`,
/// `clusterdeck::x` or inside `crate::{x, y::z}`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let path = Regex::new(r"\b(?:crate|clusterdeck)::([a-z_]+)").expect("regex");
    let group = Regex::new(r"\b(?:crate|clusterdeck)::\{([^}]*)").expect("regex");
    let head = Regex::new(r"(?:^|,)\s*([a-z_]+)").expect("regex");
    let mut names: BTreeSet<String> = path
        .captures_iter(text)
        .map(|found| found[1].to_owned())
        .collect();
    for found in group.captures_iter(text) {
        names.extend(head.captures_iter(&found[1]).map(|name| name[1].to_owned()));
    }
    names
}

/// `(file, module it names)` for every upward or sideways reference.
fn violations() -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for (rank, layer) in LAYERS.iter().enumerate() {
        for module in *layer {
            let files = sources(module);
            assert!(!files.is_empty(), "no sources found for module {module}");
            for file in files {
                let text = std::fs::read_to_string(&file).expect("source is readable");
                for named in named_modules(&text) {
                    let allowed = named == *module
                        || layer_of(&named).is_none_or(|other_rank| other_rank < rank);
                    if !allowed {
                        found.push((file.clone(), named));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn every_module_names_only_modules_of_lower_layers() {
    assert_eq!(violations(), Vec::<(PathBuf, String)>::new());
}

#[test]
fn the_layers_below_the_engine_never_name_a_frontend_or_the_engine() {
    for module in ["model", "spec", "state", "transport", "backend", "checks"] {
        for file in sources(module) {
            let text = std::fs::read_to_string(&file).expect("source is readable");
            for upper in [
                "crate::engine",
                "crate::cli",
                "crate::tui",
                "crate::headless",
            ] {
                assert!(!text.contains(upper), "{} mentions {upper}", file.display());
            }
        }
    }
}

#[test]
fn model_names_nothing_of_ours_but_itself() {
    for file in sources("model") {
        let text = std::fs::read_to_string(&file).expect("source is readable");
        let outside: Vec<&str> = text
            .match_indices("crate::")
            .map(|(at, _)| &text[at..])
            .filter(|rest| !rest.starts_with("crate::model"))
            .collect();
        assert!(outside.is_empty(), "{} uses {outside:?}", file.display());
    }
}

#[test]
fn module_names_are_found_in_paths_and_groups() {
    let text = "use crate::model::Node;\nuse crate::{engine::Event, tui};\nlet x = clusterdeck::spec::load();";
    let names: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(names, ["engine", "model", "spec", "tui"]);
}
