//! `mpbuild` binary: parse, dispatch, exit. Everything else lives in the library.

fn main() {
    std::process::exit(mpbuild::run(std::env::args_os()));
}
