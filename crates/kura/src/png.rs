//! Rasterising kura's SVG figures to PNG (for slides, chat and documents that take no SVG).
//!
//! Text is drawn with the system's fonts (`sans-serif` resolves through fontconfig's usual
//! directories); on a machine without any font the shapes are still drawn, the labels are not.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Renders an SVG document to PNG bytes at its own size.
pub fn svg_to_png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let mut options = resvg::usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = resvg::usvg::Tree::from_str(svg, &options).context("the figure is not valid SVG")?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("the figure has an empty size")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("encoding the PNG failed")
}

/// Writes a figure as `DIR/STEM.svg` and `DIR/STEM.png`, creating DIR, and returns both paths.
pub fn write_figure(dir: &Path, stem: &str, svg: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let svg_path = dir.join(format!("{stem}.svg"));
    std::fs::write(&svg_path, svg)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    let png_path = dir.join(format!("{stem}.png"));
    std::fs::write(&png_path, svg_to_png(svg)?)
        .with_context(|| format!("cannot write {}", png_path.display()))?;
    Ok((svg_path, png_path))
}
