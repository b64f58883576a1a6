//! What the dashboard knows of each cluster's distribution (its configs
//! with the values in force, the processes per role), cached per cluster.
//! Describing one may start a plugin process, so the runner does it off the
//! UI; this keeps the answers and decides, purely, when to ask again.

use std::collections::BTreeMap;

use crate::engine::DistributionSummary;

/// The answer about one cluster's distribution.
pub type Answer = Result<Option<DistributionSummary>, String>;

/// One cluster's entry: the last answer (kept on screen while a newer one
/// is asked for) and the request in flight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    /// `Ok(None)`: the cluster installs nothing; `Err`: why it could not be
    /// described, one line.
    pub answer: Option<Answer>,
    /// The number of the request in flight; an answer to any other is old.
    pub pending: Option<u64>,
    /// An operation changed the cluster since the answer: ask again at the
    /// next chance.
    pub stale: bool,
}

impl Described {
    pub fn summary(&self) -> Option<&DistributionSummary> {
        self.answer.as_ref()?.as_ref().ok()?.as_ref()
    }
}

/// When a fetch is worth its cost (it may start a plugin process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only when nothing is known or an operation made it stale: the
    /// periodic refreshes, which must not start a plugin every 2 s.
    Unknown,
    /// Also after a failure: the user asked (attached, opened the configs),
    /// and the cause may be gone (a plugin installed since).
    Retry,
}

/// The distributions of the clusters seen in this session.
#[derive(Debug, Default)]
pub struct Distributions {
    entries: BTreeMap<String, Described>,
    requests: u64,
}

impl Distributions {
    pub fn get(&self, cluster: &str) -> Option<&Described> {
        self.entries.get(cluster)
    }

    /// A request number for `cluster` when it should be described now; the
    /// entry then waits for that answer.
    pub fn ask(&mut self, cluster: &str, need: Need) -> Option<u64> {
        let entry = self.entries.entry(cluster.to_owned()).or_default();
        if entry.pending.is_some() {
            return None;
        }
        let due = match &entry.answer {
            None => true,
            Some(_) if entry.stale => true,
            Some(Err(_)) => need == Need::Retry,
            Some(Ok(_)) => false,
        };
        if !due {
            return None;
        }
        self.requests += 1;
        entry.pending = Some(self.requests);
        Some(self.requests)
    }

    /// Keeps the answer to the request in flight; an older one (asked for
    /// before the cluster changed) is dropped. Whether it was kept.
    pub fn answer(&mut self, cluster: &str, request: u64, answer: Answer) -> bool {
        let Some(entry) = self
            .entries
            .get_mut(cluster)
            .filter(|entry| entry.pending == Some(request))
        else {
            return false;
        };
        entry.answer = Some(answer);
        entry.pending = None;
        entry.stale = false;
        true
    }

    /// An operation changed the cluster: what is known may be out of date,
    /// and an answer in flight was asked for before the change.
    pub fn invalidate(&mut self, cluster: &str) {
        if let Some(entry) = self.entries.get_mut(cluster) {
            entry.stale = true;
            entry.pending = None;
        }
    }

    /// The cluster is gone: nothing to keep.
    pub fn forget(&mut self, cluster: &str) {
        self.entries.remove(cluster);
    }
}

/// The processes each role of `roles` runs, when the distribution says:
/// `[master: kv-master] [worker: kv-worker, kv-log]`; a role it names no
/// process for is shown bare. Empty when it names none for these roles.
pub fn processes_line(summary: &DistributionSummary, roles: &[String]) -> String {
    if !roles
        .iter()
        .any(|role| summary.processes.get(role).is_some_and(|p| !p.is_empty()))
    {
        return String::new();
    }
    roles
        .iter()
        .map(|role| match summary.processes.get(role) {
            Some(processes) if !processes.is_empty() => {
                format!("[{role}: {}]", processes.join(", "))
            }
            _ => format!("[{role}]"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> DistributionSummary {
        DistributionSummary {
            name: "kvstore".into(),
            version: "1.1".into(),
            configs: Vec::new(),
            processes: BTreeMap::from([
                ("master".to_owned(), vec!["kv-master".to_owned()]),
                (
                    "worker".to_owned(),
                    vec!["kv-worker".to_owned(), "kv-log".to_owned()],
                ),
            ]),
        }
    }

    #[test]
    fn a_cluster_is_described_once_until_an_operation_changes_it() {
        let mut known = Distributions::default();
        let first = known.ask("demo", Need::Unknown).expect("unknown: ask");
        assert_eq!(
            known.ask("demo", Need::Retry),
            None,
            "one request at a time"
        );
        assert!(known.answer("demo", first, Ok(Some(summary()))));
        assert_eq!(known.ask("demo", Need::Unknown), None);
        assert_eq!(known.ask("demo", Need::Retry), None, "known: no new fetch");
        assert_eq!(
            known.get("demo").and_then(Described::summary),
            Some(&summary())
        );

        known.invalidate("demo");
        let second = known.ask("demo", Need::Unknown).expect("stale: ask again");
        assert!(second > first);
        assert!(
            known.get("demo").and_then(Described::summary).is_some(),
            "the old answer stays shown while the new one is fetched"
        );
        assert!(!known.answer("demo", first, Ok(None)), "an old answer");
        assert!(known.answer("demo", second, Ok(None)));
        assert_eq!(known.get("demo").and_then(Described::summary), None);
        assert!(!known.answer("other", 1, Ok(None)), "never asked for");
    }

    #[test]
    fn a_failure_is_retried_when_the_user_asks_not_by_the_refreshes() {
        let mut known = Distributions::default();
        let request = known.ask("demo", Need::Retry).expect("ask");
        assert!(known.answer("demo", request, Err("plugin kvstore: gone".into())));
        assert_eq!(known.ask("demo", Need::Unknown), None);
        assert!(known.ask("demo", Need::Retry).is_some());
    }

    #[test]
    fn an_answer_in_flight_when_the_cluster_changes_is_dropped() {
        let mut known = Distributions::default();
        let request = known.ask("demo", Need::Unknown).expect("ask");
        known.invalidate("demo");
        assert!(!known.answer("demo", request, Ok(None)));
        assert!(known.ask("demo", Need::Unknown).is_some());
        known.forget("demo");
        assert_eq!(known.get("demo"), None);
    }

    #[test]
    fn processes_are_shown_per_role_of_the_group() {
        let summary = summary();
        assert_eq!(
            processes_line(&summary, &["master".into()]),
            "[master: kv-master]"
        );
        assert_eq!(
            processes_line(&summary, &["worker".into(), "extra".into()]),
            "[worker: kv-worker, kv-log] [extra]"
        );
        assert_eq!(processes_line(&summary, &["extra".into()]), "");
        assert_eq!(processes_line(&summary, &[]), "");
    }
}
