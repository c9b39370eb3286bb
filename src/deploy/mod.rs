//! The deployment files a project already has, read for what they say about images:
//! ECS task definitions, CloudFormation/SAM (Lambda, ECS, App Runner, Batch), Kubernetes
//! manifests, docker compose files and AWS Copilot manifests. For each container
//! workload: the platforms it needs (and the file and line that decided), and every
//! image reference it runs (and where it is written). `from:` targets take the
//! platforms; `mpbuild check` takes both.

mod cloudformation;
mod compose;
mod copilot;
mod ecs;
mod found;
mod image;
mod interpolate;
mod kubernetes;
pub mod node;
mod read;
mod select;

pub use found::{Context, DeployError, Found, Unstated};
pub use image::{Image, ImageUse, repository_of};
pub use node::Node;
pub use read::{files, read_file, read_path, read_text};
pub use select::{Ignored, Selection, read, read_for_image, select_for_image};

#[cfg(test)]
mod tests;
