//! Issue 24, bug 2 on the real stack: push checks that each destination takes a write
//! before it builds. A registry that reads but refuses writes (a token without push
//! scope answers so) stops the push before buildx starts, with exit 4; one that takes
//! them gets only the check's two-byte blob besides the image.

mod common;

use common::fault::{Fault, PREFLIGHT, Proxy};
use common::text;

#[test]
fn a_registry_refusing_writes_stops_the_push_before_the_build() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let path = format!("e2e/preflight-{}", common::run_id());
    let repo = format!("{}/{path}", proxy.addr);
    proxy.always(Some("POST"), "/blobs/uploads/", Fault::status(403));
    let dir = stack.project(
        &format!(
            "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"
        ),
        &format!("FROM {}\n", stack.base_image),
    );
    let started = std::time::Instant::now();
    let out =
        stack
            .run_in(dir.path())
            .output(&["-v", "push", "--progress", "plain", "--format", "json"]);
    let took = started.elapsed();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "took {took:?}: {t}"
    );
    // -v shows every buildx command: none ran.
    assert!(!t.contains("$ docker buildx"), "the build ran: {t}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["failure"]["stage"], "preflight", "{doc}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "POST http://{}/v2/{path}/blobs/uploads/",
            proxy.addr
        )) && stderr.contains("403"),
        "{stderr}"
    );
    // Only the check reached the registry: one POST, refused.
    let posts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .collect();
    assert!(
        posts.len() == 1 && posts[0].path.contains(PREFLIGHT),
        "{posts:?}"
    );
    assert_eq!(
        common::run::tag_digest_at(&stack.registry, &path, "latest"),
        None
    );
}
