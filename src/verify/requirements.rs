//! What to check, derived from a plan (the project's images and tags) or from
//! command-line targets (`mpbuild verify REF --target lambda:arm64`).

use crate::catalog::Catalog;
use crate::exit::UsageError;
use crate::plan::ImagePlan;
use crate::platform::Platform;

use super::check::Requirements;

/// One reference to check and what it must hold.
#[derive(Debug, Clone)]
pub struct Job {
    pub reference: String,
    pub requirements: Requirements,
}

/// The index requirements of an image: every platform of every index target.
pub fn for_index(image: &ImagePlan) -> Requirements {
    let mut req = Requirements {
        deep: image.deep,
        deep_all: image.deep_all,
        deep_ignore: image.deep_ignore.clone(),
        docker: image
            .docker_media_types
            .then(|| "media_types: docker".to_string()),
        ..Requirements::default()
    };
    for t in &image.targets {
        for p in &t.platforms {
            req.need(p.clone(), t.service.clone());
        }
    }
    req
}

/// Jobs for an image as published: each index tag, then each single-manifest tag.
pub fn for_image_tags(image: &ImagePlan) -> Vec<Job> {
    let mut jobs: Vec<Job> = image
        .tags
        .iter()
        .map(|tag| Job {
            reference: format!("{}:{tag}", image.repository.as_written()),
            requirements: for_index(image),
        })
        .collect();
    for s in &image.single_tags {
        let mut req = Requirements {
            single: true,
            deep: image.deep,
            deep_all: image.deep_all,
            deep_ignore: image.deep_ignore.clone(),
            docker: single_docker(image, s),
            ..Requirements::default()
        };
        req.need(s.platform.clone(), s.service.clone());
        jobs.push(Job {
            reference: format!("{}:{}", image.repository.as_written(), s.tag),
            requirements: req,
        });
    }
    jobs
}

/// Who needs Docker media types on a single-manifest tag, if anyone.
pub fn single_docker(image: &ImagePlan, s: &crate::plan::SingleTag) -> Option<String> {
    if image.docker_media_types {
        Some("media_types: docker".into())
    } else {
        s.docker.then(|| s.service.clone())
    }
}

/// Requirements from `--target SERVICE[:ARCH]` and `--platform P` flags.
pub fn from_flags(
    catalog: &Catalog,
    targets: &[String],
    platforms: &[String],
    deep: bool,
    host: &Platform,
) -> Result<Requirements, UsageError> {
    let asked = crate::catalog::specs::resolve(catalog, targets, platforms, host)?;
    let mut req = Requirements {
        deep,
        single: asked.single,
        docker: asked.docker,
        ..Requirements::default()
    };
    for (p, why) in asked.platforms {
        req.need(p, why);
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_requirements() {
        let c = Catalog::builtin();
        let host = Platform::linux("arm64", "");
        let r = from_flags(
            &c,
            &[
                "apprunner".into(),
                "ecs-fargate:ARM64".into(),
                "local".into(),
            ],
            &["linux/arm/v7".into()],
            false,
            &host,
        )
        .unwrap();
        let got: Vec<String> = r
            .platforms
            .iter()
            .map(|(p, why)| format!("{p} {}", why.join("+")))
            .collect();
        assert_eq!(
            got,
            vec![
                "linux/amd64 apprunner",
                "linux/arm64 ecs-fargate+local",
                "linux/arm/v7 --platform"
            ]
        );
        assert!(!r.single);
        let r = from_flags(&c, &["lambda:arm64".into()], &[], true, &host).unwrap();
        assert!(r.single && r.deep);
        assert!(from_flags(&c, &["apprunner:arm64".into()], &[], false, &host).is_err());
        let r = from_flags(&c, &["heroku".into()], &[], false, &host).unwrap();
        assert!(r.single);
        assert_eq!(r.docker.as_deref(), Some("heroku"));
        assert_eq!(r.platforms[0].0.to_string(), "linux/amd64");
        assert!(
            from_flags(&c, &["lamda".into()], &[], false, &host)
                .unwrap_err()
                .message
                .contains("did you mean `lambda`")
        );
        assert!(from_flags(&c, &[], &["linux/armv7".into()], false, &host).is_err());
    }
}
