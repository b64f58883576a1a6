//! AWS keys stay secret: one planted in the spec (the discouraged explicit
//! keys) and one in the environment (the standard chain) appear in no
//! event, output line, error text, `inspect` output or state file, through
//! a whole life: validate, up, inspect, doctor, scale, a failing up, gc,
//! destroy.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::moto::{Moto, moto};
use common::text;

const SPEC_SECRET: &str = "specSECRETwJalrXUtnFEMI7K7MDENGbPxRfiCY";
const ENV_SECRET: &str = "envSECRETje7MtGbClwBF2Zp9Utk5bPxRfiCYzz";

fn deck(state: &Path, moto: &Moto, args: &[&str]) -> Output {
    let mut command = Command::new(common::BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", state)
        .env("CLUSTERDECK_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env_remove("AWS_PROFILE");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command.env("AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    command.output().expect("run clusterdeck")
}

/// Every file under `dir` holding `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        }) {
            found.push(path.display().to_string());
        }
    }
    found
}

fn write_spec(dir: &Path, name: &str, ami: &str) -> String {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nbackend:\n  kind: aws\n  options:\n    ami: {ami}\n    admin_location: 198.51.100.0/24\n    aws_access_key_id: AKIAPLANTEDINSPEC\n    aws_secret_access_key: {SPEC_SECRET}\nnode_groups:\n  - {{ name: masters, count: 1, roles: [master] }}\n  - {{ name: agents, count: 2, roles: [agent] }}\n"
        ),
    )
    .expect("spec");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn keys_from_the_spec_and_the_environment_appear_nowhere() {
    const TEST: &str = "keys_from_the_spec_and_the_environment_appear_nowhere";
    let Some(moto) = moto(
        TEST,
        &[
            ("MOTO_ENABLE_AMI_VALIDATION", "true"),
            ("MOTO_ENABLE_RECORDING", "True"),
        ],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let spec = write_spec(dir.path(), "hush", "ami-1e749f67");
    let bad = write_spec(dir.path(), "hushbad", "ami-00000000");

    let steps: Vec<(Vec<&str>, bool)> = vec![
        (vec!["validate", &spec], true),
        (vec!["-o", "json", "up", &spec], true),
        (vec!["inspect", "hush"], true),
        (vec!["inspect", "hush", "--json"], true),
        (vec!["doctor", &spec], true),
        (vec!["-o", "json", "scale", "hush", "agents", "3"], true),
        (vec!["up", &bad], false),
        (vec!["destroy", "hushbad"], true),
        (vec!["-o", "json", "up", &bad], false),
        (vec!["-o", "json", "gc"], true),
        (vec!["-o", "json", "destroy", "hushbad"], true),
        (vec!["-o", "json", "destroy", "hush"], true),
    ];
    let mut said = String::new();
    moto.start_recording();
    for (args, should_succeed) in steps {
        let output = deck(&state, &moto, &args);
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        if should_succeed {
            assert!(output.status.success(), "{args:?} failed:\n{all}");
        } else {
            assert!(!output.status.success(), "{args:?} succeeded:\n{all}");
        }
        if args[0] == "doctor" {
            // Which source the credentials come from, never what they are.
            assert!(all.contains("credentials resolve, from the spec"), "{all}");
            assert!(all.contains("image ami-1e749f67 exists"), "{all}");
            assert!(all.contains("the spec asks for 3 instance(s)"), "{all}");
        }
        if args.contains(&"up") && !should_succeed {
            assert!(all.contains("backend.options.ami"), "{args:?}: {all}");
        }
        if args == ["-o", "json", "up", spec.as_str()] {
            // The discouraged keys are warned about, by name only.
            assert!(all.contains("aws_secret_access_key"), "no warning:\n{all}");
            // ...and were used: moto saw requests signed with the spec's key id.
            assert!(
                moto.recording().contains("Credential=AKIAPLANTEDINSPEC/"),
                "the spec's keys were not used"
            );
            assert_eq!(moto.live_instances().len(), 3);
            assert!(
                !files_containing(&state, "hush").is_empty(),
                "the state holds the cluster"
            );
        }
        for secret in [SPEC_SECRET, ENV_SECRET] {
            let stored = files_containing(&state, secret);
            assert!(
                stored.is_empty(),
                "after {args:?} a key is stored in {stored:?}"
            );
        }
        said.push_str(&all);
    }
    assert!(moto.live_instances().is_empty(), "instances left");
    for secret in [SPEC_SECRET, ENV_SECRET] {
        assert!(!said.contains(secret), "a key was printed:\n{said}");
    }
}
