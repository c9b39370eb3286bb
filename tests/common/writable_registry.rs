//! A loopback "registry" for CLI tests with a fake `docker`: it answers every request
//! `201 Created`, which is all `push` needs of a destination before it builds (the
//! check that it answers and takes a write). Nothing is stored.

/// The address of this test binary's registry (started on first use).
pub fn addr() -> String {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut len = 0u64;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let _ = std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink());
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        addr
    })
    .clone()
}

/// Writes into `dir` a project whose one image (`app`, `FROM scratch`, for App Runner)
/// is pushed to this registry.
pub fn write_project(dir: &std::path::Path) {
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.join("mpbuild.yaml"),
        format!(
            "version: 1\nimages:\n  app:\n    repository: {}/app\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n",
            addr()
        ),
    )
    .unwrap();
}

/// [`write_project`] in a directory of its own.
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    dir
}
