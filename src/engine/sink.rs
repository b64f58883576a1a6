//! The event stream from workers to a frontend: a bounded queue.
//!
//! Workers only send; the frontend owns whatever it builds from the events.
//! Output lines are the only events whose number depends on what nodes print
//! rather than on the work, so only they are limited: past a soft limit a
//! transport waits ([`EventSink::output_room`]) before it reads more, which
//! in turn blocks the node on its pipe; past a hard limit (many nodes at once,
//! or a transport that cannot wait) lines are dropped and counted, and the
//! count goes out as an `output_dropped` event before that node's next event.
//! Every other event is always delivered, in order; workers keep their
//! number down by waiting for [`EventSink::backlog_room`] before each node's
//! work.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::event::{Event, EventKind};
use super::event_log::RecordedEvents;

/// Queued output at which transports stop reading until the frontend catches up.
const OUTPUT_SOFT_LINES: usize = 1024;
const OUTPUT_SOFT_BYTES: usize = 256 * 1024;
/// Queued output past which further lines are dropped and counted.
const OUTPUT_HARD_LINES: usize = 8192;
const OUTPUT_HARD_BYTES: usize = 2 * 1024 * 1024;
/// Queued events past which workers wait before starting a node's work.
const BACKLOG_SOFT: usize = 4096;
/// What an output event costs besides its text: the event, its time, its node.
const EVENT_OVERHEAD: usize = 96;

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<Event>,
    output_lines: usize,
    output_bytes: usize,
    /// Lines dropped per node and not yet reported.
    dropped: BTreeMap<String, u64>,
    senders: usize,
    receiver_gone: bool,
}

impl Queue {
    fn output_has_room(&self) -> bool {
        self.receiver_gone
            || (self.output_lines < OUTPUT_SOFT_LINES && self.output_bytes < OUTPUT_SOFT_BYTES)
    }

    fn backlog_has_room(&self) -> bool {
        self.receiver_gone || self.events.len() < BACKLOG_SOFT
    }

    /// Reports dropped lines before whatever comes next, so the marker sits
    /// where the lines were lost.
    fn push(&mut self, event: Event) {
        self.report_dropped();
        if let Some(cost) = output_cost(&event.kind) {
            self.output_lines += 1;
            self.output_bytes += cost;
        }
        self.events.push_back(event);
    }

    fn report_dropped(&mut self) {
        for (node, lines) in std::mem::take(&mut self.dropped) {
            self.events
                .push_back(Event::now(EventKind::OutputDropped { node, lines }));
        }
    }

    fn pop(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Some(cost) = output_cost(&event.kind) {
            self.output_lines -= 1;
            self.output_bytes -= cost;
        }
        Some(event)
    }
}

/// What a line of node output costs in the queue; `None` for other events.
/// Progress lines count as output: how many there are is up to the node.
fn output_cost(kind: &EventKind) -> Option<usize> {
    match kind {
        EventKind::Output { node, line, .. } => Some((node, line.len())),
        EventKind::StepProgress {
            node,
            step,
            message,
            ..
        } => Some((node, step.len() + message.as_ref().map_or(0, String::len))),
        _ => None,
    }
    .map(|(node, text)| node.len() + text + EVENT_OVERHEAD)
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the receiver: an event was queued or the last sink went away.
    arrived: Notify,
    /// Wakes workers waiting for room: the receiver took events or went away.
    room: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    async fn wait_until(&self, ready: impl Fn(&Queue) -> bool) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready(&self.lock()) {
                return;
            }
            notified.await;
        }
    }
}

#[derive(Debug)]
pub struct EventSink {
    shared: Arc<Shared>,
    /// Where this sink's events are also kept: the cluster's event log.
    recorded: Option<Arc<Mutex<RecordedEvents>>>,
}

impl Clone for EventSink {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
            recorded: self.recorded.clone(),
        }
    }
}

impl Drop for EventSink {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.senders -= 1;
        if queue.senders == 0 {
            // Lines dropped at the very end are still reported.
            if !queue.receiver_gone {
                queue.report_dropped();
            }
            drop(queue);
            self.shared.arrived.notify_one();
        }
    }
}

impl EventSink {
    /// A sink and its receiver. The receiver must be read as events come, or
    /// dropped: workers wait for room while it holds undelivered events.
    pub fn channel() -> (Self, EventReceiver) {
        let shared = Arc::new(Shared::default());
        shared.lock().senders = 1;
        (
            Self {
                shared: Arc::clone(&shared),
                recorded: None,
            },
            EventReceiver { shared },
        )
    }

    /// Sends an event stamped now. Output and progress lines beyond the hard
    /// limit are dropped and counted; every other event is queued. A frontend that has
    /// gone away is not an error for the engine: the operation still finishes
    /// and records state.
    pub fn emit(&self, kind: EventKind) {
        let event = Event::now(kind);
        let log_failed = self.recorded.as_ref().and_then(|recorded| {
            recorded
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .record(&event)
        });
        if let Some(message) = log_failed {
            // Queued directly: recording it would fail again.
            let mut queue = self.shared.lock();
            if !queue.receiver_gone {
                queue.push(Event::now(EventKind::Warning {
                    message,
                    node: None,
                }));
            }
        }
        {
            let mut queue = self.shared.lock();
            if queue.receiver_gone {
                return;
            }
            if let Some(cost) = output_cost(&event.kind)
                && (queue.output_lines >= OUTPUT_HARD_LINES
                    || queue.output_bytes + cost > OUTPUT_HARD_BYTES)
            {
                if let EventKind::Output { node, .. } | EventKind::StepProgress { node, .. } =
                    event.kind
                {
                    *queue.dropped.entry(node).or_default() += 1;
                }
                return;
            }
            queue.push(event);
        }
        self.shared.arrived.notify_one();
    }

    /// A sink sending to the same frontend that also appends every event to
    /// a cluster's event log.
    pub(crate) fn recording(&self, recorded: RecordedEvents) -> Self {
        let mut sink = self.clone();
        sink.recorded = Some(Arc::new(Mutex::new(recorded)));
        sink
    }

    /// Resolves when the frontend has room for more output (or is gone).
    /// Transports await it between reads: a slow frontend then slows the
    /// reading of the node's pipe instead of growing a queue.
    pub async fn output_room(&self) {
        self.shared.wait_until(Queue::output_has_room).await;
    }

    /// Resolves when the queue is short enough to start another node's work,
    /// so a slow frontend bounds the step and check events waiting for it.
    pub async fn backlog_room(&self) {
        self.shared.wait_until(Queue::backlog_has_room).await;
    }

    /// Reports lines dropped so far even if no other event follows.
    pub fn flush_dropped(&self) {
        {
            let mut queue = self.shared.lock();
            if queue.dropped.is_empty() || queue.receiver_gone {
                return;
            }
            queue.report_dropped();
        }
        self.shared.arrived.notify_one();
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

/// The frontend's end of the event stream.
#[derive(Debug)]
pub struct EventReceiver {
    shared: Arc<Shared>,
}

impl EventReceiver {
    /// The next event; `None` once every sink is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            {
                let mut queue = self.shared.lock();
                if let Some(event) = queue.pop() {
                    let room = queue.output_has_room() || queue.backlog_has_room();
                    drop(queue);
                    if room {
                        self.shared.room.notify_waiters();
                    }
                    return Some(event);
                }
                if queue.senders == 0 {
                    return None;
                }
            }
            self.shared.arrived.notified().await;
        }
    }
}

impl Drop for EventReceiver {
    /// Workers waiting for room must not wait for a frontend that is gone.
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.receiver_gone = true;
        queue.events.clear();
        queue.dropped.clear();
        drop(queue);
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::Stream;

    fn output(node: &str, line: &str) -> EventKind {
        EventKind::Output {
            node: node.into(),
            stream: Stream::Stdout,
            line: line.into(),
        }
    }

    fn step(node: &str, index: usize) -> EventKind {
        EventKind::StepStarted {
            node: node.into(),
            step: format!("s{index}"),
        }
    }

    #[tokio::test]
    async fn a_flood_is_dropped_and_counted_but_other_events_all_arrive_in_order() {
        let (sink, mut events) = EventSink::channel();
        let total = 3 * OUTPUT_HARD_LINES;
        for index in 0..total {
            sink.emit(output("a-1", "y"));
            if index % 1000 == 0 {
                sink.emit(step("a-1", index));
            }
        }
        sink.emit(EventKind::NodeDestroyed { node: "a-1".into() });
        drop(sink);
        let (mut lines, mut dropped, mut steps) = (0u64, 0u64, Vec::new());
        let mut last = None;
        while let Some(event) = events.recv().await {
            match &event.kind {
                EventKind::Output { .. } => lines += 1,
                EventKind::OutputDropped { node, lines } => {
                    assert_eq!(node, "a-1");
                    dropped += lines;
                }
                EventKind::StepStarted { step, .. } => steps.push(step.clone()),
                _ => {}
            }
            last = Some(event.kind);
        }
        assert_eq!(
            lines, OUTPUT_HARD_LINES as u64,
            "the queue holds the hard limit"
        );
        assert_eq!(
            lines + dropped,
            total as u64,
            "every line is shown or counted"
        );
        let expected: Vec<String> = (0..total).step_by(1000).map(|i| format!("s{i}")).collect();
        assert_eq!(steps, expected, "no step event is lost or reordered");
        assert_eq!(last, Some(EventKind::NodeDestroyed { node: "a-1".into() }));
    }

    #[tokio::test]
    async fn the_marker_precedes_the_next_event_and_counts_bytes_too() {
        let (sink, mut events) = EventSink::channel();
        let big = "x".repeat(4096);
        let mut sent = 0;
        while sink.shared.lock().dropped.is_empty() {
            sink.emit(output("a-1", &big));
            sent += 1;
        }
        assert!(
            sent * 4096 <= OUTPUT_HARD_BYTES + 4096 * 2,
            "bounded by bytes"
        );
        sink.emit(output("a-1", "after"));
        let mut kinds = Vec::new();
        drop(sink);
        while let Some(event) = events.recv().await {
            kinds.push(event.kind);
        }
        let position = kinds
            .iter()
            .position(|kind| matches!(kind, EventKind::OutputDropped { lines: 1, .. }))
            .expect("a marker for the one dropped line");
        assert_eq!(kinds[position + 1], output("a-1", "after"));
    }

    #[tokio::test]
    async fn waiting_for_room_ends_when_the_frontend_reads_or_goes_away() {
        let (sink, mut events) = EventSink::channel();
        for _ in 0..OUTPUT_SOFT_LINES {
            sink.emit(output("a-1", "y"));
        }
        let waiting = tokio::time::timeout(Duration::from_millis(50), sink.output_room()).await;
        assert!(waiting.is_err(), "a full queue makes the reader wait");
        let reader = tokio::spawn(async move {
            for _ in 0..10 {
                events.recv().await;
            }
            events
        });
        tokio::time::timeout(Duration::from_secs(5), sink.output_room())
            .await
            .expect("room once the frontend reads");
        let events = reader.await.expect("reader");
        for _ in 0..OUTPUT_SOFT_LINES {
            sink.emit(output("a-1", "y"));
        }
        drop(events);
        tokio::time::timeout(Duration::from_secs(5), sink.output_room())
            .await
            .expect("no waiting for a frontend that is gone");
        sink.emit(step("a-1", 0));
    }

    #[tokio::test]
    async fn a_flood_of_progress_lines_is_bounded_like_output() {
        let (sink, mut events) = EventSink::channel();
        let total = 2 * OUTPUT_HARD_LINES;
        for _ in 0..total {
            sink.emit(EventKind::StepProgress {
                node: "a-1".into(),
                step: "install:x".into(),
                percent: Some(1),
                message: None,
            });
        }
        drop(sink);
        let (mut shown, mut dropped) = (0, 0);
        while let Some(event) = events.recv().await {
            match event.kind {
                EventKind::StepProgress { .. } => shown += 1,
                EventKind::OutputDropped { lines, .. } => dropped += lines,
                _ => {}
            }
        }
        assert_eq!(shown, OUTPUT_HARD_LINES as u64);
        assert_eq!(shown + dropped, total as u64);
    }

    #[tokio::test]
    async fn flush_reports_drops_with_no_event_after_them() {
        let (sink, mut events) = EventSink::channel();
        for _ in 0..=OUTPUT_HARD_LINES {
            sink.emit(output("a-1", "y"));
        }
        sink.flush_dropped();
        drop(sink);
        let mut last = None;
        while let Some(event) = events.recv().await {
            last = Some(event.kind);
        }
        assert_eq!(
            last,
            Some(EventKind::OutputDropped {
                node: "a-1".into(),
                lines: 1
            })
        );
    }
}
