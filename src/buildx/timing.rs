//! Time in BuildKit's progress stream: its timestamps (Go's RFC 3339 with nanoseconds,
//! `2026-12-07T14:40:21.201866802Z`, or with an offset when the daemon's zone is not
//! UTC) and the time a set of steps took, counted once where steps overlap.

/// Nanoseconds since the epoch of an RFC 3339 timestamp; `None` when it is not one.
pub fn parse_time(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> { s.get(from..to)?.parse().ok() };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut scaled = String::from(&frac[..digits.min(9)]);
        while scaled.len() < 9 {
            scaled.push('0');
        }
        nanos = scaled.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A step's run: (start, end) in nanoseconds.
pub type Span = (i128, i128);

/// How long at least one of `spans` was running, in nanoseconds (overlaps counted once).
pub fn busy(spans: &[Span]) -> i128 {
    let mut sorted: Vec<Span> = spans.iter().copied().filter(|(a, b)| b > a).collect();
    sorted.sort_unstable();
    let mut total = 0;
    let mut current: Option<Span> = None;
    for (a, b) in sorted {
        match current {
            Some((ca, cb)) if a <= cb => current = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                current = Some((a, b));
            }
            None => current = Some((a, b)),
        }
    }
    total + current.map_or(0, |(a, b)| b - a)
}

/// From the first start to the last end of `spans`, in nanoseconds.
pub fn wall(spans: &[Span]) -> i128 {
    let start = spans.iter().map(|s| s.0).min();
    let end = spans.iter().map(|s| s.1).max();
    match (start, end) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => 0,
    }
}

/// Nanoseconds as seconds.
pub fn secs(nanos: i128) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_as_buildkit_writes_them() {
        let t = parse_time("2026-12-07T14:40:21.201866802Z").unwrap();
        assert_eq!(t % 1_000_000_000, 201_866_802);
        // 2026-12-07T14:40:21Z.
        assert_eq!(t / 1_000_000_000, 1_796_654_421);
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0), "the epoch");
        assert_eq!(
            parse_time("2000-02-29T00:00:00.5Z"),
            Some(951_782_400_500_000_000)
        );
        // An offset: the same instant.
        assert_eq!(parse_time("2026-12-07T15:40:21.201866802+01:00"), Some(t));
        for bad in [
            "",
            "yesterday",
            "2026-13-07T14:40:21Z",
            "2026-12-07T14:40:21",
            "2026-12-07T14:40:21.Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn overlapping_steps_count_once() {
        assert_eq!(busy(&[(0, 10), (5, 15), (20, 30)]), 25);
        assert_eq!(busy(&[(20, 30), (0, 10)]), 20);
        assert_eq!(busy(&[(0, 10), (2, 3)]), 10);
        assert_eq!(busy(&[]), 0);
        assert_eq!(wall(&[(5, 10), (20, 30)]), 25);
        assert_eq!(wall(&[]), 0);
    }
}
