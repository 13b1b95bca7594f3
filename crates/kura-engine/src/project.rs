//! A kura project on disk: `kura.toml`, and where the warehouse lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parquet::file::properties::WriterProperties;
use serde::Deserialize;

use crate::access::{AccessPolicy, DatasetGrants};
use crate::error::EngineError;

/// The file that marks a project's root.
pub const CONFIG_FILE: &str = "kura.toml";

/// A project: its root directory and its parsed `kura.toml`.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    config: ProjectConfig,
}

/// The contents of `kura.toml`. Every section is optional so that a hand-written minimal file
/// works; defaults follow DESIGN.md (Asia/Tokyo local time, BigQuery's on-demand price).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    #[serde(default)]
    pub project: ProjectSection,
    #[serde(default)]
    pub cost: CostSection,
    #[serde(default)]
    pub access: AccessSection,
    #[serde(default)]
    pub storage: StorageSection,
    /// `kura lint` settings; read by kura-models (see kura-lint's `LintConfig`).
    #[serde(default)]
    pub lint: toml::Table,
    /// Alert channels and retry policy; read by kura-alert's `AlertSettings`.
    #[serde(default)]
    pub alerts: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Size at which a load starts a new Parquet file. Larger files scan faster; smaller ones
    /// prune better and keep memory low while loading.
    #[serde(default = "default_target_file_mib")]
    pub target_file_mib: u64,
    /// The codec of the Parquet files kura writes.
    #[serde(default)]
    pub compression: Compression,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            target_file_mib: default_target_file_mib(),
            compression: Compression::default(),
        }
    }
}

impl StorageSection {
    /// How kura writes a table's Parquet files.
    pub fn writer_properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(self.compression.codec())
            .build()
    }
}

/// The Parquet codec of kura's tables (`[storage] compression`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// LZ4 block format: decompresses at several GB/s, so scans are not held up by it.
    #[default]
    Lz4Raw,
    /// What most other writers use; read by every Parquet reader, old ones included.
    Snappy,
    /// Smallest files, slowest scans (level 1).
    Zstd,
    /// No codec.
    None,
}

impl Compression {
    /// The Parquet codec, for writers that build their own properties.
    pub fn codec(self) -> parquet::basic::Compression {
        use parquet::basic::Compression as Codec;
        match self {
            Self::Lz4Raw => Codec::LZ4_RAW,
            Self::Snappy => Codec::SNAPPY,
            Self::Zstd => Codec::ZSTD(parquet::basic::ZstdLevel::default()),
            Self::None => Codec::UNCOMPRESSED,
        }
    }
}

fn default_target_file_mib() -> u64 {
    128
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    #[serde(default = "default_name")]
    pub name: String,
    /// The zone whose wall-clock values are stored as DATETIME; everything else is UTC.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

impl Default for ProjectSection {
    fn default() -> Self {
        Self {
            name: default_name(),
            timezone: default_timezone(),
        }
    }
}

fn default_name() -> String {
    "kura".to_string()
}

fn default_timezone() -> String {
    "Asia/Tokyo".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSection {
    /// Price per TiB scanned, for estimates; BigQuery on-demand in US multi-region by default.
    #[serde(default = "default_price")]
    pub usd_per_tib: f64,
}

impl Default for CostSection {
    fn default() -> Self {
        Self {
            usd_per_tib: default_price(),
        }
    }
}

fn default_price() -> f64 {
    6.25
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// Group name to member principals.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Dataset name (or `"*"` for every other dataset) to its grants.
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetGrants>,
}

impl Project {
    /// Opens the project whose root is `root` (the directory holding `kura.toml`).
    ///
    /// # Errors
    /// [`EngineError::ProjectNotFound`] when there is no `kura.toml`, [`EngineError::Config`]
    /// when it does not parse, with the line and the TOML parser's message.
    pub fn open(root: &Path) -> Result<Self, EngineError> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                EngineError::ProjectNotFound {
                    dir: root.to_path_buf(),
                }
            } else {
                EngineError::Io {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let config = parse_config(&text).map_err(|message| EngineError::Config {
            path: path.clone(),
            message,
        })?;
        Ok(Self {
            root: root.to_path_buf(),
            config,
        })
    }

    /// Finds the project containing `start`, looking upwards as git does.
    ///
    /// # Errors
    /// [`EngineError::ProjectNotFound`] when no directory up to the root has `kura.toml`.
    pub fn discover(start: &Path) -> Result<Self, EngineError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(CONFIG_FILE).is_file() {
                return Self::open(d);
            }
            dir = d.parent();
        }
        Err(EngineError::ProjectNotFound {
            dir: start.to_path_buf(),
        })
    }

    /// A project held only in memory, for tests and embedding.
    pub fn from_parts(root: PathBuf, config: ProjectConfig) -> Self {
        Self { root, config }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &ProjectConfig {
        &self.config
    }

    /// `.kura/warehouse`: one directory per dataset, one Delta table per subdirectory.
    pub fn warehouse_dir(&self) -> PathBuf {
        self.root.join(".kura").join("warehouse")
    }

    pub fn access_policy(&self) -> AccessPolicy {
        AccessPolicy::new(&self.config.access)
    }
}

/// Parses `kura.toml` text; the error carries the TOML parser's line and column.
pub fn parse_config(text: &str) -> Result<ProjectConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

/// The commented `kura.toml` that `kura init` writes. `engineer` becomes the first member of
/// `engineers`, so the person who creates the project can load into `raw` at once.
pub fn config_template(name: &str, engineer: &str) -> String {
    format!(
        r#"# kura project configuration. Reference: README.md, "kura.toml".

[project]
# Used in reports and as the BigQuery project label.
name = "{name}"
# Local-time values in this zone are stored as DATETIME; every other instant is a UTC TIMESTAMP.
timezone = "Asia/Tokyo"

[cost]
# Price per TiB scanned, used for cost estimates (BigQuery on-demand: 6.25 USD).
usd_per_tib = 6.25

# Who may read and write which dataset. A member is "user:NAME" (or just NAME),
# "group:NAME", or "*" for everyone. The principal running a command is --as NAME,
# then $KURA_PRINCIPAL, then your OS user name.
[access.groups]
engineers = ["{engineer}"]
analysts = []

# Raw data is for engineers only: analysts read staging views and marts.
[access.datasets.raw]
read = ["group:engineers"]
write = ["group:engineers"]

# Every dataset not listed above.
[access.datasets."*"]
read = ["group:engineers", "group:analysts"]
write = ["group:engineers"]

# A service principal gets only what is granted, for example:
# [access.datasets.marts]
# read = ["group:engineers", "group:analysts", "user:dashboard"]
# write = ["group:engineers"]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_and_grants_the_creator_raw() {
        let config = parse_config(&config_template("demo", "alice")).unwrap();
        assert_eq!(config.project.timezone, "Asia/Tokyo");
        assert_eq!(config.access.groups["engineers"], vec!["alice"]);
        assert!(config.access.datasets.contains_key("raw"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_location() {
        let err = parse_config("[project]\nnmae = \"x\"\n").unwrap_err();
        assert!(err.contains("nmae"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }
}
