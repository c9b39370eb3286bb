//! An image's `repository:`, or `repositories:` (more than one): exactly one of the two,
//! each entry a repository, none twice. The first is where the image is built and
//! pushed; the others receive a copy of it (`pipeline/copies.rs`).

use crate::config::raw::RawImage;
use crate::config::{Checker, ConfigError, Pos};
use crate::registry::Repository;

impl Checker<'_> {
    /// The image's repository and the others it is copied to (empty with
    /// `repository:`).
    pub(super) fn repositories(
        &self,
        name: &str,
        image_pos: Pos,
        raw: &RawImage,
    ) -> Result<(Repository, Vec<Repository>), ConfigError> {
        let list = match (&raw.repository, &raw.repositories) {
            (Some(one), None) => return Ok((self.repository(one)?, Vec::new())),
            (Some(_), Some(many)) => {
                return Err(self.err(
                    self.pos(many),
                    format!("image `{name}` has both `repository:` and `repositories:`"),
                    Some("keep one: `repositories:` lists every repository, the one the image is built in first".into()),
                ));
            }
            (None, None) => {
                return Err(self.err(
                    image_pos,
                    format!("image `{name}` has no `repository:`"),
                    Some("add `repository: HOST/PATH`, or `repositories: [HOST/PATH, …]` to publish it in several".into()),
                ));
            }
            (None, Some(many)) => many,
        };
        let Some((first, rest)) = list.value.split_first() else {
            return Err(self.err(
                self.pos(list),
                format!("image `{name}`: `repositories:` is empty"),
                Some("list at least one HOST/PATH, the one the image is built in first".into()),
            ));
        };
        let first = self.repository(first)?;
        let mut others: Vec<Repository> = Vec::new();
        for raw in rest {
            let r = self.repository(raw)?;
            if r == first || others.contains(&r) {
                return Err(self.err(
                    self.pos(raw),
                    format!(
                        "image `{name}`: repository `{}` is listed twice in `repositories:`",
                        r.as_written()
                    ),
                    Some("list each repository once".into()),
                ));
            }
            others.push(r);
        }
        Ok((first, others))
    }
}
