//! The sending side of the event stream. Workers only send; the frontend owns
//! whatever it builds from the events.

use tokio::sync::mpsc;

use super::event::{Event, EventKind};

#[derive(Debug, Clone)]
pub struct EventSink {
    sender: mpsc::UnboundedSender<Event>,
}

impl EventSink {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self { sender }, receiver)
    }

    /// Sends an event stamped now. A frontend that has gone away is not an
    /// error for the engine: the operation still finishes and records state.
    pub fn emit(&self, kind: EventKind) {
        let _ = self.sender.send(Event::now(kind));
    }

    pub fn warn(&self, node: Option<&str>, message: impl Into<String>) {
        self.emit(EventKind::Warning {
            message: message.into(),
            node: node.map(str::to_owned),
        });
    }

    pub fn error(&self, node: Option<&str>, message: impl Into<String>) {
        self.emit(EventKind::Error {
            message: message.into(),
            node: node.map(str::to_owned),
        });
    }
}
