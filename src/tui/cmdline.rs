//! The `:` command line: parsing, target completion.

use crate::engine::Target;

use super::msg::Operation;
use super::state::ClusterView;

/// Commands the command line knows, with their usage.
pub const COMMANDS: &[(&str, &str)] = &[
    ("run", "run <role|group|node|all> <command>"),
    ("debug", "debug"),
    ("validate", "validate"),
    ("scale", "scale <group> <count>"),
    ("stop", "stop"),
    ("start", "start"),
    ("destroy-node", "destroy-node <node>"),
    ("destroy", "destroy"),
    ("gc", "gc [--yes]"),
    ("backends", "backends (built-ins and plugins found)"),
    (
        "configs",
        "configs (the distribution's configs; a shows advanced)",
    ),
];

/// Parses a command line against the shown cluster.
pub fn parse(line: &str, cluster: Option<&ClusterView>) -> Result<Operation, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    if word.is_empty() {
        return Err("type a command; Tab completes, ? lists keys".to_owned());
    }
    let Some((_, usage)) = COMMANDS.iter().find(|(name, _)| *name == word) else {
        let names: Vec<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
        return Err(format!(
            "unknown command {word:?}; commands: {}",
            names.join(", ")
        ));
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    if word == "gc" {
        // Works on the whole state directory, not the shown cluster.
        return match words.as_slice() {
            [] => Ok(Operation::Gc { apply: false }),
            ["--yes"] => Ok(Operation::Gc { apply: true }),
            _ => Err(format!("usage: {usage}")),
        };
    }
    let cluster = cluster.ok_or("no cluster is shown: pick one in the Clusters panel first")?;
    let name = cluster.name.clone();
    if cluster.is_gone() {
        let was = if cluster.was_recorded() {
            "was destroyed"
        } else {
            "was never created"
        };
        return Err(format!(
            "cluster {name} {was}; pick another in the Clusters panel"
        ));
    }
    let usage_error = || format!("usage: {usage}");
    match word {
        "run" => {
            let (target, command) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if target.is_empty() || command.trim().is_empty() {
                return Err(usage_error());
            }
            Ok(Operation::Run {
                cluster: name,
                target: resolve_target(target, cluster)?,
                command: command.trim().to_owned(),
                timeout: None,
            })
        }
        // Commands without arguments refuse extra words rather than ignore them.
        "debug" | "validate" | "destroy" | "stop" | "start" if !words.is_empty() => {
            Err(usage_error())
        }
        "debug" => Ok(Operation::Debug { cluster: name }),
        "validate" => Ok(Operation::Validate { cluster: name }),
        "destroy" => Ok(Operation::Destroy { cluster: name }),
        "stop" => Ok(Operation::Stop { cluster: name }),
        "start" => Ok(Operation::Start { cluster: name }),
        "scale" => {
            let [group, count] = words.as_slice() else {
                return Err(usage_error());
            };
            if !cluster.groups.iter().any(|known| known == group) {
                return Err(format!(
                    "no group {group:?}; groups: {}",
                    cluster.groups.join(", ")
                ));
            }
            let count = count
                .parse::<u32>()
                .map_err(|_| format!("expected a whole number of nodes, found {count:?}"))?;
            // What the backend can do is the engine's to check, as for the CLI.
            Ok(Operation::Scale {
                cluster: name,
                group: (*group).to_owned(),
                count,
            })
        }
        "destroy-node" => {
            let [node] = words.as_slice() else {
                return Err(usage_error());
            };
            if !cluster.nodes.iter().any(|known| known.name == *node) {
                return Err(format!("no node {node:?} in cluster {name}"));
            }
            Ok(Operation::DestroyNode {
                cluster: name,
                node: (*node).to_owned(),
            })
        }
        _ => Err(usage_error()),
    }
}

/// A node name, then a group, then a role; `all` for every node.
pub fn resolve_target(word: &str, cluster: &ClusterView) -> Result<Target, String> {
    if word == "all" {
        Ok(Target::All)
    } else if cluster.nodes.iter().any(|node| node.name == word) {
        Ok(Target::Node(word.to_owned()))
    } else if cluster.groups.iter().any(|group| group == word) {
        Ok(Target::Group(word.to_owned()))
    } else if cluster.roles.iter().any(|role| role == word) {
        Ok(Target::Role(word.to_owned()))
    } else {
        Err(format!(
            "no node, group or role named {word:?} (roles: {}; groups: {})",
            cluster.roles.join(", "),
            cluster.groups.join(", ")
        ))
    }
}

/// Completes the word under the cursor (the last one). Returns the new line,
/// or the candidates when they share nothing more to complete.
pub fn complete(line: &str, cluster: Option<&ClusterView>) -> Result<String, Vec<String>> {
    let words: Vec<&str> = line.split(' ').collect();
    let (last, before) = words
        .split_last()
        .map_or(("", &[][..]), |(last, before)| (*last, before));
    let candidates: Vec<String> = match before {
        [] => COMMANDS
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect(),
        [command] => match (*command, cluster) {
            ("run", Some(cluster)) => {
                let mut names = vec!["all".to_owned()];
                names.extend(cluster.roles.iter().cloned());
                names.extend(cluster.groups.iter().cloned());
                names.extend(cluster.nodes.iter().map(|node| node.name.clone()));
                names
            }
            ("destroy-node", Some(cluster)) => {
                cluster.nodes.iter().map(|node| node.name.clone()).collect()
            }
            ("scale", Some(cluster)) => cluster.groups.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|candidate| candidate.starts_with(last))
        .collect();
    let prefix = |completed: &str| {
        let mut words: Vec<&str> = before.to_vec();
        words.push(completed);
        words.join(" ")
    };
    match matching.as_slice() {
        [] => Err(Vec::new()),
        [only] => Ok(format!("{} ", prefix(only))),
        many => {
            let common = common_prefix(many);
            if common.len() > last.len() {
                Ok(prefix(&common))
            } else {
                Err(many.to_vec())
            }
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for word in &words[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(word.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((index, a), _)| index + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    first[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::state::NodeView;

    fn cluster() -> ClusterView {
        ClusterView {
            name: "demo".into(),
            backend: "local".into(),
            capabilities: vec!["create", "destroy"],
            nodes: vec![
                NodeView::planned("masters-1", "masters", &["master".into()]),
                NodeView::planned("agents-1", "agents", &["agent".into()]),
                NodeView::planned("agents-2", "agents", &["agent".into()]),
            ],
            roles: vec!["agent".into(), "master".into()],
            groups: vec!["masters".into(), "agents".into()],
            ..ClusterView::default()
        }
    }

    #[test]
    fn run_resolves_nodes_then_groups_then_roles() {
        let cluster = cluster();
        assert_eq!(
            parse(":run agent uptime -p", Some(&cluster)),
            Ok(Operation::Run {
                cluster: "demo".into(),
                target: Target::Role("agent".into()),
                command: "uptime -p".into(),
                timeout: None,
            })
        );
        assert!(matches!(
            parse("run agents-2 true", Some(&cluster)),
            Ok(Operation::Run {
                target: Target::Node(_),
                ..
            })
        ));
        assert!(matches!(
            parse("run agents true", Some(&cluster)),
            Ok(Operation::Run {
                target: Target::Group(_),
                ..
            })
        ));
        let err = parse("run db true", Some(&cluster)).expect_err("unknown target");
        assert!(err.contains("no node, group or role named \"db\""), "{err}");
        assert_eq!(
            parse("run agent", Some(&cluster)),
            Err("usage: run <role|group|node|all> <command>".into())
        );
    }

    #[test]
    fn scale_stop_start_and_gc_become_engine_operations() {
        let cluster = cluster();
        assert_eq!(
            parse("scale agents 5", Some(&cluster)),
            Ok(Operation::Scale {
                cluster: "demo".into(),
                group: "agents".into(),
                count: 5
            })
        );
        assert_eq!(
            parse("scale db 5", Some(&cluster)),
            Err("no group \"db\"; groups: masters, agents".into())
        );
        assert_eq!(
            parse("stop", Some(&cluster)),
            Ok(Operation::Stop {
                cluster: "demo".into()
            })
        );
        assert_eq!(
            parse("start", Some(&cluster)),
            Ok(Operation::Start {
                cluster: "demo".into()
            })
        );
        assert_eq!(parse("stop now", Some(&cluster)), Err("usage: stop".into()));
        assert_eq!(parse("gc", None), Ok(Operation::Gc { apply: false }));
        assert_eq!(parse("gc --yes", None), Ok(Operation::Gc { apply: true }));
        assert_eq!(parse("gc all", None), Err("usage: gc [--yes]".into()));
        assert!(
            parse("frobnicate", Some(&cluster))
                .expect_err("unknown")
                .contains("commands: run, debug")
        );
        assert!(parse("debug", None).is_err());
    }

    #[test]
    fn completion_extends_commands_and_targets() {
        let cluster = cluster();
        assert_eq!(complete("ru", Some(&cluster)), Ok("run ".into()));
        assert_eq!(
            complete("de", Some(&cluster)),
            Err(vec![
                "debug".into(),
                "destroy-node".into(),
                "destroy".into()
            ])
        );
        assert_eq!(
            complete("run agents-", Some(&cluster)),
            Err(vec!["agents-1".into(), "agents-2".into()])
        );
        assert_eq!(complete("run ma", Some(&cluster)), Ok("run master".into()));
        assert_eq!(
            complete("destroy-node m", Some(&cluster)),
            Ok("destroy-node masters-1 ".into())
        );
    }
}
