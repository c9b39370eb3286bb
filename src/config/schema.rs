//! The JSON Schema (draft 2020-12) of `mpbuild.yaml`, for editors (yaml-language-server)
//! and CI linters. `mpbuild schema` prints it; `schema/mpbuild.schema.json` is the
//! committed copy that `mpbuild init`'s `# yaml-language-server: $schema=…` line names.
//!
//! Written by hand rather than derived: the raw types hold `Spanned<T>` (locations for
//! errors), untagged one-or-many values, ordered maps and a hand-written scalar, none of
//! which a schema generator understands without an annotation on nearly every field.
//! What keeps the two in step is a test below: it asks serde itself for the field list
//! of every `deny_unknown_fields` struct in `raw.rs` (and the catalog entry) and compares
//! it with the schema's `properties`; another test (tests/cli_schema.rs) validates every
//! example against the schema and the committed copy against `mpbuild schema`.
//! The schema checks shape; the meaning (a service exists, a platform parses, a tag is
//! valid after `${VAR}` expansion) is the checker's, with located errors.

use serde_json::{Value, json};

/// Where the committed schema is published; `mpbuild init` writes it into the file's
/// first line for editors.
pub const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/acme/mpbuild/main/schema/mpbuild.schema.json";

/// A string, or a list of strings.
fn one_or_many(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}}
        ]
    })
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn strings(description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": description})
}

fn boolean(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

/// The schema document.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URL,
        "title": "mpbuild.yaml",
        "description": "Where a project's container images run, so mpbuild can build every platform they need and prove it in the registry before a deploy tag moves. Reference: the README's Configuration section.",
        "type": "object",
        "additionalProperties": false,
        "required": ["version"],
        "properties": {
            "version": {"const": 1, "description": "The file format version: 1."},
            "insecure_registries": strings("Registries (HOST[:PORT]) reached over plain HTTP besides loopback."),
            "builder": {
                "description": "The buildx builder: an existing builder's name, or one declared node by node (`mpbuild builder up` creates it).",
                "oneOf": [{"type": "string"}, {"$ref": "#/$defs/builder"}]
            },
            "deep": {"$ref": "#/$defs/deep"},
            "sign": {"$ref": "#/$defs/sign"},
            "attestations": {"$ref": "#/$defs/attestations"},
            "cluster_archs": one_or_many("The node architectures of the project's Kubernetes cluster(s), for workloads without a kubernetes.io/arch constraint."),
            "services": {
                "description": "Services the project adds to the catalog or overrides in it, shaped like src/catalog/services.yaml's entries. An entry naming a built-in service overrides only the fields it gives.",
                "oneOf": [
                    {"type": "array", "items": {"allOf": [{"$ref": "#/$defs/service"}, {"required": ["name"]}]}},
                    {"type": "object", "additionalProperties": {"$ref": "#/$defs/service"}}
                ]
            },
            "images": {
                "type": "object",
                "description": "The images to build, by name (letters, digits, - and _).",
                "propertyNames": {"pattern": "^[A-Za-z0-9_-]+$"},
                "additionalProperties": {"$ref": "#/$defs/image"}
            },
            "mirrors": {
                "type": "array",
                "description": "Images copied between registries with the platforms the targets need (`mpbuild mirror`, and before `push`).",
                "items": {"$ref": "#/$defs/mirror"}
            }
        },
        "$defs": defs(),
    })
}

/// A reference to `$defs/sign` (its own function: the image's `json!` is at the macro's
/// recursion limit).
fn sign_ref() -> Value {
    json!({"$ref": "#/$defs/sign"})
}

/// `$defs/sign`: `false`, or how cosign signs.
fn sign_def() -> Value {
    json!({
        "description": "How cosign signs the image's digests (the index, every platform manifest, each single-manifest tag's) before a tag moves: a key file and the variable holding its password, a KMS URI, or keyless; `false`: unsigned. An image's `sign:` replaces the project's.",
        "oneOf": [
            {"const": false},
            {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "key": string("A cosign private key file (relative to mpbuild.yaml; ${VAR} expanded) or a KMS URI: awskms://, gcpkms://, azurekms://, hashivault://."),
                    "password_env": string("The environment variable holding the key file's password (default COSIGN_PASSWORD); never the password itself."),
                    "keyless": boolean("Sign with the CI's OIDC identity (Fulcio certificate, Rekor entry); GitHub Actions needs `permissions: id-token: write`.")
                }
            }
        ]
    })
}

/// The schema's `$defs`, in two parts (one `json!` would exceed the macro's recursion
/// limit).
// long: the schema's definitions: one JSON literal (data, not logic), one property
// per line.
fn defs() -> Value {
    let mut defs = json!({
            "image": image_def(),
            "scalar": {"type": ["string", "number", "boolean"]},
            "attestations": {
                "description": "Where provenance attestations go: index (inside the image index, as buildx writes them: for targets confirmed to accept them there), referrers (each one an OCI 1.1 referrer of its platform manifest; the index holds only runnable images), off (none, and no verification record). true is index, false is off. Default: index where every target is confirmed to accept them in an index, else referrers.",
                "oneOf": [{"type": "boolean"}, {"enum": ["index", "referrers", "off"]}]
            },
            "deep": {
                "description": "The deep (ELF) check: true or `entrypoint` (the program the image runs), `all` (every executable ELF file), false.",
                "oneOf": [{"type": "boolean"}, {"enum": ["entrypoint", "all"]}]
            },
            "smoke": {
                "type": "object",
                "additionalProperties": false,
                "required": ["run"],
                "properties": {
                    "run": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/scalar"}, "description": "The argv, exactly (write `sh -c` for a shell)."},
                    "expect": string("A regular expression the output (stdout and stderr) must match."),
                    "timeout": {"type": ["string", "number"], "description": "Seconds (30) or a duration (\"30s\", \"2m\"); default 60 s."},
                    "env": {"type": "object", "additionalProperties": {"$ref": "#/$defs/scalar"}, "description": "Environment variables for the command."},
                    "platforms": strings("The platforms to run it on (default: every platform of the image).")
                }
            },
            "target": {
                "type": "object",
                "additionalProperties": false,
                "anyOf": [
                    {"required": ["service"]},
                    {"required": ["platform"]},
                    {"required": ["from"]}
                ],
                "properties": {
                    "service": string("A catalog service (`mpbuild targets`), or one under `services:`."),
                    "arch": one_or_many("The service's architecture(s), in its own spelling or containerd's (ARM64, x86_64, arm64)."),
                    "platform": one_or_many("A platform spelled directly, e.g. linux/arm/v7."),
                    "tag": string("The tag of a single-manifest target (Lambda, Heroku)."),
                    "from": string("A deployment file or directory that states the platforms (ECS task definition, CloudFormation/SAM, Kubernetes, compose, Copilot)."),
                    "resource": string("The resource to take where the `from:` file has several.")
                }
            },
            "mirror": {
                "type": "object",
                "additionalProperties": false,
                "required": ["source", "destination"],
                "properties": {
                    "source": string("The image to copy (REPO:TAG or REPO@sha256:…)."),
                    "destination": string("Where to copy it (REPO or REPO:TAG)."),
                    "targets": strings("Copy the platforms of these targets (SERVICE or SERVICE:ARCH)."),
                    "platforms": strings("Copy these platforms."),
                    "all": boolean("Copy every platform, keeping the source digest.")
                }
            }
    });
    let more = json!({
            "tag_when": {
                "type": "object",
                "additionalProperties": false,
                "required": ["tag", "when"],
                "properties": {
                    "tag": string("The tag (parts expand as in any tag)."),
                    "when": {"enum": ["default_branch", "branch", "tag", "semver", "pr"], "description": "Made only on this kind of build: default_branch (e.g. `latest` there only), branch, tag (a git tag), semver (a release tag, not a pre-release), pr."}
                }
            },
        "cache": {
            "type": "object",
            "additionalProperties": false,
            "minProperties": 1,
            "properties": {
                "from": strings("buildx --cache-from values, e.g. type=registry,ref=REPO:cache."),
                "to": string("A buildx --cache-to value, e.g. type=registry,ref=REPO:cache,mode=max (ignore-error=true is added unless set).")
            }
        },
            "builder": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "nodes"],
                "properties": {
                    "name": string("The builder's name."),
                    "driver": string("The buildx driver (default: remote for endpoints)."),
                    "nodes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/node"}},
                    "tls": {"$ref": "#/$defs/tls"},
                    "allow_emulation": boolean("Allow platforms no node serves (emulated on some node).")
                }
            },
            "node": {
                "type": "object",
                "additionalProperties": false,
                "required": ["platforms"],
                "properties": {
                    "name": string("The node's name (default: the builder's name and its index)."),
                    "platforms": strings("The platforms this node builds natively."),
                    "endpoint": string("tcp://HOST:PORT or unix:///PATH of a BuildKit daemon."),
                    "driver": string("The buildx driver of this node."),
                    "driver_opts": {"type": "object", "additionalProperties": {"type": "string"}, "description": "buildx --driver-opt KEY=VALUE."}
                }
            },
            "tls": {
                "type": "object",
                "additionalProperties": false,
                "required": ["ca"],
                "properties": {
                    "ca": string("The CA certificate (PEM) of tcp endpoints."),
                    "cert": string("The client certificate (PEM)."),
                    "key": string("The client key (PEM).")
                }
            },
            "service": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": string("The spelling users write in `service:` (lowercase, dashes)."),
                    "title": string("The service's own name."),
                    "aliases": strings("Other accepted spellings."),
                    "platforms": {
                        "description": "What the service can run: a list of OS/ARCH[/VARIANT], `any` (any Linux platform) or `host` (the machine running mpbuild).",
                        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]
                    },
                    "default": strings("What a target without `arch:` gets."),
                    "arch_field": string("Where the service's own configuration selects the architecture."),
                    "arch_aliases": {"type": "object", "additionalProperties": {"type": "string"}, "description": "The service's own spellings of an architecture → platform."},
                    "manifest": {"enum": ["index", "single"], "description": "index: takes a multi-platform index; single: needs a plain single-platform manifest (its own tag)."},
                    "attestations": {"enum": ["ok", "break", "unknown"], "description": "Whether attestation manifests in an index break the service."},
                    "media_types": {"enum": ["any", "docker", "oci"], "description": "Which manifest media types the service takes."},
                    "confirmed": {"type": "array", "items": {"enum": ["platforms", "manifest", "attestations", "media_types"]}, "description": "The facts a source confirms."},
                    "sources": {
                        "type": "array",
                        "description": "Where the facts come from: a URL, or {url, for: [facts or platforms it supports]}.",
                        "items": {"oneOf": [{"type": "string"}, {"$ref": "#/$defs/source"}]}
                    },
                    "note": string("Anything a user deploying there should know."),
                    "status": string("The service's availability when it is not simply open."),
                    "reviewed": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "When the entry was last checked against its sources (YYYY-MM-DD)."}
                }
            },
            "source": {
                "type": "object",
                "additionalProperties": false,
                "required": ["url"],
                "properties": {
                    "url": string("The source."),
                    "for": strings("What it supports: platforms, manifest, attestations, media_types, or a platform the service runs.")
                }
            }
    });
    if let (Some(a), Value::Object(b)) = (defs.as_object_mut(), more) {
        a.extend(b);
        a.insert("sign".into(), sign_def());
    }
    if let Some(props) = defs
        .pointer_mut("/image/properties")
        .and_then(Value::as_object_mut)
    {
        props.insert("sign".into(), sign_ref());
    }
    defs
}

/// The schema of one image: its properties in two parts (one `json!` would exceed the
/// macro's recursion limit).
fn image_def() -> Value {
    let mut properties = json!({
        "repository": string("HOST/PATH without tag or digest; ${VAR} expands."),
        "repositories": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "description": "Instead of `repository:`: more than one HOST/PATH. The image is built and pushed to the first, its blobs and manifests copied to the others (mounted within a registry, streamed across registries); every repository is verified before any tag moves in any of them.",
            "items": {"type": "string"}
        },
        "context": string("The build context, relative to mpbuild.yaml (default \".\")."),
        "dockerfile": string("The Dockerfile, relative to mpbuild.yaml (default: Dockerfile in the context)."),
        "stage": string("The Dockerfile stage to build (buildx --target)."),
        "tags": {
            "type": "array",
            "description": "Tags that will point at the verified index; ${VAR}, ${VAR:-default} and git parts ({{sha}}, {{short_sha}}, {{branch}}, {{tag}}, {{semver}}, {{major}}, {{minor}}, {{patch}}, {{pr}}) expand; a tag whose part this build has no value for is left out.",
            "items": {"oneOf": [{"type": "string"}, {"$ref": "#/$defs/tag_when"}]}
        },
        "build_args": {
            "type": "object",
            "description": "buildx --build-arg; quote numbers such as \"1.80\" (YAML would round them).",
            "additionalProperties": {"type": ["string", "number", "boolean"]}
        },
        "secrets": strings("buildx --secret: id=NAME,src=FILE or id=NAME,env=VAR."),
        "cache": {
            "description": "The build cache. registry: REPOSITORY:buildcache-PLATFORM per platform (a build of several at once writes REPOSITORY:buildcache); gha: GitHub Actions cache scopes IMAGE-PLATFORM; local: directories in the work dir; or {from, to}: buildx --cache-from/--cache-to values as written. A cache that cannot be written is a warning.",
            "oneOf": [
                {"enum": ["registry", "gha", "local", "none"]},
                {"$ref": "#/$defs/cache"}
            ]
        },
        "attestations": {"$ref": "#/$defs/attestations"},
        "sbom": boolean("SBOM attestations (need the scanner image)."),
        "deep": {"$ref": "#/$defs/deep"},
        "deep_ignore": strings("With `deep: all`: paths or globs of files that are foreign on purpose."),
        "media_types": {"enum": ["oci", "docker"], "description": "docker: Docker V2 schema 2 media types for every tag of this image (default oci)."},
        "rebuild": {"enum": ["auto", "always"], "description": "auto (default): skip the build when its inputs' fingerprint is already in the registry; always: never skip it."}
    });
    let options = json!({
        "dockerfile_inline": string("The Dockerfile's text, instead of `dockerfile:` (bake's dockerfile-inline)."),
        "ssh": strings("buildx --ssh: `default` (the agent in $SSH_AUTH_SOCK) or ID=PATH[,PATH]."),
        "contexts": {
            "type": "object",
            "description": "Named build contexts (buildx --build-context): a directory relative to mpbuild.yaml, docker-image://REF, target:IMAGE (another image of this file, built in the same bake), oci-layout://PATH or a URL.",
            "additionalProperties": {"type": "string"}
        },
        "no_cache": boolean("Build without BuildKit's cache (buildx --no-cache)."),
        "pull": boolean("Always read base images from their registry (buildx --pull)."),
        "shm_size": {"type": ["string", "integer"], "description": "Size of /dev/shm for RUN steps, e.g. 2g (buildx --shm-size)."},
        "ulimits": strings("RUN steps' ulimits, NAME=SOFT[:HARD] (buildx --ulimit), e.g. nofile=1024:2048."),
        "network": {"enum": ["default", "none", "host"], "description": "RUN steps' network (buildx --network); in a bake it needs buildx 0.17."},
        "add_hosts": {
            "type": "object",
            "description": "Extra /etc/hosts entries of RUN steps: host → IP or host-gateway (buildx --add-host); in a bake it needs buildx 0.25.",
            "additionalProperties": {"type": "string"}
        },
        "labels": {
            "type": "object",
            "description": "Labels in every platform's image config (buildx --label); ${VAR} expands.",
            "additionalProperties": {"$ref": "#/$defs/scalar"}
        },
        "git_metadata": {
            "description": "OCI labels and annotations from git: org.opencontainers.image.source, revision, created and version. true (both), labels, annotations or false.",
            "oneOf": [{"type": "boolean"}, {"enum": ["labels", "annotations"]}]
        },
        "annotations": {
            "type": "object",
            "description": "Annotations (buildx --annotation): KEY goes on each platform's manifest; LEVEL[,LEVEL]:KEY on index, manifest, index-descriptor or manifest-descriptor. ${VAR} expands.",
            "additionalProperties": {"$ref": "#/$defs/scalar"}
        },
        "targets": {
            "type": "array",
            "minItems": 1,
            "description": "Where the image runs.",
            "items": {"$ref": "#/$defs/target"}
        },
        "smoke": {
            "description": "A command run in the pushed image on each platform before a tag moves: an argv (`[app, --version]`, no shell) or a mapping with `run:`.",
            "oneOf": [
                {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/scalar"}},
                {"$ref": "#/$defs/smoke"}
            ]
        }
    });
    if let (Some(a), Value::Object(b)) = (properties.as_object_mut(), options) {
        a.extend(b);
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["targets"],
        "oneOf": [{"required": ["repository"]}, {"required": ["repositories"]}],
        "properties": properties
    })
}

/// The schema as `mpbuild schema` prints it and `schema/mpbuild.schema.json` holds it.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    use super::*;
    use crate::catalog::{RawService, TaggedSource};
    use crate::config::raw::*;

    /// A deserializer that records the field list serde passes to `deserialize_struct`
    /// (renames applied) and stops there.
    struct Capture<'a>(&'a mut Option<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for Capture<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = Some(fields);
            Err(de::Error::custom("captured"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    fn fields<T: for<'de> Deserialize<'de>>() -> BTreeSet<String> {
        let mut got = None;
        let _ = T::deserialize(Capture(&mut got));
        got.expect("a struct")
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn properties(schema: &Value, pointer: &str) -> BTreeSet<String> {
        let node = schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer}"));
        assert_eq!(
            node["additionalProperties"], false,
            "{pointer} must refuse unknown keys"
        );
        node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_schema_has_every_key_the_parser_takes_and_no_other() {
        let s = schema();
        let pairs: Vec<(&str, BTreeSet<String>, &str)> = vec![
            ("RawProject", fields::<RawProject>(), ""),
            ("RawBuilder", fields::<RawBuilder>(), "/$defs/builder"),
            ("RawNode", fields::<RawNode>(), "/$defs/node"),
            ("RawTls", fields::<RawTls>(), "/$defs/tls"),
            ("RawMirror", fields::<RawMirror>(), "/$defs/mirror"),
            ("RawImage", fields::<RawImage>(), "/$defs/image"),
            ("RawTarget", fields::<RawTarget>(), "/$defs/target"),
            ("RawSmoke", fields::<RawSmoke>(), "/$defs/smoke"),
            ("RawWhen", fields::<RawWhen>(), "/$defs/tag_when"),
            ("RawSign", fields::<RawSign>(), "/$defs/sign/oneOf/1"),
            ("RawCache", fields::<RawCache>(), "/$defs/cache"),
            ("RawService", fields::<RawService>(), "/$defs/service"),
            ("TaggedSource", fields::<TaggedSource>(), "/$defs/source"),
        ];
        for (name, parser, pointer) in &pairs {
            assert_eq!(parser, &properties(&s, pointer), "{name} vs {pointer}");
        }
        // Every struct in raw.rs that refuses unknown keys is compared above, so a new
        // one cannot slip past the schema.
        let source = include_str!("raw.rs");
        let mut strict = Vec::new();
        let mut lines = source.lines().peekable();
        while let Some(line) = lines.next() {
            if line.contains("deny_unknown_fields") {
                let decl = lines.find(|l| l.contains("struct ")).unwrap();
                let name = decl.split("struct ").nth(1).unwrap();
                strict.push(name.split([' ', '{', '<']).next().unwrap().to_string());
            }
        }
        for name in &strict {
            assert!(
                pairs.iter().any(|(n, _, _)| n == name),
                "raw.rs's {name} refuses unknown keys but the schema test does not cover it"
            );
        }
        assert!(strict.len() >= 7, "{strict:?}");
    }

    #[test]
    fn enums_match_the_parser() {
        let s = schema();
        let service = &s["$defs"]["service"]["properties"];
        for (field, yaml) in [
            ("manifest", "manifest"),
            ("attestations", "attestations"),
            ("media_types", "media_types"),
        ] {
            for word in service[field]["enum"].as_array().unwrap() {
                let text = format!("{yaml}: {}\n", word.as_str().unwrap());
                let parsed: Result<RawService, _> = serde_saphyr::from_str(&text);
                assert!(parsed.is_ok(), "{text}: {parsed:?}");
            }
        }
        for word in service["confirmed"]["items"]["enum"].as_array().unwrap() {
            let text = format!("confirmed: [{}]\n", word.as_str().unwrap());
            assert!(
                serde_saphyr::from_str::<RawService>(&text).is_ok(),
                "{text}"
            );
        }
    }
}
