//! Validators: pass/fail checks of a spec that run before anything is created,
//! each with a message that says what is wrong, as Calyptos validators did.
//! A failed validator gives one outcome per problem, each naming the spec
//! element it is about, so that it can be shown at its file:line:col.

use std::collections::BTreeMap;

use crate::backend::{Backend, OptionSpec, resolve_options};
use crate::model::{CheckStatus, ValidatorOutcome};
use crate::spec::{InstallSource, LoadedSpec, ValidatorSpec, redact_userinfo};

fn outcome(name: &str, passed: bool, message: impl Into<String>) -> ValidatorOutcome {
    ValidatorOutcome::new(name, passed, message)
}

fn failed_at(name: &str, field: impl Into<String>, message: impl Into<String>) -> ValidatorOutcome {
    ValidatorOutcome::failed_at(name, field, message)
}

/// The problems found, or one passing outcome saying what was checked.
fn passed_unless(
    name: &str,
    problems: Vec<ValidatorOutcome>,
    passed: impl Into<String>,
) -> Vec<ValidatorOutcome> {
    if problems.is_empty() {
        vec![outcome(name, true, passed)]
    } else {
        problems
    }
}

/// Runs the built-in validators, the backend's own, and those the spec
/// declares. `backend` is the error text when the spec's backend is unknown.
/// Every outcome about a spec element gets that element's location.
pub async fn run_validators(
    loaded: &LoadedSpec,
    backend: Result<&dyn Backend, &str>,
) -> Vec<ValidatorOutcome> {
    let mut results = checks(loaded, backend).await;
    for result in &mut results {
        if result.location.is_none()
            && let Some(field) = &result.field
        {
            result.location = loaded.positions.source_location(field);
        }
    }
    results
}

async fn checks(loaded: &LoadedSpec, backend: Result<&dyn Backend, &str>) -> Vec<ValidatorOutcome> {
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
            // A backend named by its file is wrong at that file.
            let field = if spec.backend.path.is_some() {
                "backend.path"
            } else {
                "backend.kind"
            };
            results.push(failed_at("backend", field, problem));
            None
        }
    };
    if let Some(backend) = backend {
        let problems = match resolve_options(&backend.option_schema(), &spec.backend.options) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .0
                .into_iter()
                .map(|problem| {
                    failed_at(
                        "backend-options",
                        format!("backend.options.{}", problem.option),
                        problem.message,
                    )
                })
                .collect(),
        };
        results.extend(passed_unless(
            "backend-options",
            problems,
            "backend options are valid",
        ));
    }
    results.extend(unique_names(loaded));
    let total = spec.node_count();
    results.push(if total > 0 {
        outcome(
            "node-count",
            true,
            format!("{total} node(s) in {} group(s)", spec.node_groups.len()),
        )
    } else {
        failed_at(
            "node-count",
            "node_groups[0].count",
            "the spec creates no nodes: give at least one group a count above 0",
        )
    });
    results.extend(debugger_roles(loaded));
    if let Some(backend) = backend {
        results.extend(install_source(loaded, backend));
        results.extend(group_options(loaded, backend));
        results.extend(backend.validate(spec).await);
    }
    for (index, validator) in spec.checks.validators.iter().enumerate() {
        // Plugins run in another process, which the engine starts.
        let Some(mut result) = declared(loaded, backend, validator) else {
            continue;
        };
        if result.status != CheckStatus::Pass {
            result.field = Some(format!("checks.validators[{index}]"));
        }
        results.push(result);
    }
    results
}

/// Each group's options against the backend's group option schema, when any
/// group gives options, each problem at the option it is about. A missing
/// required one is left to the backend's own validator, which can say what to
/// write.
fn group_options(loaded: &LoadedSpec, backend: &dyn Backend) -> Vec<ValidatorOutcome> {
    const NAME: &str = "group-options";
    let schema: Vec<OptionSpec> = backend
        .info()
        .group_options
        .into_iter()
        .map(|mut option| {
            option.required = false;
            option
        })
        .collect();
    let mut problems = Vec::new();
    let mut any = false;
    for (index, group) in loaded.spec.node_groups.iter().enumerate() {
        if group.options.is_empty() {
            continue;
        }
        any = true;
        if schema.is_empty() {
            let names: Vec<&str> = group.options.keys().map(String::as_str).collect();
            problems.push(failed_at(
                NAME,
                format!("node_groups[{index}].options"),
                format!(
                    "group {}: backend {:?} takes no group options, found {}",
                    group.name,
                    backend.kind(),
                    names.join(", ")
                ),
            ));
        } else if let Err(found) = resolve_options(&schema, &group.options) {
            problems.extend(found.0.into_iter().map(|problem| {
                failed_at(
                    NAME,
                    format!("node_groups[{index}].options.{}", problem.option),
                    format!("group {}: {}", group.name, problem.message),
                )
            }));
        }
    }
    if any {
        passed_unless(NAME, problems, "group options are valid")
    } else {
        Vec::new()
    }
}

/// Each repeated group name is reported at its later occurrence, naming the
/// line of the first.
fn unique_names(loaded: &LoadedSpec) -> Vec<ValidatorOutcome> {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (index, group) in loaded.spec.node_groups.iter().enumerate() {
        let Some(&earlier) = first.get(group.name.as_str()) else {
            first.insert(group.name.as_str(), index);
            continue;
        };
        let field = format!("node_groups[{earlier}].name");
        let place = match loaded.positions.nearest(&field) {
            Some(at) => format!("node_groups[{earlier}] at line {}", at.line),
            None => format!("node_groups[{earlier}]"),
        };
        problems.push(failed_at(
            "unique-names",
            format!("node_groups[{index}].name"),
            format!(
                "node group name {:?} is already used by {place}; node group names must be unique",
                group.name
            ),
        ));
    }
    passed_unless("unique-names", problems, "node group names are unique")
}

fn debugger_roles(loaded: &LoadedSpec) -> Vec<ValidatorOutcome> {
    let roles = loaded.spec.roles();
    let mut problems = Vec::new();
    for (index, debugger) in loaded.spec.checks.debuggers.iter().enumerate() {
        for (item, role) in debugger.roles.iter().enumerate() {
            if !roles.contains(role) {
                problems.push(failed_at(
                    "debugger-roles",
                    format!("checks.debuggers[{index}].roles[{item}]"),
                    format!(
                        "debugger {} names role {role:?}, which no node group has (roles: {})",
                        debugger.name,
                        roles.join(", ")
                    ),
                ));
            }
        }
    }
    passed_unless("debugger-roles", problems, "every debugger role exists")
}

fn install_source(loaded: &LoadedSpec, backend: &dyn Backend) -> Vec<ValidatorOutcome> {
    const NAME: &str = "install-source";
    let Some(install) = loaded.spec.install.as_ref() else {
        return Vec::new();
    };
    let capabilities = backend.capabilities();
    let mut problems = Vec::new();
    match &install.from {
        None => {}
        Some(InstallSource::Path(path)) => {
            if !capabilities.install_from_path {
                problems.push(failed_at(
                    NAME,
                    "install.from",
                    format!("backend {:?} cannot install from a path", backend.kind()),
                ));
            }
            let resolved = loaded.resolve(path);
            if !resolved.is_file() {
                problems.push(failed_at(
                    NAME,
                    "install.from",
                    format!("installer {} is not a file", resolved.display()),
                ));
            }
        }
        Some(InstallSource::Url(url)) if !capabilities.install_from_url => {
            problems.push(failed_at(
                NAME,
                "install.from",
                format!(
                    "backend {:?} cannot install from a URL ({}); download the installer and give its path",
                    backend.kind(),
                    redact_userinfo(url)
                ),
            ));
        }
        Some(InstallSource::Url(_)) => {}
    }
    let present = match &install.from {
        None => format!(
            "distribution {} installs; {} file(s) to copy are present",
            install.distribution,
            install.files.len()
        ),
        Some(InstallSource::Path(_)) => format!(
            "installer and {} file(s) to copy are present",
            install.files.len()
        ),
        Some(InstallSource::Url(url)) => format!(
            "{} file(s) to copy are present; the installer is downloaded from {} at install ({})",
            install.files.len(),
            redact_userinfo(url),
            if install.sha256.is_some() {
                "sha256 pinned"
            } else {
                "not verified: no sha256"
            }
        ),
    };
    for (index, file) in install.files.iter().enumerate() {
        let resolved = loaded.resolve(&file.src);
        if !resolved.is_file() {
            problems.push(failed_at(
                NAME,
                format!("install.files[{index}].src"),
                format!("file to copy {} is not a file", resolved.display()),
            ));
        }
    }
    passed_unless(NAME, problems, present)
}

fn declared(
    loaded: &LoadedSpec,
    backend: Option<&dyn Backend>,
    validator: &ValidatorSpec,
) -> Option<ValidatorOutcome> {
    Some(match validator {
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
        ValidatorSpec::Plugin(_) => return None,
    })
}
