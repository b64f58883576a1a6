//! Every event of an operation on a cluster, also appended to the cluster's
//! event log (`state::EventLog`), scrubbed of secrets, for `export`. Writing
//! it never fails an operation: the first problem becomes a warning.

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

    /// Appends the event; the first time that fails, the warning to show.
    pub fn record(&mut self, event: &Event) -> Option<String> {
        let Ok(line) = serde_json::to_vec(event) else {
            return None;
        };
        let mut result = self.log.append(&self.redactor.redact(&line));
        if matches!(event.kind, EventKind::OperationFinished { .. }) {
            result = result.and_then(|()| self.log.flush());
        }
        match result {
            Err(err) if !self.warned => {
                self.warned = true;
                tracing::warn!("could not write the cluster's event log: {err}");
                Some(format!(
                    "could not write the cluster's event log (export will miss these events): {err}"
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventSink;
    use crate::model::Stream;

    fn output(line: &str) -> EventKind {
        EventKind::Output {
            node: "a-1".into(),
            stream: Stream::Stdout,
            line: line.into(),
        }
    }

    #[tokio::test]
    async fn a_recording_sink_logs_every_event_scrubbed_and_a_broken_log_only_warns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (sink, mut events) = EventSink::channel();
        let redactor = Redactor::with_secrets(["s3cr3t-value".to_owned()]);
        let recording = sink.recording(RecordedEvents::new(
            EventLog::new(dir.path().to_path_buf()),
            redactor.clone(),
        ));
        recording.emit(output("the password is s3cr3t-value"));
        drop(recording);
        let log = std::fs::read_to_string(dir.path().join(crate::state::EVENT_LOG_FILE))
            .expect("log written");
        assert!(log.contains("the password is [redacted]"), "{log}");
        assert!(!log.contains("s3cr3t"));

        // A log that cannot be opened: one warning, the events still flow.
        let broken = dir.path().join("broken");
        std::fs::create_dir_all(broken.join(crate::state::EVENT_LOG_FILE)).expect("dir");
        let recording = sink.recording(RecordedEvents::new(EventLog::new(broken), redactor));
        recording.emit(output("one"));
        recording.emit(output("two"));
        drop(recording);
        drop(sink);
        let mut kinds = Vec::new();
        while let Some(event) = events.recv().await {
            kinds.push(event.kind);
        }
        let warnings = kinds
            .iter()
            .filter(|kind| matches!(kind, EventKind::Warning { message, .. } if message.contains("event log")))
            .count();
        assert_eq!(warnings, 1, "{kinds:?}");
        assert_eq!(
            kinds
                .iter()
                .filter(|kind| matches!(kind, EventKind::Output { .. }))
                .count(),
            3,
            "the frontend still gets every event, secrets and all: it is the user's own view"
        );
    }
}
