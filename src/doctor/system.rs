//! What doctor reads of the machine: docker subcommands (bounded, with a deadline) and
//! the kernel's binfmt_misc emulators.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most read of what one docker subcommand prints, per stream.
const OUTPUT_CAP: usize = 4 << 20;

/// Runs a docker subcommand with a timeout; (success, stdout, stderr).
pub(super) fn docker_cmd(exe: &Path, args: &[&str]) -> (bool, String, String) {
    let expr = duct::cmd(exe, args);
    match crate::child::run(&expr, Some(Duration::from_secs(20)), OUTPUT_CAP) {
        crate::child::Waited::Exited(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        crate::child::Waited::Failed(e) => (false, String::new(), e.to_string()),
        crate::child::Waited::Interrupted => (false, String::new(), "interrupted".into()),
        crate::child::Waited::TooMuch { stream, cap } => (
            false,
            String::new(),
            format!(
                "`docker {}` printed more than {} on {stream}; stopped",
                args.join(" "),
                crate::fsread::size(cap as u64)
            ),
        ),
        crate::child::Waited::TimedOut => (
            false,
            String::new(),
            format!("`docker {}` did not answer within 20 s", args.join(" ")),
        ),
    }
}

/// binfmt_misc names that emulate an architecture (Linux hosts).
pub(super) fn binfmt_names(arch: &str) -> &'static [&'static str] {
    match arch {
        "arm64" => &["qemu-aarch64", "aarch64"],
        "arm" => &["qemu-arm", "arm"],
        "amd64" => &["qemu-x86_64", "x86_64", "rosetta"],
        "riscv64" => &["qemu-riscv64", "riscv64"],
        "s390x" => &["qemu-s390x", "s390x"],
        "ppc64le" => &["qemu-ppc64le", "ppc64le"],
        "386" => &["qemu-i386", "i386"],
        _ => &[],
    }
}

/// Whether the kernel emulates `arch` (None when binfmt_misc cannot be read).
pub(super) fn binfmt_registered(arch: &str) -> Option<bool> {
    let dir = PathBuf::from("/proc/sys/fs/binfmt_misc");
    let entries = std::fs::read_dir(&dir).ok()?;
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    Some(binfmt_names(arch).iter().any(|n| {
        names.iter().any(|x| x == n)
            && crate::fsread::read_text(&dir.join(n), 64 * 1024)
                .is_ok_and(|s| s.starts_with("enabled"))
    }))
}
