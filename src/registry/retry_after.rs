//! `Retry-After` (RFC 9110 §10.2.3): how long a registry that answered 429 or 5xx asks
//! to be left alone — a number of seconds, or an HTTP date. What it asks is capped at
//! [`MAX_WAIT`], so a registry (or anything in between) cannot park a push for an hour;
//! a value that is neither is ignored, and the caller's own backoff applies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait a `Retry-After` can ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// The wait a `Retry-After` value asks for at `now`, at most [`MAX_WAIT`]; a date in
/// the past is no wait. None when the value is neither seconds nor an HTTP date.
pub fn wait(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let asked = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Seconds; more digits than a u64 holds is still "very long".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = http_date(value)?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(asked.min(MAX_WAIT))
}

/// An HTTP date in any of the three forms a recipient must accept: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`).
pub fn http_date(value: &str) -> Option<SystemTime> {
    let (day, month, year, time) = match value.split_once(',') {
        Some((_weekday, rest)) => {
            let mut parts = rest.split_whitespace();
            let first = parts.next()?;
            let (day, month, year) = if first.contains('-') {
                // RFC 850: 06-Nov-94, a two-digit year.
                let mut dmy = first.split('-');
                let (d, m, y) = (dmy.next()?, dmy.next()?, dmy.next()?);
                let y: u32 = number(y, 2)?;
                (d, m, if y < 70 { 2000 + y } else { 1900 + y })
            } else {
                let (m, y) = (parts.next()?, parts.next()?);
                (first, m, number(y, 4)?)
            };
            let time = parts.next()?;
            if parts.next()? != "GMT" || parts.next().is_some() {
                return None;
            }
            (day, month, year, time)
        }
        None => {
            // asctime: the day may be padded with a space (`Nov  6`).
            let parts: Vec<&str> = value.split_whitespace().collect();
            let [_weekday, month, day, time, year] = parts[..] else {
                return None;
            };
            (day, month, number(year, 4)?, time)
        }
    };
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = month_number(month)?;
    let mut hms = time.split(':');
    let (h, m, s) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (number(h, 2)?, number(m, 2)?, number(s, 2)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s);
    Some(match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => UNIX_EPOCH, // before 1970: long past
    })
}

/// Exactly `digits` ASCII digits.
fn number(s: &str, digits: usize) -> Option<u32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|n| *n == m).map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06 08:49:37 UTC, the RFC's example date.
    const EXAMPLE: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn seconds() {
        let now = at(EXAMPLE);
        assert_eq!(wait("0", now), Some(Duration::ZERO));
        assert_eq!(wait("3", now), Some(Duration::from_secs(3)));
        assert_eq!(wait(" 7 ", now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn absurd_values_are_capped() {
        let now = at(EXAMPLE);
        assert_eq!(wait("3600", now), Some(MAX_WAIT));
        assert_eq!(wait("99999999999999999999999999", now), Some(MAX_WAIT));
        // A date far in the future.
        assert_eq!(wait("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(MAX_WAIT));
    }

    #[test]
    fn http_dates_in_each_form() {
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(http_date(form), Some(at(EXAMPLE)), "{form}");
            // Four seconds before that date: a four-second wait.
            assert_eq!(
                wait(form, at(EXAMPLE - 4)),
                Some(Duration::from_secs(4)),
                "{form}"
            );
        }
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(at(1_835_438_400))
        );
    }

    #[test]
    fn a_date_in_the_past_is_no_wait() {
        assert_eq!(
            wait("Sun, 06 Nov 1994 08:49:37 GMT", at(EXAMPLE + 60)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            wait("Mon, 01 Jan 1900 00:00:00 GMT", at(EXAMPLE)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn anything_else_is_ignored() {
        let now = at(EXAMPLE);
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun Nov 6 08:49:37",
        ] {
            assert_eq!(wait(bad, now), None, "{bad:?}");
        }
    }
}
