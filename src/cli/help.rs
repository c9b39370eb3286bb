//! The help texts around the options: the environment and exit codes of the top
//! `--help`, and each command's examples.

use crate::exit::EXIT_CODES_HELP;

/// The environment variables mpbuild reads, for the top `--help` and the README.
pub const ENVIRONMENT_HELP: &str = "\
Environment:
  DOCKER_CONFIG            Docker's config directory, where registry credentials are read
                           (config.json: auths, credsStore, credHelpers; default ~/.docker)
  DOCKER_HOST              the Docker daemon that docker and buildx talk to
  BUILDX_BUILDER           the buildx builder when neither --builder nor `builder:` names one
  MPBUILD_WORK_DIR         the project's work directory: content hashes, and each run's
                           buildx outputs (default: ~/.cache/mpbuild/PROJECT-HASH, or under
                           $XDG_CACHE_HOME; `mpbuild clean` removes it)
  MPBUILD_REQUEST_TIMEOUT  the deadline of one registry request, in seconds (default 60)
  MPBUILD_HOST_PLATFORM    the platform of this machine for the `local` service (default:
                           Linux on this CPU), e.g. linux/arm64 to plan as an Apple Silicon Mac
  MPBUILD_COSIGN           the cosign program `sign:` and --signed-by run (default: cosign on PATH)
  MPBUILD_HEARTBEAT_MS     how often plain progress prints a line with the bytes a long
                           export, upload or copy has moved, in milliseconds, at least 100
                           (default 5000; 0: never)
  SSL_CERT_FILE            a CA bundle to trust for registries, besides the system's
  NO_COLOR                 no colour and no progress bars (like --color never)
  GIT_SHA, …               any ${VAR} in mpbuild.yaml (repository, tags, tag, build_args)";

/// The top `--help`'s epilogue: the exit codes (once, here) and the environment.
pub(super) fn top_help() -> String {
    format!("{EXIT_CODES_HELP}\n\n{ENVIRONMENT_HELP}")
}

pub(super) const PLAN_EXAMPLES: &str = "\
Examples:
  mpbuild plan                               what each image needs, and the buildx command
  mpbuild plan --image api --format json     one image, for a program
  mpbuild plan --format github-matrix        a CI matrix of native runners, one per platform
  mpbuild plan --format gitlab-pipeline      the same as a GitLab child pipeline (legs, merge)";
pub(super) const TARGETS_EXAMPLES: &str = "\
Examples:
  mpbuild targets                 every service, its platforms and sources
  mpbuild targets lambda          one service
  mpbuild targets --format json";
pub(super) const INIT_EXAMPLES: &str = "\
Examples:
  mpbuild init --service ecs-fargate:ARM64 --service local
  mpbuild init --service cloud-run --service lambda:arm64 \\
      --repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/api";
pub(super) const VERIFY_EXAMPLES: &str = "\
Examples:
  mpbuild verify                                      the project's tags against their targets
  mpbuild verify grafana/grafana:11.2.0 --target apprunner --deep
  mpbuild verify REPO@sha256:… --platform linux/arm64 --format json";
pub(super) const CHECK_EXAMPLES: &str = "\
Examples:
  mpbuild check deploy/ k8s/                       every deployment file under them
  helm template chart | mpbuild check - --cluster-archs amd64,arm64
  kubectl get deploy,sts,ds,cronjob -A -o yaml | mpbuild check -    what the cluster runs
  mpbuild check deploy/ --pin                      then write each verified digest in";
pub(super) const PUSH_EXAMPLES: &str = "\
Examples:
  GIT_SHA=$(git rev-parse --short HEAD) mpbuild push
  mpbuild push --dry-run                   the commands and steps, nothing run
  mpbuild push --format json --metadata-file push.json";
pub(super) const MERGE_EXAMPLES: &str = "\
Examples:
  mpbuild push --platform linux/arm64 --digests-dir legs     on each native runner
  mpbuild merge --digests-dir legs                           once, after every leg
  mpbuild merge --digests-dir legs --format json --metadata-file merge.json";
pub(super) const BUILD_EXAMPLES: &str = "\
Examples:
  mpbuild build                            this machine's platform, loaded into Docker
  mpbuild build --target cloud-run         the platform Cloud Run runs (emulated here)
  mpbuild build --platform linux/amd64 --dry-run";
pub(super) const MIRROR_EXAMPLES: &str = "\
Examples:
  mpbuild mirror grafana/grafana:11.2.0 ECR_REPO/grafana --target apprunner
  mpbuild mirror SRC DEST --all            every platform, the source digest kept
  mpbuild mirror                           the project's `mirrors:`";
pub(super) const SMOKE_EXAMPLES: &str = "\
Examples:
  mpbuild smoke REPO:TAG -- app --version                every platform the image holds
  mpbuild smoke REPO:TAG --platform linux/arm64 --expect 'v1\\.' -- app --version
  mpbuild smoke REPO@sha256:… --format json -- /bin/true";
pub(super) const DOCTOR_EXAMPLES: &str = "\
Examples:
  mpbuild doctor
  mpbuild doctor --builder ci --format json";
pub(super) const BUILDER_EXAMPLES: &str = "\
Examples:
  mpbuild builder up --dry-run             what would be created or changed
  mpbuild builder up
  mpbuild builder status --format json";
pub(super) const VERSION_EXAMPLES: &str = "\
Examples:
  mpbuild version
  mpbuild version --format json";
pub(super) const SCHEMA_EXAMPLES: &str = "\
Examples:
  mpbuild schema > mpbuild.schema.json
  (first line of mpbuild.yaml) # yaml-language-server: $schema=./mpbuild.schema.json";
pub(super) const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  mpbuild completions bash > /etc/bash_completion.d/mpbuild
  mpbuild completions zsh > \"${fpath[1]}/_mpbuild\"
  mpbuild completions fish > ~/.config/fish/completions/mpbuild.fish";
pub(super) const CLEAN_EXAMPLES: &str = "\
Examples:
  mpbuild clean             this project's work directory
  mpbuild clean --all       every project's, and what earlier versions left in the temp dir";
pub(super) const MAN_EXAMPLES: &str = "\
Examples:
  mpbuild man | man -l -
  mpbuild man --dir /usr/local/share/man/man1";
