//! [`PageInput`]: what one rendering of the page is made from.

use std::time::{Duration, SystemTime};

use crate::http::page::audit::RecentAudit;
use crate::ops::status::StatusDocument;

/// Everything one rendering needs.
#[derive(Debug)]
pub(crate) struct PageInput<'a> {
    /// The status document, as `/api/v1/status` serves it.
    pub(crate) doc: &'a StatusDocument,
    /// The last entries of the audit log.
    pub(crate) audit: &'a RecentAudit,
    /// The time the page is rendered at (for ages).
    pub(crate) now: SystemTime,
    /// A validation older than this is shown as stale (the `/healthz`
    /// limit).
    pub(crate) stale_after: Duration,
}
