//! The one place backends are looked up by kind. The engine is built with a
//! registry (the built-ins unless a test injects fakes) and frontends reach
//! backends only through the engine, so a fake backend reaches every path.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Backend, Capabilities};

/// The backends this build can use, by `backend.kind`.
#[derive(Clone)]
pub struct Registry {
    backends: BTreeMap<String, Arc<dyn Backend>>,
}

impl Registry {
    /// No backends at all; add some with [`Registry::with`].
    pub fn empty() -> Self {
        Self {
            backends: BTreeMap::new(),
        }
    }

    /// The backends built into clusterdeck: `local` and `ssh`.
    pub fn builtin() -> Self {
        Self::empty()
            .with(Arc::new(super::local::LocalBackend))
            .with(Arc::new(super::ssh::SshBackend))
    }

    /// Adds a backend under its own kind, replacing one of the same kind.
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backends.insert(backend.kind().to_owned(), backend);
        self
    }

    /// The backend of a kind, or an error listing the kinds there are.
    pub fn get(&self, kind: &str) -> Result<Arc<dyn Backend>, String> {
        self.backends.get(kind).cloned().ok_or_else(|| {
            format!(
                "unknown backend {kind:?}; available backends: {}",
                self.kinds().join(", ")
            )
        })
    }

    /// The known kinds, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        self.backends.keys().map(String::as_str).collect()
    }

    /// What a kind of backend can do; `None` for an unknown kind.
    pub fn capabilities(&self, kind: &str) -> Option<Capabilities> {
        self.backends
            .get(kind)
            .map(|backend| backend.capabilities())
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

    #[test]
    fn builtins_are_found_by_kind_and_unknown_kinds_list_the_known() {
        let registry = Registry::builtin();
        assert_eq!(registry.kinds(), vec!["local", "ssh"]);
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
        assert_eq!(registry.capabilities("docker"), None);
        assert_eq!(
            registry.get("docker").err(),
            Some("unknown backend \"docker\"; available backends: local, ssh".to_owned())
        );
        assert!(Registry::empty().get("local").is_err());
    }
}
