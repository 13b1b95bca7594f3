//! Plain-text rendering of plans and reports, for `kura experiment design/analyze` on a terminal.
//!
//! The library never prints; it returns the text so the binary decides where it goes. Layouts
//! follow what analysts know: CausalImpact's "Average / Cumulative" summary table, rdrobust's
//! three-row table, a statsmodels-like coefficient table with both interval flavours labelled.

use crate::analyze::{AnalysisReport, AnalysisResult};
use crate::causal_impact::CausalImpactResult;
use crate::power::SampleSizePlan;
use crate::result::{Estimate, Reference};
use std::fmt::Write;

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn reference(r: Reference) -> &'static str {
    match r {
        Reference::Normal => "normal",
        Reference::StudentT => "t",
    }
}

/// One estimate as a block: effect, SE, interval (labelled by distribution), p-value.
pub fn render_estimate(e: &Estimate) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", e.method);
    let _ = writeln!(s, "  effect          {:.6}", e.effect);
    let _ = writeln!(s, "  std. error      {:.6}", e.std_error);
    let _ = writeln!(
        s,
        "  {:.0}% CI ({})   [{:.6}, {:.6}]",
        100.0 * e.ci.level,
        reference(e.ci.reference),
        e.ci.lower,
        e.ci.upper
    );
    match e.df {
        Some(df) => {
            let _ = writeln!(s, "  statistic       {:.4} (df {:.2})", e.statistic, df);
        }
        None => {
            let _ = writeln!(s, "  statistic       {:.4}", e.statistic);
        }
    }
    // A p-value below the printed precision is shown in scientific notation, not as 0.
    if e.p_value != 0.0 && e.p_value < 1e-6 {
        let _ = writeln!(s, "  p-value         {:.2e}", e.p_value);
    } else {
        let _ = writeln!(s, "  p-value         {:.6}", e.p_value);
    }
    for (k, v) in &e.diagnostics {
        // Counts (n_treated, n_control, ...) are whole numbers: print them as such.
        if v.fract() == 0.0 && v.abs() < 1e15 {
            let _ = writeln!(s, "  {k:<15} {v:.0}");
        } else {
            let _ = writeln!(s, "  {k:<15} {v:.6}");
        }
    }
    for w in &e.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    s
}

/// The sample-size plan of `kura experiment design`.
pub fn render_plan(p: &SampleSizePlan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "sample size per group");
    let _ = writeln!(s, "  control         {}", p.n_control);
    let _ = writeln!(s, "  treatment       {}", p.n_treatment);
    let _ = writeln!(s, "  total           {}", p.n_total);
    let _ = writeln!(
        s,
        "  effect size     {:.4} ({})",
        p.effect_size, p.effect_size_kind
    );
    let _ = writeln!(s, "  achieved power  {:.4}", p.achieved_power);
    if let Some(d) = p.days {
        let _ = writeln!(s, "  test length     {d} days");
    }
    let _ = writeln!(s, "  reference       {}", p.reference);
    s
}

/// CausalImpact's summary table, as R prints it.
pub fn render_causal_impact(r: &CausalImpactResult) -> String {
    let mut s = String::new();
    let level = 100.0 * (1.0 - r.alpha);
    let (a, c) = (&r.average, &r.cumulative);
    let _ = writeln!(s, "Posterior inference {{CausalImpact}}");
    let _ = writeln!(s, "{:<26}{:>22}{:>22}", "", "Average", "Cumulative");
    let row = |s: &mut String, name: &str, x: f64, y: f64| {
        let _ = writeln!(s, "{name:<26}{x:>22.2}{y:>22.2}");
    };
    row(&mut s, "Actual", a.actual, c.actual);
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        "Prediction (s.d.)",
        format!("{:.2} ({:.2})", a.predicted, a.predicted_sd),
        format!("{:.2} ({:.2})", c.predicted, c.predicted_sd)
    );
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        format!("{level:.0}% CI"),
        format!("[{:.2}, {:.2}]", a.predicted_lower, a.predicted_upper),
        format!("[{:.2}, {:.2}]", c.predicted_lower, c.predicted_upper)
    );
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        "Absolute effect (s.d.)",
        format!("{:.2} ({:.2})", a.abs_effect, a.abs_effect_sd),
        format!("{:.2} ({:.2})", c.abs_effect, c.abs_effect_sd)
    );
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        format!("{level:.0}% CI"),
        format!("[{:.2}, {:.2}]", a.abs_effect_lower, a.abs_effect_upper),
        format!("[{:.2}, {:.2}]", c.abs_effect_lower, c.abs_effect_upper)
    );
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        "Relative effect",
        pct(a.rel_effect),
        pct(c.rel_effect)
    );
    let _ = writeln!(
        s,
        "{:<26}{:>22}{:>22}",
        format!("{level:.0}% CI"),
        format!("[{}, {}]", pct(a.rel_effect_lower), pct(a.rel_effect_upper)),
        format!("[{}, {}]", pct(c.rel_effect_lower), pct(c.rel_effect_upper))
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Posterior tail-area probability p: {:.5}", r.p_value);
    let _ = writeln!(
        s,
        "Posterior prob. of a causal effect: {:.2}%",
        100.0 * (1.0 - r.p_value)
    );
    let _ = writeln!(s, "({} posterior draws after burn-in)", r.n_samples);
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

/// A whole `kura experiment analyze` report.
pub fn render_report(report: &AnalysisReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "method: {}", report.method.as_str());
    let m = &report.missing;
    let _ = writeln!(
        s,
        "rows: {} read, {} dropped for missing values",
        m.rows_read, m.rows_dropped
    );
    for (col, n) in &m.missing_by_column {
        let _ = writeln!(s, "  {col}: {n} missing");
    }
    let _ = writeln!(s);
    match &report.result {
        AnalysisResult::AbContinuous { estimate, cuped } => {
            s.push_str(&render_estimate(estimate));
            if let Some(c) = cuped {
                let _ = writeln!(s);
                s.push_str(&render_estimate(&c.estimate));
            }
        }
        AnalysisResult::AbConversion {
            estimate,
            chi_square,
            chi_square_yates,
        } => {
            s.push_str(&render_estimate(estimate));
            for (name, c) in [
                ("chi-square", chi_square),
                ("chi-square (Yates)", chi_square_yates),
            ] {
                let _ = writeln!(
                    s,
                    "{name}: statistic {:.6}, df {}, p-value {:.6}",
                    c.statistic, c.dof, c.p_value
                );
            }
        }
        AnalysisResult::Regression { estimate, fit } => {
            s.push_str(&render_estimate(estimate));
            for table in &fit.tables {
                let _ = writeln!(s, "\ncoefficients ({:?} standard errors)", table.cov_type);
                let _ = writeln!(
                    s,
                    "{:<14}{:>12}{:>12}{:>12}{:>26}{:>26}",
                    "", "coef", "std err", "p (t)", "CI (t)", "CI (normal)"
                );
                for r in &table.rows {
                    let _ = writeln!(
                        s,
                        "{:<14}{:>12.4}{:>12.4}{:>12.4}{:>26}{:>26}",
                        r.name,
                        r.estimate,
                        r.std_error,
                        r.p_value_t,
                        format!("[{:.4}, {:.4}]", r.ci_t.lower, r.ci_t.upper),
                        format!("[{:.4}, {:.4}]", r.ci_normal.lower, r.ci_normal.upper)
                    );
                }
            }
        }
        AnalysisResult::PropensityScoreMatching(r) => {
            s.push_str(&render_estimate(&r.estimate));
            let _ = writeln!(
                s,
                "\nmatched {} of {} treated units to {} controls ({} pairs)",
                r.n_treated_matched,
                r.n_treated,
                r.n_controls_used,
                r.pairs.len()
            );
            let _ = writeln!(s, "\nbalance (standardised mean differences)");
            let _ = writeln!(s, "{:<16}{:>12}{:>12}", "", "before", "after");
            let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.4}"));
            for b in &r.balance {
                let _ = writeln!(
                    s,
                    "{:<16}{:>12}{:>12}",
                    b.variable,
                    f(b.smd_before),
                    f(b.smd_after)
                );
            }
        }
        AnalysisResult::CausalImpact(r) => s.push_str(&render_causal_impact(r)),
        AnalysisResult::RegressionDiscontinuity(r) => {
            let _ = writeln!(
                s,
                "bandwidth ({}): h = {:.4}, b = {:.4}; observations left/right {}/{}, within h {}/{}",
                r.bandwidth_selector, r.h, r.b, r.n_left, r.n_right, r.n_h_left, r.n_h_right
            );
            let _ = writeln!(
                s,
                "{:<16}{:>12}{:>12}{:>10}{:>28}",
                "", "coef", "std err", "p", "CI"
            );
            for (name, e) in [
                ("conventional", &r.conventional),
                ("bias-corrected", &r.bias_corrected),
                ("robust", &r.robust),
            ] {
                let _ = writeln!(
                    s,
                    "{:<16}{:>12.4}{:>12.4}{:>10.4}{:>28}",
                    name,
                    e.effect,
                    e.std_error,
                    e.p_value,
                    format!("[{:.4}, {:.4}]", e.ci.lower, e.ci.upper)
                );
            }
            for w in &r.warnings {
                let _ = writeln!(s, "warning: {w}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::{sample_size, MetricKind, SampleSizeRequest};

    #[test]
    fn plan_text_has_sizes_and_days() {
        let plan = sample_size(&SampleSizeRequest {
            metric: MetricKind::Continuous { sd: 10.0 },
            mde: 2.0,
            alpha: 0.05,
            power: 0.8,
            treatment_share: 0.5,
            eligible_units_per_day: Some(100.0),
        })
        .expect("plan");
        let text = render_plan(&plan);
        assert!(text.contains("control         394"), "{text}");
        assert!(text.contains("test length     8 days"), "{text}");
    }
}
