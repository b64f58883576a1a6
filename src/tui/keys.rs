//! The key map, in one table: the help overlay and the README both show it.

/// (keys, what they do)
pub const KEYMAP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "focus the next / previous panel"),
    ("↑ ↓ / k j", "move the selection (the log scrolls)"),
    ("PgUp PgDn", "move a page"),
    ("g / G, Home / End", "first / last row (G follows the log)"),
    (
        "Enter",
        "Clusters: show that cluster · Checks: one node's full output",
    ),
    ("Esc", "close a popup, or clear the focused panel's filter"),
    (
        "/",
        "filter the focused panel (Enter keeps it, Esc clears it)",
    ),
    (
        ":",
        "command line: run, debug, validate, scale, stop, start, destroy-node, destroy, gc",
    ),
    ("Tab (in :)", "complete a command, role, group or node"),
    ("↑ ↓ (in :)", "command history"),
    ("r", "reload the clusters list"),
    (
        "c",
        "the shown cluster's distribution configs (also :configs)",
    ),
    (
        "a (in configs)",
        "show / hide the advanced (priority 2) configs",
    ),
    (
        "Ctrl-C",
        "cancel the running operation (quit when none runs)",
    ),
    ("?", "this help"),
    ("q", "quit (asks first while an operation runs)"),
    (
        "mouse",
        "click focuses a panel and selects a row; wheel scrolls",
    ),
];
