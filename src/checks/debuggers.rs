//! Judging one debugger run on one node.

use regex::Regex;

use crate::model::CheckStatus;
use crate::spec::DebuggerSpec;
use crate::transport::ExecStatus;

/// Pass only if the command exited with the expected code within its timeout
/// and, when `expect` is set, its output matches it.
pub fn judge(
    debugger: &DebuggerSpec,
    expect: Option<&Regex>,
    status: ExecStatus,
    output: &str,
) -> (CheckStatus, String) {
    match status {
        ExecStatus::TimedOut => (
            CheckStatus::Timeout,
            format!(
                "no result within {}",
                humantime::format_duration(debugger.timeout)
            ),
        ),
        ExecStatus::Cancelled => (CheckStatus::Fail, "cancelled".to_owned()),
        ExecStatus::Signaled(_) => (CheckStatus::Fail, status.describe()),
        ExecStatus::Exited(code) if code != debugger.exit_code => (
            CheckStatus::Fail,
            format!("exit status {code} (expected {})", debugger.exit_code),
        ),
        ExecStatus::Exited(_) => match expect {
            Some(pattern) if !pattern.is_match(output) => (
                CheckStatus::Fail,
                format!("output does not match /{}/", pattern.as_str()),
            ),
            _ => (CheckStatus::Pass, "ok".to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn debugger() -> DebuggerSpec {
        DebuggerSpec {
            name: "up".into(),
            roles: vec![],
            run: "true".into(),
            plugin: None,
            expect: Some("running".into()),
            exit_code: 0,
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn verdicts() {
        let spec = debugger();
        let pattern = Regex::new("running").expect("regex");
        let judge = |status, output| judge(&spec, Some(&pattern), status, output);
        assert_eq!(
            judge(ExecStatus::Exited(0), "running\n").0,
            CheckStatus::Pass
        );
        assert_eq!(
            judge(ExecStatus::Exited(0), "stopped"),
            (CheckStatus::Fail, "output does not match /running/".into())
        );
        assert_eq!(
            judge(ExecStatus::Exited(2), "running"),
            (CheckStatus::Fail, "exit status 2 (expected 0)".into())
        );
        assert_eq!(
            judge(ExecStatus::TimedOut, ""),
            (CheckStatus::Timeout, "no result within 10s".into())
        );
    }
}
