//! The last measured time of each Dockerfile step, per image and platform, kept in the
//! project's work directory (`build-times.json`, next to the hash cache) so that `plan`
//! can say what an emulated step cost the last time it ran. Written after each build
//! under the work directory's lock (two runs merge, neither loses the other's figures);
//! read by `plan` only from a directory of this user's, capped in size. A step taken
//! from the cache keeps the time it last ran. Only timings are kept: no argument
//! values, no environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::measure::ImageTiming;
use crate::workdir::WorkDir;

/// The file's name in the work directory.
pub const FILE: &str = "build-times.json";
/// The most read of it.
const MAX_BYTES: u64 = 1 << 20;
/// The most steps kept per image and platform.
const MAX_STEPS: usize = 200;

/// One step's last run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Last {
    /// The instruction as the Dockerfile writes it.
    pub instruction: String,
    pub line: usize,
    pub seconds: f64,
    pub emulated: bool,
    /// When it ran (RFC 3339 UTC).
    pub time: String,
}

/// image → platform → steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub version: u32,
    pub images: BTreeMap<String, BTreeMap<String, Vec<Last>>>,
}

impl History {
    /// The last run of `instruction` in `image` for `platform`.
    pub fn last(&self, image: &str, platform: &str, instruction: &str) -> Option<&Last> {
        self.images
            .get(image)?
            .get(platform)?
            .iter()
            .find(|l| l.instruction == instruction)
    }

    /// This run's measurements over what was known.
    fn merge(&mut self, timings: &[ImageTiming], time: &str) {
        self.version = 1;
        for t in timings {
            let platforms = self.images.entry(t.image.clone()).or_default();
            for m in &t.measured {
                let steps = platforms.entry(m.platform.clone()).or_default();
                steps.retain(|l| l.instruction != m.instruction);
                steps.insert(
                    0,
                    Last {
                        instruction: m.instruction.clone(),
                        line: m.line,
                        seconds: m.seconds,
                        emulated: m.emulated,
                        time: time.to_string(),
                    },
                );
                steps.truncate(MAX_STEPS);
            }
        }
    }
}

fn read(path: &Path) -> History {
    crate::fsread::read_text(path, MAX_BYTES)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// What earlier builds of the project measured; empty when nothing was recorded, or
/// when `work_dir` is not a directory of this user's.
pub fn load(work_dir: &Path) -> History {
    if !crate::workdir::secure::is_own_dir(work_dir) {
        return History::default();
    }
    read(&work_dir.join(FILE))
}

/// Adds this build's measurements (best effort: a failure to write loses only figures).
pub fn record(work: &WorkDir, timings: &[ImageTiming]) {
    if timings.iter().all(|t| t.measured.is_empty()) {
        return;
    }
    let path = work.root().join(FILE);
    let time = crate::clock::now_rfc3339();
    let _ = work.locked(|| {
        let mut h = read(&path);
        h.merge(timings, &time);
        let Ok(mut bytes) = serde_json::to_vec_pretty(&h) else {
            return;
        };
        bytes.push(b'\n');
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulation::measure::Measured;

    fn timing(instruction: &str, seconds: f64) -> ImageTiming {
        ImageTiming {
            image: "app".into(),
            platforms: Vec::new(),
            measured: vec![Measured {
                platform: "linux/arm64".into(),
                instruction: instruction.into(),
                line: 7,
                seconds,
                emulated: true,
            }],
            cache: Default::default(),
            export: None,
        }
    }

    #[test]
    fn kept_across_runs_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let work = WorkDir::open(&crate::workdir::Location::at(&dir.path().join("w"))).unwrap();
        record(&work, &[timing("RUN a", 3.0), timing("RUN b", 1.0)]);
        record(&work, &[timing("RUN a", 4.5)]);
        let h = load(work.root());
        assert_eq!(h.last("app", "linux/arm64", "RUN a").unwrap().seconds, 4.5);
        // Not measured again (cached): its last time stays.
        assert_eq!(h.last("app", "linux/arm64", "RUN b").unwrap().seconds, 1.0);
        assert!(h.last("app", "linux/amd64", "RUN a").is_none());
        // A broken or foreign file is no history.
        std::fs::write(work.root().join(FILE), "{").unwrap();
        assert_eq!(load(work.root()), History::default());
        assert_eq!(load(&dir.path().join("missing")), History::default());
    }
}
