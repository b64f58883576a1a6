//! The host against tiny fake plugins written by each test (Python, standard
//! library only): id matching with several calls in flight, routing of
//! notifications, silence timeouts, cancellation, and every way a plugin can
//! break.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::rpc::RpcError;
use super::*;

/// A fake plugin: `body` runs after helpers `send(obj)` and `read()`.
fn fake(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("clusterdeck-plugin-fake");
    let script = format!(
        "#!/usr/bin/env python3\nimport json, sys, time\n\
         def send(obj):\n    obj['jsonrpc'] = '2.0'\n    sys.stdout.write(json.dumps(obj) + '\\n')\n    sys.stdout.flush()\n\
         def read():\n    line = sys.stdin.readline()\n    return json.loads(line) if line else None\n\
         {body}\n"
    );
    std::fs::write(&path, script).expect("write fake plugin");
    let mut perms = std::fs::metadata(&path).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod");
    path
}

fn start(body: &str, silence: Duration) -> (tempfile::TempDir, PluginClient) {
    let dir = tempfile::tempdir().expect("dir");
    let path = fake(&dir, body);
    let client = PluginClient::start("fake", &path, silence).expect("starts");
    (dir, client)
}

/// Records what a call received.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen").clone()
    }
}

impl CallHandler for Recorder {
    fn notification(&self, method: &str, params: &Value) {
        self.seen
            .lock()
            .expect("seen")
            .push(format!("{method} {}", params["message"]));
    }

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        self.seen
            .lock()
            .expect("seen")
            .push(format!("request {method}"));
        Ok(json!("written"))
    }

    fn log(&self, line: &str) {
        self.seen
            .lock()
            .expect("seen")
            .push(format!("stderr {line}"));
    }
}

#[tokio::test]
async fn answers_out_of_order_reach_their_calls_with_their_notifications() {
    // Reads both requests, then answers the second first; each call's
    // notification names its request.
    let body = "a = read(); b = read()\n\
        send({'method': 'log', 'params': {'request': b['id'], 'message': 'for ' + b['method']}})\n\
        send({'id': b['id'], 'result': b['method']})\n\
        send({'method': 'log', 'params': {'request': a['id'], 'message': 'for ' + a['method']}})\n\
        send({'id': a['id'], 'result': a['method']})\n\
        read()";
    let (_dir, client) = start(body, Duration::from_secs(10));
    let (first, second) = (Recorder::default(), Recorder::default());
    let (a, b) = tokio::join!(
        client.call("first", Value::Null, &first, None),
        client.call("second", Value::Null, &second, None)
    );
    assert_eq!(a, Ok(json!("first")));
    assert_eq!(b, Ok(json!("second")));
    assert_eq!(first.seen(), vec!["log \"for first\""]);
    assert_eq!(second.seen(), vec!["log \"for second\""]);
}

#[tokio::test]
async fn requests_of_the_plugin_are_answered_and_stderr_is_logged() {
    let body = "a = read()\n\
        sys.stderr.write('warming up\\n'); sys.stderr.flush()\n\
        send({'id': 'j1', 'method': 'journal.intent', 'params': {}})\n\
        answer = read()\n\
        send({'id': a['id'], 'result': answer['result']})\n\
        read()";
    let (_dir, client) = start(body, Duration::from_secs(10));
    let recorder = Recorder::default();
    let result = client
        .call("create_group", Value::Null, &recorder, None)
        .await;
    assert_eq!(result, Ok(json!("written")), "the host's answer went back");
    assert!(
        recorder
            .seen()
            .contains(&"request journal.intent".to_owned())
    );
    assert!(recorder.seen().contains(&"stderr warming up".to_owned()));
}

#[tokio::test]
async fn a_silent_plugin_times_out_and_progress_keeps_a_call_alive() {
    // The silence window also covers Python's start-up before the first
    // progress, which takes most of a second on a loaded 2-core machine:
    // 2 s of silence allowed, 3 s of work with progress every 0.5 s.
    let body = "a = read()\n\
        for i in range(6):\n    time.sleep(0.5)\n    send({'method': 'progress', 'params': {'message': str(i)}})\n\
        send({'id': a['id'], 'result': 'slow but alive'})\n\
        read(); time.sleep(30)";
    let (_dir, client) = start(body, Duration::from_secs(2));
    let recorder = Recorder::default();
    let alive = client
        .call("create_group", Value::Null, &recorder, None)
        .await;
    assert_eq!(
        alive,
        Ok(json!("slow but alive")),
        "3 s of work, never 2 s silent"
    );
    assert_eq!(recorder.seen().len(), 6);
    let silent = client
        .call("destroy_nodes", Value::Null, &NoContext, None)
        .await;
    assert_eq!(
        silent,
        Err(PluginError::Timeout {
            plugin: "fake".into(),
            method: "destroy_nodes".into(),
            seconds: 2
        })
    );
    let after = client.call("info", Value::Null, &NoContext, None).await;
    assert!(
        matches!(&after, Err(PluginError::Broken { detail, .. }) if detail.contains("was silent")),
        "a timed-out plugin is killed: {after:?}"
    );
}

#[tokio::test]
async fn cancellation_is_sent_to_the_plugin() {
    let body = "a = read()\n\
        cancel = read()\n\
        send({'id': a['id'], 'result': cancel})\n\
        read()";
    let (_dir, client) = start(body, Duration::from_secs(10));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let answer = client
        .call("create_group", Value::Null, &NoContext, Some(&cancel))
        .await
        .expect("answers");
    assert_eq!(answer["method"], CANCEL);
    assert_eq!(answer["params"]["id"], 1, "names the call it cancels");
}

async fn broken(body: &str) -> String {
    let (_dir, client) = start(body, Duration::from_secs(10));
    match client
        .call("create_group", Value::Null, &NoContext, None)
        .await
    {
        Err(PluginError::Broken {
            plugin,
            method,
            detail,
        }) => {
            assert_eq!((plugin.as_str(), method.as_str()), ("fake", "create_group"));
            detail
        }
        other => panic!("expected a broken plugin, got {other:?}"),
    }
}

#[tokio::test]
async fn crashes_garbage_and_wrong_ids_name_what_was_wrong() {
    let crash = broken("read(); sys.stderr.write('boom\\n'); sys.exit(3)").await;
    assert!(crash.contains("exited (exit status: 3)"), "{crash}");
    assert!(crash.contains("last stderr line: \"boom\""), "{crash}");
    let garbage = broken("read(); print('hello'); sys.stdout.flush(); read()").await;
    assert!(garbage.contains("not a JSON-RPC message"), "{garbage}");
    assert!(garbage.contains("\"hello\""), "{garbage}");
    let wrong = broken("read(); send({'id': 99, 'result': 1}); read()").await;
    assert!(
        wrong.contains("answered id 99, which no call is waiting for"),
        "{wrong}"
    );
}

#[tokio::test]
async fn a_missing_method_is_unsupported() {
    let body = "a = read()\n\
        send({'id': a['id'], 'error': {'code': -32601, 'message': 'no such method'}})\n\
        read()";
    let (_dir, client) = start(body, Duration::from_secs(10));
    let error = client
        .call("power", Value::Null, &NoContext, None)
        .await
        .expect_err("not implemented");
    assert!(matches!(error, PluginError::Rpc { code: -32601, .. }));
    let failure = crate::backend::BackendError::from(error);
    assert_eq!(
        failure.kind(),
        crate::model::BackendFailureKind::Unsupported
    );
}

#[test]
fn launch_checks_the_protocol_version_and_the_kind() {
    let dir = tempfile::tempdir().expect("dir");
    let path = fake(
        &dir,
        "a = read()\n\
         send({'id': a['id'], 'result': {'protocol_version': 2, 'name': 'fake', 'kinds': ['backend']}})\n\
         read()",
    );
    let error = launch("fake", &path, Duration::from_secs(10))
        .err()
        .map(|err| err.to_string());
    assert_eq!(
        error.as_deref(),
        Some("plugin fake speaks protocol version 2; clusterdeck speaks [1]")
    );
    let missing = launch("fake", &dir.path().join("nothing"), Duration::from_secs(1));
    assert!(missing.is_err_and(|err| err.to_string().starts_with("plugin fake: cannot start")),);
}

#[test]
fn the_example_plugin_launches_with_its_info() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/plugins/clusterdeck-plugin-dirs");
    let backend = launch("dirs", &path, Duration::from_secs(10)).expect("launches");
    use crate::backend::Backend;
    assert_eq!(backend.kind(), "dirs");
    assert!(backend.capabilities().gc && backend.capabilities().create);
    assert_eq!(backend.option_schema()[0].name, "root");
}

#[tokio::test]
async fn a_dead_plugin_is_started_afresh_for_the_next_call() {
    use crate::backend::{Backend, GcContext};
    // The first process dies on its first list_labelled; the next one answers.
    let dir = tempfile::tempdir().expect("dir");
    let marker = dir.path().join("died-once");
    let body = format!(
        "import os\n\
         while True:\n    m = read()\n    if m is None: break\n\
         \x20   if m['method'] == 'initialize': send({{'id': m['id'], 'result': {{'protocol_version': 1, 'name': 'fake', 'kinds': ['backend']}}}})\n\
         \x20   elif m['method'] == 'info': send({{'id': m['id'], 'result': {{'kind': 'fake', 'capabilities': {{'create': False, 'destroy': False, 'install_from_path': True, 'install_from_url': False, 'scale': False, 'stop_start': False, 'gc': True, 'url_fetch': 'host'}}, 'cluster_options': []}}}})\n\
         \x20   elif not os.path.exists({marker:?}): open({marker:?}, 'w').close(); sys.exit(4)\n\
         \x20   else: send({{'id': m['id'], 'result': []}})",
        marker = marker.display().to_string()
    );
    let path = fake(&dir, &body);
    let backend = std::thread::spawn(move || launch("fake", &path, Duration::from_secs(10)))
        .join()
        .expect("thread")
        .expect("launches");
    let ctx = GcContext {
        state_root: dir.path().to_path_buf(),
        options: Default::default(),
        cancel: CancellationToken::new(),
    };
    let first = backend.list_labelled(&ctx).await;
    assert!(
        first
            .as_ref()
            .is_err_and(|err| err.to_string().contains("exited (exit status: 4)")),
        "{first:?}"
    );
    assert_eq!(backend.list_labelled(&ctx).await, Ok(Vec::new()));
}

#[tokio::test]
async fn a_plugin_that_stops_reading_is_still_timed_out_and_killed() {
    // Never reads: a request bigger than the pipe's buffer cannot be written.
    let (_dir, client) = start("time.sleep(60)", Duration::from_millis(300));
    let big = json!("x".repeat(1 << 20));
    let stuck = client.call("create_group", big, &NoContext, None).await;
    assert!(
        matches!(stuck, Err(PluginError::Timeout { .. })),
        "{stuck:?}"
    );
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        client.call("info", Value::Null, &NoContext, None),
    )
    .await
    .expect("the host is not stuck writing");
    assert!(
        matches!(&next, Err(PluginError::Broken { detail, .. }) if detail.contains("silent")),
        "{next:?}"
    );
    assert!(!client.is_running());
}

/// Answers `host.run`-like requests after a delay named in their params.
struct Slow;

impl CallHandler for Slow {
    fn notification(&self, _method: &str, _params: &Value) {}

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: super::rpc::METHOD_NOT_FOUND,
            message: format!("no {method}"),
            data: None,
        })
    }

    fn slow_request<'a>(
        &'a self,
        method: &str,
        params: &Value,
    ) -> Option<futures::future::BoxFuture<'a, Result<Value, RpcError>>> {
        if method != "host.run" {
            return None;
        }
        let millis = params["sleep_ms"].as_u64().unwrap_or(0);
        let name = params["name"].clone();
        Some(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(name)
        }))
    }

    fn log(&self, _line: &str) {}
}

#[tokio::test]
async fn slow_requests_run_concurrently_with_the_call_and_hold_its_silence_timeout() {
    // Two requests at once: the slower first. Both take longer than the
    // silence timeout; the answers arrive in the order they finish.
    let body = "call = read()\n\
        send({'id': 'a', 'method': 'host.run', 'params': {'request': call['id'], 'name': 'slow', 'sleep_ms': 1600}})\n\
        send({'id': 'b', 'method': 'host.run', 'params': {'request': call['id'], 'name': 'quick', 'sleep_ms': 1200}})\n\
        first = read(); second = read()\n\
        send({'id': call['id'], 'result': [first['result'], second['result']]})\n\
        read()";
    let (_dir, client) = start(body, Duration::from_millis(1000));
    let result = client
        .call("debugger.debug", json!({}), &Slow, None)
        .await
        .expect("the call is not timed out while the host works");
    assert_eq!(result, json!(["quick", "slow"]));
}
