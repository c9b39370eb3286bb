//! How a run stops on Ctrl-C, SIGTERM or SIGHUP. The first signal cancels the run's
//! [`Token`]: every hook registered with it runs at once — registry agents close their
//! connections, so a blocked read or write returns; child processes get SIGTERM (and
//! SIGKILL half a second later) — and every wait that asks the token (retry delays,
//! worker pools, the push flow before each tag) stops. The command then says which tags
//! stayed where they were and exits 130. Should it still run [`GRACE`] later (a connect
//! or a read no hook reaches), or at a second signal, the process kills its children and
//! exits 130 at once.
//!
//! Code that waits on something outside the process registers with the token
//! ([`Token::on_cancel`]) or sleeps on it ([`Token::sleep`]); code that decides whether
//! to go on asks [`requested`].

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once, RwLock, RwLockReadGuard};

use crate::printer::Printer;
use std::time::{Duration, Instant};

/// How long the first signal leaves the run to stop by itself before the process exits.
pub const GRACE: Duration = Duration::from_millis(1500);

/// How hard a hook is asked to stop what it guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The first signal: close, pass the signal on, let children end.
    Ask,
    /// The second signal or the end of the grace period: kill, the process exits next.
    Force,
}

type Hook = Arc<dyn Fn(Stop) + Send + Sync>;

#[derive(Default)]
struct Hooks {
    next: u64,
    list: Vec<(u64, Hook)>,
}

/// A cancellation: raised once, seen by every wait that asks it.
pub struct Token {
    cancelled: AtomicBool,
    hooks: Mutex<Hooks>,
    wake: Condvar,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Default for Token {
    fn default() -> Self {
        Token::new()
    }
}

impl Token {
    pub const fn new() -> Token {
        Token {
            cancelled: AtomicBool::new(false),
            hooks: Mutex::new(Hooks {
                next: 0,
                list: Vec::new(),
            }),
            wake: Condvar::new(),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Raises the cancellation (once): runs every hook with [`Stop::Ask`] and wakes
    /// every [`sleep`](Token::sleep).
    pub fn cancel(&self) {
        if self.raise() {
            self.run_hooks(Stop::Ask);
        }
    }

    /// Raises the flag [`requested`] reads, without running the hooks (the caller
    /// runs them next): whether this call raised it.
    fn raise(&self) -> bool {
        !self.cancelled.swap(true, Ordering::SeqCst)
    }

    /// Cancels and runs every hook with [`Stop::Force`].
    pub fn force(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.run_hooks(Stop::Force);
    }

    fn run_hooks(&self, stop: Stop) {
        let hooks: Vec<Hook> = {
            let h = self.hooks.lock().unwrap();
            self.wake.notify_all();
            h.list.iter().map(|(_, f)| Arc::clone(f)).collect()
        };
        for f in hooks {
            f(stop);
        }
    }

    /// Runs `f` when the token is cancelled (at once, if it already is) until the
    /// returned guard is dropped. `f` must not block: it runs on the signal thread.
    pub fn on_cancel(&self, f: impl Fn(Stop) + Send + Sync + 'static) -> Guard<'_> {
        let f: Hook = Arc::new(f);
        let id = {
            let mut h = self.hooks.lock().unwrap();
            h.next += 1;
            let id = h.next;
            h.list.push((id, Arc::clone(&f)));
            id
        };
        if self.is_cancelled() {
            f(Stop::Ask);
        }
        Guard { token: self, id }
    }

    /// Sleeps `d`, or less when the token is cancelled: `true` when the whole time
    /// passed, `false` when cancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut h = self.hooks.lock().unwrap();
        loop {
            if self.is_cancelled() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            h = self.wake.wait_timeout(h, deadline - now).unwrap().0;
        }
    }
}

/// Unregisters a hook when dropped.
pub struct Guard<'a> {
    token: &'a Token,
    id: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let mut h = self.token.hooks.lock().unwrap();
        h.list.retain(|(id, _)| *id != self.id);
    }
}

static GLOBAL: Token = Token::new();

/// The process's token, cancelled by the signal handler.
pub fn global() -> &'static Token {
    &GLOBAL
}

/// Whether the user interrupted this run (Ctrl-C, SIGTERM, SIGHUP).
pub fn requested() -> bool {
    GLOBAL.is_cancelled()
}

/// Held shared from a child's spawn until its stop hook is registered, and exclusively
/// by the exit at a second signal or at the grace period's end (never released: the
/// process exits). A child spawned in that gap would otherwise have no hook when the
/// hooks run, and outlive mpbuild (a `docker buildx build` still building): the exit
/// now waits for the registration, and the hook kills it.
static SPAWNING: RwLock<()> = RwLock::new(());

/// Hold from just before a child is spawned until [`crate::child::stop_on_cancel`] (or
/// another [`Token::on_cancel`] hook that stops it) has returned.
pub fn spawning() -> RwLockReadGuard<'static, ()> {
    SPAWNING.read().unwrap_or_else(|e| e.into_inner())
}

static INSTALL: Once = Once::new();
/// Where the handler says what a signal does: the printer of the run in progress (the
/// handler is the process's, so the run hands it its printer).
static PRINTER: Mutex<Option<Printer>> = Mutex::new(None);

/// Installs the signal handler once per process, and gives it this run's printer (with
/// `-q` it leaves out the line that acknowledges the first signal).
pub fn install(printer: &Printer) {
    *PRINTER.lock().unwrap_or_else(|e| e.into_inner()) = Some(printer.clone());
    INSTALL.call_once(|| {
        let count = AtomicU32::new(0);
        // An error means another handler is installed (an embedding program's): it
        // owns the signals then.
        let _ = ctrlc::set_handler(move || on_signal(count.fetch_add(1, Ordering::SeqCst) + 1));
    });
}

fn on_signal(n: u32) {
    if n > 1 {
        exit_now("interrupted again");
    }
    // The flag first, then the line, then the hooks: when the line shows, every
    // worker that asks [`requested`] already stops (what the line promises, and what
    // a test waits for before it lets held requests go); the hooks' effects (children
    // ending, connections closed) come after the line that explains them.
    let raised = GLOBAL.raise();
    let printer = run_printer();
    if !printer.quiet() {
        crate::errln!(
            printer,
            "interrupted: stopping; no tag moves from now on (interrupt again to exit at once)"
        );
    }
    if raised {
        GLOBAL.run_hooks(Stop::Ask);
    }
    std::thread::spawn(|| {
        std::thread::sleep(GRACE);
        exit_now(&format!(
            "interrupted: still stopping after {:.1} s",
            GRACE.as_secs_f64()
        ));
    });
}

/// The printer of the run in progress.
fn run_printer() -> Printer {
    PRINTER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Kills the children (best effort) and exits 130 without waiting for anything else
/// (but a child being spawned: see [`SPAWNING`]).
fn exit_now(why: &str) -> ! {
    let _no_more_children = SPAWNING.write().unwrap_or_else(|e| e.into_inner());
    GLOBAL.force();
    crate::errln!(
        run_printer(),
        "{why}: exiting now; no tag moved after the first signal"
    );
    std::process::exit(crate::exit::Code::Interrupted.as_i32())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn hooks_run_once_per_stop_and_not_after_their_guard() {
        let t = Token::new();
        let asked = Arc::new(AtomicUsize::new(0));
        let a = Arc::clone(&asked);
        let g = t.on_cancel(move |s| {
            if s == Stop::Ask {
                a.fetch_add(1, Ordering::SeqCst);
            }
        });
        let dropped = t.on_cancel(|_| panic!("ran after its guard was dropped"));
        drop(dropped);
        t.cancel();
        t.cancel();
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        drop(g);
        t.force();
        assert!(t.is_cancelled());
    }

    #[test]
    fn a_hook_registered_after_the_cancel_runs_at_once() {
        let t = Token::new();
        t.cancel();
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let _g = t.on_cancel(move |_| r.store(true, Ordering::SeqCst));
        assert!(ran.load(Ordering::SeqCst));
    }

    #[test]
    fn a_sleep_ends_at_the_cancel() {
        let t = Arc::new(Token::new());
        let t2 = Arc::clone(&t);
        let started = Instant::now();
        let sleeper = std::thread::spawn(move || t2.sleep(Duration::from_secs(60)));
        // The sleeper may or may not be waiting yet: either way it must see the cancel.
        t.cancel();
        assert!(!sleeper.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(Token::new().sleep(Duration::from_millis(1)));
    }
}
