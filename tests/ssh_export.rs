//! `clusterdeck export` over SSH against a fleet of real OpenSSH servers:
//! every reachable node's logs (read with `head -c`, cut at the cap), an
//! absolute path, and a node that is down listed in the manifest. Skipped
//! (with the reason) where the fleet cannot run, failed under CI=true.

mod common;

use std::process::{Command, Output};

use common::bundle::{contains, entries, json, raw};
use common::fleet::{Fleet, fleet};
use common::{BIN, text};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSSHEXPORTKEY";
const SECRET_ENV: &str = "CLUSTERDECK_TEST_EXPORT_SSH_SECRET";
/// One byte past the 16 MiB cap of a fetched file.
const BIG: u64 = 16 * 1024 * 1024 + 1;

fn deck(fleet: &Fleet, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", fleet.dir.path().join("state"))
        .env("HOME", &fleet.home)
        .env(SECRET_ENV, SECRET)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run clusterdeck")
}

#[test]
fn a_bundle_over_ssh_holds_the_logs_of_the_nodes_that_answer() {
    let Some(mut fleet) = fleet(
        "a_bundle_over_ssh_holds_the_logs_of_the_nodes_that_answer",
        3,
    ) else {
        return;
    };
    std::fs::write(
        fleet.dir.path().join("install.sh"),
        format!(
            "#!/bin/sh\nset -e\nmkdir -p ../logs\necho \"app log of $CLUSTERDECK_NODE\" > ../logs/app.log\ncp config.json ../logs/config-copy.log\nhead -c {BIG} /dev/zero > ../logs/big.log\n"
        ),
    )
    .expect("installer");
    let extra = format!(
        "install:\n  from: install.sh\n  config: {{ aws_secret_access_key: {{ env: {SECRET_ENV} }} }}\n  log_paths:\n    web: [logs/*.log, /etc/hostname, nothing/here.log]\n"
    );
    let spec = fleet.spec("sshexport", "", &extra);
    let up = deck(&fleet, &["up", spec.to_str().expect("utf8")]);
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stderr),
        text(&up.stdout)
    );
    fleet.stop_node(2);

    let out = fleet.dir.path().join("ssh-bundle.tar.gz");
    let export = deck(
        &fleet,
        &["export", "sshexport", "--out", out.to_str().expect("utf8")],
    );
    assert!(
        export.status.success(),
        "{}\n{}",
        text(&export.stderr),
        text(&export.stdout)
    );

    let bundle = entries(&out);
    let hostname = std::fs::read("/etc/hostname").expect("/etc/hostname");
    for node in ["web-1", "web-2"] {
        let get = |path: &str| {
            bundle
                .get(&format!("clusterdeck-sshexport/nodes/{node}/{path}"))
                .unwrap_or_else(|| panic!("{node}/{path} missing: {:?}", bundle.keys()))
        };
        assert_eq!(text(get("logs/app.log")), format!("app log of {node}\n"));
        assert_eq!(get("_root/etc/hostname"), &hostname);
        assert_eq!(get("logs/big.log").len() as u64, BIG - 1);
        assert!(text(get("logs/config-copy.log")).contains("[redacted]"));
    }
    let manifest = json(&bundle, "clusterdeck-sshexport/manifest.json");
    let files = manifest["files"].as_array().expect("files");
    assert!(files.iter().any(|file| file["node"] == "web-1"
        && file["source"] == "logs/big.log"
        && file["truncated"] == true
        && file["size"] == BIG));
    let problems = manifest["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|problem| problem["node"] == "web-3"
            && problem["path"].is_null()
            && problem["error"]
                .as_str()
                .is_some_and(|error| error.contains("unreachable"))),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem["node"] == "web-1" && problem["path"] == "nothing/here.log")
    );
    assert!(!contains(&raw(&out), SECRET.as_bytes()));

    fleet.start_node(2);
    let destroy = deck(&fleet, &["destroy", "sshexport"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}
