//! The one place backends are looked up by kind. The engine is built with a
//! registry (the built-ins unless a test injects fakes) and frontends reach
//! backends only through the engine, so a fake backend reaches every path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Backend, Capabilities};

/// Finds backends for kinds the registry does not hold (plugins): `None`
/// when there is no such backend, `Err` when there is one that cannot be
/// used.
pub trait BackendResolver: Send + Sync {
    fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>>;
}

type Resolved = BTreeMap<String, Result<Arc<dyn Backend>, String>>;

/// The backends this build can use, by `backend.kind`.
#[derive(Clone)]
pub struct Registry {
    backends: BTreeMap<String, Arc<dyn Backend>>,
    resolver: Option<Arc<dyn BackendResolver>>,
    /// What the resolver answered, shared by every clone so each kind is
    /// resolved (a plugin started) once per process.
    resolved: Arc<Mutex<Resolved>>,
}

impl Registry {
    /// No backends at all; add some with [`Registry::with`].
    pub fn empty() -> Self {
        Self {
            backends: BTreeMap::new(),
            resolver: None,
            resolved: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Kinds no added backend has are looked up with `resolver`, lazily,
    /// once each; the added backends always come first.
    pub fn resolving_with(mut self, resolver: Arc<dyn BackendResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The backends built into clusterdeck: `local`, `ssh`, `docker` and `aws`.
    pub fn builtin() -> Self {
        Self::empty()
            .with(Arc::new(super::local::LocalBackend))
            .with(Arc::new(super::docker::DockerBackend))
            .with(Arc::new(super::aws::AwsBackend::default()))
            .with(Arc::new(super::ssh::SshBackend))
    }

    /// Adds a backend under its own kind, replacing one of the same kind.
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backends.insert(backend.kind().to_owned(), backend);
        self
    }

    /// The backend of a kind, or an error listing the kinds there are.
    pub fn get(&self, kind: &str) -> Result<Arc<dyn Backend>, String> {
        if let Some(backend) = self.backends.get(kind) {
            return Ok(Arc::clone(backend));
        }
        if let Some(found) = self.resolve(kind) {
            return found;
        }
        let builtin: Vec<&str> = self.backends.keys().map(String::as_str).collect();
        let plugins = if self.resolver.is_some() {
            format!(" (and no plugin clusterdeck-plugin-{kind} was found)")
        } else {
            String::new()
        };
        Err(format!(
            "unknown backend {kind:?}{plugins}; available backends: {}",
            builtin.join(", ")
        ))
    }

    fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>> {
        let resolver = self.resolver.as_ref()?;
        // Held while resolving, so two callers never start the same plugin twice.
        let mut resolved = self
            .resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = resolved.get(kind) {
            return Some(found.clone());
        }
        let found = resolver.resolve(kind)?;
        resolved.insert(kind.to_owned(), found.clone());
        Some(found)
    }

    /// The built-in kinds and the plugins already resolved, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.backends.keys().cloned().collect();
        if let Ok(resolved) = self.resolved.lock() {
            kinds.extend(
                resolved
                    .iter()
                    .filter(|(_, found)| found.is_ok())
                    .map(|(kind, _)| kind.clone()),
            );
        }
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// What a kind of backend can do; `None` for an unknown kind.
    pub fn capabilities(&self, kind: &str) -> Option<Capabilities> {
        self.get(kind).ok().map(|backend| backend.capabilities())
    }

    /// The names of what a kind of backend can do, for listings; none for a
    /// kind this build does not know.
    pub fn capability_names(&self, kind: &str) -> Vec<&'static str> {
        self.capabilities(kind)
            .map(|capabilities| capabilities.names())
            .unwrap_or_default()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(Mutex<u32>);

    impl BackendResolver for Counting {
        fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>> {
            if let Ok(mut calls) = self.0.lock() {
                *calls += 1;
            }
            match kind {
                "extra" => Some(Ok(Arc::new(super::super::local::LocalBackend))),
                "broken" => Some(Err("plugin broken: exited".to_owned())),
                _ => None,
            }
        }
    }

    #[test]
    fn unknown_kinds_are_resolved_once_and_builtins_come_first() {
        let resolver = Arc::new(Counting(Mutex::new(0)));
        let registry = Registry::builtin().resolving_with(resolver.clone());
        let copy = registry.clone();
        assert!(registry.get("local").is_ok());
        assert_eq!(*resolver.0.lock().expect("count"), 0, "built-ins never ask");
        assert!(registry.get("extra").is_ok());
        assert!(copy.get("extra").is_ok());
        assert_eq!(
            *resolver.0.lock().expect("count"),
            1,
            "resolved once, shared by clones"
        );
        assert_eq!(
            copy.get("broken").err(),
            Some("plugin broken: exited".to_owned())
        );
        assert!(registry.get("broken").is_err());
        assert_eq!(*resolver.0.lock().expect("count"), 2);
        assert_eq!(
            registry.kinds(),
            vec!["aws", "docker", "extra", "local", "ssh"]
        );
        assert_eq!(
            registry.get("nope").err(),
            Some("unknown backend \"nope\" (and no plugin clusterdeck-plugin-nope was found); available backends: aws, docker, local, ssh".to_owned())
        );
    }

    #[test]
    fn builtins_are_found_by_kind_and_unknown_kinds_list_the_known() {
        let registry = Registry::builtin();
        assert_eq!(registry.kinds(), vec!["aws", "docker", "local", "ssh"]);
        assert_eq!(
            registry
                .get("local")
                .map(|backend| backend.kind().to_owned()),
            Ok("local".to_owned())
        );
        assert!(
            registry
                .capabilities("local")
                .is_some_and(|caps| caps.scale)
        );
        assert!(registry.capabilities("ssh").is_some_and(|caps| !caps.scale));
        assert!(
            registry
                .capabilities("docker")
                .is_some_and(|caps| caps.scale && caps.stop_start)
        );
        assert!(registry.capabilities("aws").is_some());
        assert_eq!(registry.capabilities("kubernetes"), None);
        assert_eq!(
            registry.get("kubernetes").err(),
            Some(
                "unknown backend \"kubernetes\"; available backends: aws, docker, local, ssh"
                    .to_owned()
            )
        );
        assert!(Registry::empty().get("local").is_err());
    }
}
