//! moto, the EC2 emulator, for the aws backend's tests: one `moto_server` on
//! a free loopback port per test, from the venv `scripts/test` makes, killed
//! by its PID on drop. Queries about what exists go through boto3 from the
//! same venv, so the tests check the emulator with another client than ours.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    pub venv: PathBuf,
    child: Child,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

fn venv() -> PathBuf {
    std::env::var_os("CLUSTERDECK_MOTO_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/clusterdeck-moto-venv"))
        })
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}

/// moto, or `None` (with the reason printed) where it cannot run. Under
/// CI=true a missing venv is a failure, never a skip. `env` is extra
/// environment for the server (e.g. `MOTO_ENABLE_AMI_VALIDATION`).
pub fn moto(test: &str, env: &[(&str, &str)]) -> Option<Moto> {
    let venv = venv();
    if !venv.join("bin/moto_server").exists() {
        let reason = format!(
            "{} has no moto_server (scripts/test makes the venv)",
            venv.display()
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {reason}; under CI=true moto is required"
        );
        eprintln!("SKIPPED {test}: {reason}");
        return None;
    }
    Some(Moto::start(venv, env))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

impl Moto {
    fn start(venv: PathBuf, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("moto dir");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let mut command = Command::new(venv.join("bin/moto_server"));
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("moto log"))
            // The request recorder (when enabled) writes here, not in the cwd.
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start moto_server");
        let moto = Self {
            port,
            venv,
            child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if moto.http("GET", "/moto-api/data.json").is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server on port {port} did not answer: {}",
                std::fs::read_to_string(&moto.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One plain HTTP/1.0 request; the body of a 2xx answer.
    pub fn http(&self, method: &str, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?;
        status.starts_with('2').then(|| body.to_owned())
    }

    /// Environment for clusterdeck (and boto3) to reach this moto with
    /// static test credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }

    /// Runs a Python snippet with `ec2` (a boto3 client on this moto) in
    /// scope; the snippet sets `out`, printed as JSON.
    pub fn query(&self, snippet: &str) -> serde_json::Value {
        let script = format!(
            "import boto3, json\nec2 = boto3.client('ec2', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nout = None\n{snippet}\nprint(json.dumps(out, default=str))\n",
            self.endpoint()
        );
        let output = Command::new(self.venv.join("bin/python"))
            .args(["-c", &script])
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "boto3 query failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("query json")
    }

    /// Instances not terminated, with their tags as a map.
    pub fn live_instances(&self) -> Vec<serde_json::Value> {
        let out = self.query(
            "out = []\nfor r in ec2.describe_instances()['Reservations']:\n  for i in r['Instances']:\n    if i['State']['Name'] != 'terminated':\n      i['TagMap'] = {t['Key']: t['Value'] for t in i.get('Tags', [])}\n      out.append(i)",
        );
        out.as_array().cloned().unwrap_or_default()
    }

    /// Security groups other than the default ones.
    pub fn security_groups(&self) -> Vec<serde_json::Value> {
        let out = self.query(
            "out = [g for g in ec2.describe_security_groups()['SecurityGroups'] if g['GroupName'] != 'default']",
        );
        out.as_array().cloned().unwrap_or_default()
    }

    pub fn key_pairs(&self) -> Vec<serde_json::Value> {
        let out = self.query("out = ec2.describe_key_pairs()['KeyPairs']");
        out.as_array().cloned().unwrap_or_default()
    }

    /// The EC2 actions moto received since `start_recording`, in order.
    pub fn start_recording(&self) {
        self.http("POST", "/moto-api/recorder/reset-recording")
            .expect("reset recording");
        self.http("POST", "/moto-api/recorder/start-recording")
            .expect("start recording");
    }

    /// The raw recording (requests with their headers) so far.
    pub fn recording(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("recording")).unwrap_or_default()
    }

    pub fn recorded_actions(&self) -> Vec<String> {
        self.http("POST", "/moto-api/recorder/stop-recording")
            .expect("stop recording");
        let recording = self._dir.path().join("recording");
        if !recording.exists() {
            return Vec::new();
        }
        // Bodies are stored base64-encoded; the EC2 query protocol names the
        // operation in the body's Action parameter.
        let script = "import base64, json, sys, urllib.parse\nfor line in open(sys.argv[1]):\n  entry = json.loads(line)\n  body = entry.get('body') or ''\n  if entry.get('body_encoded'):\n    body = base64.b64decode(body).decode()\n  action = urllib.parse.parse_qs(body).get('Action')\n  if action:\n    print(action[0])\n";
        let output = Command::new(self.venv.join("bin/python"))
            .args(["-c", script])
            .arg(&recording)
            .output()
            .expect("read the recording");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
