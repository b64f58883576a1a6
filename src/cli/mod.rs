//! The command line: `clusterdeck up SPEC`, `destroy NAME`, `run NAME -- CMD`...

mod commands;
mod failure;
mod plugin_check;
mod plugins;
mod views;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use commands::execute;
pub use failure::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "clusterdeck",
    version,
    about = "Create, install, validate and debug clusters of machines",
    long_about = "Create, install, validate and debug clusters of machines through pluggable \
                  backends. One YAML spec names the backend, the node groups, what to install \
                  and which checks to run.",
    after_help = "Exit status: 0 success, 1 the operation ran and failed, 2 bad input \
                  (spec, arguments, unknown cluster), 130 cancelled."
)]
pub struct Cli {
    /// Where cluster state lives [default: $XDG_STATE_HOME/clusterdeck or ~/.local/state/clusterdeck]
    #[arg(long, global = true, env = "CLUSTERDECK_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// How to print events: readable lines, or one JSON object per line (see docs/events.md)
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// How many nodes to work on at once
    #[arg(long, short = 'j', global = true, default_value_t = crate_parallel(), value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// Without a command, the dashboard opens on the list of known clusters.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Whether the command runs operations (worth worker threads) rather
    /// than only reading state or a spec.
    pub fn needs_workers(&self) -> bool {
        !matches!(
            self.command,
            Some(
                Command::Validate { .. }
                    | Command::List
                    | Command::Completions { .. }
                    | Command::Doctor { .. }
                    | Command::Plugins
                    | Command::Plugin { .. }
            )
        )
    }
}

/// A duration as the spec's `timeout` fields take it: at least
/// [`clusterdeck::spec::MIN_TIMEOUT`], since zero or a few nanoseconds would
/// make the result a race rather than the command's.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if duration < clusterdeck::spec::MIN_TIMEOUT {
        return Err(format!(
            "a timeout must be at least {}",
            humantime::format_duration(clusterdeck::spec::MIN_TIMEOUT)
        ));
    }
    Ok(duration)
}

fn crate_parallel() -> u16 {
    u16::try_from(clusterdeck::engine::DEFAULT_PARALLEL).unwrap_or(32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a cluster from a spec: validate, create nodes, install, run debuggers
    Up {
        /// The cluster spec (YAML)
        spec: PathBuf,
        /// Print events instead of opening the dashboard, even on a terminal
        #[arg(long)]
        headless: bool,
    },
    /// Open the dashboard on an existing cluster: live node status, run commands and debuggers
    #[command(
        after_help = "A spec file of existing machines (backend ssh) is recorded first if it is not yet: no `up` needed."
    )]
    Attach {
        /// The cluster's name, or a spec file
        name: String,
    },
    /// Destroy a cluster: every node, process and resource it made, then its state
    Destroy {
        /// The cluster's name
        name: String,
    },
    /// Destroy one node of a cluster: everything made for it, then it is
    /// marked destroyed and its group counts one node less
    #[command(
        after_help = "The node is not decommissioned first; `scale` to a smaller size is the way to drain nodes a distribution hands data on from."
    )]
    DestroyNode {
        /// The cluster's name
        name: String,
        /// The node's name, as `inspect` lists it (`agents-2`)
        node: String,
    },
    /// List known clusters
    List,
    /// Show a cluster's record: nodes (with their live state), status, last operation
    Inspect {
        /// The cluster's name
        name: String,
        /// Print the record as JSON
        #[arg(long)]
        json: bool,
    },
    /// Check a spec without side effects: spec errors, validators, and the plan
    Validate {
        /// The cluster spec (YAML)
        spec: PathBuf,
    },
    /// Run a shell command on nodes of a cluster
    #[command(after_help = "Example: clusterdeck run demo --role agent -- uptime")]
    Run {
        /// The cluster's name (or give --hosts instead)
        #[arg(required_unless_present = "hosts")]
        name: Option<String>,
        #[command(flatten)]
        adhoc: AdhocArgs,
        #[command(flatten)]
        target: TargetArgs,
        /// Kill the command on a node after this long (e.g. 30s, 2m; at least 1ms)
        #[arg(long, value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// The command, after `--`
        #[arg(last = true, required = true, num_args = 1..)]
        command: Vec<String>,
    },
    /// Run the spec's debuggers on a cluster's nodes
    Debug {
        /// The cluster's name
        name: String,
    },
    /// Grow or shrink a group of a cluster to COUNT nodes
    #[command(
        after_help = "New nodes are numbered on from the group's highest index, installed for their roles, and the debuggers run on the cluster; a shrink destroys the highest-numbered nodes first. Only backends with the `scale` capability can (see `clusterdeck inspect NAME`).\n\nExample: clusterdeck scale demo agents 6"
    )]
    Scale {
        /// The cluster's name
        name: String,
        /// The node group to resize
        group: String,
        /// How many nodes the group should have (0 to 10000)
        count: u32,
    },
    /// Stop every node of a cluster, keeping it for `start`
    #[command(
        after_help = "Only backends with the `stop-start` capability can; `run` and `debug` refuse a stopped cluster."
    )]
    Stop {
        /// The cluster's name
        name: String,
    },
    /// Start the nodes of a stopped cluster again
    Start {
        /// The cluster's name
        name: String,
    },
    /// Write a diagnostic bundle (tar.gz): the record, recent events, last debugger results and every node's logs
    #[command(
        after_help = "The bundle holds clusterdeck-NAME/record.json, events.jsonl, debug-results.json, manifest.json (every file fetched, its size, truncations, and what could not be fetched), errors.txt, and nodes/NODE/PATH for the files `install.log_paths` names for the node's roles (default: install/*.log and log/*.log), fetched from all nodes in parallel, at most 16 MiB each. Secrets (`{env: ...}` config values, credential options, passwords in URLs) are replaced by [redacted]; no private key is included. A node that is down or a path that names nothing is listed in the manifest; the exit status is non-zero only when the bundle cannot be written.\n\nExample: clusterdeck export demo --out demo.tar.gz"
    )]
    Export {
        /// The cluster's name
        name: String,
        /// Where to write the bundle; a directory gets the default name inside it [default: ./clusterdeck-NAME-TIMESTAMP.tar.gz]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List what broken or lost clusters left behind (damaged state, interrupted destroys, labelled leftovers); --yes removes it
    Gc {
        /// Destroy what is found instead of only listing it
        #[arg(long)]
        yes: bool,
    },
    /// Check that clusterdeck can work here: the state directory, and a spec's backend if given
    #[command(
        after_help = "Each failing check names its fix. Exit status 0 when every check passes, 1 when one fails."
    )]
    Doctor {
        /// A cluster spec (YAML) whose backend and validators to check too
        spec: Option<PathBuf>,
    },
    /// List the backend plugins found: name, version, kinds, capabilities, path
    #[command(
        after_help = "Plugins are the executables clusterdeck-plugin-<name> in $XDG_DATA_HOME/clusterdeck/plugins/ (default ~/.local/share/clusterdeck/plugins/), then on PATH; the first of a name wins, later ones are shown as shadowed. Each is started, asked `initialize` and `info`, and killed; one that fails is listed with its error. Exit status 0 unless the listing itself fails."
    )]
    Plugins,
    /// Work with one plugin executable: `plugin check PATH`
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What `clusterdeck plugin` does.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Conformance run of a plugin: every method it claims, every message checked against the protocol schema
    #[command(
        after_help = "The plugin at PATH is started and initialized, then every method it claims is exercised. For a backend: info, preflight, validate, prepare, a small cluster made with create_group (one master, one agent), each node reached through its endpoint (a command run through the transport), discover, scaled by one agent if it claims scale, stopped and started if it claims stop-start, destroyed (destroy_nodes, destroy_resource for what the journal still holds), and nothing of it left by its own list_labelled. Every message in both directions is checked against docs/plugin-protocol.schema.json. State lives in a temporary directory, removed afterwards.\n\nPrints pass/fail per method (-o json: a report object). Exit status 0 when every method passed, 1 when one failed, 2 when PATH is not an executable.\n\nExample: clusterdeck plugin check examples/plugins/clusterdeck-plugin-dirs"
    )]
    Check {
        /// The plugin executable
        path: PathBuf,
        /// A cluster option for the test cluster, NAME=VALUE (VALUE read as JSON if it is JSON); repeatable
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
    },
}

/// Machines given on the command line instead of a cluster, as with pdsh or
/// clush: reached over SSH, nothing recorded.
#[derive(Debug, Args)]
pub struct AdhocArgs {
    /// Run on these hosts: `[user@]host[:port]` or ssh config aliases,
    /// comma-separated, with ranges such as `web[1-3,7].lan`
    #[arg(long, short = 'w', conflicts_with = "name", value_name = "LIST")]
    pub hosts: Option<String>,
    /// Login user for --hosts [default: $USER]
    #[arg(long, requires = "hosts", value_name = "USER")]
    pub ssh_user: Option<String>,
    /// Private key for --hosts (repeatable); the ssh-agent and ~/.ssh/config are used too
    #[arg(long, requires = "hosts", value_name = "FILE")]
    pub ssh_key: Vec<PathBuf>,
    /// Record unknown host keys instead of refusing them (a changed key is still refused)
    #[arg(long, requires = "hosts")]
    pub accept_new_host_keys: bool,
}

/// Which nodes `run` targets; all of them when none is given.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct TargetArgs {
    /// Nodes with this role
    #[arg(long)]
    pub role: Option<String>,
    /// Nodes of this group
    #[arg(long)]
    pub group: Option<String>,
    /// One node by name
    #[arg(long)]
    pub node: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_the_command_after_the_separator() {
        let cli = Cli::try_parse_from([
            "clusterdeck",
            "run",
            "demo",
            "--role",
            "agent",
            "--",
            "echo",
            "hi there",
        ])
        .expect("parses");
        match cli.command {
            Some(Command::Run {
                name,
                target,
                command,
                ..
            }) => {
                assert_eq!(name.as_deref(), Some("demo"));
                assert_eq!(target.role.as_deref(), Some("agent"));
                assert_eq!(command, vec!["echo", "hi there"]);
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(
            Cli::try_parse_from([
                "clusterdeck",
                "run",
                "demo",
                "--role",
                "a",
                "--group",
                "b",
                "--",
                "x"
            ])
            .is_err()
        );
    }
}
