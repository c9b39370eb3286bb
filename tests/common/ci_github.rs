//! GitHub Actions on the test runner (`ci_runner.rs`): a workflow's jobs in `needs`
//! order, a matrix job once per entry of `fromJSON(needs.JOB.outputs.KEY)`, each `run:`
//! step under `bash -e` (`-o pipefail` with `shell: bash`) with `${{ … }}` replaced as
//! the runner replaces it and the environment files (GITHUB_OUTPUT, GITHUB_ENV — read
//! back for the next steps —, GITHUB_STEP_SUMMARY, GITHUB_PATH) as temp files. `uses:`
//! steps: this repository's action runs its own steps (action.yml; its install step is
//! the built mpbuild put on PATH: tests/action.rs tests install.sh); upload- and
//! download-artifact copy through the artifact store; the others (checkout, QEMU,
//! buildx, cloud logins, cosign-installer) are skipped, each named with why.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::ci_runner::{Job, Runner, copy_dir, env_file};

/// The contexts an expression reads.
#[derive(Default, Clone)]
pub struct Contexts {
    pub github: BTreeMap<String, String>,
    pub inputs: BTreeMap<String, String>,
    pub matrix: BTreeMap<String, String>,
    /// `steps.ID.outputs.KEY`
    pub steps: BTreeMap<String, BTreeMap<String, String>>,
    /// `needs.JOB.outputs.KEY`
    pub needs: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, String>,
}

impl Contexts {
    /// One operand: a context path or a quoted literal.
    fn value(&self, e: &str) -> String {
        let e = e.trim();
        if let Some(lit) = e.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return lit.to_string();
        }
        let parts: Vec<&str> = e.split('.').collect();
        let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
        match parts.as_slice() {
            ["github", k] => get(&self.github, k),
            ["inputs", k] => get(&self.inputs, k),
            ["matrix", k] => get(&self.matrix, k),
            ["secrets", k] => get(&self.secrets, k),
            ["steps", id, "outputs", k] => {
                self.steps.get(*id).map(|m| get(m, k)).unwrap_or_default()
            }
            ["needs", j, "outputs", k] => self.needs.get(*j).map(|m| get(m, k)).unwrap_or_default(),
            _ => panic!("an expression this runner does not know: `{e}`"),
        }
    }

    /// An expression: `A || B`, `!A`, `A != 'x'`, `A == 'x'`, `always()`, an operand.
    pub fn eval(&self, e: &str) -> String {
        let e = e.trim();
        if e == "always()" {
            return "true".into();
        }
        if let Some((a, b)) = e.split_once("||") {
            let a = self.eval(a);
            return if truthy(&a) { a } else { self.eval(b) };
        }
        if let Some((a, b)) = e.split_once("!=") {
            return (self.value(a) != self.value(b)).to_string();
        }
        if let Some((a, b)) = e.split_once("==") {
            return (self.value(a) == self.value(b)).to_string();
        }
        if let Some(a) = e.strip_prefix('!') {
            return (!truthy(&self.eval(a))).to_string();
        }
        self.value(e)
    }

    /// `text` with every `${{ … }}` replaced by its value.
    pub fn subst(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${{") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find("}}").expect("an unclosed ${{") + at;
            out.push_str(&self.eval(&rest[at + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:` (with or without `${{ }}`).
    pub fn condition(&self, v: &Value) -> bool {
        match v.as_str() {
            None => true,
            Some(s) => {
                let s = s.trim();
                let s = s
                    .strip_prefix("${{")
                    .and_then(|s| s.strip_suffix("}}"))
                    .unwrap_or(s);
                truthy(&self.eval(s))
            }
        }
    }
}

fn truthy(s: &str) -> bool {
    !s.is_empty() && s != "false" && s != "null"
}

fn strings(map: &Value, cx: &Contexts) -> BTreeMap<String, String> {
    map.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => cx.subst(s),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// What a workflow's run left: each job's outputs (the last run of a matrix job).
pub type JobOutputs = BTreeMap<String, BTreeMap<String, String>>;

impl Runner<'_> {
    /// Runs `workflow`'s jobs in the order written (each job's `needs` must come
    /// before it), with `inputs` for a reusable workflow. `after_job` sees each job
    /// (with its matrix entry's platform, if any) once it has run.
    pub fn github_workflow(
        &mut self,
        workflow: &Value,
        inputs: &[(&str, &str)],
        mut after_job: impl FnMut(&str, &BTreeMap<String, String>),
    ) -> JobOutputs {
        let mut cx = Contexts {
            github: [
                (
                    "sha",
                    self.env.get("GITHUB_SHA").cloned().unwrap_or_default(),
                ),
                ("actor", "ci".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            secrets: self.secrets.clone(),
            ..Contexts::default()
        };
        for (k, i) in workflow["on"]["workflow_call"]["inputs"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let v = i["default"].as_str().unwrap_or_default().to_string();
            cx.inputs.insert(k.clone(), v);
        }
        for (k, v) in inputs {
            assert!(cx.inputs.contains_key(*k), "no input {k}");
            cx.inputs.insert(k.to_string(), v.to_string());
        }
        let wf_env = strings(&workflow["env"], &cx);
        let mut done = JobOutputs::new();
        let jobs = workflow["jobs"].as_object().unwrap();
        let needs = |job: &Value| -> Vec<String> {
            match &job["needs"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().into()).collect(),
                _ => vec![],
            }
        };
        // As GitHub orders them: a job once every job it needs has run.
        let mut order: Vec<&String> = Vec::new();
        while order.len() < jobs.len() {
            let next = jobs
                .iter()
                .find(|(n, j)| !order.contains(n) && needs(j).iter().all(|x| order.contains(&x)))
                .unwrap_or_else(|| panic!("a job needs one that never runs: {order:?}"));
            order.push(next.0);
        }
        for name in order {
            let job = &jobs[name];
            cx.needs = done.clone();
            cx.matrix.clear();
            if !cx.condition(&job["if"]) {
                self.skipped
                    .push(format!("{name}: the job — its `if:` is false"));
                done.insert(name.clone(), BTreeMap::new());
                continue;
            }
            let entries: Vec<BTreeMap<String, String>> = match &job["strategy"]["matrix"] {
                Value::String(s) => {
                    let expr = s
                        .trim()
                        .trim_start_matches("${{")
                        .trim_end_matches("}}")
                        .trim();
                    let inner = expr
                        .strip_prefix("fromJSON(")
                        .and_then(|e| e.strip_suffix(')'))
                        .unwrap_or_else(|| panic!("{name}: matrix `{s}`"));
                    let m: Value = serde_json::from_str(&cx.value(inner))
                        .unwrap_or_else(|e| panic!("{name}: the matrix is not JSON: {e}"));
                    let include = m["include"].as_array().expect("a matrix with include");
                    assert!(!include.is_empty(), "{name}: an empty matrix");
                    include.iter().map(|e| strings(e, &cx)).collect()
                }
                Value::Null => vec![BTreeMap::new()],
                other => panic!("{name}: matrix {other}"),
            };
            let mut outputs = BTreeMap::new();
            for entry in entries {
                cx.matrix = entry.clone();
                cx.steps.clear();
                let label = match entry.get("platform") {
                    Some(p) => format!("{name} ({p})"),
                    None => name.clone(),
                };
                let mut j = self.job(&label);
                let env: BTreeMap<String, String> = wf_env
                    .clone()
                    .into_iter()
                    .chain(strings(&job["env"], &cx))
                    .collect();
                for step in job["steps"].as_array().unwrap() {
                    self.github_step(&mut j, step, &mut cx, &env);
                }
                outputs = strings(&job["outputs"], &cx);
                after_job(name, &entry);
            }
            done.insert(name.clone(), outputs);
        }
        done
    }

    fn github_step(
        &mut self,
        j: &mut Job,
        step: &Value,
        cx: &mut Contexts,
        job_env: &BTreeMap<String, String>,
    ) {
        let label = step["name"]
            .as_str()
            .or(step["id"].as_str())
            .or(step["uses"].as_str().and_then(|u| u.split('@').next()))
            .unwrap_or("run")
            .to_string();
        if !cx.condition(&step["if"]) {
            self.skip(j, &label, "its `if:` is false");
            return;
        }
        let env: BTreeMap<String, String> = job_env
            .clone()
            .into_iter()
            .chain(strings(&step["env"], cx))
            .collect();
        let outputs = if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "{label}: an expression in a script");
            let pipefail = step["shell"] == "bash";
            self.bash_step(j, &label, run, &env, pipefail)
        } else {
            let uses = step["uses"].as_str().expect("run or uses");
            let with = strings(&step["with"], cx);
            self.uses_step(j, &label, uses, &with, &env)
        };
        if let Some(id) = step["id"].as_str() {
            cx.steps.insert(id.to_string(), outputs);
        }
    }

    /// A `run:` step as GitHub runs it: `bash -e` (no `shell:`), or with `-o pipefail`
    /// (`shell: bash`); variables earlier steps wrote to GITHUB_ENV under its own.
    /// Its outputs.
    pub fn bash_step(
        &mut self,
        j: &mut Job,
        label: &str,
        script: &str,
        env: &BTreeMap<String, String>,
        pipefail: bool,
    ) -> BTreeMap<String, String> {
        let slug: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let files =
            ["output", "env", "summary", "path"].map(|f| j.temp.join(format!("{f}-{slug}")));
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
        let mut env: BTreeMap<String, String> =
            j.exported.clone().into_iter().chain(env.clone()).collect();
        for (k, f) in [
            "GITHUB_OUTPUT",
            "GITHUB_ENV",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_PATH",
        ]
        .iter()
        .zip(&files)
        {
            env.insert(k.to_string(), f.display().to_string());
        }
        env.insert("RUNNER_TEMP".into(), j.temp.display().to_string());
        env.insert("GITHUB_WORKSPACE".into(), j.workspace.display().to_string());
        // The job's id (a matrix job's label adds its platform).
        let id = j.name.split(' ').next().unwrap().to_string();
        env.insert("GITHUB_JOB".into(), id);
        let cwd = j.workspace.clone();
        let shell: &[&str] = if pipefail {
            &["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"]
        } else {
            &["bash", "--noprofile", "--norc", "-e"]
        };
        let (code, text) = self.shell(j, label, shell, script, &cwd, &env);
        assert_eq!(code, 0, "{}: step {label} failed: {text}", j.name);
        j.exported.extend(env_file(&files[1]));
        self.summary
            .push_str(&std::fs::read_to_string(&files[2]).unwrap_or_default());
        env_file(&files[0])
    }

    fn uses_step(
        &mut self,
        j: &mut Job,
        label: &str,
        uses: &str,
        with: &BTreeMap<String, String>,
        env: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let action = uses.split('@').next().unwrap();
        let why = match action {
            "acme/mpbuild" => return self.our_action(j, label, with, env),
            "actions/upload-artifact" => {
                // One path: a directory's contents, or the file, at the artifact's root
                // (upload-artifact keeps paths below their common directory).
                let src = j.workspace.join(&with["path"]);
                assert!(src.exists(), "{}: nothing at {}", j.name, with["path"]);
                let dest = self.artifacts().join(&with["name"]);
                if src.is_dir() {
                    copy_dir(&src, &dest);
                } else {
                    std::fs::create_dir_all(&dest).unwrap();
                    std::fs::copy(&src, dest.join(src.file_name().unwrap())).unwrap();
                }
                return BTreeMap::new();
            }
            "actions/download-artifact" => {
                let prefix = with["pattern"].trim_end_matches('*').to_string();
                assert_eq!(with.get("merge-multiple").map(String::as_str), Some("true"));
                let names = self.artifacts_named(&prefix);
                assert!(!names.is_empty(), "{}: no artifact {prefix}*", j.name);
                for n in names {
                    self.download(j, &n, &with["path"]);
                }
                return BTreeMap::new();
            }
            "actions/checkout" => "the job's workspace is a fresh copy of the project",
            "docker/setup-qemu-action" => "the stack registered QEMU (binfmt_misc)",
            "docker/setup-buildx-action" => "the stack's buildx builder",
            "aws-actions/configure-aws-credentials" | "aws-actions/amazon-ecr-login" => {
                "the stack's registry takes pushes without a login"
            }
            "sigstore/cosign-installer" => "the stack's cosign is on PATH",
            other => panic!("{}: an action this runner does not know: {other}", j.name),
        };
        self.skip(j, action, why);
        BTreeMap::new()
    }

    /// This repository's action: action.yml's steps with `inputs` from `with` and the
    /// defaults; its outputs from its `outputs:` expressions.
    fn our_action(
        &mut self,
        j: &mut Job,
        label: &str,
        with: &BTreeMap<String, String>,
        env: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let action: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(root.join("action.yml")).unwrap())
                .unwrap();
        let mut cx = Contexts::default();
        for (k, i) in action["inputs"].as_object().unwrap() {
            let v = i["default"].as_str().unwrap_or_default().to_string();
            cx.inputs.insert(k.clone(), v);
        }
        for (k, v) in with {
            assert!(
                cx.inputs.contains_key(k),
                "{label}: `{k}` is not an input of action.yml"
            );
            cx.inputs.insert(k.clone(), v.clone());
        }
        for step in action["runs"]["steps"].as_array().unwrap() {
            let id = step["id"].as_str().unwrap();
            if id == "install" {
                // The release's install.sh is tested by tests/action.rs; here the built
                // mpbuild stands in for the release binary.
                self.skip(
                    j,
                    "acme/mpbuild install",
                    "the built mpbuild is put on PATH",
                );
                j.installed = true;
                continue;
            }
            assert_eq!(step["shell"], "bash", "{label}: a composite step's shell");
            let mut step_env = env.clone();
            step_env.extend(strings(&step["env"], &cx));
            step_env.insert("GITHUB_ACTION_PATH".into(), root.display().to_string());
            let script = step["run"].as_str().unwrap();
            let out = self.bash_step(j, &format!("{label} ({id})"), script, &step_env, true);
            cx.steps.insert(id.to_string(), out);
        }
        action["outputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, o)| (k.clone(), cx.subst(o["value"].as_str().unwrap())))
            .collect()
    }
}
