//! What `plugin check` found, method by method, in the order the methods
//! were first exercised.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not exercised: the plugin does not claim it, or an earlier step failed.
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Skipped => "skip",
        }
    }
}

/// One method of the protocol: how often it was called, what was seen,
/// what was wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodReport {
    pub method: String,
    pub verdict: Verdict,
    pub calls: u32,
    /// What was seen, for the reader (e.g. "2 nodes made").
    pub notes: Vec<String>,
    /// Why it failed; empty when it passed.
    pub problems: Vec<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub plugin: String,
    pub path: PathBuf,
    pub version: Option<String>,
    pub protocol_version: Option<u64>,
    pub kinds: Vec<String>,
    /// Protocol lines seen, both directions.
    pub messages: usize,
    pub methods: Vec<MethodReport>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.methods
            .iter()
            .all(|method| method.verdict != Verdict::Fail)
    }

    pub fn failed_methods(&self) -> Vec<&str> {
        self.methods
            .iter()
            .filter(|method| method.verdict == Verdict::Fail)
            .map(|method| method.method.as_str())
            .collect()
    }
}

/// Findings as they come in; a method fails as soon as it has a problem.
#[derive(Debug, Default)]
pub struct Findings {
    methods: Vec<MethodReport>,
}

impl Findings {
    fn entry(&mut self, method: &str) -> &mut MethodReport {
        let position = match self.methods.iter().position(|m| m.method == method) {
            Some(position) => position,
            None => {
                self.methods.push(MethodReport {
                    method: method.to_owned(),
                    verdict: Verdict::Skipped,
                    calls: 0,
                    notes: Vec::new(),
                    problems: Vec::new(),
                });
                self.methods.len() - 1
            }
        };
        &mut self.methods[position]
    }

    /// A call was made.
    pub fn called(&mut self, method: &str) {
        let entry = self.entry(method);
        entry.calls += 1;
        if entry.verdict == Verdict::Skipped {
            entry.verdict = Verdict::Pass;
        }
    }

    pub fn note(&mut self, method: &str, note: impl Into<String>) {
        self.entry(method).notes.push(note.into());
    }

    pub fn problem(&mut self, method: &str, problem: impl Into<String>) {
        let entry = self.entry(method);
        entry.verdict = Verdict::Fail;
        entry.problems.push(problem.into());
    }

    /// Not exercised, and why (kept only if nothing else was recorded).
    pub fn skip(&mut self, method: &str, why: impl Into<String>) {
        let entry = self.entry(method);
        if entry.calls == 0 && entry.problems.is_empty() {
            entry.notes.push(why.into());
        }
    }

    pub fn has_problems(&self, method: &str) -> bool {
        self.methods
            .iter()
            .any(|m| m.method == method && !m.problems.is_empty())
    }

    pub fn into_methods(self) -> Vec<MethodReport> {
        self.methods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_fails_its_method_and_skips_stay_skipped() {
        let mut findings = Findings::default();
        findings.called("info");
        findings.skip("power", "it does not claim stop-start");
        findings.called("create_group");
        findings.problem("create_group", "wrong shape");
        let methods = findings.into_methods();
        let verdicts: Vec<_> = methods
            .iter()
            .map(|m| (m.method.as_str(), m.verdict))
            .collect();
        assert_eq!(
            verdicts,
            vec![
                ("info", Verdict::Pass),
                ("power", Verdict::Skipped),
                ("create_group", Verdict::Fail)
            ]
        );
        let report = CheckReport {
            plugin: "x".into(),
            path: PathBuf::from("/x"),
            version: None,
            protocol_version: None,
            kinds: vec![],
            messages: 0,
            methods,
        };
        assert!(!report.passed());
        assert_eq!(report.failed_methods(), vec!["create_group"]);
    }
}
