//! What every part of a deployed function version shares: its configuration, names and
//! counters.

use std::sync::Arc;
use std::time::Duration;

use crate::code_store::CodeInfo;
use crate::config::FunctionConfig;
use crate::ids;
use crate::snapshot::FunctionSnapshots;
use crate::stats::Counters;

/// The version every function has: its current code and configuration.
pub(crate) const LATEST: &str = "$LATEST";

#[derive(Debug)]
pub(crate) struct FunctionContext {
    pub(crate) config: FunctionConfig,
    /// `$LATEST` or a published version number.
    pub(crate) version: String,
    pub(crate) arn: String,
    pub(crate) region: String,
    pub(crate) init_timeout: Duration,
    /// The uploaded zip's digest and size; `None` for a code directory.
    pub(crate) code: Option<CodeInfo>,
    pub(crate) counters: Counters,
    /// The version's snapshot, when the platform starts instances from snapshots.
    pub(crate) snapshots: Option<Arc<FunctionSnapshots>>,
}

impl FunctionContext {
    pub(crate) fn new(
        config: FunctionConfig,
        region: &str,
        init_timeout: Duration,
        version: &str,
        code: Option<CodeInfo>,
        snapshots: Option<Arc<FunctionSnapshots>>,
    ) -> Self {
        let arn = ids::function_arn(region, &config.name);
        Self {
            arn: match version {
                LATEST => arn,
                version => format!("{arn}:{version}"),
            },
            version: version.to_owned(),
            region: region.to_owned(),
            init_timeout,
            code,
            counters: Counters::default(),
            snapshots,
            config,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// Instance ids are unique across the function's versions.
    pub(crate) fn instance_id(&self, seq: u64) -> String {
        match self.version.as_str() {
            LATEST => format!("{}-{seq}", self.name()),
            version => format!("{}-v{version}-{seq}", self.name()),
        }
    }
}
