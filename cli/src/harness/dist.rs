use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The built artifacts (`make build` fills `dist/`).
#[derive(Debug, Clone)]
pub struct Dist {
    root: PathBuf,
}

impl Dist {
    /// `SEMIFAAS_DIST`, else the directory of the running `semifaas` executable when it holds the
    /// agent jar, else `dist/` at the repository root (for `cargo test`).
    pub fn locate() -> Result<Dist> {
        let mut candidates = vec![];
        if let Some(dir) = std::env::var_os("SEMIFAAS_DIST") {
            candidates.push(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            candidates.push(dir);
        }
        candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"));
        for dir in &candidates {
            if dir.join("semifaas-agent.jar").is_file() {
                return Ok(Dist {
                    root: dir.canonicalize()?,
                });
            }
        }
        bail!(
            "no semifaas-agent.jar in {}: run `make build` first, or set SEMIFAAS_DIST",
            candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file(&self, name: &str) -> Result<PathBuf> {
        let path = self.root.join(name);
        if !path.exists() {
            bail!("{} is missing: run `make build`", path.display());
        }
        Ok(path)
    }

    pub fn semifaas(&self) -> Result<PathBuf> {
        self.file("semifaas")
    }

    pub fn bootstrap(&self) -> Result<PathBuf> {
        self.file("bootstrap")
    }

    pub fn agent_jar(&self) -> Result<PathBuf> {
        self.file("semifaas-agent.jar")
    }

    pub fn sample_jar(&self, name: &str) -> Result<PathBuf> {
        self.file(&format!("samples/{name}.jar"))
    }
}
