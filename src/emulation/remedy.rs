//! What would take emulated `RUN` steps off QEMU: a node (or CI runner) that runs the
//! platform natively, or moving work whose result does not depend on the CPU — downloads,
//! dependency fetches, generated code, assets, JVM bytecode, cross-compiled binaries —
//! into a `FROM --platform=$BUILDPLATFORM` stage, which runs on the builder's own CPU,
//! and copying its output into the image. What a step does is read from its command's
//! words; package installs (`apt-get install`, `apk add`) install the target CPU's
//! packages and stay. These are suggestions with the Dockerfile lines to change: mpbuild
//! never edits a Dockerfile.

use serde::Serialize;

/// What a `RUN` step does, as far as its command says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Work {
    /// Asks which CPU it runs on (`uname -m`, `$TARGETARCH`, `dpkg --print-architecture`):
    /// its result depends on it.
    CpuSpecific,
    GoBuild,
    CargoBuild,
    JvmBuild,
    AssetBuild,
    CodeGeneration,
    Packages,
    Dependencies,
    Download,
    CBuild,
    Other,
}

impl Work {
    /// Whether its result is the same whatever the CPU (or can be made so by
    /// cross-compiling): a candidate for a `$BUILDPLATFORM` stage.
    pub fn movable(self) -> bool {
        !matches!(self, Work::Packages | Work::CpuSpecific)
    }

    /// What it is and what moving it takes.
    pub fn how(self) -> &'static str {
        match self {
            Work::CpuSpecific => "asks which CPU it runs on: stays",
            Work::GoBuild => {
                "Go build: cross-compile it there (`ARG TARGETOS TARGETARCH`, then `GOOS=$TARGETOS GOARCH=$TARGETARCH go build …`; CGO_ENABLED=0 or a cross C compiler)"
            }
            Work::CargoBuild => {
                "Rust build: cross-compile it there (`cargo build --target TRIPLE` with a cross linker, e.g. tonistiigi/xx's `xx-cargo`)"
            }
            Work::JvmBuild => "JVM build: bytecode is the same on every CPU",
            Work::AssetBuild => "asset build: its output is the same on every CPU",
            Work::CodeGeneration => "code generation: its output is the same on every CPU",
            Work::Dependencies => {
                "dependency fetch: the same on every CPU, unless some compile native code (node-gyp, C extensions), which must be built for the target"
            }
            Work::Download => "download: the same on every CPU",
            Work::CBuild => {
                "C/C++ build: cross-compile it there (`xx-clang`, or Debian's `gcc-aarch64-linux-gnu`)"
            }
            Work::Packages => "installs the target CPU's packages: stays",
            Work::Other => "moves too if what it makes does not depend on the CPU",
        }
    }
}

/// The command's words: lowercase, shell operators as separators, paths reduced to
/// their last part (`./node_modules/.bin/webpack` → `webpack`).
fn words(command: &str) -> Vec<String> {
    command
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '\\'))
        .filter(|w| !w.is_empty())
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        .collect()
}

fn has_seq(words: &[String], seq: &[&str]) -> bool {
    words
        .windows(seq.len())
        .any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
}

/// What `instruction` (`RUN …`) does.
pub fn classify(instruction: &str) -> Work {
    // The command: without the keyword and RUN's own flags (`--mount=…`, `--network=…`).
    let mut rest = instruction.trim_start();
    if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("run") {
        rest = &rest[3..];
    }
    while let Some(flag) = rest.trim_start().strip_prefix("--") {
        rest = flag.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    }
    let w = words(rest);
    let any = |names: &[&str]| w.iter().any(|x| names.contains(&x.as_str()));
    let seq = |s: &[&str]| has_seq(&w, s);
    let lower = rest.to_ascii_lowercase();
    if any(&["uname", "arch", "$(uname"])
        || lower.contains("uname ")
        || lower.contains("--print-architecture")
        || ["targetarch", "targetplatform", "targetvariant"]
            .iter()
            .any(|v| lower.contains(&format!("${v}")) || lower.contains(&format!("${{{v}")))
    {
        Work::CpuSpecific
    } else if seq(&["go", "build"]) || seq(&["go", "install"]) {
        Work::GoBuild
    } else if seq(&["cargo", "build"]) || seq(&["cargo", "install"]) {
        Work::CargoBuild
    } else if any(&["mvn", "mvnw", "gradle", "gradlew", "javac", "sbt"]) {
        Work::JvmBuild
    } else if seq(&["run", "build"])
        || seq(&["yarn", "build"])
        || seq(&["pnpm", "build"])
        || seq(&["next", "build"])
        || seq(&["ng", "build"])
        || any(&[
            "webpack",
            "vite",
            "esbuild",
            "tsc",
            "hugo",
            "sass",
            "parcel",
            "gulp",
            "grunt",
            "mkdocs",
            "sphinx-build",
        ])
    {
        Work::AssetBuild
    } else if any(&[
        "protoc",
        "openapi-generator",
        "openapi-generator-cli",
        "swagger-codegen",
        "sqlc",
        "flatc",
        "thrift",
    ]) || seq(&["buf", "generate"])
        || seq(&["go", "generate"])
    {
        Work::CodeGeneration
    } else if seq(&["apt-get", "install"])
        || seq(&["apt", "install"])
        || seq(&["apk", "add"])
        || any(&["yum", "dnf", "microdnf", "zypper", "pacman"])
    {
        Work::Packages
    } else if seq(&["npm", "ci"])
        || seq(&["npm", "install"])
        || seq(&["yarn", "install"])
        || seq(&["pnpm", "install"])
        || seq(&["pip", "download"])
        || seq(&["pip", "install"])
        || seq(&["go", "mod", "download"])
        || seq(&["cargo", "fetch"])
        || seq(&["bundle", "install"])
        || seq(&["composer", "install"])
        || seq(&["poetry", "install"])
        || w.len() <= 3 && w.iter().any(|x| x == "yarn")
    {
        Work::Dependencies
    } else if any(&["curl", "wget"]) || seq(&["git", "clone"]) || seq(&["git", "fetch"]) {
        Work::Download
    } else if any(&[
        "gcc",
        "g++",
        "clang",
        "cc",
        "c++",
        "cmake",
        "make",
        "configure",
        "rustc",
    ]) {
        Work::CBuild
    } else {
        Work::Other
    }
}

/// A remedy for an image's emulated steps.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Remedy {
    /// Build these platforms on a node (or CI runner) of their CPU.
    NativeNode {
        platforms: Vec<String>,
        /// GitHub-hosted runners that run them natively (`plan --format github-matrix`).
        runners: Vec<(String, String)>,
    },
    /// Move steps of `stage` into a `FROM --platform=$BUILDPLATFORM` stage.
    BuildPlatformStage {
        stage: String,
        /// The stage's `FROM` (`Dockerfile:2`) and its text.
        from: String,
        from_instruction: String,
        moves: Vec<Move>,
        /// Emulated steps that stay (they install the target's packages).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        stays: Vec<Move>,
    },
}

/// A step a remedy names.
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub at: String,
    pub instruction: String,
    pub work: Work,
    pub how: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_steps_do() {
        for (cmd, work) in [
            (
                "RUN CGO_ENABLED=0 go build -o /app ./cmd/app",
                Work::GoBuild,
            ),
            ("RUN cargo build --release", Work::CargoBuild),
            ("RUN ./gradlew bootJar", Work::JvmBuild),
            ("RUN npm ci && npm run build", Work::AssetBuild),
            (
                "RUN ./node_modules/.bin/webpack --mode production",
                Work::AssetBuild,
            ),
            ("RUN buf generate", Work::CodeGeneration),
            (
                "RUN apt-get update && apt-get install -y curl",
                Work::Packages,
            ),
            ("RUN apk add --no-cache git", Work::Packages),
            ("RUN npm ci", Work::Dependencies),
            ("RUN go mod download", Work::Dependencies),
            ("RUN pip install -r requirements.txt", Work::Dependencies),
            ("RUN curl -fsSL https://x/y.tgz | tar -xz", Work::Download),
            ("RUN ./configure && make -j4", Work::CBuild),
            (
                "RUN head -c 100000000 /dev/zero | sha256sum > /digest",
                Work::Other,
            ),
            ("RUN build.sh", Work::Other),
            (
                "RUN echo \"built on $(uname -m)\" > /built-on",
                Work::CpuSpecific,
            ),
            (
                "RUN curl -o /t https://x/tool-${TARGETARCH}",
                Work::CpuSpecific,
            ),
            (
                "RUN --mount=type=cache,target=/go go build .",
                Work::GoBuild,
            ),
        ] {
            assert_eq!(classify(cmd), work, "{cmd}");
        }
        assert!(!Work::Packages.movable() && Work::Other.movable());
    }
}
