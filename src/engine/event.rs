//! The typed events every operation emits. This is the `--output json` contract
//! (see docs/events.md): fields may be added, never renamed or removed.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{
    CheckResult, Node, OperationKind, Outcome, ResourceScope, StepStatus, Stream, Summary,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn now(kind: EventKind) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            kind,
        }
    }
}

/// A node the operation will create, announced before any is made so a
/// frontend can lay out its progress view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedNode {
    pub name: String,
    pub group: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    OperationStarted {
        operation: OperationKind,
        cluster: String,
    },
    Plan {
        nodes: Vec<PlannedNode>,
    },
    NodeCreated {
        node: Node,
    },
    NodeDestroyed {
        node: String,
    },
    /// A group- or cluster-scoped resource (network, key pair...) is gone;
    /// node-scoped ones are reported as `NodeDestroyed`.
    ResourceDestroyed {
        kind: String,
        key: String,
        scope: ResourceScope,
    },
    StepStarted {
        node: String,
        step: String,
    },
    StepProgress {
        node: String,
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percent: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    StepFinished {
        node: String,
        step: String,
        status: StepStatus,
        elapsed_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    CheckResult {
        #[serde(flatten)]
        result: CheckResult,
    },
    Output {
        node: String,
        stream: Stream,
        line: String,
    },
    /// Output lines of `node` that a slow frontend could not take: they were
    /// dropped, and this says how many. Comes before that node's next event.
    OutputDropped {
        node: String,
        lines: u64,
    },
    Warning {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    Error {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// `export` wrote its diagnostic bundle: where, how big, how many files
    /// from nodes it holds and how many things it could not fetch.
    BundleWritten {
        path: String,
        bytes: u64,
        files: u64,
        problems: u64,
    },
    OperationFinished {
        operation: OperationKind,
        cluster: String,
        outcome: Outcome,
        summary: Summary,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckKind, CheckStatus};

    #[test]
    fn events_serialize_flat_with_an_event_tag_and_round_trip() {
        let event = Event {
            time: "2026-11-23T00:00:00.000Z".into(),
            kind: EventKind::StepFinished {
                node: "agents-1".into(),
                step: "install:agent".into(),
                status: StepStatus::Failed,
                elapsed_ms: 12,
                error: Some("exit status 3".into()),
            },
        };
        let json = serde_json::to_string(&event).expect("serializes");
        assert_eq!(
            json,
            r#"{"time":"2026-11-23T00:00:00.000Z","event":"step_finished","node":"agents-1","step":"install:agent","status":"failed","elapsed_ms":12,"error":"exit status 3"}"#
        );
        let back: Event = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, event);
    }

    #[test]
    fn check_results_are_flattened_into_the_event() {
        let event = Event {
            time: "t".into(),
            kind: EventKind::CheckResult {
                result: CheckResult {
                    kind: CheckKind::Debugger,
                    name: "agent-up".into(),
                    status: CheckStatus::Timeout,
                    node: Some("agents-2".into()),
                    message: "no answer within 10s".into(),
                    exit_code: None,
                    output: None,
                },
            },
        };
        let value: serde_json::Value = serde_json::to_value(&event).expect("serializes");
        assert_eq!(value["event"], "check_result");
        assert_eq!(value["kind"], "debugger");
        assert_eq!(value["status"], "timeout");
        assert_eq!(value["node"], "agents-2");
        let back: Event = serde_json::from_value(value).expect("deserializes");
        assert_eq!(back, event);
    }
}
