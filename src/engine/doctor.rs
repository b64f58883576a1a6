//! `doctor`: checks that clusterdeck can work here, each failing check with
//! the line that fixes it. Read-only: it never changes state.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::event::EventKind;
use super::{Engine, EngineError, OperationReport};
use crate::backend::{PreflightContext, resolve_options};
use crate::model::PreflightCheck;
use crate::model::{CheckKind, CheckResult, CheckStatus, OperationKind, Outcome, Summary};
use crate::spec::LoadedSpec;
use crate::state::StateError;

/// A check as the doctor reports it: a `check_result` of kind `doctor`
/// whose failing message ends with its fix on a line of its own.
fn into_result(check: PreflightCheck) -> CheckResult {
    let message = match check.fix {
        Some(fix) if check.status != CheckStatus::Pass => {
            format!("{}\n    fix: {fix}", check.message)
        }
        _ => check.message,
    };
    CheckResult {
        kind: CheckKind::Doctor,
        name: check.name,
        status: check.status,
        node: None,
        message,
        exit_code: None,
        output: None,
    }
}

impl Engine {
    pub(crate) async fn doctor(
        &self,
        spec: Option<&LoadedSpec>,
    ) -> Result<OperationReport, EngineError> {
        let subject = self.store.root().display().to_string();
        self.start(OperationKind::Doctor, &subject);
        let mut verdicts = self.state_checks();
        if let Some(loaded) = spec {
            verdicts.extend(self.spec_checks(loaded).await);
        }
        verdicts.extend(self.backend_preflight(spec).await);
        let results: Vec<CheckResult> = verdicts.into_iter().map(into_result).collect();
        for result in &results {
            self.events.emit(EventKind::CheckResult {
                result: result.clone(),
            });
        }
        let mut summary = Summary::default();
        for result in &results {
            summary.tally.add(result.status);
        }
        // A warning is shown with its fix but fails nothing.
        let failed = results
            .iter()
            .filter(|result| !matches!(result.status, CheckStatus::Pass | CheckStatus::Warn))
            .count();
        let outcome = if failed == 0 {
            Outcome::Succeeded
        } else {
            summary.reason = Some(format!(
                "{failed} of {} check(s) failed; each names its fix",
                results.len()
            ));
            Outcome::Failed
        };
        Ok(self.finish(OperationKind::Doctor, &subject, outcome, summary))
    }

    /// The state directory: there (or creatable), private, writable, and
    /// every cluster in it readable and not left locked.
    fn state_checks(&self) -> Vec<PreflightCheck> {
        let root = self.store.root();
        let shown = root.display();
        let elsewhere = "or point --state-dir (CLUSTERDECK_STATE_DIR) at a directory of yours";
        let metadata = match std::fs::metadata(root) {
            Ok(metadata) if metadata.is_dir() => metadata,
            Ok(_) => {
                return vec![PreflightCheck::fail(
                    "state-dir",
                    format!("{shown} is not a directory"),
                    format!("move {shown} out of the way, {elsewhere}"),
                )];
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return vec![creatable(root, elsewhere)];
            }
            Err(err) => {
                return vec![PreflightCheck::fail(
                    "state-dir",
                    format!("cannot read {shown}: {err}"),
                    format!("make {shown} readable by you, {elsewhere}"),
                )];
            }
        };
        let mut verdicts = vec![PreflightCheck::pass("state-dir", format!("{shown} exists"))];
        verdicts.push(private(root, metadata.permissions().mode()));
        verdicts.push(writable(root, elsewhere));
        let names = match self.store.names() {
            Ok(names) => names,
            Err(err) => {
                verdicts.push(PreflightCheck::fail(
                    "records",
                    format!("cannot list clusters: {err}"),
                    format!("make {shown}/clusters a readable directory of yours"),
                ));
                return verdicts;
            }
        };
        verdicts.push(self.records(&names));
        verdicts.push(self.locks(&names));
        verdicts
    }

    fn records(&self, names: &[String]) -> PreflightCheck {
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        for name in names {
            match self.store.load(name) {
                Ok(_) => {}
                Err(err @ StateError::Damaged { .. }) => {
                    problems.push(err.to_string());
                    fixes.push(format!("`clusterdeck destroy {name}`"));
                }
                Err(err) => {
                    problems.push(format!("cluster {name}: {err}"));
                    fixes.push(format!("make the files of cluster {name} readable by you"));
                }
            }
        }
        if problems.is_empty() {
            PreflightCheck::pass(
                "records",
                format!("{} cluster record(s) readable", names.len()),
            )
        } else {
            PreflightCheck::fail(
                "records",
                problems.join("; "),
                format!(
                    "{} (it removes what the ledger lists), or restore its cluster.json",
                    fixes.join(", ")
                ),
            )
        }
    }

    fn locks(&self, names: &[String]) -> PreflightCheck {
        let stale: Vec<String> = names
            .iter()
            .flat_map(|name| self.store.stale_lock_entries(name).unwrap_or_default())
            .map(|path| path.display().to_string())
            .collect();
        if stale.is_empty() {
            PreflightCheck::pass("locks", "no stale lock holders")
        } else {
            PreflightCheck::fail(
                "locks",
                format!(
                    "{} lock holder entr(ies) of processes that are gone",
                    stale.len()
                ),
                format!("rm {}", stale.join(" ")),
            )
        }
    }

    /// The spec doctor was given: its backend exists and its validators pass.
    async fn spec_checks(&self, loaded: &LoadedSpec) -> Vec<PreflightCheck> {
        if let Err(problem) = self.spec_backend(loaded) {
            let fix = if loaded.spec.backend.path.is_some() {
                format!(
                    "fix backend.path in {}: it names the plugin's executable, relative to the spec file",
                    loaded.path.display()
                )
            } else {
                format!(
                    "set backend.kind in {} to one of: {}",
                    loaded.path.display(),
                    self.registry.kinds().join(", ")
                )
            };
            return vec![PreflightCheck::fail("backend", problem, fix)];
        }
        let (validators, _) = self.validate(loaded).await;
        let failed: Vec<String> = validators
            .iter()
            .filter(|outcome| outcome.status != CheckStatus::Pass)
            .map(|outcome| format!("{}: {}", outcome.name, outcome.message))
            .collect();
        if failed.is_empty() {
            vec![PreflightCheck::pass(
                "spec",
                format!("{} validator(s) pass", validators.len()),
            )]
        } else {
            vec![PreflightCheck::fail(
                "spec",
                failed.join("; "),
                format!(
                    "edit {} (`clusterdeck validate` shows the plan)",
                    loaded.path.display()
                ),
            )]
        }
    }

    /// The backends' own checks (tools installed, credentials, reachability):
    /// the spec's backend with the spec's options, or the default backend
    /// with its defaults when no spec is given.
    async fn backend_preflight(&self, spec: Option<&LoadedSpec>) -> Vec<PreflightCheck> {
        // Without a spec, the backend a spec gets by default: the others
        // need setup (ssh keys, a Docker engine) only their users have.
        let (kind, found) = match spec {
            Some(loaded) => (loaded.spec.backend.kind.clone(), self.spec_backend(loaded)),
            None => {
                let kind = crate::spec::BackendSpec::default().kind;
                let found = self.backend(&kind);
                (kind, found)
            }
        };
        let mut verdicts = Vec::new();
        // An unknown kind is already a failed `backend` check of the spec.
        if let Ok(backend) = found {
            let given = spec
                .map(|loaded| loaded.spec.backend.options.clone())
                .unwrap_or_default();
            // Bad options are reported by the spec's validators; look with
            // the defaults then.
            let options = resolve_options(&backend.option_schema(), &given)
                .or_else(|_| resolve_options(&backend.option_schema(), &Default::default()))
                .unwrap_or_default();
            let ctx = PreflightContext {
                options,
                spec: spec.map(|loaded| loaded.spec.clone()),
            };
            for mut check in backend.preflight(&ctx).await {
                check.name = format!("{kind}: {}", check.name);
                if check.status != CheckStatus::Pass && check.fix.is_none() {
                    check.fix = Some("see the message above".to_owned());
                }
                verdicts.push(check);
            }
        }
        verdicts
    }
}

/// A state directory that does not exist yet is fine if it can be made.
fn creatable(root: &Path, elsewhere: &str) -> PreflightCheck {
    let shown = root.display();
    let existing = root.ancestors().skip(1).find(|dir| dir.exists());
    match existing {
        Some(dir) if dir.is_dir() && writable_by_me(dir) => PreflightCheck::pass(
            "state-dir",
            format!("{shown} does not exist yet; it is created on first use"),
        ),
        Some(dir) => PreflightCheck::fail(
            "state-dir",
            format!(
                "{shown} does not exist and cannot be created: {} is not a writable directory",
                dir.display()
            ),
            format!("mkdir -m 700 -p {shown} as a user who can, {elsewhere}"),
        ),
        None => PreflightCheck::fail(
            "state-dir",
            format!("{shown} does not exist and has no existing parent"),
            format!("give an absolute path: {elsewhere}"),
        ),
    }
}

fn private(root: &Path, mode: u32) -> PreflightCheck {
    if mode & 0o077 == 0 {
        PreflightCheck::pass("permissions", "owner-only")
    } else {
        PreflightCheck::fail(
            "permissions",
            format!(
                "{} is mode {:o}: other users can read cluster state",
                root.display(),
                mode & 0o777
            ),
            format!("chmod 700 {}", root.display()),
        )
    }
}

fn writable(root: &Path, elsewhere: &str) -> PreflightCheck {
    if writable_by_me(root) {
        PreflightCheck::pass("writable", "a file can be written and removed")
    } else {
        PreflightCheck::fail(
            "writable",
            format!("cannot write in {}", root.display()),
            format!("chmod u+w {}, {elsewhere}", root.display()),
        )
    }
}

/// Tries it: permission bits do not tell about ACLs, read-only mounts or root.
fn writable_by_me(dir: &Path) -> bool {
    let probe = dir.join(format!(".clusterdeck-doctor-{}", std::process::id()));
    let written = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    written
}
