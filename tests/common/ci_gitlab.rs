//! GitLab CI on the test runner (`ci_runner.rs`): a pipeline's jobs stage by stage
//! (`include: local:` read from the checkout, `extends:` merged as GitLab merges it),
//! each job's `script:` under `sh -e` with the CI's variables (CI_COMMIT_SHA,
//! CI_PROJECT_DIR, … and the pipeline's `variables:`, `$NAME` expanded as GitLab
//! expands them), artifacts kept per job and downloaded by `needs:` (or every earlier
//! stage), and a `trigger:` job running the child pipeline in the artifact it names.
//! Not run, and listed: a template's `before_script` (the release install, the builder,
//! the login: checked with `sh -n`, the built mpbuild put on PATH instead) and the
//! QEMU registration line (the stack registered QEMU).
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

use super::ci_runner::Runner;

const RESERVED: &[&str] = &[
    "stages",
    "variables",
    "include",
    "default",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
];

/// GitLab's merge of `extends`: maps merged key by key, anything else replaced.
fn deep_merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match b.get(k) {
                    Some(bv) => deep_merge(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, o) => o.clone(),
    }
}

/// `$NAME` and `${NAME}` replaced from `vars` (unknown ones left as written).
fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let (name, used) = match tail.strip_prefix('{') {
            Some(t) => {
                let end = t.find('}').unwrap_or(t.len());
                (&t[..end], end + 2)
            }
            None => {
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                (&tail[..end], end)
            }
        };
        match vars.get(name) {
            Some(v) if !name.is_empty() => out.push_str(v),
            _ => out.push_str(&rest[at..at + 1 + used]),
        }
        rest = &rest[at + 1 + used..];
    }
    out.push_str(rest);
    out
}

fn lines(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|l| l.as_str().unwrap().to_string()).collect(),
        Value::Null => vec![],
        other => panic!("a script that is not a list: {other}"),
    }
}

/// The line that registers QEMU (`plan/gitlab.rs`'s BINFMT).
pub const BINFMT: &str = "docker run --privileged --rm \"${MPBUILD_BINFMT_IMAGE:-tonistiigi/binfmt:latest}\" --install all";

impl Runner<'_> {
    /// Runs the pipeline in `text` with `forwarded` variables (a parent's, for a child).
    pub fn gitlab_pipeline(&mut self, text: &str, forwarded: &BTreeMap<String, String>) {
        let mut doc: Value = serde_saphyr::from_str(text).expect("the pipeline parses");
        // Included files first; the including file wins.
        for inc in doc["include"].as_array().cloned().unwrap_or_default() {
            let local = inc["local"].as_str().expect("include: local: only");
            let path = self.checkout.join(local.trim_start_matches('/'));
            let included: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            doc = deep_merge(&included, &doc);
        }
        let stages = lines(&doc["stages"]);
        assert!(!stages.is_empty(), "no stages:");
        let mut globals = forwarded.clone();
        for (k, v) in doc["variables"].as_object().into_iter().flatten() {
            globals.insert(k.clone(), v.as_str().unwrap().to_string());
        }
        // Jobs in stage order, then as written.
        let at = |name: &str| {
            text.find(&format!("\n{name}:"))
                .or_else(|| text.find(&format!("\n\"{name}\":")))
        };
        let mut jobs: Vec<(usize, usize, String)> = doc
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.starts_with('.') && !RESERVED.contains(&k.as_str()))
            .map(|k| {
                let stage = doc[k]["stage"].as_str().unwrap_or("test");
                let s = stages
                    .iter()
                    .position(|x| x == stage)
                    .unwrap_or_else(|| panic!("{k}: stage {stage} is not in stages:"));
                (
                    s,
                    at(k).unwrap_or_else(|| panic!("{k} not found")),
                    k.clone(),
                )
            })
            .collect();
        jobs.sort();
        let mut ran: Vec<(usize, String)> = Vec::new();
        for (stage, _, name) in jobs {
            let mut job = doc[&name].clone();
            let mut from_template = false;
            for base in lines(&job["extends"]) {
                assert!(
                    doc.get(&base).is_some(),
                    "{name}: extends {base}, which is not there"
                );
                from_template = true;
                job = deep_merge(&doc[&base], &job);
            }
            if job.get("trigger").is_some() {
                self.gitlab_trigger(&name, &job, &globals);
            } else {
                let earlier: Vec<String> = ran
                    .iter()
                    .filter(|(s, _)| *s < stage)
                    .map(|(_, n)| n.clone())
                    .collect();
                self.gitlab_job(
                    &name,
                    &job,
                    &globals,
                    &stages[stage],
                    &earlier,
                    from_template,
                );
            }
            ran.push((stage, name));
        }
    }

    /// A trigger job: the child pipeline from the artifact it names, its result ours.
    fn gitlab_trigger(&mut self, name: &str, job: &Value, globals: &BTreeMap<String, String>) {
        let t = &job["trigger"];
        assert_eq!(t["strategy"], "depend", "{name}: the parent would not wait");
        let inc = &t["include"][0];
        let (file, from) = (
            inc["artifact"].as_str().unwrap(),
            inc["job"].as_str().unwrap(),
        );
        let path = self.artifacts().join(from).join(file);
        let child = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{name}: artifact {file} of {from}: {e}"));
        self.gitlab_pipeline(&child, globals);
    }

    fn gitlab_job(
        &mut self,
        name: &str,
        job: &Value,
        globals: &BTreeMap<String, String>,
        stage: &str,
        earlier: &[String],
        from_template: bool,
    ) {
        let mut j = self.job(name);
        // Artifacts: those of `needs:` (artifacts: true unless said), else every
        // earlier stage's.
        let needs: Vec<String> = match &job["needs"] {
            Value::Array(a) => a
                .iter()
                .filter_map(|n| match n {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(_) if n["artifacts"] != false => {
                        Some(n["job"].as_str().unwrap().to_string())
                    }
                    _ => None,
                })
                .collect(),
            _ => earlier.to_vec(),
        };
        for n in &needs {
            if self.artifacts().join(n).exists() {
                self.download(&j, n, ".");
            }
        }
        let sha = self.env.get("CI_COMMIT_SHA").cloned().unwrap_or_default();
        let mut vars: BTreeMap<String, String> = [
            ("CI", "true".to_string()),
            ("GITLAB_CI", "true".to_string()),
            ("CI_COMMIT_SHA", sha.clone()),
            ("CI_COMMIT_SHORT_SHA", sha.chars().take(8).collect()),
            ("CI_COMMIT_BRANCH", "main".to_string()),
            ("CI_DEFAULT_BRANCH", "main".to_string()),
            ("CI_PIPELINE_SOURCE", "push".to_string()),
            ("CI_PROJECT_DIR", j.workspace.display().to_string()),
            ("CI_JOB_NAME", name.to_string()),
            ("CI_JOB_STAGE", stage.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        vars.extend(self.secrets.clone());
        for (k, v) in globals {
            let v = expand(v, &vars);
            vars.insert(k.clone(), v);
        }
        for (k, v) in job["variables"].as_object().into_iter().flatten() {
            let v = expand(v.as_str().unwrap(), &vars);
            vars.insert(k.clone(), v);
        }
        let before = lines(&job["before_script"]);
        if !before.is_empty() {
            assert!(from_template, "{name}: a before_script of its own");
            let (code, text) = self.shell(
                &j,
                "before_script (sh -n)",
                &["sh", "-n"],
                &before.join("\n"),
                &j.workspace.clone(),
                &vars,
            );
            assert_eq!(code, 0, "{name}: the template's before_script: {text}");
            self.skip(
                &j,
                "before_script",
                "the release install, builder and login: the built mpbuild on PATH",
            );
            j.installed = true;
        }
        let mut script = Vec::new();
        for line in lines(&job["script"]) {
            if line == BINFMT {
                self.skip(&j, "QEMU registration", "the stack registered QEMU");
            } else {
                script.push(line);
            }
        }
        let cwd = j.workspace.clone();
        let (code, text) = self.shell(&j, "script", &["sh", "-e"], &script.join("\n"), &cwd, &vars);
        let keep = job["artifacts"]["when"] == "always" || code == 0;
        if keep {
            let paths = lines(&job["artifacts"]["paths"]);
            if !paths.is_empty() {
                self.upload(&j, name, &paths);
            }
        }
        assert_eq!(code, 0, "{name}: the script failed: {text}");
    }
}
