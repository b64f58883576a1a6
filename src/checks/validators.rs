//! Validators: pass/fail checks of a spec that run before anything is created,
//! each with a message that says what is wrong, as Calyptos validators did.

use std::collections::BTreeMap;

use crate::backend::{Backend, OptionSpec, resolve_options};
use crate::model::{CheckStatus, ValidatorOutcome};
use crate::spec::{InstallSource, LoadedSpec, ValidatorSpec};

fn outcome(name: &str, passed: bool, message: impl Into<String>) -> ValidatorOutcome {
    ValidatorOutcome {
        name: name.to_owned(),
        status: if passed {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        },
        message: message.into(),
    }
}

/// Runs the built-in validators, the backend's own, and those the spec
/// declares. `backend` is the error text when the spec's backend is unknown.
pub async fn run_validators(
    loaded: &LoadedSpec,
    backend: Result<&dyn Backend, &str>,
) -> Vec<ValidatorOutcome> {
    let spec = &loaded.spec;
    let mut results = Vec::new();
    let backend = match backend {
        Ok(backend) => {
            results.push(outcome(
                "backend",
                true,
                format!("backend {:?} is available", backend.kind()),
            ));
            Some(backend)
        }
        Err(problem) => {
            results.push(outcome("backend", false, problem));
            None
        }
    };
    if let Some(backend) = backend {
        results.push(
            match resolve_options(&backend.option_schema(), &spec.backend.options) {
                Ok(_) => outcome("backend-options", true, "backend options are valid"),
                Err(problems) => outcome("backend-options", false, problems.join("; ")),
            },
        );
    }
    results.push(unique_names(loaded));
    let total = spec.node_count();
    results.push(outcome(
        "node-count",
        total > 0,
        if total > 0 {
            format!("{total} node(s) in {} group(s)", spec.node_groups.len())
        } else {
            "the spec creates no nodes: give at least one group a count above 0".to_owned()
        },
    ));
    results.push(debugger_roles(loaded));
    if let Some(backend) = backend {
        if let Some(check) = install_source(loaded, backend) {
            results.push(check);
        }
        if let Some(check) = group_options(loaded, backend) {
            results.push(check);
        }
        results.extend(backend.validate(spec).await);
    }
    for validator in &spec.checks.validators {
        results.push(declared(loaded, backend, validator));
    }
    results
}

/// Each group's options against the backend's group option schema, when any
/// group gives options. A missing required one is left to the backend's own
/// validator, which can say what to write.
fn group_options(loaded: &LoadedSpec, backend: &dyn Backend) -> Option<ValidatorOutcome> {
    let schema: Vec<OptionSpec> = backend
        .info()
        .group_options
        .into_iter()
        .map(|mut option| {
            option.required = false;
            option
        })
        .collect();
    let groups = loaded
        .spec
        .node_groups
        .iter()
        .filter(|group| !group.options.is_empty());
    let mut problems = Vec::new();
    let mut any = false;
    for group in groups {
        any = true;
        if schema.is_empty() {
            let names: Vec<&str> = group.options.keys().map(String::as_str).collect();
            problems.push(format!(
                "group {}: backend {:?} takes no group options, found {}",
                group.name,
                backend.kind(),
                names.join(", ")
            ));
        } else if let Err(found) = resolve_options(&schema, &group.options) {
            problems.extend(
                found
                    .into_iter()
                    .map(|problem| format!("group {}: {problem}", group.name)),
            );
        }
    }
    any.then(|| {
        if problems.is_empty() {
            outcome("group-options", true, "group options are valid")
        } else {
            outcome("group-options", false, problems.join("; "))
        }
    })
}

fn unique_names(loaded: &LoadedSpec) -> ValidatorOutcome {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for group in &loaded.spec.node_groups {
        *seen.entry(group.name.as_str()).or_default() += 1;
    }
    let repeated: Vec<&str> = seen
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(name, _)| *name)
        .collect();
    if repeated.is_empty() {
        outcome("unique-names", true, "node group names are unique")
    } else {
        outcome(
            "unique-names",
            false,
            format!(
                "node group names must be unique; repeated: {}",
                repeated.join(", ")
            ),
        )
    }
}

fn debugger_roles(loaded: &LoadedSpec) -> ValidatorOutcome {
    let roles = loaded.spec.roles();
    let unknown: Vec<String> = loaded
        .spec
        .checks
        .debuggers
        .iter()
        .flat_map(|debugger| {
            debugger
                .roles
                .iter()
                .filter(|role| !roles.contains(role))
                .map(|role| format!("debugger {} names role {role:?}", debugger.name))
        })
        .collect();
    if unknown.is_empty() {
        outcome("debugger-roles", true, "every debugger role exists")
    } else {
        outcome(
            "debugger-roles",
            false,
            format!(
                "{}, which no node group has (roles: {})",
                unknown.join("; "),
                roles.join(", ")
            ),
        )
    }
}

fn install_source(loaded: &LoadedSpec, backend: &dyn Backend) -> Option<ValidatorOutcome> {
    let install = loaded.spec.install.as_ref()?;
    let capabilities = backend.capabilities();
    let mut problems = Vec::new();
    match &install.from {
        InstallSource::Path(path) => {
            if !capabilities.install_from_path {
                problems.push(format!(
                    "backend {:?} cannot install from a path",
                    backend.kind()
                ));
            }
            let resolved = loaded.resolve(path);
            if !resolved.is_file() {
                problems.push(format!("installer {} is not a file", resolved.display()));
            }
        }
        InstallSource::Url(url) => {
            if !capabilities.install_from_url {
                problems.push(format!(
                    "backend {:?} cannot install from a URL ({url}); download the installer and give its path",
                    backend.kind()
                ));
            }
        }
    }
    for file in &install.files {
        let resolved = loaded.resolve(&file.src);
        if !resolved.is_file() {
            problems.push(format!("file to copy {} is not a file", resolved.display()));
        }
    }
    Some(if problems.is_empty() {
        outcome(
            "install-source",
            true,
            format!(
                "installer and {} file(s) to copy are present",
                install.files.len()
            ),
        )
    } else {
        outcome("install-source", false, problems.join("; "))
    })
}

fn declared(
    loaded: &LoadedSpec,
    backend: Option<&dyn Backend>,
    validator: &ValidatorSpec,
) -> ValidatorOutcome {
    match validator {
        ValidatorSpec::RoleCount {
            role,
            equals,
            min,
            max,
        } => {
            let count: u32 = loaded
                .spec
                .node_groups
                .iter()
                .filter(|group| group.roles.contains(role))
                .map(|group| group.count)
                .sum();
            let mut expected = Vec::new();
            let mut passed = true;
            if let Some(equals) = equals {
                expected.push(format!("exactly {equals}"));
                passed &= count == *equals;
            }
            if let Some(min) = min {
                expected.push(format!("at least {min}"));
                passed &= count >= *min;
            }
            if let Some(max) = max {
                expected.push(format!("at most {max}"));
                passed &= count <= *max;
            }
            outcome(
                &format!("role-count({role})"),
                passed,
                format!(
                    "{count} node(s) with role {role} (expected {})",
                    expected.join(" and ")
                ),
            )
        }
        ValidatorSpec::RequiredOption { option } => {
            let name = format!("required-option({option})");
            let known = backend.is_none_or(|backend| {
                backend
                    .option_schema()
                    .iter()
                    .any(|spec| &spec.name == option)
            });
            if !known {
                outcome(
                    &name,
                    false,
                    format!("the backend has no option {option:?}"),
                )
            } else if loaded.spec.backend.options.contains_key(option) {
                outcome(&name, true, format!("backend option {option} is set"))
            } else {
                outcome(
                    &name,
                    false,
                    format!("backend option {option} must be set in backend.options"),
                )
            }
        }
    }
}
