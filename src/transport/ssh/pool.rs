//! One connection per node, opened on first use and reused by every later
//! command, upload and debugger in this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::connect::{KeyCache, Session, connect};
use super::settings::{SshSettings, SshTarget};
use crate::transport::{ConnectError, ConnectErrorKind};

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Session>>>>;

#[derive(Default)]
pub struct SshPool {
    slots: Mutex<HashMap<(SshTarget, SshSettings), Slot>>,
    keys: KeyCache,
}

impl SshPool {
    /// The process-wide pool: backends are made per operation, connections
    /// outlive them.
    pub fn global() -> &'static SshPool {
        static POOL: OnceLock<SshPool> = OnceLock::new();
        POOL.get_or_init(SshPool::default)
    }

    pub async fn session(
        &self,
        node: &str,
        endpoint: &SshTarget,
        settings: &SshSettings,
    ) -> Result<Arc<Session>, ConnectError> {
        let slot = {
            let mut slots = self.slots.lock().map_err(|_| {
                ConnectError::new(ConnectErrorKind::Other, "connection pool poisoned")
            })?;
            slots
                .entry((endpoint.clone(), settings.clone()))
                .or_default()
                .clone()
        };
        // Held across the connect so two commands to one node share one connection.
        let mut guard = slot.lock().await;
        if let Some(session) = guard.as_ref()
            && !session.is_closed()
        {
            return Ok(session.clone());
        }
        let session = Arc::new(connect(node, endpoint, settings, &self.keys).await?);
        *guard = Some(session.clone());
        Ok(session)
    }

    /// Drops a node's connection so the next use reconnects.
    pub async fn forget(&self, endpoint: &SshTarget, settings: &SshSettings) {
        let slot = self
            .slots
            .lock()
            .ok()
            .and_then(|slots| slots.get(&(endpoint.clone(), settings.clone())).cloned());
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }
}
