//! The objective line of a model and the output transform it implies.
//!
//! LightGBM applies the transform (`ObjectiveFunction::ConvertOutput`) only when asked for
//! predictions, never for raw scores or SHAP values; this mirrors its formulas term for term so
//! transformed predictions agree to the last bits, not just approximately.

/// The objective a model was trained with, reduced to what prediction needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Identity output: `regression`, `regression_l1`, `huber`, `fair`, `quantile`, `mape`;
    /// `sqrt` is `reg_sqrt` (output `sign(x) * x^2`).
    Regression { name: String, sqrt: bool },
    /// `binary sigmoid:s`: probability `1 / (1 + exp(-s x))`.
    Binary { sigmoid: f64 },
    /// `multiclass num_class:k`: softmax over the k raw scores.
    Multiclass { num_class: usize },
    /// `multiclassova num_class:k sigmoid:s`: one sigmoid per class.
    MulticlassOva { num_class: usize, sigmoid: f64 },
    /// `poisson`, `gamma`, `tweedie`: output `exp(x)`.
    Exponential { name: String },
    /// `cross_entropy`: sigmoid with slope 1.
    CrossEntropy,
    /// `cross_entropy_lambda`: `log(1 + exp(x))`.
    CrossEntropyLambda,
    /// `lambdarank`, `rank_xendcg`: scores are used as is.
    Ranking { name: String },
    /// No objective line (custom objective): raw scores are the output.
    Custom,
}

impl Objective {
    /// Parses the value of the `objective=` header line; `None` for an unknown name.
    pub(crate) fn parse(value: &str) -> Option<Objective> {
        let mut parts = value.split_whitespace();
        let name = parts.next()?;
        let mut sigmoid = 1.0;
        let mut num_class = 1usize;
        let mut sqrt = false;
        for p in parts {
            if let Some(v) = p.strip_prefix("sigmoid:") {
                sigmoid = v.parse().ok()?;
            } else if let Some(v) = p.strip_prefix("num_class:") {
                num_class = v.parse().ok()?;
            } else if p == "sqrt" {
                sqrt = true;
            }
        }
        Some(match name {
            "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile"
            | "mape" => Objective::Regression {
                name: name.to_string(),
                sqrt,
            },
            "binary" => Objective::Binary { sigmoid },
            "multiclass" | "softmax" => Objective::Multiclass { num_class },
            "multiclassova" | "multiclass_ova" | "ova" | "ovr" => {
                Objective::MulticlassOva { num_class, sigmoid }
            }
            "poisson" | "gamma" | "tweedie" => Objective::Exponential {
                name: name.to_string(),
            },
            "cross_entropy" | "xentropy" => Objective::CrossEntropy,
            "cross_entropy_lambda" | "xentlambda" => Objective::CrossEntropyLambda,
            "lambdarank" | "rank_xendcg" => Objective::Ranking {
                name: name.to_string(),
            },
            _ => return None,
        })
    }

    /// Whether predictions are class probabilities.
    pub fn is_classification(&self) -> bool {
        matches!(
            self,
            Objective::Binary { .. }
                | Objective::Multiclass { .. }
                | Objective::MulticlassOva { .. }
        )
    }

    /// Turns one row's raw scores into predictions, in place.
    pub fn transform(&self, scores: &mut [f64]) {
        match self {
            Objective::Regression { sqrt: true, .. } => {
                for s in scores.iter_mut() {
                    *s = s.signum() * *s * *s;
                }
            }
            Objective::Binary { sigmoid } | Objective::MulticlassOva { sigmoid, .. } => {
                for s in scores.iter_mut() {
                    *s = 1.0 / (1.0 + (-sigmoid * *s).exp());
                }
            }
            Objective::Multiclass { .. } => softmax(scores),
            Objective::Exponential { .. } => {
                for s in scores.iter_mut() {
                    *s = s.exp();
                }
            }
            Objective::CrossEntropy => {
                for s in scores.iter_mut() {
                    *s = 1.0 / (1.0 + (-*s).exp());
                }
            }
            Objective::CrossEntropyLambda => {
                for s in scores.iter_mut() {
                    *s = s.exp().ln_1p();
                }
            }
            Objective::Regression { sqrt: false, .. }
            | Objective::Ranking { .. }
            | Objective::Custom => {}
        }
    }
}

/// LightGBM's `Common::Softmax`: subtract the max, exponentiate, divide by the sum.
fn softmax(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}
