//! SHAP figures as SVG: the importance bar chart and the beeswarm summary, drawn the way
//! shap's `summary_plot` draws them (features sorted by mean |SHAP|, one dot per row placed at
//! its SHAP value, stacked where dots crowd, coloured from low (blue) to high (red) feature
//! value, grey for missing values).
//!
//! Hand-written SVG: a text format keeps the figures small, diffable and testable; the CLI
//! rasterises them when a PNG is asked for.

use std::fmt::Write;

use crate::matrix::DenseMatrix;
use crate::shap::ShapValues;

const WIDTH: f64 = 860.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 90.0;
const TOP: f64 = 40.0;
const ROW: f64 = 28.0;
const BOTTOM: f64 = 50.0;
/// Features shown, most important first (shap's default `max_display`).
const MAX_DISPLAY: usize = 20;
/// Rows drawn in a beeswarm; more are sampled evenly (a figure of 100 k dots says no more).
const MAX_DOTS: usize = 2000;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn header(out: &mut String, height: f64, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#fff"/><text x="{LEFT}" y="22" font-size="15">{}</text>"##,
        escape(title)
    );
}

/// The x axis from `lo` to `hi` at the bottom of `rows` feature rows, with a label.
fn x_axis(out: &mut String, rows: usize, (lo, hi): (f64, f64), label: &str) {
    let y = TOP + rows as f64 * ROW;
    let px = |v: f64| LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#333"/>"##,
        WIDTH - RIGHT
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * f64::from(k) / 4.0;
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#333"/><text x="{0:.1}" y="{3:.1}" font-size="11" text-anchor="middle">{4}</text>"##,
            px(v),
            y,
            y + 4.0,
            y + 17.0,
            fmt_num(v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        y + 38.0,
        escape(label)
    );
}

fn feature_label(out: &mut String, i: usize, name: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"#,
        LEFT - 8.0,
        TOP + (i as f64 + 0.5) * ROW + 4.0,
        escape(name)
    );
}

/// Feature indices by descending importance, at most [`MAX_DISPLAY`].
fn order(importance: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..importance.len()).collect();
    idx.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]).then(a.cmp(&b)));
    idx.truncate(MAX_DISPLAY);
    idx
}

/// A horizontal bar per feature: mean |SHAP value|, largest on top.
pub fn importance_svg(names: &[String], mean_abs: &[f64], title: &str) -> String {
    let idx = order(mean_abs);
    let height = TOP + idx.len() as f64 * ROW + BOTTOM;
    let max = idx
        .first()
        .map_or(1.0, |&j| mean_abs[j])
        .max(f64::MIN_POSITIVE);
    let mut out = String::new();
    header(&mut out, height, title);
    let span = WIDTH - LEFT - RIGHT;
    for (i, &j) in idx.iter().enumerate() {
        feature_label(&mut out, i, &names[j]);
        let w = mean_abs[j] / max * span;
        let y = TOP + i as f64 * ROW + 5.0;
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="#1e88e5"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            ROW - 10.0,
            LEFT + w + 4.0,
            y + ROW / 2.0,
            fmt_num(mean_abs[j])
        );
    }
    x_axis(&mut out, idx.len(), (0.0, max), "mean(|SHAP value|)");
    out.push_str("</svg>\n");
    out
}

/// The colour of a feature value's position in [0, 1] (blue, through purple, to red).
fn colour(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let (r0, g0, b0) = (0.0, 138.0, 251.0);
    let (r1, g1, b1) = (255.0, 0.0, 82.0);
    format!(
        "#{:02x}{:02x}{:02x}",
        (r0 + (r1 - r0) * t) as u8,
        (g0 + (g1 - g0) * t) as u8,
        (b0 + (b1 - b0) * t) as u8
    )
}

/// The 5th and 95th percentiles of the finite values (shap's colour range, robust to outliers).
fn colour_range(values: &mut Vec<f64>) -> (f64, f64) {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return (0.0, 1.0);
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.05), at(0.95));
    if hi > lo {
        (lo, hi)
    } else {
        (values[0], values[values.len() - 1].max(values[0] + 1e-12))
    }
}

/// One dot per row (sampled to at most [`MAX_DOTS`]) and feature, for output `output` of a
/// multiclass model (0 otherwise).
pub fn beeswarm_svg(
    shap: &ShapValues,
    x: &DenseMatrix,
    names: &[String],
    output: usize,
    title: &str,
) -> String {
    let importance = shap.mean_abs().get(output).cloned().unwrap_or_default();
    let idx = order(&importance);
    let step = shap.rows().div_ceil(MAX_DOTS).max(1);
    let rows: Vec<usize> = (0..shap.rows()).step_by(step).collect();
    let mut lo = 0f64;
    let mut hi = 0f64;
    for &r in &rows {
        for &j in &idx {
            let v = shap.get(r, output, j);
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let px = |v: f64| LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);

    let height = TOP + idx.len() as f64 * ROW + BOTTOM;
    let mut out = String::new();
    header(&mut out, height, title);
    let zero = px(0.0);
    let _ = writeln!(
        out,
        r##"<line x1="{zero:.1}" x2="{zero:.1}" y1="{TOP}" y2="{:.1}" stroke="#999"/>"##,
        TOP + idx.len() as f64 * ROW
    );
    for (i, &j) in idx.iter().enumerate() {
        feature_label(&mut out, i, &names[j]);
        let centre = TOP + (i as f64 + 0.5) * ROW;
        let mut feature_values: Vec<f64> = rows.iter().map(|&r| x.get(r, j)).collect();
        let (vlo, vhi) = colour_range(&mut feature_values);
        // Stack dots that fall in the same 3-pixel bin above and below the row's centre line.
        let mut crowd: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
        for &r in &rows {
            let s = shap.get(r, output, j);
            let cx = px(s);
            let n = crowd.entry((cx / 3.0) as i64).or_insert(0);
            let offset =
                ((*n as f64 + 1.0) / 2.0).floor() * if n.is_multiple_of(2) { 1.0 } else { -1.0 };
            *n += 1;
            let cy = centre + (offset * 1.6).clamp(-ROW / 2.0 + 2.0, ROW / 2.0 - 2.0);
            let v = x.get(r, j);
            let fill = if v.is_finite() {
                colour((v - vlo) / (vhi - vlo))
            } else {
                "#bbbbbb".to_string()
            };
            let _ = writeln!(
                out,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="2.2" fill="{fill}" fill-opacity="0.8"/>"#
            );
        }
    }
    // The colour bar: low to high feature value.
    let bar_x = WIDTH - RIGHT + 30.0;
    let bar_h = (idx.len() as f64 * ROW).max(60.0);
    for k in 0..20 {
        let t = 1.0 - f64::from(k) / 19.0;
        let _ = writeln!(
            out,
            r#"<rect x="{bar_x:.1}" y="{:.1}" width="10" height="{:.1}" fill="{}"/>"#,
            TOP + f64::from(k) * bar_h / 20.0,
            bar_h / 20.0 + 0.5,
            colour(t)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="10">high</text><text x="{:.1}" y="{:.1}" font-size="10">low</text>"#,
        bar_x + 13.0,
        TOP + 8.0,
        bar_x + 13.0,
        TOP + bar_h
    );
    x_axis(
        &mut out,
        idx.len(),
        (lo, hi),
        "SHAP value (impact on the model's raw output)",
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_sorted_and_names_escaped() {
        let names = vec!["a<b".to_string(), "big".to_string(), "small".to_string()];
        let svg = importance_svg(&names, &[0.5, 2.0, 0.1], "importance");
        let big = svg.find(">big<").expect("big bar");
        let a = svg.find(">a&lt;b<").expect("escaped name");
        let small = svg.find(">small<").expect("small bar");
        assert!(big < a && a < small, "descending order");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn colours_run_from_blue_to_red() {
        assert_eq!(colour(0.0), "#008afb");
        assert_eq!(colour(1.0), "#ff0052");
        assert_eq!(colour(7.0), colour(1.0));
    }
}
