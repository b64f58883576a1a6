//! Timestamps and creation ids stamped on records and nodes.

use std::time::SystemTime;

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A creation id unique enough to tell apart two clusters of the same name.
pub fn new_uid(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{name}-{nanos:x}-{:x}", std::process::id())
}
