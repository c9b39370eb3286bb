use super::*;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

#[test]
fn lines_say_bytes_of_total_percent_and_rate_in_decimal_units() {
    assert_eq!(
        line("[web] upload", 212_000_000, 480_000_000, 18_000_000.0),
        "[web] upload: 212.0 MB of 480.0 MB (44%), 18.0 MB/s"
    );
    // Without a total: no "of", no percent.
    assert_eq!(
        line("[web] export", 1_500, 0, 999.0),
        "[web] export: 1.5 kB, 999 B/s"
    );
    // Never over 100%, whatever was counted.
    assert_eq!(
        line("x", 2_000_000_000, 1_000_000_000, 0.0),
        "x: 2.0 GB of 1.0 GB (100%), 0 B/s"
    );
    assert_eq!(human_bytes(0), "0 B");
    assert_eq!(human_bytes(999), "999 B");
    assert_eq!(human_bytes(1_000), "1.0 kB");
    assert_eq!(human_bytes(40_000_000), "40.0 MB");
    assert_eq!(human_bytes(u64::MAX), "18446744073.7 GB");
}

#[test]
fn a_beat_gives_the_rate_since_the_last_tick_and_falls_silent_when_done() {
    let mut b = Beat::new("[app] upload");
    b.last.1 -= Duration::from_secs(2);
    let l = b.tick(10_000_000, 40_000_000).unwrap();
    // 10 MB in about 2 s: about 5 MB/s.
    assert!(
        l.starts_with("[app] upload: 10.0 MB of 40.0 MB (25%), "),
        "{l}"
    );
    assert!(l.ends_with(" MB/s"), "{l}");
    let rate: f64 = l
        .rsplit(", ")
        .next()
        .unwrap()
        .trim_end_matches(" MB/s")
        .parse()
        .unwrap();
    assert!((4.5..=5.1).contains(&rate), "{l}");
    // A stalled copy still beats (0 B/s) ...
    assert!(b.tick(10_000_000, 40_000_000).unwrap().ends_with(", 0 B/s"));
    // ... and the last bytes too; once all is moved and nothing moves, silence.
    assert!(b.tick(40_000_000, 40_000_000).is_some());
    assert_eq!(b.tick(40_000_000, 40_000_000), None);
    // Nothing to move at all (every blob was there): no line.
    assert_eq!(Beat::new("x").tick(0, 0), None);
}

#[test]
fn the_counter_takes_skipped_blobs_off_the_total_and_retries_back() {
    let bytes = Bytes::default();
    bytes.add_total(100);
    bytes.add_total(50);
    bytes.skip(30);
    let sent = AtomicU64::new(0);
    let mut first = Counted::new(&b"0123456789"[..], &bytes, &sent);
    let mut buf = [0u8; 4];
    first.read_exact(&mut buf).unwrap();
    assert_eq!(bytes.get(), (4, 120));
    // The retry starts the blob over: the first attempt's 4 bytes are taken back.
    let mut again = Counted::new(&b"0123456789"[..], &bytes, &sent);
    assert_eq!(bytes.get(), (0, 120));
    std::io::copy(&mut again, &mut std::io::sink()).unwrap();
    assert_eq!(bytes.get(), (10, 120));
    bytes.skip(1_000);
    bytes.rewind(1_000);
    assert_eq!(bytes.get(), (0, 0), "never below zero");
}

#[test]
fn a_ticker_ticks_every_interval_and_stops_at_once_when_dropped() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&ticks);
    let ticker = Ticker::start(Duration::from_millis(20), move || {
        t.fetch_add(1, Ordering::SeqCst);
    });
    let started = Instant::now();
    while ticks.load(Ordering::SeqCst) < 3 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(ticker);
    let n = ticks.load(Ordering::SeqCst);
    assert!(n >= 3, "{n}");
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(ticks.load(Ordering::SeqCst), n, "no tick after the drop");

    // A long interval: no tick before it, and the drop does not wait it out.
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&ticks);
    let ticker = Ticker::start(Duration::from_secs(60), move || {
        t.fetch_add(1, Ordering::SeqCst);
    });
    std::thread::sleep(Duration::from_millis(20));
    let at = Instant::now();
    drop(ticker);
    assert!(at.elapsed() < Duration::from_secs(2), "{:?}", at.elapsed());
    assert_eq!(
        ticks.load(Ordering::SeqCst),
        0,
        "a short phase prints nothing"
    );
}

#[test]
fn the_interval_has_a_floor_and_a_bad_value_is_said_and_ignored() {
    let ms = Duration::from_millis;
    assert_eq!(interval_from(None), (Some(DEFAULT_INTERVAL), None));
    assert_eq!(interval_from(Some("")), (Some(DEFAULT_INTERVAL), None));
    assert_eq!(interval_from(Some("0")), (None, None));
    // 1 ms would walk an export's layout every millisecond: 100 ms at least.
    assert_eq!(interval_from(Some("1")), (Some(ms(100)), None));
    assert_eq!(interval_from(Some("99")), (Some(ms(100)), None));
    // What e2e_heartbeat sets is kept.
    assert_eq!(interval_from(Some("100")), (Some(ms(100)), None));
    assert_eq!(interval_from(Some(" 150 ")), (Some(ms(150)), None));
    let (every, warning) = interval_from(Some("5s"));
    assert_eq!(every, Some(DEFAULT_INTERVAL));
    assert_eq!(
        warning.as_deref(),
        Some(
            "warning: MPBUILD_HEARTBEAT_MS=\"5s\" is not a number of milliseconds (it takes \
             e.g. 5000, at least 100; 0 turns the heartbeat off): using the default, 5000 ms"
        )
    );
    assert!(interval_from(Some("-1")).1.is_some());
}

/// "abc", then an error, then "def".
struct Broken(Vec<std::io::Result<&'static [u8]>>);
impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Ok(0);
        }
        let b = self.0.remove(0)?;
        buf[..b.len()].copy_from_slice(b);
        Ok(b.len())
    }
}

#[test]
fn a_counted_read_keeps_the_bytes_read_before_an_error() {
    use std::io::{Error, ErrorKind};
    let sent = AtomicU64::new(0);
    let bytes = Bytes::default();
    let interrupted = || Err(Error::from(ErrorKind::Interrupted));
    let inner = Broken(vec![Ok(b"abc"), interrupted(), interrupted(), Ok(b"def")]);
    let mut out = Vec::new();
    Counted::new(inner, &bytes, &sent)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, b"abcdef");
    assert_eq!(bytes.get().0, 6);
    // Another error after bytes were read: those bytes first, then the error.
    let reset = || Err(Error::other("reset"));
    // (A stream that failed fails again.)
    let inner = Broken(vec![Ok(b"abc"), reset(), reset()]);
    let mut c = Counted::new(inner, &bytes, &sent);
    let mut buf = [0u8; 16];
    assert_eq!(c.read(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"abc");
    assert_eq!(c.read(&mut buf).unwrap_err().to_string(), "reset");
    // Nothing read and interrupted: tried again, not an error.
    let inner = Broken(vec![interrupted(), Ok(b"xy")]);
    let mut c = Counted::new(inner, &bytes, &sent);
    assert_eq!(c.read(&mut buf).unwrap(), 2);
}

#[test]
fn untrusted_byte_counts_saturate_instead_of_overflowing() {
    // Sizes from a manifest, numbers from BuildKit: u64::MAX and more.
    assert_eq!(total([u64::MAX, 5]), u64::MAX);
    assert_eq!(total([1, 2, 3]), 6);
    let bytes = Bytes::default();
    bytes.add_total(u64::MAX);
    bytes.add_total(5);
    bytes.advance(u64::MAX);
    bytes.advance(5);
    assert_eq!(bytes.get(), (u64::MAX, u64::MAX));
}
