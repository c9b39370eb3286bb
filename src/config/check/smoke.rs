//! `smoke:` of an image: the command run in the pushed image on each platform before a
//! tag moves. The argv is kept exactly as written (no `${VAR}` expansion, no shell);
//! `expect:` must compile as a regular expression, `timeout:` must be a positive
//! duration, `env:` names must be variable names, and `platforms:` must be platforms
//! the image's targets need.

use serde_saphyr::Spanned;

use super::push_unique;
use crate::config::raw::{RawSmoke, RawSmokeSpec, Scalar};
use crate::config::smoke_values::{is_env_name, parse_timeout, smoke_regex};
use crate::config::{Checker, ConfigError, SMOKE_TIMEOUT, Smoke, Target};
use crate::exit::Coded;
use crate::platform::Platform;

impl Checker<'_> {
    /// `smoke:` (a list, or `run:` with its options), its fields checked in the file's
    /// order, each error at its own field.
    pub(in crate::config) fn smoke(
        &self,
        image: &str,
        raw: Spanned<RawSmokeSpec>,
        targets: &[Target],
    ) -> Result<Smoke, ConfigError> {
        let smoke = match raw.value {
            RawSmokeSpec::Argv(argv) => RawSmoke {
                run: Spanned {
                    value: argv,
                    referenced: raw.referenced,
                    defined: raw.defined,
                },
                expect: None,
                timeout: None,
                env: Vec::new(),
                platforms: Vec::new(),
            },
            RawSmokeSpec::Full(s) => *s,
        };
        let run = self.smoke_run(image, &smoke.run)?;
        let expect = match &smoke.expect {
            Some(e) => {
                smoke_regex(&e.value).map_err(|m| {
                    self.err(
                        self.pos(e),
                        m,
                        Some("the pattern is a Rust `regex` (https://docs.rs/regex); quote it in YAML".into()),
                    )
                })?;
                Some(e.value.clone())
            }
            None => None,
        };
        let timeout = match &smoke.timeout {
            None => SMOKE_TIMEOUT,
            Some(t) => {
                let text = match &t.value {
                    Scalar::Text(s) => s.clone(),
                    Scalar::Float(f) => f.to_string(),
                };
                parse_timeout(&text).map_err(|m| self.err(self.pos(t), m, None))?
            }
        };
        let env = self.smoke_env(&smoke.env)?;
        let platforms = self.smoke_platforms(image, &smoke.platforms, targets)?;
        Ok(Smoke {
            run,
            expect,
            timeout,
            env,
            platforms,
        })
    }

    /// The command: a non-empty list of strings (a number YAML may have rounded is
    /// refused), its program not blank.
    fn smoke_run(
        &self,
        image: &str,
        raw: &Spanned<Vec<Spanned<Scalar>>>,
    ) -> Result<Vec<String>, ConfigError> {
        let help_run = Some(
            "write the command as a list, e.g. `smoke: [app, --version]` or `run: [sh, -c, \"app --version | grep 1.2\"]`"
                .to_string(),
        );
        if raw.value.is_empty() {
            return Err(self.err(
                self.pos(raw),
                format!("image `{image}`: the smoke command is empty"),
                help_run,
            ));
        }
        let mut run = Vec::new();
        for a in &raw.value {
            match &a.value {
                Scalar::Text(t) => run.push(t.clone()),
                Scalar::Float(f) => {
                    return Err(self.err(
                        self.pos(a),
                        format!("smoke argument {f} is a number YAML may have rounded"),
                        Some(format!("quote it: \"{f}\"")),
                    ));
                }
            }
        }
        if run[0].trim().is_empty() {
            return Err(self.err(
                self.pos(&raw.value[0]),
                format!("image `{image}`: the smoke command's program is empty"),
                help_run,
            ));
        }
        Ok(run)
    }

    /// `env:`: variable names (not mpbuild's own `MPBUILD_SMOKE_*`), each once, with
    /// string values.
    fn smoke_env(
        &self,
        raw: &[(Spanned<String>, Spanned<Scalar>)],
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let mut env: Vec<(String, String)> = Vec::new();
        for (k, v) in raw {
            if !is_env_name(&k.value) || k.value.starts_with("MPBUILD_SMOKE_") {
                return Err(self.err(
                    self.pos(k),
                    format!("`{}` is not a variable name the smoke run can set", k.value),
                    Some("use letters, digits and `_`, not starting with a digit; MPBUILD_SMOKE_* is mpbuild's own".into()),
                ));
            }
            if env.iter().any(|(e, _)| e == &k.value) {
                return Err(self.err(self.pos(k), format!("`{}` is set twice", k.value), None));
            }
            let value = match &v.value {
                Scalar::Text(s) => s.clone(),
                Scalar::Float(f) => {
                    return Err(self.err(
                        self.pos(v),
                        format!(
                            "`{}` is the number {f}, which YAML may have rounded",
                            k.value
                        ),
                        Some(format!("quote it: {}: \"…\"", k.value)),
                    ));
                }
            };
            env.push((k.value.clone(), value));
        }
        Ok(env)
    }

    /// `platforms:`: some of the image's platforms, each once.
    fn smoke_platforms(
        &self,
        image: &str,
        raw: &[Spanned<String>],
        targets: &[Target],
    ) -> Result<Vec<Platform>, ConfigError> {
        let mut image_platforms: Vec<Platform> = Vec::new();
        for t in targets {
            for p in &t.platforms {
                push_unique(&mut image_platforms, p.clone());
            }
        }
        let mut platforms: Vec<Platform> = Vec::new();
        for s in raw {
            let p = Platform::parse(&s.value)
                .map_err(|e| self.err(self.pos(s), e.to_string(), e.help()))?;
            if !image_platforms.iter().any(|q| q.matches(&p)) {
                return Err(self.err(
                    self.pos(s),
                    format!(
                        "image `{image}` is not built for {p}, so it cannot be smoke-tested there; its platforms are {}",
                        crate::platform::list(&image_platforms)
                    ),
                    Some("list some of the image's platforms under `smoke: platforms:`, or none for all of them".into()),
                ));
            }
            if platforms.iter().any(|q| q.matches(&p)) {
                return Err(self.err(self.pos(s), format!("{p} is listed twice"), None));
            }
            platforms.push(p);
        }
        Ok(platforms)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("2h").is_err());
        assert!(parse_timeout("3601").is_err());
    }

    #[test]
    fn regexes_are_multi_line() {
        let r = smoke_regex("^v1\\.2$").unwrap();
        assert!(r.is_match("starting\nv1.2\nbye\n"));
        let e = smoke_regex("a(b").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }
}
