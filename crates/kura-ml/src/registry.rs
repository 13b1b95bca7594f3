//! Where a project keeps its models: `ml/<name>/model.txt` (LightGBM's text format, readable by
//! LightGBM itself) next to `ml/<name>/card.json` (a [`ModelCard`]: what the model reads, how
//! it was made and how well it did).
//!
//! Both files are written to a temporary name and renamed into place, so a crash never leaves a
//! half-written model behind, and a model is only ever replaced as a whole.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::features::FeatureSchema;
use crate::metrics::Metrics;
use crate::model::LgbmModel;

/// How a registered model came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelOrigin {
    /// Trained by `kura ml train` on a warehouse table.
    Trained,
    /// A LightGBM text model trained elsewhere and registered with `kura ml import`.
    Imported,
}

/// Everything kura knows about a registered model besides its trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// The registry name (lower-case letters, digits and `_`).
    pub name: String,
    pub origin: ModelOrigin,
    /// `binary`, `multiclass`, `regression`, or the objective of an imported model.
    pub task: String,
    /// The feature columns, in model order, with their encodings and training types.
    pub features: FeatureSchema,
    /// Class labels in output order (classification only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_labels: Option<Vec<String>>,
    /// The table and target trained on (trained models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Metrics on the held-out validation rows (trained models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Which rows the metrics were computed on: `validation` or `training`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_on: Option<String>,
    /// BLAKE3 fingerprint of the training data (see [`crate::fingerprint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Rows used for training and for validation.
    #[serde(default)]
    pub rows_train: u64,
    #[serde(default)]
    pub rows_valid: u64,
    /// Boosting iterations kept (the best one when early stopping ended training).
    pub iterations: usize,
    /// LightGBM parameters used for training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
    /// What happened along the way: dropped features, rows left out, the task chosen.
    #[serde(default)]
    pub notes: Vec<String>,
    /// RFC 3339 time of training or import.
    pub created_at: String,
    /// Who trained or imported it.
    pub created_by: String,
}

/// A project's models on disk.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    root: PathBuf,
}

/// Checks a model name: it becomes a directory and appears in table names.
///
/// # Errors
/// [`MlError::InvalidArgument`] naming the rule.
pub fn check_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(MlError::InvalidArgument {
            name: "model name".into(),
            message: format!("`{name}` is not a valid model name"),
            hint: "use 1-64 lower-case letters, digits and `_`, starting with a letter, e.g. `churn_v2`".into(),
        })
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> MlError {
    let path = path.display().to_string();
    move |source| MlError::Io {
        action,
        path,
        source,
    }
}

/// Writes `contents` next to `path` and renames it into place.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io_err("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("rename into", path))
}

impl ModelRegistry {
    /// The registry under `root` (a project's `ml/` directory); nothing is created until a
    /// model is saved.
    pub fn new(root: impl Into<PathBuf>) -> ModelRegistry {
        ModelRegistry { root: root.into() }
    }

    /// The directory of model `name`.
    pub fn model_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Whether a model of that name is registered.
    pub fn exists(&self, name: &str) -> bool {
        self.model_dir(name).join("card.json").is_file()
    }

    /// Stores a model and its card, replacing any model of the same name.
    ///
    /// # Errors
    /// [`MlError::InvalidArgument`] for a bad name, [`MlError::Io`] when writing fails.
    pub fn save(&self, card: &ModelCard, model_text: &str) -> Result<PathBuf> {
        check_model_name(&card.name)?;
        let dir = self.model_dir(&card.name);
        std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let json = serde_json::to_string_pretty(card).map_err(|e| MlError::InvalidArgument {
            name: "model card".into(),
            message: e.to_string(),
            hint: "this is a bug in kura-ml, please report it".into(),
        })?;
        // The model first: a card always describes a model file that is complete.
        write_atomically(&dir.join("model.txt"), model_text.as_bytes())?;
        write_atomically(&dir.join("card.json"), json.as_bytes())?;
        Ok(dir)
    }

    /// Reads a registered model and its card.
    ///
    /// # Errors
    /// [`MlError::InvalidArgument`] when no such model is registered (listing the ones that
    /// are); [`MlError::Io`] / [`MlError::ModelSyntax`] when its files are unreadable.
    pub fn load(&self, name: &str) -> Result<(ModelCard, LgbmModel)> {
        if !self.exists(name) {
            let known = self.names();
            let hint = if known.is_empty() {
                "no model is registered yet: train one with `kura ml train` or register one with `kura ml import`".to_string()
            } else {
                format!("registered models: {}", known.join(", "))
            };
            return Err(MlError::InvalidArgument {
                name: "model".into(),
                message: format!("no model named `{name}` in {}", self.root.display()),
                hint,
            });
        }
        let dir = self.model_dir(name);
        let card_path = dir.join("card.json");
        let text = std::fs::read_to_string(&card_path).map_err(io_err("read", &card_path))?;
        let card: ModelCard =
            serde_json::from_str(&text).map_err(|e| MlError::InvalidArgument {
                name: "model card".into(),
                message: format!("{}: {e}", card_path.display()),
                hint: format!(
                    "the card was edited or damaged; re-register the model with `kura ml import {} --name {name}`",
                    dir.join("model.txt").display()
                ),
            })?;
        let model = LgbmModel::from_file(&dir.join("model.txt"))?;
        Ok((card, model))
    }

    /// Names of all registered models, sorted.
    pub fn names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(std::result::Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| self.exists(n))
            .collect();
        names.sort();
        names
    }

    /// Cards of all registered models that can be read, sorted by name.
    pub fn cards(&self) -> Vec<ModelCard> {
        self.names()
            .iter()
            .filter_map(|n| {
                let path = self.model_dir(n).join("card.json");
                let text = std::fs::read_to_string(path).ok()?;
                serde_json::from_str(&text).ok()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_model_name("churn_v2").is_ok());
        for bad in [
            "",
            "Churn",
            "2churn",
            "churn-v2",
            "a/b",
            "..",
            &"a".repeat(65),
        ] {
            assert!(check_model_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
