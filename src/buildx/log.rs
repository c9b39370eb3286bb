//! A build's whole log, written to a file as buildx reports it: each step as it starts
//! (`#N NAME`), every line it prints (`#N LINE`), its error, and buildx's own text —
//! what `--progress=plain` would have shown. The report shows the failing step's last
//! lines; this file is where the rest is. Bounded: past [`MAX_LOG_BYTES`] one line says
//! the log was cut.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine;

use super::progress::Event;

/// The most written into one build's log file.
pub const MAX_LOG_BYTES: u64 = 64 << 20;

/// A build log being written.
pub struct LogFile {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
    cut: bool,
    /// Step numbers by vertex digest, in the order steps first appeared.
    numbers: HashMap<String, usize>,
    /// Steps whose start was written.
    started: std::collections::HashSet<String>,
    /// A partial line per step (BuildKit sends bytes, not lines).
    partial: HashMap<String, String>,
}

impl LogFile {
    /// Creates the file at `path` (new, mode 0600, no link followed).
    pub fn create(path: &Path) -> std::io::Result<LogFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        Ok(LogFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            written: 0,
            cut: false,
            numbers: HashMap::new(),
            started: Default::default(),
            partial: HashMap::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn number(&mut self, vertex: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(vertex.to_string()).or_insert(next)
    }

    fn write_line(&mut self, line: &str) {
        if self.cut {
            return;
        }
        if self.written + line.len() as u64 + 1 > MAX_LOG_BYTES {
            self.cut = true;
            let _ = writeln!(self.out, "… the log was cut at {} MiB", MAX_LOG_BYTES >> 20);
            return;
        }
        self.written += line.len() as u64 + 1;
        let _ = writeln!(self.out, "{line}");
    }

    /// Writes what one event of buildx's stream says.
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::Text(t) => {
                for l in t.lines() {
                    self.write_line(l);
                }
            }
            Event::Status(s) => {
                for v in &s.vertexes {
                    let n = self.number(&v.digest);
                    if v.started.is_some()
                        && !v.name.is_empty()
                        && self.started.insert(v.digest.clone())
                    {
                        let cached = if v.cached { " (cached)" } else { "" };
                        self.write_line(&format!("#{n} {}{cached}", v.name));
                    }
                    if let Some(e) = v.error.as_deref().filter(|e| !e.is_empty()) {
                        self.write_line(&format!("#{n} ERROR: {e}"));
                    }
                }
                for l in &s.logs {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(l.data.as_bytes())
                        .unwrap_or_default();
                    let n = self.number(&l.vertex);
                    let mut buf = self.partial.remove(&l.vertex).unwrap_or_default();
                    buf.push_str(&String::from_utf8_lossy(&bytes));
                    while let Some(i) = buf.find('\n') {
                        let line: String = buf.drain(..=i).collect();
                        self.write_line(&format!("#{n} {}", line.trim_end_matches(['\n', '\r'])));
                    }
                    if buf.len() > 64 << 10 {
                        self.write_line(&format!("#{n} {buf}"));
                        buf.clear();
                    }
                    self.partial.insert(l.vertex.clone(), buf);
                }
            }
        }
    }

    /// Writes what is left and closes the file; its path.
    pub fn finish(mut self) -> PathBuf {
        let rest: Vec<(usize, String)> = self
            .partial
            .drain()
            .filter(|(_, b)| !b.is_empty())
            .map(|(v, b)| (self.numbers.get(&v).copied().unwrap_or(0), b))
            .collect();
        for (n, b) in rest {
            self.write_line(&format!("#{n} {b}"));
        }
        let _ = self.out.flush();
        self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildx::progress::Parser;

    #[test]
    fn a_real_failing_build_is_written_whole() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/buildx/failing-run.rawjson",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::create(&dir.path().join("build.log")).unwrap();
        let mut p = Parser::default();
        for l in text.lines() {
            if let Some(e) = p.line(l) {
                log.event(&e);
            }
        }
        let path = log.finish();
        let written = std::fs::read_to_string(path).unwrap();
        assert!(written.contains("RUN echo hello && sleep 0.2"), "{written}");
        assert!(written.contains("can't open"), "{written}");
        assert!(written.contains("ERROR: "), "{written}");
        // A second file of the same name is never written through.
        assert!(LogFile::create(&dir.path().join("build.log")).is_err());
    }
}
