//! The one place backends are looked up by kind. The engine is built with a
//! registry (the built-ins unless a test injects fakes) and frontends reach
//! backends only through the engine, so a fake backend reaches every path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Backend, Capabilities};

/// Finds backends for kinds the registry does not hold (plugins): `None`
/// when there is no such backend, `Err` when there is one that cannot be
/// used.
pub trait BackendResolver: Send + Sync {
    fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>>;

    /// The backend of `kind` in the file at `path` (absolute), which the
    /// spec names instead of leaving it to be found by kind.
    fn resolve_at(&self, kind: &str, path: &Path) -> Result<Arc<dyn Backend>, String> {
        Err(format!(
            "backend {kind:?} at {}: this build cannot start backend plugins",
            path.display()
        ))
    }
}

/// Resolved backends by kind and, for one the spec names by its file, that
/// file: a plugin at a path is never taken for a same-kind one found on
/// `PATH`, nor the other way round.
type Resolved = BTreeMap<(String, Option<PathBuf>), Result<Arc<dyn Backend>, String>>;

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

    /// The backend of a kind, in the file at `path` when one is given (a
    /// backend plugin the spec names by its file), else as [`Registry::get`].
    /// A built-in kind has no file: a path for one is refused.
    pub fn get_at(&self, kind: &str, path: Option<&Path>) -> Result<Arc<dyn Backend>, String> {
        let Some(path) = path else {
            return self.get(kind);
        };
        if self.backends.contains_key(kind) {
            return Err(format!(
                "backend {kind:?} is built in and has no path; remove backend.path ({})",
                path.display()
            ));
        }
        let Some(resolver) = self.resolver.as_ref() else {
            return Err(format!(
                "backend {kind:?} at {}: this registry starts no plugins",
                path.display()
            ));
        };
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut resolved = self.lock_resolved();
        let key = (kind.to_owned(), Some(path.clone()));
        if let Some(found) = resolved.get(&key) {
            return found.clone();
        }
        let found = resolver.resolve_at(kind, &path);
        resolved.insert(key, found.clone());
        found
    }

    fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>> {
        let resolver = self.resolver.as_ref()?;
        let mut resolved = self.lock_resolved();
        let key = (kind.to_owned(), None);
        if let Some(found) = resolved.get(&key) {
            return Some(found.clone());
        }
        let found = resolver.resolve(kind)?;
        resolved.insert(key, found.clone());
        Some(found)
    }

    /// Held while resolving, so two callers never start the same plugin twice.
    fn lock_resolved(&self) -> std::sync::MutexGuard<'_, Resolved> {
        self.resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The built-in kinds and the plugins already found by kind, sorted
    /// (not those named by a path: [`Registry::get`] cannot reach them).
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.backends.keys().cloned().collect();
        if let Ok(resolved) = self.resolved.lock() {
            kinds.extend(
                resolved
                    .iter()
                    .filter(|((_, path), found)| path.is_none() && found.is_ok())
                    .map(|((kind, _), _)| kind.clone()),
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
        self.capability_names_at(kind, None)
    }

    /// As [`Registry::capability_names`], for the backend at `path` when
    /// a cluster's spec names its file.
    pub fn capability_names_at(&self, kind: &str, path: Option<&Path>) -> Vec<&'static str> {
        self.get_at(kind, path)
            .map(|backend| backend.capabilities().names())
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

    /// Answers by kind like [`Counting`], and at a path with the backend
    /// of that path's file name, counting every start.
    struct AtPaths(Mutex<Vec<String>>);

    impl BackendResolver for AtPaths {
        fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>> {
            if let Ok(mut started) = self.0.lock() {
                started.push(kind.to_owned());
            }
            Some(Ok(Arc::new(super::super::local::LocalBackend)))
        }

        fn resolve_at(&self, kind: &str, path: &Path) -> Result<Arc<dyn Backend>, String> {
            if let Ok(mut started) = self.0.lock() {
                started.push(format!("{kind}@{}", path.display()));
            }
            if path.ends_with("missing") {
                return Err(format!("{} does not exist", path.display()));
            }
            Ok(Arc::new(super::super::local::LocalBackend))
        }
    }

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
    fn a_backend_at_a_path_is_cached_apart_from_the_same_kind_found_by_name() {
        let resolver = Arc::new(AtPaths(Mutex::new(Vec::new())));
        let registry = Registry::builtin().resolving_with(resolver.clone());
        assert!(registry.get("dirs").is_ok());
        assert!(registry.get_at("dirs", Some(Path::new("/p/one"))).is_ok());
        assert!(registry.get_at("dirs", Some(Path::new("/p/one"))).is_ok());
        assert!(registry.get_at("dirs", Some(Path::new("/p/two"))).is_ok());
        assert!(registry.get_at("dirs", None).is_ok());
        assert_eq!(
            registry.get_at("dirs", Some(Path::new("/p/missing"))).err(),
            Some("/p/missing does not exist".to_owned())
        );
        assert_eq!(
            *resolver.0.lock().expect("started"),
            vec!["dirs", "dirs@/p/one", "dirs@/p/two", "dirs@/p/missing"],
            "each (kind, path) started once"
        );
        // A relative path is the same file as its absolute form.
        let here = std::env::current_dir().expect("cwd");
        assert!(registry.get_at("dirs", Some(Path::new("rel/x"))).is_ok());
        assert!(registry.get_at("dirs", Some(&here.join("rel/x"))).is_ok());
        assert_eq!(resolver.0.lock().expect("started").len(), 5);
        assert_eq!(
            registry.kinds(),
            vec!["aws", "dirs", "docker", "local", "ssh"]
        );
        let refused = registry
            .get_at("local", Some(Path::new("./x")))
            .err()
            .unwrap_or_default();
        assert!(
            refused.contains("\"local\" is built in and has no path"),
            "{refused}"
        );
        assert!(
            Registry::builtin()
                .get_at("dirs", Some(Path::new("/p/one")))
                .is_err(),
            "a registry without a resolver starts nothing"
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
