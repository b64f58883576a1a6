//! Every event of an operation on a cluster, also appended to the cluster's
//! event log (`state::EventLog`), scrubbed of secrets, for `export`. Writing
//! it never fails an operation: a problem is logged once as a warning.

use super::event::{Event, EventKind};
use super::redact::Redactor;
use crate::state::EventLog;

#[derive(Debug)]
pub struct RecordedEvents {
    log: EventLog,
    redactor: Redactor,
    warned: bool,
}

impl RecordedEvents {
    pub fn new(log: EventLog, redactor: Redactor) -> Self {
        Self {
            log,
            redactor,
            warned: false,
        }
    }

    pub fn record(&mut self, event: &Event) {
        let Ok(line) = serde_json::to_vec(event) else {
            return;
        };
        let mut result = self.log.append(&self.redactor.redact(&line));
        if matches!(event.kind, EventKind::OperationFinished { .. }) {
            result = result.and_then(|()| self.log.flush());
        }
        if let Err(err) = result
            && !self.warned
        {
            self.warned = true;
            tracing::warn!("could not write the cluster's event log: {err}");
        }
    }
}
