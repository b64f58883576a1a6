//! The types every layer shares: nodes, checks, operations, summaries, option
//! schemas, capabilities, and a few pure helpers.
//!
//! This is the bottom layer: it imports nothing else of clusterdeck, so any
//! module may depend on it without creating a cycle (see docs/architecture.md).
//! Most of these types appear in `--output json` events and in state records,
//! so their serde shape is a contract (docs/events.md): add fields, never
//! rename or remove them.

mod capabilities;
mod check;
mod distribution;
mod endpoint;
mod error;
mod group;
mod ids;
mod node;
mod operation;
mod options;
mod resource;
mod shell;
mod stream;
mod summary;

pub use capabilities::{Capabilities, UrlFetch};
pub use check::{CheckKind, CheckResult, CheckStatus, SourceLocation, ValidatorOutcome};
pub use distribution::{
    ClusterView, ConfigScope, ConfigSpec, ConfigType, Finding, GroupView, Phase, PhaseVerdict,
    PortProtocol, PortSpec,
};
pub use endpoint::{DEFAULT_CONTAINER_ROOT, Endpoint, HostKeyPolicy};
pub use error::{BackendFailure, BackendFailureKind};
pub use group::{
    BackendInfo, ClusterRef, GroupRequest, LABEL_CLUSTER, LABEL_UID, NodeOutcome, NodeRequest,
    PowerAction, PreflightCheck,
};
pub use ids::{new_uid, now};
pub use node::{Node, NodeState, NodeStateChange, node_name};
pub use operation::{OperationKind, Outcome, StepStatus};
pub use options::{OptionScope, OptionSpec, OptionType};
pub use resource::{LabelledResource, ResourceRef, ResourceScope};
pub use shell::shell_quote;
pub use stream::Stream;
pub use summary::{FoldedFailure, FoldedResult, Leftover, NodeFailure, Summary, Tally};
