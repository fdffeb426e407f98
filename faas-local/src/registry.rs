//! The deployed functions, by name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::{ConfigError, FunctionConfig};
use crate::function::FunctionContext;
use crate::instance::Instance;
use crate::pool::FunctionPool;
use crate::stats::PlatformStats;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    #[error("function {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

pub(crate) struct Registry {
    functions: RwLock<BTreeMap<String, Arc<FunctionPool>>>,
    region: String,
    init_timeout: Duration,
}

impl Registry {
    pub(crate) fn new(region: String, init_timeout: Duration) -> Self {
        Self {
            functions: RwLock::new(BTreeMap::new()),
            region,
            init_timeout,
        }
    }

    pub(crate) fn create(&self, config: FunctionConfig) -> Result<Arc<FunctionPool>, CreateError> {
        config.validate()?;
        let mut functions = self.functions.write();
        if functions.contains_key(&config.name) {
            return Err(CreateError::Exists(config.name));
        }
        let name = config.name.clone();
        let pool = FunctionPool::new(FunctionContext::new(
            config,
            &self.region,
            self.init_timeout,
        ));
        functions.insert(name, pool.clone());
        Ok(pool)
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<FunctionPool>> {
        self.functions.read().get(name).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Arc<FunctionPool>> {
        self.functions.read().values().cloned().collect()
    }

    /// Removes the function and kills its instances.
    pub(crate) fn remove(&self, name: &str) -> Option<Arc<FunctionPool>> {
        let pool = self.functions.write().remove(name)?;
        pool.close();
        Some(pool)
    }

    pub(crate) fn stats(&self) -> PlatformStats {
        PlatformStats {
            functions: self
                .functions
                .read()
                .iter()
                .map(|(name, pool)| (name.clone(), pool.stats()))
                .collect(),
        }
    }

    /// Kills every instance of every function; new invocations are refused.
    pub(crate) fn close_all(&self) -> Vec<Arc<Instance>> {
        self.functions
            .read()
            .values()
            .flat_map(|pool| pool.close())
            .collect()
    }
}
