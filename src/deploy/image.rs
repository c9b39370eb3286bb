//! Image references as deployment files write them: a literal reference, or a value a
//! later tool fills in (`!Sub`, `{"Fn::Join": …}`, `${VAR}`, `{{ .Values.image }}`),
//! which cannot be checked until it is rendered and is never passed in silence.

use super::node::Node;
use super::node::Value;

/// One container's image, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The container: `api`, `init container migrate`, `ephemeral container debugger`.
    pub container: String,
    pub image: Image,
    /// The line of the value.
    pub line: u32,
    /// The bytes of the value as written (quotes included) where it is defined.
    pub span: Option<(usize, usize)>,
    /// Built from source where it runs (compose `build:`): the name of a local build,
    /// not a reference to check in a registry.
    pub built: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    /// A reference; `interpolated` when compose filled in a `${VAR}` of it.
    Literal { text: String, interpolated: bool },
    /// A value only another tool computes.
    Unresolved { written: String, why: String },
}

/// How `${VAR}` in a value is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Vars {
    /// Compose fills them in from the environment itself.
    Compose,
    /// Another tool (envsubst, a CI step, Copilot at deploy) does: unresolved here.
    Foreign,
}

/// The image at `node` (None for an absent or empty value).
pub fn image_use(
    node: &Node,
    container: String,
    vars: Vars,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<ImageUse> {
    let image = match (&node.value, &node.tag) {
        (Value::Null, _) => return None,
        (Value::String(s), None) if s.trim().is_empty() => return None,
        (Value::String(s), None) => classify(s, vars, env),
        (_, Some(tag)) => Image::Unresolved {
            written: node.describe(),
            why: format!("a CloudFormation {tag} value, computed when the stack deploys"),
        },
        (Value::Map(entries), None) => Image::Unresolved {
            written: node.describe(),
            why: match entries.first() {
                Some((k, _)) if k.name.starts_with("Fn::") || k.name == "Ref" => {
                    format!(
                        "a CloudFormation {} value, computed when the stack deploys",
                        k.name
                    )
                }
                _ => "a mapping where an image reference belongs".into(),
            },
        },
        (_, None) => Image::Unresolved {
            written: node.describe(),
            why: "not a string".into(),
        },
    };
    Some(ImageUse {
        container,
        image,
        line: node.line,
        span: node.span,
        built: false,
    })
}

fn classify(s: &str, vars: Vars, env: &dyn Fn(&str) -> Option<String>) -> Image {
    let unresolved = |why: String| Image::Unresolved {
        written: s.to_string(),
        why,
    };
    if s.contains("{{") {
        return unresolved(
            "a template value ({{ … }}), filled in when the template is rendered: check the rendered output (`helm template … | mpbuild check -`)".into(),
        );
    }
    if !s.contains('$') {
        return Image::Literal {
            text: s.to_string(),
            interpolated: false,
        };
    }
    match vars {
        Vars::Compose => match super::interpolate::interpolate(s, env) {
            Ok(text) => Image::Literal {
                interpolated: text != s,
                text,
            },
            Err(name) => unresolved(format!("${{{name}}} is not set here (compose fills it in from the environment)")),
        },
        Vars::Foreign if s.contains("${") || has_bare_var(s) => unresolved(
            "a ${VAR} placeholder, filled in by another tool before the deploy: check what it renders (`envsubst < FILE | mpbuild check -`)".into(),
        ),
        Vars::Foreign => Image::Literal {
            text: s.to_string(),
            interpolated: false,
        },
    }
}

/// `$NAME` (a shell-style variable) anywhere in `s`.
fn has_bare_var(s: &str) -> bool {
    s.match_indices('$').any(|(i, _)| {
        s[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    })
}

/// `REGISTRY/PATH` of an `image:` value without its tag or digest, normalised as
/// Docker reads it (`postgres` → `docker.io/library/postgres`). A tag written with a
/// variable (`app:${TAG:-latest}`) is dropped like any other tag.
pub fn repository_of(image: &str) -> String {
    let image = image.trim();
    let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let name = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    crate::registry::Repository::parse(name)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str, vars: Vars) -> Image {
        let docs = super::super::node::parse(text).unwrap();
        let env = |n: &str| (n == "TAG").then(|| "v2".to_string());
        image_use(docs[0].get("image").unwrap(), "c".into(), vars, &env)
            .unwrap()
            .image
    }

    fn unresolved(i: &Image) -> bool {
        matches!(i, Image::Unresolved { .. })
    }

    #[test]
    fn literals_and_values_another_tool_fills_in() {
        assert_eq!(
            first("image: nginx:1.25\n", Vars::Foreign),
            Image::Literal {
                text: "nginx:1.25".into(),
                interpolated: false
            }
        );
        for text in [
            "image: !Sub \"${AWS::AccountId}.dkr.ecr.us-east-1.amazonaws.com/app\"\n",
            "image: !Ref ImageUri\n",
            "image: {\"Fn::Join\": [\"\", [a, b]]}\n",
            "image: \"{{ .Values.image }}\"\n",
            "image: ${IMAGE}\n",
            "image: $REGISTRY/app:1\n",
        ] {
            assert!(unresolved(&first(text, Vars::Foreign)), "{text}");
        }
        let Image::Unresolved { why, .. } = first("image: !Ref ImageUri\n", Vars::Foreign) else {
            panic!()
        };
        assert_eq!(
            why,
            "a CloudFormation !Ref value, computed when the stack deploys"
        );
    }

    #[test]
    fn compose_fills_in_its_variables() {
        assert_eq!(
            first("image: app:${TAG}\n", Vars::Compose),
            Image::Literal {
                text: "app:v2".into(),
                interpolated: true
            }
        );
        assert_eq!(
            first("image: app:${NOPE:-latest}\n", Vars::Compose),
            Image::Literal {
                text: "app:latest".into(),
                interpolated: true
            }
        );
        let Image::Unresolved { why, .. } = first("image: app:${NOPE}\n", Vars::Compose) else {
            panic!()
        };
        assert!(why.starts_with("${NOPE} is not set here"), "{why}");
    }

    #[test]
    fn repositories_as_docker_reads_them() {
        assert_eq!(repository_of("postgres:16"), "docker.io/library/postgres");
        assert_eq!(
            repository_of("r.example.com:5000/a/b:${TAG:-x}"),
            "r.example.com:5000/a/b"
        );
        assert_eq!(
            repository_of("r.example.com/a@sha256:0123"),
            "r.example.com/a"
        );
        assert_eq!(repository_of("localhost:5000/app"), "localhost:5000/app");
    }
}
