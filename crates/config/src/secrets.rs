//! Instance secrets: from the configuration, or generated once into the data dir.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::Config;

/// Secrets every process of an instance must share.
#[derive(Clone)]
pub struct Secrets {
    /// Keys HMACs of short-lived signed values (e.g. the sign-in form's token).
    pub secret_key_base: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// The secrets file cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("secrets file {path}: {message}")]
pub struct SecretError {
    pub path: PathBuf,
    pub message: String,
}

impl Secrets {
    /// The configured secrets, or those in `<data_dir>/secrets.toml`, made on first use.
    pub fn load_or_generate(config: &Config) -> Result<Secrets, SecretError> {
        if let Some(key) = &config.secret_key_base {
            return Ok(Secrets {
                secret_key_base: key.as_bytes().to_vec(),
            });
        }
        let path = config.data_dir.join("secrets.toml");
        let err = |message: String| SecretError {
            path: path.clone(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let table: toml::Table = text.parse().map_err(|e| err(format!("{e}")))?;
                let key = table
                    .get("secret_key_base")
                    .and_then(|v| v.as_str())
                    .filter(|k| k.len() >= 32)
                    .ok_or_else(|| err("secret_key_base missing or shorter than 32".into()))?;
                Ok(Secrets {
                    secret_key_base: key.as_bytes().to_vec(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = generate_key();
                write_new(&path, &format!("secret_key_base = \"{key}\"\n"))
                    .map_err(|e| err(e.to_string()))?;
                // Another process may have won the race: read what is on disk.
                Self::load_or_generate(config)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }
}

fn generate_key() -> String {
    let bytes: [u8; 48] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates `path` with `contents`, readable by the owner only (and its
/// missing directories, 0700); an existing file is left alone.
fn write_new(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        // The data dir (when it is made here) is the owner's alone.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => f.write_all(contents.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_persist() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().display().to_string();
        let (config, _) = crate::load(None, |k| (k == "FERRODON_DATA_DIR").then(|| data.clone()))?;
        let first = Secrets::load_or_generate(&config)?;
        let second = Secrets::load_or_generate(&config)?;
        assert_eq!(first.secret_key_base, second.secret_key_base);
        assert!(first.secret_key_base.len() >= 32);
        Ok(())
    }
}
