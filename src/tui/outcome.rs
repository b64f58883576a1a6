//! How a dashboard session ended. The CLI promises the same exit statuses
//! with or without the dashboard (1 failed, 130 cancelled), so the session
//! remembers the last operation's end and the caller prints its line on
//! stderr once the terminal is restored.

use crate::model::Outcome;

use super::state::App;
pub use super::state::Finished;

/// What the session amounts to, for the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// No operation ran, or the last one succeeded: exit 0.
    Succeeded,
    /// The last operation failed: exit 1, with its line.
    Failed(String),
    /// The last operation could not start for bad input (a spec, a cluster
    /// that already exists or no longer does): exit 2, with its line.
    BadInput(String),
    /// The last operation was cancelled (Ctrl-C, quitting while it ran,
    /// SIGTERM), or the dashboard got SIGTERM: exit 130, with a line.
    Cancelled(String),
}

/// Judges the session once the dashboard has closed and the runner has
/// stopped: `terminated` says SIGTERM closed it.
pub fn ending(app: &App, terminated: bool) -> Ending {
    if let Some(operation) = app.running {
        // Cancelled, but it did not report its end within the shutdown patience.
        let cluster = app.cluster.as_ref().map_or("", |view| view.name.as_str());
        return Ending::Cancelled(format!(
            "{} {cluster}: cancelled: it did not stop in time; its recorded state may be incomplete",
            operation.as_str()
        ));
    }
    match &app.last_finished {
        Some(last) if last.outcome == Outcome::Cancelled => Ending::Cancelled(last.line()),
        _ if terminated => Ending::Cancelled("the dashboard was stopped by SIGTERM".to_owned()),
        Some(last) if last.bad_input => Ending::BadInput(last.line()),
        Some(last) if last.outcome == Outcome::Failed => Ending::Failed(last.line()),
        _ => Ending::Succeeded,
    }
}
