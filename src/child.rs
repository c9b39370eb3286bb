//! Waiting for a child process with a deadline, without polling: a thread waits for it,
//! the caller waits for that thread until the deadline, and kills the child past it. The
//! answer comes the moment the child exits.

use std::process::Output;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// How waiting ended.
#[derive(Debug)]
pub enum Waited {
    Exited(Output),
    /// Still running at the deadline; it has been killed.
    TimedOut,
    Failed(std::io::Error),
}

/// Waits for `handle` at most `limit`.
pub fn wait(handle: duct::Handle, limit: Duration) -> Waited {
    let handle = Arc::new(handle);
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let handle = Arc::clone(&handle);
        std::thread::spawn(move || {
            let _ = tx.send(handle.wait().cloned());
        })
    };
    match rx.recv_timeout(limit) {
        Ok(Ok(output)) => {
            let _ = waiter.join();
            Waited::Exited(output)
        }
        Ok(Err(e)) => {
            let _ = waiter.join();
            Waited::Failed(e)
        }
        Err(_) => {
            // Not joined: a grandchild may hold the output pipes open after the kill,
            // and the waiting thread ends with them.
            let _ = handle.kill();
            Waited::TimedOut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn answers_when_the_child_exits() {
        let h = duct::cmd("sh", ["-c", "echo hi"])
            .stdout_capture()
            .start()
            .unwrap();
        let t = Instant::now();
        let Waited::Exited(out) = wait(h, Duration::from_secs(30)) else {
            panic!("not exited")
        };
        assert_eq!(out.stdout, b"hi\n");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn kills_a_child_past_the_deadline() {
        // A shell whose own child keeps the output pipe open after the shell is killed.
        let h = duct::cmd("sh", ["-c", "sleep 30; echo late"])
            .stdout_capture()
            .start()
            .unwrap();
        let t = Instant::now();
        assert!(matches!(
            wait(h, Duration::from_millis(200)),
            Waited::TimedOut
        ));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}
