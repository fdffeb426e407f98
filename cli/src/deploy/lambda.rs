//! Putting a package on a Lambda API (AWS Lambda, or faas-local with the same calls): create or
//! update the function, publish a version, point the alias at it, set concurrency, and run a
//! smoke invocation.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, ProvisionedConcurrencyStatusEnum,
    Runtime, State,
};
use aws_sdk_lambda::Client;
use semifaas_closure::{SmokeReply, SMOKE_PAYLOAD};

/// Lambda's limit on a zip sent in the request; larger ones go through S3.
pub const DIRECT_UPLOAD_LIMIT: u64 = faas_local::ZIP_LIMIT as u64;
/// How long a function may take to become active or updated, and provisioned instances ready.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The function as `deploy` leaves it.
pub struct Target {
    pub function: String,
    pub alias: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub role: Option<String>,
    pub reserved: Option<u32>,
    pub provisioned: Option<u32>,
    pub env: Vec<(String, String)>,
}

/// Where the zip comes from in CreateFunction / UpdateFunctionCode.
pub enum Code {
    Zip(Vec<u8>),
    S3 { bucket: String, key: String },
}

impl Code {
    fn function_code(&self) -> FunctionCode {
        match self {
            Code::Zip(bytes) => FunctionCode::builder()
                .zip_file(Blob::new(bytes.clone()))
                .build(),
            Code::S3 { bucket, key } => FunctionCode::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .build(),
        }
    }

    pub fn describe(&self, zip_bytes: u64) -> String {
        match self {
            Code::Zip(_) => format!("ZipFile ({})", megabytes(zip_bytes)),
            Code::S3 { bucket, key } => format!("s3://{bucket}/{key} ({})", megabytes(zip_bytes)),
        }
    }
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl Target {
    fn environment(&self) -> Environment {
        let mut env = Environment::builder();
        for (key, value) in &self.env {
            env = env.variables(key, value);
        }
        env.build()
    }

    /// The calls `deploy` makes, for `--dry-run`.
    pub fn plan(&self, code: &str) -> Vec<String> {
        let f = &self.function;
        let mut calls = vec![
            format!("GetFunction {f}   (does it exist?)"),
            format!(
                "CreateFunction {f} runtime=provided.al2023 handler=bootstrap architecture=x86_64 memory={} MB timeout={} s role={} code={code}   (if it does not)",
                self.memory_mb,
                self.timeout_s,
                self.role.as_deref().unwrap_or("<--role, required to create>")
            ),
            format!("UpdateFunctionCode {f} code={code}, then UpdateFunctionConfiguration memory={} MB timeout={} s   (if it does)", self.memory_mb, self.timeout_s),
            format!("GetFunction {f}   (until State=Active, LastUpdateStatus=Successful)"),
            format!("PublishVersion {f}"),
            format!("GetAlias {f}:{a}, then CreateAlias or UpdateAlias {f}:{a} -> the new version", a = self.alias),
        ];
        if let Some(n) = self.reserved {
            calls.push(format!(
                "PutFunctionConcurrency {f} ReservedConcurrentExecutions={n}"
            ));
        }
        if let Some(n) = self.provisioned {
            calls.push(format!("PutProvisionedConcurrencyConfig {f}:{} ProvisionedConcurrentExecutions={n}, then GetProvisionedConcurrencyConfig until READY", self.alias));
        }
        calls.push(format!(
            "Invoke {f}:{} payload={SMOKE_PAYLOAD}   (smoke: boots the JVM, reports init time)",
            self.alias
        ));
        calls
    }
}

/// Creates or updates the function and publishes it under the alias; returns the version.
pub async fn put_function(
    lambda: &Client,
    target: &Target,
    code: &Code,
    step: &mut dyn FnMut(&str),
) -> Result<String> {
    let f = target.function.as_str();
    let exists = match lambda.get_function().function_name(f).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(api_error("GetFunction", e)),
    };
    if exists {
        lambda
            .update_function_code()
            .function_name(f)
            .set_zip_file(match code {
                Code::Zip(bytes) => Some(Blob::new(bytes.clone())),
                Code::S3 { .. } => None,
            })
            .set_s3_bucket(match code {
                Code::S3 { bucket, .. } => Some(bucket.clone()),
                Code::Zip(_) => None,
            })
            .set_s3_key(match code {
                Code::S3 { key, .. } => Some(key.clone()),
                Code::Zip(_) => None,
            })
            .send()
            .await
            .map_err(|e| api_error("UpdateFunctionCode", e))?;
        step(&format!("UpdateFunctionCode {f}"));
        settle(lambda, f).await?;
        lambda
            .update_function_configuration()
            .function_name(f)
            .memory_size(target.memory_mb as i32)
            .timeout(target.timeout_s as i32)
            .environment(target.environment())
            .send()
            .await
            .map_err(|e| api_error("UpdateFunctionConfiguration", e))?;
        step(&format!(
            "UpdateFunctionConfiguration {f}: {} MB, {} s",
            target.memory_mb, target.timeout_s
        ));
    } else {
        let role = target.role.as_deref().with_context(|| {
            format!("function {f} does not exist yet: CreateFunction needs --role ARN (an execution role Lambda can assume; see docs/aws-lambda.md)")
        })?;
        lambda
            .create_function()
            .function_name(f)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .architectures(Architecture::X8664)
            .role(role)
            .memory_size(target.memory_mb as i32)
            .timeout(target.timeout_s as i32)
            .environment(target.environment())
            .code(code.function_code())
            .send()
            .await
            .map_err(|e| api_error("CreateFunction", e))?;
        step(&format!(
            "CreateFunction {f}: provided.al2023, x86_64, {} MB, {} s",
            target.memory_mb, target.timeout_s
        ));
    }
    settle(lambda, f).await?;

    let published = lambda
        .publish_version()
        .function_name(f)
        .send()
        .await
        .map_err(|e| api_error("PublishVersion", e))?;
    let version = published
        .version()
        .context("PublishVersion answered without a version")?
        .to_owned();
    step(&format!("PublishVersion {f}: version {version}"));
    point_alias(lambda, target, &version).await?;
    step(&format!("alias {f}:{} -> {version}", target.alias));
    Ok(version)
}

async fn point_alias(lambda: &Client, target: &Target, version: &str) -> Result<()> {
    let (f, alias) = (target.function.as_str(), target.alias.as_str());
    match lambda.get_alias().function_name(f).name(alias).send().await {
        Ok(_) => {
            lambda
                .update_alias()
                .function_name(f)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .map_err(|e| api_error("UpdateAlias", e))?;
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            lambda
                .create_alias()
                .function_name(f)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .map_err(|e| api_error("CreateAlias", e))?;
        }
        Err(e) => return Err(api_error("GetAlias", e)),
    }
    Ok(())
}

/// Waits until the function is active and its last update has finished.
async fn settle(lambda: &Client, function: &str) -> Result<()> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let output = lambda
            .get_function()
            .function_name(function)
            .send()
            .await
            .map_err(|e| api_error("GetFunction", e))?;
        let config = output
            .configuration()
            .context("GetFunction: no Configuration")?;
        match (config.state(), config.last_update_status()) {
            (Some(State::Failed), _) | (_, Some(LastUpdateStatus::Failed)) => bail!(
                "function {function} failed to deploy: {}",
                config
                    .state_reason()
                    .or(config.last_update_status_reason())
                    .unwrap_or("no reason given")
            ),
            (Some(State::Active), Some(LastUpdateStatus::Successful) | None) => return Ok(()),
            _ if Instant::now() > deadline => {
                bail!("function {function} did not become active within {SETTLE_TIMEOUT:?}")
            }
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Reserved and provisioned concurrency, as asked.
pub async fn set_concurrency(
    lambda: &Client,
    target: &Target,
    step: &mut dyn FnMut(&str),
) -> Result<()> {
    let f = target.function.as_str();
    if let Some(n) = target.reserved {
        lambda
            .put_function_concurrency()
            .function_name(f)
            .reserved_concurrent_executions(n as i32)
            .send()
            .await
            .map_err(|e| api_error("PutFunctionConcurrency", e))?;
        step(&format!("PutFunctionConcurrency {f}: {n} reserved"));
    }
    let Some(n) = target.provisioned else {
        return Ok(());
    };
    lambda
        .put_provisioned_concurrency_config()
        .function_name(f)
        .qualifier(&target.alias)
        .provisioned_concurrent_executions(n as i32)
        .send()
        .await
        .map_err(|e| api_error("PutProvisionedConcurrencyConfig", e))?;
    let started = Instant::now();
    loop {
        let status = lambda
            .get_provisioned_concurrency_config()
            .function_name(f)
            .qualifier(&target.alias)
            .send()
            .await
            .map_err(|e| api_error("GetProvisionedConcurrencyConfig", e))?;
        match status.status() {
            Some(ProvisionedConcurrencyStatusEnum::Ready) => break,
            Some(ProvisionedConcurrencyStatusEnum::Failed) => bail!(
                "provisioned concurrency on {f}:{} failed: {}",
                target.alias,
                status.status_reason().unwrap_or("no reason given")
            ),
            _ if started.elapsed() > SETTLE_TIMEOUT => bail!(
                "provisioned concurrency on {f}:{} was not ready within {SETTLE_TIMEOUT:?}",
                target.alias
            ),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    step(&format!(
        "provisioned concurrency {f}:{}: {n} instances ready after {:.1} s",
        target.alias,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The smoke invocation: boots an instance (or uses a provisioned one) and reports its JVM.
pub async fn smoke(lambda: &Client, target: &Target) -> Result<(SmokeReply, Duration)> {
    let qualified = format!("{}:{}", target.function, target.alias);
    let started = Instant::now();
    let output = lambda
        .invoke()
        .function_name(&qualified)
        .payload(Blob::new(SMOKE_PAYLOAD))
        .send()
        .await
        .map_err(|e| api_error("Invoke (smoke)", e))?;
    let round_trip = started.elapsed();
    let payload = output.payload().map(|p| p.as_ref()).unwrap_or_default();
    if let Some(error) = output.function_error() {
        bail!(
            "the smoke invocation of {qualified} failed ({error}): {}",
            String::from_utf8_lossy(payload)
        );
    }
    let reply = serde_json::from_slice(payload).with_context(|| {
        format!(
            "the smoke invocation of {qualified} answered something other than a semifaas function would: {}",
            String::from_utf8_lossy(payload)
        )
    })?;
    Ok((reply, round_trip))
}

/// An SDK error as one line naming the call and each cause (the SDK's own `Display` says only
/// "dispatch failure" or "service error").
fn api_error<E, R>(call: &str, error: aws_sdk_lambda::error::SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    anyhow::anyhow!("{call} failed: {}", error_chain(&error))
}

/// `error: cause: cause…`, each distinct message once.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let message = e.to_string();
        if !parts.iter().any(|p| p.contains(&message)) {
            parts.push(message);
        }
        next = e.source();
    }
    parts.join(": ")
}
