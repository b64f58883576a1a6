//! Cold versus warm fan-out over SSH in one process: the first run opens a
//! connection per node, later runs reuse the pooled connections, as an
//! attached dashboard does. Driven by `scripts/bench-fanout`, which starts the
//! sshd fleet and registers the cluster; alone it only says how to run it.

use std::time::{Duration, Instant};

use clusterdeck::engine::{Engine, EventSink, Operation, Target};
use clusterdeck::model::Outcome;
use clusterdeck::state::StateStore;
use tokio_util::sync::CancellationToken;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let (Ok(cluster), Ok(state)) = (
        std::env::var("FANOUT_CLUSTER"),
        std::env::var("CLUSTERDECK_STATE_DIR"),
    ) else {
        println!(
            "fanout: set FANOUT_CLUSTER and CLUSTERDECK_STATE_DIR (scripts/bench-fanout does); nothing measured"
        );
        return;
    };
    let rounds: usize = std::env::var("FANOUT_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let parallel: usize = std::env::var("FANOUT_PARALLEL")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(256);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = StateStore::new(state.into());
        let mut times = Vec::new();
        for round in 0..=rounds {
            let (sink, mut events) = EventSink::channel();
            let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
            let engine = Engine::new(store.clone(), sink, CancellationToken::new()).with_parallel(parallel);
            let started = Instant::now();
            let report = engine
                .execute(Operation::Run {
                    cluster: cluster.clone(),
                    target: Target::All,
                    command: "uptime".to_owned(),
                    timeout: Some(Duration::from_secs(60)),
                })
                .await
                .expect("run");
            let elapsed = started.elapsed();
            drop(engine);
            let _ = drain.await;
            assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary.reason);
            println!(
                "round {round} ({}): {:.1} ms on {} nodes",
                if round == 0 { "cold" } else { "warm" },
                elapsed.as_secs_f64() * 1000.0,
                report.summary.tally.pass
            );
            times.push(elapsed);
        }
        let cold = times[0];
        let warm = median(times[1..].to_vec());
        println!(
            "in-process: cold {:.1} ms, warm median {:.1} ms over {rounds} rounds: warm is {:.1}x faster",
            cold.as_secs_f64() * 1000.0,
            warm.as_secs_f64() * 1000.0,
            cold.as_secs_f64() / warm.as_secs_f64()
        );
    });
}
