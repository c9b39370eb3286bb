//! What a probe found: ok / warn / fail, what it looked at, and, when not ok, a fix.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: Status,
    pub check: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

pub(crate) fn finding(
    status: Status,
    check: &str,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding {
        status,
        check: check.to_string(),
        detail: detail.into(),
        fix,
    }
}
