//! The checker's parts, one file per kind of thing `mpbuild.yaml` declares, each adding an
//! `impl Checker` block for its part. The top, `Checker::project` in `config/mod.rs`,
//! calls them in the order the checks have always run (services, images and their
//! targets, tag collisions, mirrors, builder).

mod builder;
mod image;
mod mirror;
mod services;
mod target;
