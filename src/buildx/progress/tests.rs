use super::*;

/// What buildx (or a smoke command) prints without end stays within bounds: text
/// lines, an object that never closes, a log line without a newline.
#[test]
fn endless_output_is_kept_bounded() {
    let mut p = Parser::default();
    let mut s = State::default();
    for i in 0..10_000 {
        if let Some(ev) = p.line(&format!("line {i} {}", "x".repeat(10_000))) {
            s.apply(ev);
        }
    }
    assert_eq!(s.text.len(), MAX_TEXT_LINES);
    assert!(s.text.iter().all(|l| l.len() <= MAX_TEXT_LINE + 3));
    assert!(
        s.text[0].starts_with("line 9800 "),
        "the last lines are kept"
    );
    let mut events = 0;
    p.line("{");
    for _ in 0..3_000 {
        if p.line(&"\"y\": 1,".repeat(1_000)).is_some() {
            events += 1;
        }
    }
    assert!(events > 0 && p.buf.len() <= MAX_OBJECT, "{}", p.buf.len());
    let chunk = base64::engine::general_purpose::STANDARD.encode("z".repeat(100_000));
    for _ in 0..100 {
        let status = format!(
            r#"{{"vertexes":[{{"digest":"sha256:a","name":"[1/1] RUN yes"}}],"logs":[{{"vertex":"sha256:a","data":"{chunk}"}}]}}"#
        );
        s.apply(p.line(&status).expect("one line, one status"));
    }
    let step = &s.steps["sha256:a"];
    assert!(
        step.partial.len() <= MAX_PARTIAL + 200_000,
        "{}",
        step.partial.len()
    );
    assert!(step.log.len() <= LOG_TAIL);
    assert!(step.log.iter().all(|l| l.len() <= MAX_TEXT_LINE + 3));
}

fn run(fixture: &str) -> State {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/buildx/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut p = Parser::default();
    let mut s = State::default();
    for line in text.lines() {
        if let Some(e) = p.line(line) {
            s.apply(e);
        }
    }
    if let Some(e) = p.finish() {
        s.apply(e);
    }
    s
}

#[test]
fn a_real_successful_build() {
    let s = run("success.rawjson");
    let (done, total) = s.counts(None);
    assert!(total >= 5, "{total}");
    assert_eq!(done, total);
    assert!(s.failed().is_none());
    assert!(s.current(None).is_none());
    let run_step = s
        .steps
        .values()
        .find(|st| st.name.contains("RUN echo hello"))
        .unwrap();
    assert!(
        run_step.log.iter().any(|l| l == "hello"),
        "{:?}",
        run_step.log
    );
}

#[test]
fn a_real_failing_build_names_the_step_and_its_log() {
    let s = run("failing-run.rawjson");
    let f = s.failed().unwrap();
    assert!(f.name.contains("RUN echo hello && sleep 0.2"), "{}", f.name);
    assert!(
        f.error.as_deref().unwrap().contains("exit code: 2"),
        "{:?}",
        f.error
    );
    assert!(
        f.log.iter().any(|l| l.contains("can't open")),
        "{:?}",
        f.log
    );
    assert_eq!(
        s.error_line(),
        Some(
            "ERROR: failed to solve: process \"/bin/sh -c echo hello && sleep 0.2\" did not complete successfully: exit code: 2"
        )
    );
}

#[test]
fn compact_objects_and_text_lines() {
    let mut p = Parser::default();
    assert!(matches!(
        p.line(
            r#"{"vertexes":[{"digest":"d1","name":"[api linux/amd64 1/2] FROM x","started":"t"}]}"#
        ),
        Some(Event::Status(_))
    ));
    assert!(matches!(
        p.line("#0 building with \"default\" instance"),
        Some(Event::Text(_))
    ));
    assert!(p.line("").is_none());
}

#[test]
fn the_running_export_and_its_progress_items() {
    let mut p = Parser::default();
    let mut s = State::default();
    fn feed(p: &mut Parser, s: &mut State, line: &str) {
        let ev = p.line(line).expect("one line, one status");
        s.apply(ev);
    }
    feed(
        &mut p,
        &mut s,
        r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t"}]}"#,
    );
    feed(
        &mut p,
        &mut s,
        r#"{"statuses":[{"id":"exporting layers","vertex":"e","current":0}]}"#,
    );
    let now = s.exporting().unwrap();
    assert_eq!(now.step, "exporting to image");
    assert_eq!(now.now.as_deref(), Some("exporting layers"));
    assert_eq!((now.done, now.total), (0, 0));
    feed(
        &mut p,
        &mut s,
        r#"{"statuses":[{"id":"exporting layers","vertex":"e","completed":"t"},{"id":"pushing sha256:a","vertex":"e","current":30,"total":100},{"id":"pushing sha256:b","vertex":"e","current":5,"total":10}]}"#,
    );
    feed(
        &mut p,
        &mut s,
        r#"{"statuses":[{"id":"pushing sha256:a","vertex":"e","current":60,"total":100}]}"#,
    );
    let now = s.exporting().unwrap();
    // The latest item still running; no total while one item has none.
    assert_eq!(now.now.as_deref(), Some("pushing sha256:a"));
    assert_eq!((now.done, now.total), (65, 0));
    // A status of a step never seen is dropped; a finished export is none.
    feed(
        &mut p,
        &mut s,
        r#"{"statuses":[{"id":"x","vertex":"unknown","current":1}]}"#,
    );
    feed(
        &mut p,
        &mut s,
        r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t","completed":"t"}]}"#,
    );
    assert_eq!(s.exporting(), None);
    assert!(!s.steps.contains_key("unknown"));
}

/// A bake of several images names each step with its target, its export too (the
/// names buildx's rawjson gave for a two-image bake on the stack): the export is found,
/// with its progress items, so a bake's export beats as a single build's does.
#[test]
fn a_bake_targets_export_is_an_export() {
    assert!(is_export("[api] exporting to oci image format"));
    assert!(!is_export("[api 1/1] COPY a /a"));
    assert!(!is_export("[api internal] load build context"));
    assert!(!is_export("[api 2/2] RUN exporting-tool --run"));
    let mut p = Parser::default();
    let mut s = State::default();
    for line in [
        r#"{"vertexes":[{"digest":"c","name":"[api 1/1] COPY a /a","started":"t","completed":"t"}]}"#,
        r#"{"vertexes":[{"digest":"e","name":"[api] exporting to oci image format","started":"t"}]}"#,
        r#"{"statuses":[{"id":"exporting layers","vertex":"e","current":0}]}"#,
    ] {
        s.apply(p.line(line).expect("one line, one status"));
    }
    let now = s.exporting().expect("the bake target's export is running");
    assert_eq!(now.step, "[api] exporting to oci image format");
    assert_eq!(now.now.as_deref(), Some("exporting layers"));
}

#[test]
fn bake_targets_from_step_names() {
    assert_eq!(step_target("[api linux/amd64 2/4] RUN make"), Some("api"));
    assert_eq!(step_target("[worker 1/2] FROM docker.io/x"), Some("worker"));
    assert_eq!(step_target("[linux/arm64 2/3] RUN echo"), None);
    assert_eq!(
        step_target("[internal] load build definition from Dockerfile"),
        None
    );
    assert_eq!(
        step_target("[api internal] load .dockerignore"),
        Some("api")
    );
    assert_eq!(step_target("exporting to oci image format"), None);
}

fn fed(lines: &[&str]) -> State {
    let mut p = Parser::default();
    let mut s = State::default();
    for line in lines {
        s.apply(p.line(line).expect("one line, one status"));
    }
    s
}

#[test]
fn hostile_progress_numbers_saturate() {
    let s = fed(&[
        r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t"}]}"#,
        r#"{"statuses":[{"id":"a","vertex":"e","current":18446744073709551615,"total":18446744073709551615},{"id":"b","vertex":"e","current":5,"total":7}]}"#,
    ]);
    let now = s.exporting().unwrap();
    assert_eq!((now.done, now.total), (u64::MAX, u64::MAX));
}

#[test]
fn progress_items_are_kept_only_where_read_and_a_long_id_is_one_item() {
    let long = "x".repeat(MAX_TEXT_LINE + 10);
    let item = format!(r#"{{"statuses":[{{"id":"{long}","vertex":"e","current":1}}]}}"#);
    let mut lines = vec![
        r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t"}]}"#,
        r#"{"vertexes":[{"digest":"r","name":"[2/2] RUN make","started":"t"}]}"#,
        r#"{"statuses":[{"id":"compiling","vertex":"r","current":1}]}"#,
    ];
    lines.extend(std::iter::repeat_n(item.as_str(), 3));
    let s = fed(&lines);
    // A RUN step's items are never read: none kept (each step may hold
    // MAX_STATUSES, so many steps would add up).
    assert!(s.steps["r"].statuses.is_empty());
    // The over-long id, said three times, is one item (clipped once, matched clipped).
    let e = &s.steps["e"].statuses;
    assert_eq!(e.len(), 1, "{}", e.len());
    assert!(e[0].0.len() <= MAX_TEXT_LINE + '…'.len_utf8());
}
