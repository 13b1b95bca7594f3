//! SVG figures: CausalImpact's three panels and the RD plot.
//!
//! Hand-written SVG (no plotting dependency): the figures are a few lines, bands and labels,
//! and a text format keeps them diffable and testable. PNG is not produced here; a caller that
//! needs one can rasterise the SVG.

use crate::causal_impact::CausalImpactResult;
use crate::rdd::RdResult;
use std::fmt::Write;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;

/// One rectangular plotting area with its data ranges.
struct Panel {
    top: f64,
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Panel {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        self.top + self.height - (y - self.y.0) / (self.y.1 - self.y.0) * self.height
    }
}

/// Range of finite values, padded by 5% and never empty.
fn range<'a>(values: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    (lo - pad, hi + pad)
}

fn polyline(out: &mut String, p: &Panel, xs: &[f64], ys: &[f64], style: &str) {
    let pts: Vec<String> = xs
        .iter()
        .zip(ys)
        .filter(|(_, y)| y.is_finite())
        .map(|(x, y)| format!("{:.1},{:.1}", p.px(*x), p.py(*y)))
        .collect();
    let _ = writeln!(
        out,
        r#"<polyline fill="none" {style} points="{}"/>"#,
        pts.join(" ")
    );
}

fn band(out: &mut String, p: &Panel, xs: &[f64], lo: &[f64], hi: &[f64], fill: &str) {
    let mut pts: Vec<String> = xs
        .iter()
        .zip(hi)
        .map(|(x, y)| format!("{:.1},{:.1}", p.px(*x), p.py(*y)))
        .collect();
    pts.extend(
        xs.iter()
            .zip(lo)
            .rev()
            .map(|(x, y)| format!("{:.1},{:.1}", p.px(*x), p.py(*y))),
    );
    let _ = writeln!(
        out,
        r#"<polygon fill="{fill}" stroke="none" points="{}"/>"#,
        pts.join(" ")
    );
}

fn axes(out: &mut String, p: &Panel, title: &str) {
    let (x0, x1) = (p.px(p.x.0), p.px(p.x.1));
    let (y0, y1) = (p.py(p.y.0), p.py(p.y.1));
    let _ = writeln!(
        out,
        r##"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#888"/>"##,
        x1 - x0,
        y0 - y1
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" font-size="13" font-family="sans-serif">{title}</text>"#,
        x0,
        y1 - 6.0
    );
    for k in 0..=4 {
        let v = p.y.0 + (p.y.1 - p.y.0) * k as f64 / 4.0;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" font-family="sans-serif">{}</text>"#,
            x0 - 4.0,
            p.py(v) + 3.0,
            fmt_num(v)
        );
        let xv = p.x.0 + (p.x.1 - p.x.0) * k as f64 / 4.0;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" font-family="sans-serif">{}</text>"#,
            p.px(xv),
            y0 + 13.0,
            fmt_num(xv)
        );
    }
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn vline(out: &mut String, p: &Panel, x: f64) {
    let _ = writeln!(
        out,
        r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#555" stroke-dasharray="4 3"/>"##,
        p.px(x),
        p.py(p.y.1),
        p.py(p.y.0)
    );
}

fn hline(out: &mut String, p: &Panel, y: f64) {
    if y > p.y.0 && y < p.y.1 {
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{2:.1}" y2="{2:.1}" stroke="#999"/>"##,
            p.px(p.x.0),
            p.px(p.x.1),
            p.py(y)
        );
    }
}

/// CausalImpact's figure: original series with the counterfactual, pointwise effect, and
/// cumulative effect, each with its posterior interval and the intervention marked.
pub fn causal_impact_svg(r: &CausalImpactResult, title: &str) -> String {
    let s = &r.series;
    let n = s.actual.len();
    let xs: Vec<f64> = (0..n).map(|t| t as f64).collect();
    let xr = (0.0, (n.max(2) - 1) as f64);
    let cut = r.post_start as f64 - 0.5;
    let h = 200.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{}" viewBox="0 0 {WIDTH} {}">"#,
        3.0 * (h + 50.0) + 30.0,
        3.0 * (h + 50.0) + 30.0
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="15" font-family="sans-serif">{}</text>"#,
        escape(title)
    );
    let panels = [
        (
            "original",
            &s.actual,
            &s.pred_mean,
            &s.pred_lower,
            &s.pred_upper,
        ),
        (
            "pointwise",
            &s.point_effect,
            &s.point_effect,
            &s.point_effect_lower,
            &s.point_effect_upper,
        ),
        (
            "cumulative",
            &s.cum_effect,
            &s.cum_effect,
            &s.cum_effect_lower,
            &s.cum_effect_upper,
        ),
    ];
    for (i, (name, main, mean, lo, hi)) in panels.iter().enumerate() {
        let top = 40.0 + i as f64 * (h + 50.0);
        let p = Panel {
            top,
            height: h,
            x: xr,
            y: range(main.iter().chain(lo.iter()).chain(hi.iter())),
        };
        let (from, label) = match *name {
            "cumulative" => (r.post_start, "cumulative effect"),
            "pointwise" => (0, "pointwise effect"),
            _ => (0, "observed (black) and counterfactual prediction (blue)"),
        };
        band(
            &mut out,
            &p,
            &xs[from..],
            &lo[from..],
            &hi[from..],
            "#c6dbef",
        );
        axes(&mut out, &p, label);
        hline(&mut out, &p, 0.0);
        vline(&mut out, &p, cut);
        if *name == "original" {
            polyline(
                &mut out,
                &p,
                &xs,
                main,
                r##"stroke="#000" stroke-width="1.5""##,
            );
            polyline(
                &mut out,
                &p,
                &xs,
                mean,
                r##"stroke="#2171b5" stroke-width="1.5" stroke-dasharray="5 3""##,
            );
        } else {
            polyline(
                &mut out,
                &p,
                &xs[from..],
                &mean[from..],
                r##"stroke="#2171b5" stroke-width="1.5" stroke-dasharray="5 3""##,
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The RD plot: binned means of y on each side of the cutoff (equal-width bins) and the local
/// linear fits inside the bandwidth.
pub fn rd_svg(
    y: &[f64],
    x: &[f64],
    r: &RdResult,
    cutoff: f64,
    bins_per_side: usize,
    title: &str,
) -> String {
    let bins = bins_per_side.max(1);
    let xr = range(x.iter());
    let mut points: Vec<(f64, f64)> = Vec::new();
    for (lo, hi) in [(xr.0, cutoff), (cutoff, xr.1)] {
        let w = (hi - lo) / bins as f64;
        for b in 0..bins {
            let (a, z) = (lo + w * b as f64, lo + w * (b + 1) as f64);
            let vals: Vec<f64> = x
                .iter()
                .zip(y)
                .filter(|(xi, _)| **xi >= a && (**xi < z || (b + 1 == bins && **xi <= z)))
                .filter(|(xi, _)| (hi == cutoff) == (**xi < cutoff))
                .map(|(_, yi)| *yi)
                .collect();
            if !vals.is_empty() {
                points.push((0.5 * (a + z), vals.iter().sum::<f64>() / vals.len() as f64));
            }
        }
    }
    let fit = |beta: [f64; 2], from: f64, to: f64| -> [(f64, f64); 2] {
        [
            (from, beta[0] + beta[1] * (from - cutoff)),
            (to, beta[0] + beta[1] * (to - cutoff)),
        ]
    };
    let fl = fit(r.fit_left, (cutoff - r.h).max(xr.0), cutoff);
    let fr = fit(r.fit_right, cutoff, (cutoff + r.h).min(xr.1));
    let ys: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .chain(fl.iter().chain(&fr).map(|p| p.1))
        .collect();
    let p = Panel {
        top: 40.0,
        height: 380.0,
        x: xr,
        y: range(ys.iter()),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="460" viewBox="0 0 {WIDTH} 460">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="15" font-family="sans-serif">{}</text>"#,
        escape(title)
    );
    axes(
        &mut out,
        &p,
        &format!(
            "binned means and local linear fits (h = {:.3}); robust estimate {:.3} [{:.3}, {:.3}]",
            r.h, r.robust.effect, r.robust.ci.lower, r.robust.ci.upper
        ),
    );
    vline(&mut out, &p, cutoff);
    for (px, py) in &points {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#444"/>"##,
            p.px(*px),
            p.py(*py)
        );
    }
    for seg in [fl, fr] {
        polyline(
            &mut out,
            &p,
            &[seg[0].0, seg[1].0],
            &[seg[0].1, seg[1].1],
            r##"stroke="#cb181d" stroke-width="2""##,
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal_impact::{causal_impact, CausalImpactOptions};
    use crate::rdd::{regression_discontinuity, RdOptions};

    #[test]
    fn figures_are_well_formed_svg() {
        let y: Vec<f64> = (0..60)
            .map(|t| 10.0 + (t as f64 * 0.3).sin() + if t >= 45 { 2.0 } else { 0.0 })
            .collect();
        let x: Vec<f64> = (0..60).map(|t| 5.0 + (t as f64 * 0.3).sin()).collect();
        let opts = CausalImpactOptions {
            niter: 100,
            ..CausalImpactOptions::default()
        };
        let r = causal_impact(&y, &[("x", &x)], 45, &opts).expect("fit");
        let svg = causal_impact_svg(&r, "signups <test>");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polygon").count(), 3);
        assert!(svg.contains("&lt;test&gt;") && !svg.contains("NaN"));

        let xs: Vec<f64> = (0..200).map(|i| -1.0 + i as f64 / 100.0).collect();
        let ys: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v + if *v >= 0.0 { 1.0 } else { 0.0 } + ((i * 37 % 11) as f64 - 5.0) * 0.05
            })
            .collect();
        let rd = regression_discontinuity(&ys, &xs, &RdOptions::default()).expect("rd");
        let svg = rd_svg(&ys, &xs, &rd, 0.0, 10, "rd");
        assert_eq!(svg.matches("<circle").count(), 20);
        assert!(!svg.contains("NaN"));
    }
}
