//! `semifaas deploy`: builds the self-contained function package and puts it on AWS Lambda,
//! Apache OpenWhisk (as a blackbox action) or the bundled platform, printing each step.

mod elf_check;
mod lambda;
mod openwhisk;
mod package;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use aws_config::{BehaviorVersion, Region};
use clap::{Args, ValueEnum};

use lambda::{Code, Target, DIRECT_UPLOAD_LIMIT};
use package::PackageInputs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeployPlatform {
    /// AWS Lambda, with the standard AWS configuration chain.
    Aws,
    /// The bundled platform (`semifaas local`) at --endpoint.
    Local,
    /// Apache OpenWhisk (or `semifaas local --api openwhisk`) at --apihost, else the wsk
    /// properties' APIHOST.
    Openwhisk,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Where to deploy.
    #[arg(long, value_enum, default_value = "aws")]
    platform: DeployPlatform,
    /// Lambda API endpoint: required with `--platform local` (e.g. http://127.0.0.1:9000); with
    /// `aws`, an override for Lambda-compatible services.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Function name (what the agent's `semifaas.function` names, with `:ALIAS`).
    #[arg(long, default_value = "semifaas")]
    function: String,
    /// Alias pointed at the published version.
    #[arg(long, default_value = "live")]
    alias: String,
    /// Memory in MB [default: 1769 on Lambda (one vCPU), 512 on OpenWhisk (its usual
    /// maximum)].
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=10240))]
    memory_mb: Option<u32>,
    /// Function timeout in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=900))]
    timeout_s: u32,
    /// Execution role ARN; required to create the function.
    #[arg(long, value_name = "ARN")]
    role: Option<String>,
    /// Reserved concurrency of the function (PutFunctionConcurrency).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    reserved: Option<u32>,
    /// Provisioned concurrency on the alias; deploy waits until the instances are ready.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    provisioned: Option<u32>,
    /// S3 bucket for zips over the 50 MB direct-upload limit (AWS only).
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    /// AWS region (otherwise from the AWS configuration chain).
    #[arg(long)]
    region: Option<String>,
    /// AWS shared-config profile.
    #[arg(long)]
    profile: Option<String>,
    /// JDK whose jlink makes the packaged Java runtime [default: JAVA_HOME, else java on PATH].
    #[arg(long, value_name = "DIR")]
    jdk: Option<PathBuf>,
    /// More Java modules for the runtime, comma separated (java.se is always included).
    #[arg(long, value_name = "MODULES", value_delimiter = ',')]
    add_modules: Vec<String>,
    /// Where to write the zip [default: semifaas-function.zip in the current directory].
    #[arg(long, value_name = "ZIP")]
    out: Option<PathBuf>,
    /// Deploy this already built zip instead of building one (its ELF files are checked again).
    #[arg(long, value_name = "ZIP", conflicts_with_all = ["jdk", "add_modules", "out"])]
    package: Option<PathBuf>,
    /// Build the zip and print the API calls deploy would make; needs no account or network.
    #[arg(long)]
    dry_run: bool,
    /// Environment variable of the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The `bootstrap` to package [default: next to this executable].
    #[arg(long, value_name = "FILE")]
    bootstrap: Option<PathBuf>,
    /// The runtime jar to package [default: semifaas-runtime.jar next to this executable].
    #[arg(long, value_name = "FILE")]
    runtime_jar: Option<PathBuf>,
    /// openwhisk: the API host (host, host:port or URL; no scheme: https) [default: APIHOST of
    /// the wsk properties].
    #[arg(long)]
    apihost: Option<String>,
    /// openwhisk: credentials, uuid:key [default: AUTH of the wsk properties].
    #[arg(long, value_name = "UUID:KEY", value_parser = parse_auth)]
    auth: Option<semifaas_openwhisk::Auth>,
    /// openwhisk: the namespace [default: NAMESPACE of the wsk properties, else _].
    #[arg(long)]
    namespace: Option<String>,
    /// openwhisk: accept a self-signed controller certificate (as wsk -i).
    #[arg(long)]
    insecure: bool,
    /// openwhisk: the action's Docker image, which the printed commands build and push.
    #[arg(long, default_value = "semifaas-function:latest")]
    image: String,
    /// openwhisk: where to write the Docker build context [default: semifaas-openwhisk-image/
    /// beside the zip].
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,
}

fn parse_auth(text: &str) -> Result<semifaas_openwhisk::Auth, String> {
    semifaas_openwhisk::Auth::parse(text).map_err(|e| e.to_string())
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("{text:?} has an empty KEY"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Numbered progress lines with the time since deploy started.
struct Progress {
    started: Instant,
}

impl Progress {
    fn step(&self, what: &str) {
        println!("[{:6.1} s] {what}", self.started.elapsed().as_secs_f64());
    }
}

pub async fn run(args: DeployArgs) -> Result<()> {
    let progress = Progress {
        started: Instant::now(),
    };
    let mut step = |what: &str| progress.step(what);
    if args.platform == DeployPlatform::Local && args.endpoint.is_none() {
        bail!("--platform local needs --endpoint URL: the Lambda API of `semifaas local` (e.g. http://127.0.0.1:9000)");
    }

    let zip_path = match &args.package {
        Some(zip) => {
            let (files, elf_files) = check_zip(zip)?;
            step(&format!(
                "package {}: {files} files, {elf_files} ELF files checked (x86_64, glibc {} at most)",
                zip.display(),
                elf_check::MAX_GLIBC
            ));
            zip.clone()
        }
        None => build_package(&args, &mut step)?,
    };
    if args.platform == DeployPlatform::Openwhisk {
        return deploy_openwhisk(&args, &zip_path, &mut step).await;
    }
    let zip_bytes = std::fs::metadata(&zip_path)?.len();
    let target = Target {
        function: args.function.clone(),
        alias: args.alias.clone(),
        memory_mb: args.memory_mb.unwrap_or(LAMBDA_MEMORY_MB),
        timeout_s: args.timeout_s,
        role: args.role.clone().or_else(|| {
            (args.platform == DeployPlatform::Local)
                .then(|| "arn:aws:iam::000000000000:role/semifaas-local".to_owned())
        }),
        reserved: args.reserved,
        provisioned: args.provisioned,
        env: args.env.clone(),
    };
    let s3_key = format!("semifaas/{}/{}.zip", args.function, sha256_hex(&zip_path)?);
    let upload = upload_route(&args, zip_bytes, &s3_key)?;

    if args.dry_run {
        println!("dry run: wrote {}", zip_path.display());
        println!(
            "deploy would make these calls ({}):",
            match args.platform {
                DeployPlatform::Aws =>
                    "AWS Lambda, credentials and region from the AWS configuration chain",
                DeployPlatform::Local => "the bundled platform",
                DeployPlatform::Openwhisk => unreachable!("deployed above"),
            }
        );
        if let Some((bucket, key)) = &upload {
            println!(
                "  S3 PutObject s3://{bucket}/{key} ({})",
                lambda::megabytes(zip_bytes)
            );
        }
        let code = match &upload {
            Some((bucket, key)) => Code::S3 {
                bucket: bucket.clone(),
                key: key.clone(),
            },
            None => Code::Zip(Vec::new()),
        };
        for call in target.plan(&code.describe(zip_bytes)) {
            println!("  {call}");
        }
        return Ok(());
    }

    let sdk_config = sdk_config(&args).await;
    let code = match upload {
        Some((bucket, key)) => {
            let s3 = aws_sdk_s3::Client::new(&sdk_config);
            let body = aws_sdk_s3::primitives::ByteStream::from_path(&zip_path)
                .await
                .with_context(|| format!("reading {}", zip_path.display()))?;
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "S3 PutObject s3://{bucket}/{key} failed: {}",
                        lambda::error_chain(&e)
                    )
                })?;
            step(&format!("uploaded s3://{bucket}/{key}"));
            Code::S3 { bucket, key }
        }
        None => Code::Zip(
            std::fs::read(&zip_path).with_context(|| format!("reading {}", zip_path.display()))?,
        ),
    };
    let lambda_client = aws_sdk_lambda::Client::new(&sdk_config);
    let version = lambda::put_function(&lambda_client, &target, &code, &mut step).await?;
    lambda::set_concurrency(&lambda_client, &target, &mut step).await?;
    let (smoke, round_trip) = lambda::smoke(&lambda_client, &target).await?;
    step(&format!(
        "smoke invocation of {}:{}: JVM {} ({}) ready in {:.0} ms after the process started; round trip {:.0} ms",
        target.function,
        target.alias,
        smoke.java_version,
        smoke.java_home,
        smoke.jvm_start_ms,
        round_trip.as_secs_f64() * 1e3
    ));
    println!(
        "deployed {}:{} (version {version}); set semifaas.function={}:{} on the service",
        target.function, target.alias, target.function, target.alias
    );
    Ok(())
}

/// One vCPU on Lambda.
const LAMBDA_MEMORY_MB: u32 = 1769;
/// OpenWhisk's usual maximum (its default is 256 MB).
const OPENWHISK_MEMORY_MB: u32 = 512;

/// The OpenWhisk half of `deploy`: the image's build context, then the action and the smoke
/// invocation (or, with --dry-run, the calls it would make).
async fn deploy_openwhisk(args: &DeployArgs, zip: &Path, step: &mut dyn FnMut(&str)) -> Result<()> {
    let settings = semifaas_openwhisk::TargetSettings {
        apihost: args.apihost.clone(),
        namespace: args.namespace.clone(),
        auth: args.auth.clone(),
        insecure: args.insecure,
    };
    let props = semifaas_openwhisk::WskProps::load().context("reading the wsk properties")?;
    let target = semifaas_openwhisk::Target::resolve(&settings, &props, "--")?;
    let action = openwhisk::Action {
        name: semifaas_openwhisk::ActionName::parse(&args.function)?,
        image: args.image.clone(),
        memory_mb: args.memory_mb.unwrap_or(OPENWHISK_MEMORY_MB),
        timeout_s: args.timeout_s,
        concurrency: 1,
        env: args.env.clone(),
    };
    let context = args
        .context
        .clone()
        .unwrap_or_else(|| openwhisk::default_context_dir(zip));
    let commands = openwhisk::write_build_context(&context, zip, &args.image)?;
    step(&format!(
        "Docker build context in {}; build and push the image with:",
        context.display()
    ));
    for command in &commands {
        println!("    {command}");
    }
    if args.dry_run {
        println!(
            "deploy would make these calls (OpenWhisk at {}, namespace {}):",
            target.base, target.namespace
        );
        for call in action.plan(&target) {
            println!("  {call}");
        }
        return Ok(());
    }
    openwhisk::put_action(&target, &action, step).await?;
    let (smoke, round_trip) = openwhisk::smoke(&target, &action.name).await?;
    step(&format!(
        "smoke invocation of {}: JVM {} ({}) ready in {:.0} ms after the process started; round trip {:.0} ms",
        action.name,
        smoke.java_version,
        smoke.java_home,
        smoke.jvm_start_ms,
        round_trip.as_secs_f64() * 1e3
    ));
    println!(
        "deployed action {}/{}; set semifaas.platform=openwhisk and semifaas.function={} on the service",
        target.namespace, action.name, action.name
    );
    Ok(())
}

fn build_package(args: &DeployArgs, step: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    let beside_me = |name: &str| -> Result<PathBuf> {
        let exe = std::env::current_exe().context("locating the semifaas executable")?;
        Ok(exe.with_file_name(name))
    };
    let inputs = PackageInputs {
        bootstrap: match &args.bootstrap {
            Some(path) => path.clone(),
            None => beside_me("bootstrap")?,
        },
        runtime_jar: match &args.runtime_jar {
            Some(path) => path.clone(),
            None => beside_me("semifaas-runtime.jar")?,
        },
        jdk: package::find_jdk(args.jdk.as_deref())?,
        extra_modules: args.add_modules.clone(),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("semifaas-function.zip"));
    step(&format!(
        "building {} from {} and {}",
        out.display(),
        inputs.bootstrap.display(),
        inputs.runtime_jar.display()
    ));
    let built = package::build(&inputs, &out, step)?;
    step(&format!(
        "package {}: {} zipped, {} unpacked, {} files ({} ELF), Java {}, {} modules",
        built.zip.display(),
        lambda::megabytes(built.zip_bytes),
        lambda::megabytes(built.unpacked_bytes),
        built.files,
        built.elf_files,
        built.java_version,
        built.modules.len()
    ));
    Ok(built.zip)
}

/// Checks the ELF files of a built zip; returns (files, ELF files).
fn check_zip(path: &Path) -> Result<(usize, usize)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a zip file", path.display()))?;
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name()?.into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        entries.push((PathBuf::from(name), bytes));
    }
    ensure!(
        entries
            .iter()
            .any(|(name, _)| name == Path::new("bootstrap")),
        "{} has no bootstrap at its top level",
        path.display()
    );
    let mut elf_files = 0;
    for (name, bytes) in &entries {
        elf_files += usize::from(package::check_elf_file(name, bytes)?);
    }
    Ok((entries.len(), elf_files))
}

/// `Some((bucket, key))` when the zip must go through S3.
fn upload_route(args: &DeployArgs, zip_bytes: u64, key: &str) -> Result<Option<(String, String)>> {
    if zip_bytes <= DIRECT_UPLOAD_LIMIT {
        return Ok(None);
    }
    match (&args.s3_bucket, args.platform) {
        (_, DeployPlatform::Openwhisk) => Ok(None),
        (_, DeployPlatform::Local) => bail!(
            "the package is {}, over the {} a Lambda API takes directly, and the bundled platform has no S3: add fewer modules",
            lambda::megabytes(zip_bytes),
            lambda::megabytes(DIRECT_UPLOAD_LIMIT)
        ),
        (None, DeployPlatform::Aws) => bail!(
            "the package is {}, over Lambda's {} direct-upload limit: pass --s3-bucket BUCKET to upload it through S3",
            lambda::megabytes(zip_bytes),
            lambda::megabytes(DIRECT_UPLOAD_LIMIT)
        ),
        (Some(bucket), DeployPlatform::Aws) => Ok(Some((bucket.clone(), key.to_owned()))),
    }
}

fn sha256_hex(path: &Path) -> Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(&sha2::Sha256::digest(&bytes)[..8]))
}

/// The SDK configuration: AWS's chain (with --profile, --region, --endpoint), or the bundled
/// platform's test credentials.
async fn sdk_config(args: &DeployArgs) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &args.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    match args.platform {
        DeployPlatform::Local => {
            loader = loader.region(Region::new("us-east-1")).test_credentials();
        }
        DeployPlatform::Aws | DeployPlatform::Openwhisk => {
            if let Some(profile) = &args.profile {
                loader = loader.profile_name(profile);
            }
            if let Some(region) = &args.region {
                loader = loader.region(Region::new(region.clone()));
            }
        }
    }
    loader.load().await
}
