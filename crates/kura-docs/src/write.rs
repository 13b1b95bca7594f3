//! Writing the site to disk.

use std::fs;
use std::path::{Path, PathBuf};

use crate::graph::Lineage;
use crate::html::file_stem;
use crate::pages::{index_page, model_page, source_page};
use crate::{DocsError, DocsSite};

/// The stylesheet and script every page links; compiled in so the site needs nothing else.
const CSS: &str = include_str!("assets/kura-docs.css");
const JS: &str = include_str!("assets/kura-docs.js");

/// Marks a directory as written by `kura-docs`, so a later run may delete its stale pages.
const MARKER: &str = ".kura-docs";

/// What [`write_site`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSummary {
    /// HTML pages written: the overview plus one per model and source.
    pub pages: usize,
    /// The overview page, to print or open.
    pub index: PathBuf,
}

/// Writes the documentation site for `site` into `out_dir`, creating it if needed.
///
/// Layout: `index.html`, `models/<id>.html`, `sources/<id>.html`, `assets/` (CSS and the graph
/// script) and `site.json` (the input, for other tools). Ids that are unsafe in file names are
/// encoded (see [`file_stem`]). Pages a previous run wrote for models that no longer exist are
/// deleted, but only in a directory this function created (it leaves a `.kura-docs` marker), so
/// pointing it at the wrong directory never deletes anything. Output is deterministic: the same
/// input gives the same bytes.
///
/// # Errors
///
/// [`DocsError::EmptyId`], [`DocsError::DuplicateId`] or [`DocsError::UnknownDependency`] when the
/// input is inconsistent (nothing is written then), and [`DocsError::Write`] when a file cannot
/// be written. A cycle in the dependencies is not an error: the pages show it.
pub fn write_site(site: &DocsSite, out_dir: &Path) -> Result<SiteSummary, DocsError> {
    let lineage = Lineage::build(site)?;
    let ours = out_dir.join(MARKER).is_file();
    let models_dir = out_dir.join("models");
    let sources_dir = out_dir.join("sources");
    let assets_dir = out_dir.join("assets");
    for dir in [out_dir, &models_dir, &sources_dir, &assets_dir] {
        fs::create_dir_all(dir).map_err(|source| DocsError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    write(
        &out_dir.join(MARKER),
        "written by kura docs; safe to delete with this directory\n",
    )?;
    write(&assets_dir.join("kura-docs.css"), CSS)?;
    write(&assets_dir.join("kura-docs.js"), JS)?;
    let json = serde_json::to_string_pretty(site).expect("the input types serialise to JSON");
    write(&out_dir.join("site.json"), &json)?;

    let index = out_dir.join("index.html");
    write(&index, &index_page(site, &lineage))?;
    let mut model_pages = Vec::with_capacity(site.models.len());
    for model in &site.models {
        let path = models_dir.join(format!("{}.html", file_stem(&model.id)));
        write(&path, &model_page(site, &lineage, model))?;
        model_pages.push(path);
    }
    let mut source_pages = Vec::with_capacity(site.sources.len());
    for source in &site.sources {
        let path = sources_dir.join(format!("{}.html", file_stem(&source.id)));
        write(&path, &source_page(site, &lineage, source))?;
        source_pages.push(path);
    }
    if ours {
        remove_stale(&models_dir, &model_pages)?;
        remove_stale(&sources_dir, &source_pages)?;
    }
    Ok(SiteSummary {
        pages: 1 + model_pages.len() + source_pages.len(),
        index,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), DocsError> {
    fs::write(path, contents).map_err(|source| DocsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Deletes the `.html` files in `dir` that this run did not write.
fn remove_stale(dir: &Path, keep: &[PathBuf]) -> Result<(), DocsError> {
    let error = |source| DocsError::Write {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.extension().is_some_and(|e| e == "html") && !keep.contains(&path) {
            fs::remove_file(&path).map_err(|source| DocsError::Write { path, source })?;
        }
    }
    Ok(())
}
