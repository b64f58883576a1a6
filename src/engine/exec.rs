//! Running commands on many nodes at once, with bounded concurrency, turning
//! their output into events while keeping a copy for results.

use std::future::Future;
use std::sync::Mutex;

use futures::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use super::event::EventKind;
use super::sink::EventSink;
use crate::model::Stream;
use crate::transport::{ExecRequest, ExecStatus, Transport};

/// Output kept per node for results; the full stream is in the events.
const CAPTURE_LIMIT: usize = 64 * 1024;

/// An installer line of this form becomes a progress event:
/// `clusterdeck:progress 40 unpacking`.
const PROGRESS_PREFIX: &str = "clusterdeck:progress ";

/// What one command on one node gave.
#[derive(Debug, Clone)]
pub struct Captured {
    /// `Err` when the node could not be reached or the command not started.
    pub status: Result<ExecStatus, String>,
    /// Combined stdout and stderr, trimmed, capped at [`CAPTURE_LIMIT`].
    pub output: String,
}

/// Runs `request` on one node; output lines go out as events as they come.
/// When `step` is set, progress lines update that step instead.
pub async fn run_captured(
    transport: &dyn Transport,
    node: &str,
    step: Option<&str>,
    request: &ExecRequest,
    events: &EventSink,
    cancel: &CancellationToken,
) -> Captured {
    let captured = Mutex::new(String::new());
    let on_line = |stream: Stream, line: &str| {
        if let (Some(step), Some(rest)) = (step, line.strip_prefix(PROGRESS_PREFIX)) {
            let (percent, message) = parse_progress(rest);
            events.emit(EventKind::StepProgress {
                node: node.to_owned(),
                step: step.to_owned(),
                percent,
                message,
            });
            return;
        }
        {
            let mut captured = captured.lock().unwrap_or_else(|poison| poison.into_inner());
            if captured.len() < CAPTURE_LIMIT {
                captured.push_str(line);
                captured.push('\n');
            }
        }
        events.emit(EventKind::Output {
            node: node.to_owned(),
            stream,
            line: line.to_owned(),
        });
    };
    let status = transport
        .exec(request, &on_line, cancel)
        .await
        .map_err(|err| err.to_string());
    let output = captured
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    Captured {
        status,
        output: output.trim_end().to_owned(),
    }
}

fn parse_progress(rest: &str) -> (Option<u8>, Option<String>) {
    let rest = rest.trim();
    let (first, message) = rest.split_once(' ').unwrap_or((rest, ""));
    let percent = first
        .trim_end_matches('%')
        .parse::<u8>()
        .ok()
        .filter(|percent| *percent <= 100);
    let message = if percent.is_some() { message } else { rest };
    let message = (!message.trim().is_empty()).then(|| message.trim().to_owned());
    (percent, message)
}

/// Runs `work` for every item, at most `parallel` at a time, in this task.
/// Results come back in the items' order.
pub async fn fan_out<I, T, F, Fut>(items: Vec<I>, parallel: usize, work: F) -> Vec<T>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = T>,
{
    let mut results: Vec<(usize, T)> = stream::iter(items.into_iter().enumerate())
        .map(|(position, item)| {
            let future = work(item);
            async move { (position, future.await) }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.sort_by_key(|(position, _)| *position);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse_with_or_without_a_percentage() {
        assert_eq!(
            parse_progress("40 unpacking"),
            (Some(40), Some("unpacking".into()))
        );
        assert_eq!(parse_progress("75%"), (Some(75), None));
        assert_eq!(parse_progress("250 x"), (None, Some("250 x".into())));
        assert_eq!(
            parse_progress("starting services"),
            (None, Some("starting services".into()))
        );
    }

    #[tokio::test]
    async fn fan_out_bounds_concurrency_and_keeps_order() {
        let running = std::sync::atomic::AtomicUsize::new(0);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        let results = fan_out((0..20).collect(), 4, |item: u32| {
            let (running, peak) = (&running, &peak);
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                running.fetch_sub(1, SeqCst);
                item * 2
            }
        })
        .await;
        assert_eq!(results, (0..20).map(|item| item * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 4);
    }
}
