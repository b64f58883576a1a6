//! Installing from a URL on the local backend, against a loopback HTTP server:
//! a pinned digest installs, a wrong one installs nothing, a 404 is named, an
//! unpinned download warns with its digest, and the cache saves a download.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use clusterdeck::backend::Registry;
use clusterdeck::backend::local::LocalBackend;
use clusterdeck::backend::{Backend, BackendContext, BackendError, Capabilities, NodeResults};
use clusterdeck::engine::{Engine, Event, EventKind, EventSink, Operation, OperationReport};
use clusterdeck::model::{
    BackendInfo, Endpoint, GroupRequest, Node, NodeOutcome, Outcome, ResourceRef, StepStatus,
    UrlFetch,
};
use clusterdeck::spec::LoadedSpec;
use clusterdeck::state::StateStore;
use common::http::{Server, sha256_hex};
use tokio_util::sync::CancellationToken;

const INSTALLER: &[u8] = b"#!/bin/sh\necho \"from-url $1\" > ../url-marker\necho installed as $1\n";

fn write_spec(dir: &Path, name: &str, url: &str, sha256: Option<&str>) -> LoadedSpec {
    let pin = sha256
        .map(|digest| format!("\n  sha256: {digest}"))
        .unwrap_or_default();
    let text = format!(
        "name: {name}
node_groups: [{{ name: a, count: 2, roles: [x] }}]
install:
  from: {url}{pin}
checks:
  debuggers:
    - {{ name: marker, run: cat url-marker, expect: '^from-url x$' }}
"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("spec");
    LoadedSpec::from_file(&path).expect("valid spec")
}

/// Runs `up` with a fresh engine and returns its report and every event.
async fn up_with(
    store: &StateStore,
    loaded: &LoadedSpec,
    backends: Option<Registry>,
) -> (OperationReport, Vec<Event>) {
    let (sink, mut receiver) = EventSink::channel();
    let mut engine = Engine::new(store.clone(), sink, CancellationToken::new());
    if let Some(backends) = backends {
        engine = engine.with_registry(backends);
    }
    let report = engine
        .execute(Operation::Up {
            spec: loaded.path.clone(),
        })
        .await
        .expect("up starts");
    drop(engine);
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        events.push(event);
    }
    (report, events)
}

async fn up(store: &StateStore, loaded: &LoadedSpec) -> (OperationReport, Vec<Event>) {
    up_with(store, loaded, None).await
}

async fn destroy(store: &StateStore, name: &str) {
    let (sink, _receiver) = EventSink::channel();
    let engine = Engine::new(store.clone(), sink, CancellationToken::new());
    let report = engine
        .execute(Operation::Destroy {
            cluster: name.to_owned(),
        })
        .await
        .expect("destroy starts");
    assert_eq!(report.outcome, Outcome::Succeeded);
}

fn cache_dir(store: &StateStore) -> PathBuf {
    store.root().join("cache/installers")
}

fn cached_files(store: &StateStore) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache_dir(store))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn fetch_messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepProgress {
                node,
                step,
                message: Some(message),
                ..
            } if node.is_empty() && step == "fetch" => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn fetch_finished(events: &[Event]) -> Vec<(StepStatus, Option<String>)> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepFinished {
                node,
                step,
                status,
                error,
                ..
            } if node.is_empty() && step == "fetch" => Some((*status, error.clone())),
            _ => None,
        })
        .collect()
}

fn warnings(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Warning { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_pinned_url_installs_and_a_second_up_reuses_the_cached_download() {
    let server = Server::start(vec![("/dl/setup.sh", INSTALLER.to_vec())]);
    let digest = sha256_hex(INSTALLER);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/dl/setup.sh");

    let first = write_spec(dir.path(), "url-first", &url, Some(&digest));
    let (report, events) = up(&store, &first).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(report.summary.tally.pass, 2, "both debuggers pass");
    assert_eq!(server.requests(), 1);
    assert_eq!(
        fetch_finished(&events),
        vec![(StepStatus::Ok, None)],
        "one fetch for the whole operation"
    );
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
    let record = store.load("url-first").expect("record");
    for node in &record.nodes {
        let installer = Path::new(&node.id).join("install/setup.sh");
        assert_eq!(std::fs::read(&installer).expect("uploaded"), INSTALLER);
        let marker =
            std::fs::read_to_string(Path::new(&node.id).join("url-marker")).expect("installer ran");
        assert_eq!(marker, "from-url x\n");
    }
    assert_eq!(cached_files(&store), vec![digest.clone()]);
    let cached = cache_dir(&store).join(&digest);
    let mode = |path: &Path| std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&cached), 0o600, "the cached installer is owner-only");
    assert_eq!(mode(&cache_dir(&store)), 0o700);

    let second = write_spec(dir.path(), "url-second", &url, Some(&digest));
    let (report, events) = up(&store, &second).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(server.requests(), 1, "the cached download was reused");
    assert_eq!(
        fetch_messages(&events),
        vec![format!(
            "using the cached download of {url} (sha256 {digest}); nothing downloaded"
        )]
    );

    // A damaged cache entry is not trusted: it is downloaded again.
    std::fs::write(&cached, b"tampered").expect("damage the cache");
    let third = write_spec(dir.path(), "url-third", &url, Some(&digest));
    let (report, _events) = up(&store, &third).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(server.requests(), 2, "the damaged copy was replaced");
    assert_eq!(std::fs::read(&cached).expect("cached"), INSTALLER);
    destroy(&store, "url-third").await;

    destroy(&store, "url-first").await;
    destroy(&store, "url-second").await;
}

#[tokio::test]
async fn a_wrong_digest_names_both_and_installs_nothing() {
    let server = Server::start(vec![("/setup.sh", INSTALLER.to_vec())]);
    let actual = sha256_hex(INSTALLER);
    let wrong = "0f".repeat(32);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/setup.sh");
    let loaded = write_spec(dir.path(), "url-wrong", &url, Some(&wrong));

    let (report, events) = up(&store, &loaded).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let expected = format!(
        "the installer downloaded from {url} has sha256 {actual}, but the spec expects {wrong}; it was removed and nothing was uploaded"
    );
    let failures: Vec<(String, String, String)> = report
        .summary
        .failures
        .iter()
        .map(|failure| {
            (
                failure.node.clone(),
                failure.step.clone(),
                failure.error.clone(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        vec![
            ("a-1".to_owned(), "fetch".to_owned(), expected.clone()),
            ("a-2".to_owned(), "fetch".to_owned(), expected.clone()),
        ]
    );
    assert_eq!(
        fetch_finished(&events),
        vec![(StepStatus::Failed, Some(expected))]
    );
    assert!(
        cached_files(&store).is_empty(),
        "{:?}",
        cached_files(&store)
    );
    let record = store.load("url-wrong").expect("record");
    for node in &record.nodes {
        assert!(
            !Path::new(&node.id).join("install").exists(),
            "nothing was uploaded to {}",
            node.name
        );
    }
    assert!(
        !events.iter().any(|event| matches!(
            &event.kind,
            EventKind::StepStarted { step, .. } if step == "upload"
        )),
        "no upload was attempted"
    );
    destroy(&store, "url-wrong").await;
}

#[tokio::test]
async fn a_missing_installer_is_a_clear_404() {
    let server = Server::start(vec![("/setup.sh", INSTALLER.to_vec())]);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/gone/setup.sh");
    let with_credentials = url.replace("http://", "http://ci:t0ken@");
    let loaded = write_spec(dir.path(), "url-404", &with_credentials, None);

    let (report, events) = up(&store, &loaded).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let expected = format!("cannot download {url}: the server answered 404 Not Found");
    assert_eq!(report.summary.failures.len(), 2);
    assert!(
        report
            .summary
            .failures
            .iter()
            .all(|failure| failure.step == "fetch" && failure.error == expected),
        "{:?}",
        report.summary.failures
    );
    let all = serde_json::to_string(&events).expect("events serialize");
    assert!(!all.contains("t0ken"), "credentials leaked into events");
    let record = serde_json::to_string(&store.load("url-404").expect("record")).expect("json");
    assert!(
        !record.contains("t0ken"),
        "credentials leaked into the record"
    );
    assert!(record.contains(&url), "{record}");
    assert!(cached_files(&store).is_empty());
    destroy(&store, "url-404").await;
}

#[tokio::test]
async fn an_unpinned_url_warns_with_its_digest_and_installs() {
    let server = Server::start(vec![("/", INSTALLER.to_vec())]);
    let digest = sha256_hex(INSTALLER);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/");
    let loaded = write_spec(dir.path(), "url-unpinned", &url, None);

    let (report, events) = up(&store, &loaded).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(report.summary.tally.pass, 2);
    assert_eq!(
        warnings(&events),
        vec![format!(
            "the installer from {url} is not verified: the spec gives no sha256. Its sha256 is {digest}; add `sha256: {digest}` under `install:` to pin it"
        )]
    );
    let record = store.load("url-unpinned").expect("record");
    assert!(
        Path::new(&record.nodes[0].id)
            .join("install/installer")
            .is_file(),
        "a URL without a file name gives the installer the name `installer`"
    );
    destroy(&store, "url-unpinned").await;
}

/// The local backend with other capabilities: fetching installers on the
/// node, or not installing from URLs at all.
struct DeclaredBackend(LocalBackend, fn(Capabilities) -> Capabilities);

#[async_trait]
impl Backend for DeclaredBackend {
    fn info(&self) -> BackendInfo {
        let mut info = self.0.info();
        info.capabilities = (self.1)(info.capabilities);
        info
    }
    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        self.0.create_group(ctx, group).await
    }
    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        self.0.destroy_nodes(ctx, nodes).await
    }
    async fn discover(
        &self,
        ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        self.0.discover(ctx, known).await
    }
    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        self.0.destroy_resource(ctx, resource, id).await
    }
    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        self.0.endpoint(ctx, node).await
    }
}

fn declared(change: fn(Capabilities) -> Capabilities) -> Registry {
    Registry::empty().with(Arc::new(DeclaredBackend(LocalBackend, change)))
}

fn node_fetch_backends() -> Registry {
    declared(|capabilities| Capabilities {
        url_fetch: UrlFetch::Node,
        ..capabilities
    })
}

#[tokio::test]
async fn a_backend_without_url_installs_is_refused_before_anything_is_created() {
    let server = Server::start(vec![("/setup.sh", INSTALLER.to_vec())]);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/setup.sh");
    let with_credentials = url.replace("http://", "http://ci:t0ken@");
    let loaded = write_spec(dir.path(), "url-refused", &with_credentials, None);
    let backends = declared(|capabilities| Capabilities {
        install_from_url: false,
        ..capabilities
    });

    let (report, _events) = up_with(&store, &loaded, Some(backends)).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let install_source = report
        .summary
        .validators
        .iter()
        .find(|outcome| outcome.name == "install-source")
        .expect("install-source ran");
    assert_eq!(
        install_source.message,
        format!(
            "backend \"local\" cannot install from a URL ({url}); download the installer and give its path"
        )
    );
    assert_eq!(server.requests(), 0);
    assert!(store.try_load("url-refused").expect("readable").is_none());
}

fn node_fetch_steps(events: &[Event]) -> Vec<(String, StepStatus, Option<String>)> {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepFinished {
                node,
                step,
                status,
                error,
                ..
            } if step == "fetch" => Some((node.clone(), *status, error.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_backend_that_fetches_on_the_node_has_every_node_download_and_check() {
    let server = Server::start(vec![("/dl/setup.sh", INSTALLER.to_vec())]);
    let digest = sha256_hex(INSTALLER);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/dl/setup.sh");
    let loaded = write_spec(dir.path(), "url-node", &url, Some(&digest));

    let (report, events) = up_with(&store, &loaded, Some(node_fetch_backends())).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(report.summary.tally.pass, 2, "both debuggers pass");
    assert_eq!(server.requests(), 2, "each node downloaded for itself");
    let mut steps = node_fetch_steps(&events);
    steps.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        steps,
        vec![
            ("a-1".to_owned(), StepStatus::Ok, None),
            ("a-2".to_owned(), StepStatus::Ok, None)
        ],
        "one fetch step per node, none on this machine"
    );
    let progress: Vec<String> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepProgress {
                step,
                message: Some(message),
                ..
            } if step == "fetch" => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        vec![format!("downloaded, sha256 {digest}"); 2],
        "each node reports the digest it checked"
    );
    assert!(cached_files(&store).is_empty(), "nothing was fetched here");
    let record = store.load("url-node").expect("record");
    for node in &record.nodes {
        let install = Path::new(&node.id).join("install");
        assert_eq!(
            std::fs::read(install.join("setup.sh")).expect("fetched"),
            INSTALLER
        );
        let leftovers: Vec<_> = std::fs::read_dir(&install)
            .expect("install dir")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| name.to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    destroy(&store, "url-node").await;
}

#[tokio::test]
async fn on_the_node_a_wrong_digest_or_a_404_fails_that_node_and_runs_nothing() {
    let server = Server::start(vec![("/setup.sh", INSTALLER.to_vec())]);
    let actual = sha256_hex(INSTALLER);
    let wrong = "0f".repeat(32);
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let url = server.url("/setup.sh");
    let loaded = write_spec(dir.path(), "url-node-wrong", &url, Some(&wrong));

    let (report, events) = up_with(&store, &loaded, Some(node_fetch_backends())).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let expected = format!(
        "the installer downloaded from {url} has sha256 {actual}, but the spec expects {wrong}; it was removed and the installer was not run"
    );
    assert_eq!(report.summary.failures.len(), 2);
    for failure in &report.summary.failures {
        assert_eq!(
            (failure.step.as_str(), failure.error.as_str()),
            ("fetch", expected.as_str())
        );
    }
    let record = store.load("url-node-wrong").expect("record");
    for node in &record.nodes {
        let install = Path::new(&node.id).join("install");
        let names: Vec<_> = std::fs::read_dir(&install)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .collect()
            })
            .unwrap_or_default();
        assert!(names.is_empty(), "{} holds {names:?}", node.name);
        assert!(!Path::new(&node.id).join("url-marker").exists());
    }
    assert!(
        !events.iter().any(|event| matches!(
            &event.kind,
            EventKind::StepStarted { step, .. } if step == "upload" || step.starts_with("install")
        )),
        "no upload and no installer run after a failed fetch"
    );
    destroy(&store, "url-node-wrong").await;

    let missing = server.url("/nope.sh");
    let with_credentials = missing.replace("http://", "http://ci:t0ken@");
    let loaded = write_spec(dir.path(), "url-node-404", &with_credentials, None);
    let (report, events) = up_with(&store, &loaded, Some(node_fetch_backends())).await;
    assert_eq!(report.outcome, Outcome::Failed);
    for failure in &report.summary.failures {
        assert_eq!(failure.step, "fetch");
        assert!(
            failure
                .error
                .starts_with(&format!("cannot download {missing} on this node: ")),
            "{}",
            failure.error
        );
        assert!(failure.error.contains("404"), "{}", failure.error);
    }
    assert_eq!(report.summary.failures.len(), 2);
    let all = serde_json::to_string(&events).expect("events serialize");
    assert!(
        !all.contains("t0ken"),
        "credentials leaked into events: {all}"
    );
    assert_eq!(
        warnings(&events).len(),
        1,
        "one warning for the unpinned URL: {:?}",
        warnings(&events)
    );
    destroy(&store, "url-node-404").await;
}
