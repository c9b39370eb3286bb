//! ELF headers: class, byte order and machine, and which OCI architecture that is.

use crate::platform::Platform;

/// What an ELF header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfInfo {
    pub class64: bool,
    pub little_endian: bool,
    pub machine: u16,
}

pub const EM_386: u16 = 3;
pub const EM_MIPS: u16 = 8;
pub const EM_PPC: u16 = 20;
pub const EM_PPC64: u16 = 21;
pub const EM_S390: u16 = 22;
pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const EM_RISCV: u16 = 243;
pub const EM_LOONGARCH: u16 = 258;

/// Parses the first bytes of a file (at least 20); `None` when it is not ELF.
pub fn parse(head: &[u8]) -> Option<ElfInfo> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let class64 = match head[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little_endian = match head[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let bytes = [head[18], head[19]];
    let machine = if little_endian {
        u16::from_le_bytes(bytes)
    } else {
        u16::from_be_bytes(bytes)
    };
    Some(ElfInfo {
        class64,
        little_endian,
        machine,
    })
}

impl ElfInfo {
    /// The GOARCH this binary runs on, when known.
    pub fn architecture(&self) -> Option<&'static str> {
        Some(match (self.machine, self.class64, self.little_endian) {
            (EM_X86_64, true, _) => "amd64",
            (EM_X86_64, false, _) => "amd64p32",
            (EM_386, _, _) => "386",
            (EM_AARCH64, _, true) => "arm64",
            (EM_AARCH64, _, false) => "arm64be",
            (EM_ARM, _, true) => "arm",
            (EM_ARM, _, false) => "armbe",
            (EM_PPC64, _, true) => "ppc64le",
            (EM_PPC64, _, false) => "ppc64",
            (EM_PPC, _, _) => "ppc",
            (EM_S390, true, _) => "s390x",
            (EM_S390, false, _) => "s390",
            (EM_RISCV, true, _) => "riscv64",
            (EM_LOONGARCH, true, _) => "loong64",
            (EM_MIPS, true, true) => "mips64le",
            (EM_MIPS, true, false) => "mips64",
            (EM_MIPS, false, true) => "mipsle",
            (EM_MIPS, false, false) => "mips",
            _ => return None,
        })
    }

    /// The machine's name as `file(1)` says it.
    pub fn machine_name(&self) -> String {
        match self.machine {
            EM_X86_64 => "x86-64".into(),
            EM_386 => "Intel 80386".into(),
            EM_AARCH64 => "AArch64".into(),
            EM_ARM => "ARM".into(),
            EM_PPC64 => "64-bit PowerPC".into(),
            EM_PPC => "PowerPC".into(),
            EM_S390 => "IBM S/390".into(),
            EM_RISCV => "RISC-V".into(),
            EM_LOONGARCH => "LoongArch".into(),
            EM_MIPS => "MIPS".into(),
            other => format!("machine {other}"),
        }
    }

    /// Whether the binary runs on `platform`'s CPU. The ARM variant (v6/v7) is not in
    /// the header's machine field, so any 32-bit ARM binary matches `linux/arm/*`.
    pub fn matches(&self, platform: &Platform) -> bool {
        self.architecture() == Some(platform.architecture.as_str())
    }
}

#[cfg(test)]
pub(crate) fn header(machine: u16, class64: bool, little_endian: bool) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = if class64 { 2 } else { 1 };
    h[5] = if little_endian { 1 } else { 2 };
    h[6] = 1;
    let m = if little_endian {
        machine.to_le_bytes()
    } else {
        machine.to_be_bytes()
    };
    h[18] = m[0];
    h[19] = m[1];
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn machines_map_to_architectures() {
        let cases = [
            (EM_X86_64, true, true, "linux/amd64"),
            (EM_AARCH64, true, true, "linux/arm64"),
            (EM_ARM, false, true, "linux/arm/v7"),
            (EM_ARM, false, true, "linux/arm/v6"),
            (EM_386, false, true, "linux/386"),
            (EM_PPC64, true, true, "linux/ppc64le"),
            (EM_S390, true, false, "linux/s390x"),
            (EM_RISCV, true, true, "linux/riscv64"),
        ];
        for (m, c, le, plat) in cases {
            let info = parse(&header(m, c, le)).unwrap();
            assert!(info.matches(&p(plat)), "{m} {plat}");
        }
        let x86 = parse(&header(EM_X86_64, true, true)).unwrap();
        assert!(!x86.matches(&p("linux/arm64")));
        assert_eq!(x86.machine_name(), "x86-64");
        let ppc_be = parse(&header(EM_PPC64, true, false)).unwrap();
        assert!(!ppc_be.matches(&p("linux/ppc64le")));
    }

    #[test]
    fn not_elf() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(parse(b"\x7fELF"), None);
    }

    #[test]
    fn a_real_binary_on_this_machine() {
        // /bin/sh of the machine running the tests is a real ELF for its own CPU.
        let Ok(bytes) = std::fs::read("/bin/sh") else {
            return;
        };
        let info = parse(&bytes[..64.min(bytes.len())]).expect("/bin/sh is ELF");
        let host = Platform::linux(std::env::consts::ARCH, "");
        assert!(info.matches(&host), "{:?} vs {host}", info.architecture());
    }
}
