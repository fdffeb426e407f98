//! What every part of a deployed function shares: its configuration, names and counters.

use std::time::Duration;

use crate::config::FunctionConfig;
use crate::ids;
use crate::stats::Counters;

#[derive(Debug)]
pub(crate) struct FunctionContext {
    pub(crate) config: FunctionConfig,
    pub(crate) arn: String,
    pub(crate) region: String,
    pub(crate) init_timeout: Duration,
    pub(crate) counters: Counters,
}

impl FunctionContext {
    pub(crate) fn new(config: FunctionConfig, region: &str, init_timeout: Duration) -> Self {
        Self {
            arn: ids::function_arn(region, &config.name),
            region: region.to_owned(),
            init_timeout,
            counters: Counters::default(),
            config,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }
}
