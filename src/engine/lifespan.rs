//! Lifespans for `gc`: a cluster this state directory knows is collected
//! once the lifespan its backend labelled on its resources has ended.
//!
//! Deliberately cautious, because collecting destroys a cluster someone may
//! still use: a cluster counts as expired only when every resource listed
//! for it carries an expiry and the latest of them has passed (nodes added
//! by a later `scale` may carry a later one). A resource without an expiry
//! means the cluster has no lifespan, and it is never touched.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The expiries labelled on each known cluster's resources, as listed.
#[derive(Debug, Default)]
pub(super) struct Lifespans {
    by_cluster: BTreeMap<String, Vec<Option<u64>>>,
}

impl Lifespans {
    /// One resource of `cluster`, with the expiry it carries (if any).
    pub(super) fn record(&mut self, cluster: &str, expires_at: Option<u64>) {
        self.by_cluster
            .entry(cluster.to_owned())
            .or_default()
            .push(expires_at);
    }

    /// The clusters whose lifespan ended at or before `now` (Unix seconds),
    /// each with the moment it ended.
    pub(super) fn ended(&self, now: u64) -> BTreeMap<String, u64> {
        self.by_cluster
            .iter()
            .filter_map(|(cluster, expiries)| {
                let latest = expiries
                    .iter()
                    .copied()
                    .collect::<Option<Vec<u64>>>()?
                    .into_iter()
                    .max()?;
                (latest <= now).then(|| (cluster.clone(), latest))
            })
            .collect()
    }
}

/// Now, in Unix seconds (0 on a clock before 1970, which expires nothing).
pub(super) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Why gc collects a cluster whose lifespan ended at `at` (Unix seconds).
pub(super) fn why_expired(at: u64) -> String {
    let when = UNIX_EPOCH + Duration::from_secs(at);
    format!(
        "expired (lifespan ended at {})",
        humantime::format_rfc3339_seconds(when)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cluster_all_of_whose_expiries_have_passed_has_ended() {
        let mut lifespans = Lifespans::default();
        lifespans.record("gone", Some(100));
        lifespans.record("gone", Some(150));
        lifespans.record("later-node", Some(100));
        lifespans.record("later-node", Some(300));
        lifespans.record("forever", None);
        lifespans.record("mixed", Some(100));
        lifespans.record("mixed", None);
        lifespans.record("future", Some(201));
        lifespans.record("exactly", Some(200));

        let ended = lifespans.ended(200);
        assert_eq!(
            ended.into_iter().collect::<Vec<_>>(),
            [("exactly".to_owned(), 200), ("gone".to_owned(), 150)]
        );
    }

    #[test]
    fn the_reason_names_the_moment_in_utc() {
        assert_eq!(
            why_expired(1_796_000_000),
            "expired (lifespan ended at 2026-11-30T00:53:20Z)"
        );
    }
}
