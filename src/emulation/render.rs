//! A build's timing as a person reads it: one line per platform.
//!
//! `linux/arm64  41.2s, 38.9s emulated · 2/7 cached · slowest RUN npm ci (Dockerfile:7) 36.0s emulated`

use super::measure::PlatformTiming;

/// The longest step text shown on a line.
const SHOWN: usize = 60;

/// The line for one platform.
pub fn line(t: &PlatformTiming) -> String {
    let mut out = if t.emulated_s > 0.0 {
        format!(
            "{}  {:.1}s, {:.1}s emulated",
            t.platform, t.total_s, t.emulated_s
        )
    } else {
        format!("{}  {:.1}s native", t.platform, t.total_s)
    };
    out.push_str(&format!(" · {}/{} cached", t.cached, t.steps));
    if let Some(s) = t.slowest.first() {
        let step = if s.step.chars().count() > SHOWN {
            let mut c: String = s.step.chars().take(SHOWN - 1).collect();
            c.push('…');
            c
        } else {
            s.step.clone()
        };
        out.push_str(&format!(" · slowest {step}"));
        if let Some(at) = &s.at {
            out.push_str(&format!(" ({at})"));
        }
        out.push_str(&format!(
            " {:.1}s {}",
            s.seconds,
            if s.emulated { "emulated" } else { "native" }
        ));
    }
    if let Some(n) = &t.node {
        out.push_str(&format!(" · node {n}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulation::measure::StepTiming;

    #[test]
    fn one_line_per_platform() {
        let mut t = PlatformTiming {
            platform: "linux/arm64".into(),
            node: Some("default".into()),
            total_s: 41.23,
            native_s: 2.0,
            emulated_s: 38.91,
            steps: 7,
            cached: 2,
            slowest: vec![StepTiming {
                step: "RUN npm ci".into(),
                at: Some("Dockerfile:7".into()),
                seconds: 36.0,
                emulated: true,
            }],
        };
        assert_eq!(
            line(&t),
            "linux/arm64  41.2s, 38.9s emulated · 2/7 cached · slowest RUN npm ci (Dockerfile:7) 36.0s emulated · node default"
        );
        t.emulated_s = 0.0;
        t.slowest[0].emulated = false;
        t.slowest[0].step = "RUN ".to_string() + &"x".repeat(100);
        t.node = None;
        let l = line(&t);
        assert!(
            l.starts_with("linux/arm64  41.2s native · 2/7 cached · slowest RUN xxx"),
            "{l}"
        );
        assert!(l.contains("x… (Dockerfile:7) 36.0s native"), "{l}");
    }
}
