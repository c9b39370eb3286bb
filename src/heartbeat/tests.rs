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
