//! The host's overhead per plugin call: the median of 10,000 sequential
//! no-op round trips (`PluginClient::call`, one JSON-RPC request and its
//! null answer over the plugin's pipes) against two minimal plugins:
//! this bench binary itself acting as a plugin (Rust: the plugin's own cost
//! is near zero, so the figure is the host's), and
//! benches/plugins/clusterdeck-plugin-noop (Python). Not a timed test:
//! it prints the figures. Run by `scripts/bench-plugin`, or
//! `cargo bench --bench plugin_rpc`; `PLUGIN_RPC_CALLS` changes the count.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterdeck::plugin::{NoContext, PluginClient};
use serde_json::{Value, json};

/// The name this binary is started under (a symlink) to act as the plugin.
const AS_PLUGIN: &str = "clusterdeck-plugin-rustnoop";

fn main() {
    let argv0 = std::env::args().next().unwrap_or_default();
    if argv0.ends_with(AS_PLUGIN) {
        serve();
        return;
    }
    let calls: usize = std::env::var("PLUGIN_RPC_CALLS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("plugin-rpc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rust = dir.join(AS_PLUGIN);
    std::os::unix::fs::symlink(std::env::current_exe().expect("own path"), &rust).expect("symlink");
    let python =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/plugins/clusterdeck-plugin-noop");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (label, path) in [
        ("rust no-op plugin", &rust),
        ("python no-op plugin", &python),
    ] {
        let (median, p99) = runtime.block_on(measure(path, calls));
        println!(
            "plugin_rpc: {label}: median {:.1} µs, p99 {:.1} µs per call ({calls} calls)",
            micros(median),
            micros(p99)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

async fn measure(path: &Path, calls: usize) -> (Duration, Duration) {
    let client = Arc::new(
        PluginClient::start("noop", path, Duration::from_secs(30)).expect("plugin starts"),
    );
    let hello = client
        .call(
            "initialize",
            json!({"protocol_versions": [1]}),
            &NoContext,
            None,
        )
        .await
        .expect("initialize");
    assert_eq!(hello["protocol_version"], 1);
    // Warm up: first calls pay for page faults and the plugin's imports.
    for _ in 0..100 {
        client
            .call("noop", Value::Null, &NoContext, None)
            .await
            .expect("call");
    }
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let result = client
            .call("noop", Value::Null, &NoContext, None)
            .await
            .expect("call");
        times.push(started.elapsed());
        assert!(result.is_null());
    }
    client.stop("bench done");
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// The plugin side: every request answered with null at once.
fn serve() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            return;
        };
        let Some(id) = message.get("id") else {
            continue;
        };
        let result = if message["method"] == "initialize" {
            json!({"protocol_version": 1, "name": "rustnoop", "version": "0", "kinds": ["backend"]})
        } else {
            Value::Null
        };
        let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
        if writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}
