//! Writing the LightGBM text format back out.
//!
//! The model keeps its original lines, so export is the file LightGBM wrote. Only
//! `tree_sizes` is recomputed (from the blocks as written), because LightGBM uses it to find
//! tree blocks when loading and a stale value would make it read garbage.

use std::fmt::Write as _;
use std::path::Path;

use super::LgbmModel;
use crate::error::{MlError, Result};

impl LgbmModel {
    /// The model in LightGBM's text format, loadable by LightGBM (`Booster(model_file=...)`).
    ///
    /// For a model parsed from a file LightGBM wrote, the result is byte-identical to it.
    pub fn to_text(&self) -> String {
        let blocks: Vec<String> = self
            .trees
            .iter()
            .enumerate()
            .map(|(i, tree)| {
                let mut block = format!("Tree={i}\n");
                for (k, v) in &tree.raw {
                    let _ = writeln!(block, "{k}={v}");
                }
                block.push_str("\n\n");
                block
            })
            .collect();
        let mut out = String::new();
        for line in &self.header {
            if line.starts_with("tree_sizes=") {
                let sizes: Vec<String> = blocks.iter().map(|b| b.len().to_string()).collect();
                let _ = writeln!(out, "tree_sizes={}", sizes.join(" "));
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        for block in &blocks {
            out.push_str(block);
        }
        out.push_str("end of trees\n");
        out.push_str(&self.trailer);
        out
    }

    /// Writes [`LgbmModel::to_text`] to `path`.
    ///
    /// # Errors
    /// [`MlError::Io`] if the file cannot be written.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_text()).map_err(|source| MlError::Io {
            action: "write model file",
            path: path.display().to_string(),
            source,
        })
    }
}
