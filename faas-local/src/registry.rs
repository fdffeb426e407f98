//! The deployed functions, by name: each one's `$LATEST`, the versions published from it and
//! its aliases. Every version runs in a pool of its own; a configuration change that the
//! pool's instances were started with (code, limits) replaces that pool.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::code_store::{CodeInfo, CodeStore};
use crate::config::{ActionProtocol, ConfigError, CreatedFunctionLimits, FunctionConfig};
use crate::function::{FunctionContext, LATEST};
use crate::instance::Instance;
use crate::pool::FunctionPool;
use crate::snapshot::{FunctionSnapshots, Snapshotter};
use crate::stats::PlatformStats;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    #[error("function {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// Why a function, version or alias could not be used or changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum LookupError {
    #[error("Function not found: {0}")]
    NoFunction(String),
    #[error("Function not found: {0} (no such version or alias)")]
    NoQualifier(String),
    #[error("Alias already exists: {0}")]
    AliasExists(String),
    #[error("{0}")]
    Invalid(String),
}

/// One function and everything published from it.
struct Function {
    latest: Arc<FunctionPool>,
    versions: BTreeMap<u32, Arc<FunctionPool>>,
    aliases: BTreeMap<String, u32>,
}

impl Function {
    fn pools(&self) -> impl Iterator<Item = &Arc<FunctionPool>> {
        std::iter::once(&self.latest).chain(self.versions.values())
    }

    /// The version a qualifier names: `$LATEST`, a version number or an alias.
    fn version_of(&self, qualifier: &str) -> Option<Version> {
        if qualifier == LATEST {
            return Some(Version::Latest);
        }
        let number = match qualifier.parse::<u32>() {
            Ok(number) => number,
            Err(_) => *self.aliases.get(qualifier)?,
        };
        self.versions
            .contains_key(&number)
            .then_some(Version::Published(number))
    }

    fn pool(&self, version: Version) -> &Arc<FunctionPool> {
        match version {
            Version::Latest => &self.latest,
            Version::Published(n) => &self.versions[&n],
        }
    }

    fn pool_mut(&mut self, version: Version) -> &mut Arc<FunctionPool> {
        match version {
            Version::Latest => &mut self.latest,
            Version::Published(n) => self.versions.get_mut(&n).expect("resolved version"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Latest,
    Published(u32),
}

pub(crate) struct Registry {
    functions: RwLock<BTreeMap<String, Function>>,
    region: String,
    init_timeout: Duration,
    /// Where uploaded packages are unpacked.
    pub(crate) code_store: CodeStore,
    pub(crate) created_limits: CreatedFunctionLimits,
    /// Set when instances start from snapshots.
    snapshotter: Option<Arc<Snapshotter>>,
}

impl Registry {
    pub(crate) fn new(
        region: String,
        init_timeout: Duration,
        code_store: CodeStore,
        created_limits: CreatedFunctionLimits,
        snapshotter: Option<Arc<Snapshotter>>,
    ) -> Self {
        Self {
            functions: RwLock::new(BTreeMap::new()),
            region,
            init_timeout,
            code_store,
            created_limits,
            snapshotter,
        }
    }

    fn pool_for(
        &self,
        config: FunctionConfig,
        version: &str,
        code: Option<CodeInfo>,
    ) -> Arc<FunctionPool> {
        // Each version (and each configuration of it) gets a snapshot of its own instances.
        let snapshots = match (&self.snapshotter, config.protocol) {
            (Some(snapshotter), ActionProtocol::LambdaRuntime) => {
                Some(Arc::new(FunctionSnapshots::new(snapshotter.clone())))
            }
            _ => None,
        };
        FunctionPool::new(FunctionContext::new(
            config,
            &self.region,
            self.init_timeout,
            version,
            code,
            snapshots,
        ))
    }

    pub(crate) fn create(
        &self,
        config: FunctionConfig,
        code: Option<CodeInfo>,
    ) -> Result<Arc<FunctionPool>, CreateError> {
        config.validate()?;
        let mut functions = self.functions.write();
        if functions.contains_key(&config.name) {
            return Err(CreateError::Exists(config.name));
        }
        let name = config.name.clone();
        let latest = self.pool_for(config, LATEST, code);
        functions.insert(
            name,
            Function {
                latest: latest.clone(),
                versions: BTreeMap::new(),
                aliases: BTreeMap::new(),
            },
        );
        Ok(latest)
    }

    /// The pool a possibly qualified function runs in (`None`: `$LATEST`).
    pub(crate) fn resolve(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Arc<FunctionPool>, LookupError> {
        let functions = self.functions.read();
        let function = functions
            .get(name)
            .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
        let version = function
            .version_of(qualifier.unwrap_or(LATEST))
            .ok_or_else(|| qualified_not_found(name, qualifier))?;
        Ok(function.pool(version).clone())
    }

    pub(crate) fn list(&self) -> Vec<Arc<FunctionPool>> {
        self.functions
            .read()
            .values()
            .map(|f| f.latest.clone())
            .collect()
    }

    /// Points `$LATEST` at new code; its instances are replaced, published versions keep theirs.
    pub(crate) fn update_code(
        &self,
        name: &str,
        code_dir: PathBuf,
        code: CodeInfo,
    ) -> Result<Arc<FunctionPool>, LookupError> {
        self.replace(name, None, |config| config.code_dir = code_dir, Some(code))
    }

    /// Edits `$LATEST`'s configuration; its instances are replaced.
    pub(crate) fn update_configuration(
        &self,
        name: &str,
        change: impl FnOnce(&mut FunctionConfig),
    ) -> Result<Arc<FunctionPool>, LookupError> {
        self.replace(name, None, change, None)
    }

    /// Publishes `$LATEST` as the next version number.
    pub(crate) fn publish(&self, name: &str) -> Result<Arc<FunctionPool>, LookupError> {
        let mut functions = self.functions.write();
        let function = functions
            .get_mut(name)
            .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
        let number = function.versions.keys().last().map_or(1, |n| n + 1);
        let latest = &function.latest.function;
        let mut config = latest.config.clone();
        config.provisioned = 0;
        let pool = self.pool_for(config, &number.to_string(), latest.code.clone());
        function.versions.insert(number, pool.clone());
        Ok(pool)
    }

    /// The version an alias points to.
    pub(crate) fn alias(&self, name: &str, alias: &str) -> Result<u32, LookupError> {
        let functions = self.functions.read();
        let function = functions
            .get(name)
            .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
        function
            .aliases
            .get(alias)
            .copied()
            .ok_or_else(|| LookupError::NoQualifier(format!("{name}:{alias}")))
    }

    /// Creates (`create`) or moves an alias to a published version.
    pub(crate) fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        create: bool,
    ) -> Result<u32, LookupError> {
        if alias == LATEST || alias.parse::<u32>().is_ok() || !valid_alias(alias) {
            return Err(LookupError::Invalid(format!(
                "alias name {alias:?} is invalid: use 1 to 128 letters, digits, '-' or '_', not only digits"
            )));
        }
        let mut functions = self.functions.write();
        let function = functions
            .get_mut(name)
            .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
        let number = version
            .parse::<u32>()
            .ok()
            .filter(|n| function.versions.contains_key(n))
            .ok_or_else(|| {
                LookupError::Invalid(format!(
                    "FunctionVersion {version:?} is not a published version of {name}"
                ))
            })?;
        match (function.aliases.contains_key(alias), create) {
            (true, true) => return Err(LookupError::AliasExists(format!("{name}:{alias}"))),
            (false, false) => return Err(LookupError::NoQualifier(format!("{name}:{alias}"))),
            _ => {}
        }
        function.aliases.insert(alias.to_owned(), number);
        Ok(number)
    }

    /// Reserved concurrency: every version's instance limit (each version counts on its own
    /// here, where Lambda shares the reservation across them).
    pub(crate) fn set_reserved(&self, name: &str, limit: usize) -> Result<(), LookupError> {
        if limit == 0 {
            return Err(LookupError::Invalid(
                "ReservedConcurrentExecutions 0 would stop every invocation; use at least 1".into(),
            ));
        }
        let versions: Vec<Option<String>> = {
            let functions = self.functions.read();
            let function = functions
                .get(name)
                .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
            function
                .pools()
                .map(|pool| Some(pool.function.version.clone()))
                .collect()
        };
        for version in versions {
            self.replace(
                name,
                version.as_deref(),
                |config| {
                    config.concurrency_limit = limit;
                    config.provisioned = config.provisioned.min(limit);
                },
                None,
            )?;
        }
        Ok(())
    }

    /// Provisioned concurrency on a published version or alias: that many instances kept started.
    pub(crate) fn set_provisioned(
        &self,
        name: &str,
        qualifier: &str,
        count: usize,
    ) -> Result<Arc<FunctionPool>, LookupError> {
        if qualifier == LATEST {
            return Err(LookupError::Invalid(
                "provisioned concurrency needs a published version or an alias, not $LATEST".into(),
            ));
        }
        self.replace(
            name,
            Some(qualifier),
            |config| {
                config.provisioned = count;
                config.concurrency_limit = config.concurrency_limit.max(count);
            },
            None,
        )
    }

    /// Replaces the pool of one version with one whose configuration `change` edited (and,
    /// with `code`, new code), closing the old pool.
    fn replace(
        &self,
        name: &str,
        qualifier: Option<&str>,
        change: impl FnOnce(&mut FunctionConfig),
        code: Option<CodeInfo>,
    ) -> Result<Arc<FunctionPool>, LookupError> {
        let mut functions = self.functions.write();
        let function = functions
            .get_mut(name)
            .ok_or_else(|| LookupError::NoFunction(name.to_owned()))?;
        let version = function
            .version_of(qualifier.unwrap_or(LATEST))
            .ok_or_else(|| qualified_not_found(name, qualifier))?;
        let old = function.pool(version).function.clone();
        let mut config = old.config.clone();
        change(&mut config);
        config
            .validate()
            .map_err(|e| LookupError::Invalid(e.to_string()))?;
        let pool = self.pool_for(config, &old.version, code.or_else(|| old.code.clone()));
        let replaced = std::mem::replace(function.pool_mut(version), pool.clone());
        replaced.close();
        Ok(pool)
    }

    /// Removes the function with its versions and kills their instances.
    pub(crate) fn remove(&self, name: &str) -> Option<Arc<FunctionPool>> {
        let function = self.functions.write().remove(name)?;
        for pool in function.pools() {
            pool.close();
        }
        Some(function.latest)
    }

    /// `$LATEST` under the function's name, each published version under `name:N`.
    pub(crate) fn stats(&self) -> PlatformStats {
        let functions = self.functions.read();
        PlatformStats {
            functions: functions
                .iter()
                .flat_map(|(name, function)| {
                    function.pools().map(move |pool| {
                        let key = match pool.function.version.as_str() {
                            LATEST => name.clone(),
                            version => format!("{name}:{version}"),
                        };
                        (key, pool.stats())
                    })
                })
                .collect(),
        }
    }

    /// Kills every instance of every function; new invocations are refused.
    pub(crate) fn close_all(&self) -> Vec<Arc<Instance>> {
        self.functions
            .read()
            .values()
            .flat_map(|function| function.pools().flat_map(|pool| pool.close()))
            .collect()
    }
}

fn qualified_not_found(name: &str, qualifier: Option<&str>) -> LookupError {
    LookupError::NoQualifier(format!("{name}:{}", qualifier.unwrap_or(LATEST)))
}

/// Lambda's alias rule: 1 to 128 letters, digits, hyphens or underscores.
fn valid_alias(alias: &str) -> bool {
    (1..=128).contains(&alias.len())
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
