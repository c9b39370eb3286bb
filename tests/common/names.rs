//! Names for what a test leaves on the stack every run shares (repositories in its
//! registry, buildx builders in its Docker config): unique to this test process among
//! all runs, past and concurrent.
#![allow(dead_code)]

use super::Stack;

/// What tells this test process's names (repositories, builders) from those of every
/// other run on the same stack: `PID-NONCE`, the nonce from the clock at first use.
/// The pid alone is not enough: pids wrap at 32768 here, within minutes when the team
/// builds, and the stack's registry and builders outlive a run (a repository a test
/// expects empty could hold an earlier run's tags; `buildx create --name` refuses a
/// name a failed run left behind).
pub fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        // Base 36, lowercase: a registry path component allows [a-z0-9].
        let (mut n, mut nonce) = (nanos % 36u128.pow(8), String::new());
        for _ in 0..8 {
            let d = (n % 36) as u32;
            nonce.insert(0, char::from_digit(d, 36).unwrap());
            n /= 36;
        }
        format!("{}-{nonce}", std::process::id())
    })
}

/// A buildx builder of a test's own in the stack's Docker config, removed on drop.
pub struct RemoteBuilder {
    stack: Stack,
    pub name: String,
}

impl Drop for RemoteBuilder {
    fn drop(&mut self) {
        let _ = self
            .stack
            .docker()
            .args(["buildx", "rm", &self.name])
            .output();
    }
}

impl Stack {
    /// A `remote`-driver buildx builder for `addr` in the stack's Docker config, named
    /// `PREFIX-RUN` ([`run_id`]), removed when dropped (a failed test included).
    pub fn remote_builder(&self, prefix: &str, addr: &str) -> RemoteBuilder {
        let name = format!("{prefix}-{}", run_id());
        self.ok(self.docker().args([
            "buildx", "create", "--name", &name, "--driver", "remote", addr,
        ]));
        RemoteBuilder {
            stack: self.clone(),
            name,
        }
    }
}
