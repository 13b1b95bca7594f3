//! The method chooser: the decision table of issue 7, from how the target was chosen to a method.
//!
//! | who is targeted | outcome predictable | targeting rule predictable | similar-trend group | threshold | method |
//! |---|---|---|---|---|---|
//! | at random | - | - | - | - | A/B test |
//! | by people | yes | - | - | - | regression |
//! | by people | no | yes | - | - | propensity score matching |
//! | by people | no | no | yes | - | CausalImpact |
//! | by people | no | no | no | yes | regression discontinuity |
//!
//! The questions are asked in table order and later ones only when earlier ones say no, so the
//! CLI can prompt one question at a time with [`next_question`] and stop as soon as a method fits.

use crate::{Result, StatsError};
use serde::Serialize;

/// How the targeted units were selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// By a random draw (the experiment controls who is treated).
    Random,
    /// By people: a team decided who gets the measure.
    ByPeople,
}

/// The answers to the table's questions; `None` means "not asked yet".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct DesignAnswers {
    pub assignment: Option<Assignment>,
    /// Can the outcome be predicted from observed covariates (so a regression can adjust)?
    pub outcome_predictable: Option<bool>,
    /// Can the targeting rule be predicted from observed covariates (so a propensity model fits)?
    pub targeting_rule_predictable: Option<bool>,
    /// Is there an untreated series with a trend similar to the treated one before the start?
    pub similar_trend_group: Option<bool>,
    /// Was treatment decided by a threshold on a continuous value (a score, an age, a date)?
    pub threshold_on_continuous: Option<bool>,
}

/// The five estimators of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    AbTest,
    Regression,
    PropensityScoreMatching,
    CausalImpact,
    RegressionDiscontinuity,
}

impl Method {
    /// The stable name used in `_kura.experiments` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AbTest => "ab_test",
            Method::Regression => "regression",
            Method::PropensityScoreMatching => "propensity_score_matching",
            Method::CausalImpact => "causal_impact",
            Method::RegressionDiscontinuity => "regression_discontinuity",
        }
    }
}

/// One question of the decision table, for prompting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    Assignment,
    OutcomePredictable,
    TargetingRulePredictable,
    SimilarTrendGroup,
    ThresholdOnContinuous,
}

impl Question {
    /// The question as a person reads it on the terminal.
    pub fn text(self) -> &'static str {
        match self {
            Question::Assignment => "Who chose the targeted units: a random draw, or people?",
            Question::OutcomePredictable => {
                "Can the outcome be predicted well from the covariates you have?"
            }
            Question::TargetingRulePredictable => {
                "Can the rule people used to pick targets be predicted from the covariates?"
            }
            Question::SimilarTrendGroup => {
                "Is there an untreated group whose metric moved like the treated group's before the start?"
            }
            Question::ThresholdOnContinuous => {
                "Was treatment decided by a threshold on a continuous value (score, age, amount)?"
            }
        }
    }
}

/// The chosen method and why, in words a reviewer can check against the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodChoice {
    pub method: Method,
    pub reason: String,
}

/// The next unanswered question on the path through the table, or `None` when the answers
/// already decide (a method or "none fits").
pub fn next_question(a: &DesignAnswers) -> Option<Question> {
    let steps = [
        (Question::OutcomePredictable, a.outcome_predictable),
        (
            Question::TargetingRulePredictable,
            a.targeting_rule_predictable,
        ),
        (Question::SimilarTrendGroup, a.similar_trend_group),
        (Question::ThresholdOnContinuous, a.threshold_on_continuous),
    ];
    match a.assignment {
        None => Some(Question::Assignment),
        Some(Assignment::Random) => None,
        Some(Assignment::ByPeople) => {
            for (q, ans) in steps {
                match ans {
                    None => return Some(q),
                    Some(true) => return None,
                    Some(false) => {}
                }
            }
            None
        }
    }
}

/// Chooses the method from the answers, following the table row by row.
///
/// # Errors
/// [`StatsError::InvalidArgument`] when a question on the path is unanswered;
/// [`StatsError::NoMethodFits`] when every answer on the path is "no".
pub fn choose_method(a: &DesignAnswers) -> Result<MethodChoice> {
    if let Some(q) = next_question(a) {
        return Err(StatsError::InvalidArgument {
            name: format!("{q:?}"),
            message: format!("unanswered: {}", q.text()),
            hint: "answer the question (flag or prompt) so the method can be chosen".into(),
        });
    }
    let choice = |method, reason: &str| {
        Ok(MethodChoice {
            method,
            reason: reason.to_string(),
        })
    };
    if a.assignment == Some(Assignment::Random) {
        return choice(
            Method::AbTest,
            "targets were assigned at random, so a randomised controlled trial (A/B test) compares \
             the groups directly: randomisation balances observed and unobserved differences",
        );
    }
    if a.outcome_predictable == Some(true) {
        return choice(
            Method::Regression,
            "targets were chosen by people, but the outcome is predictable from the covariates, so \
             a regression with the treatment and those covariates adjusts for the selection",
        );
    }
    if a.targeting_rule_predictable == Some(true) {
        return choice(
            Method::PropensityScoreMatching,
            "targets were chosen by people and the outcome is not predictable, but the targeting \
             rule is: a propensity model of that rule lets each treated unit be matched to \
             similar untreated units",
        );
    }
    if a.similar_trend_group == Some(true) {
        return choice(
            Method::CausalImpact,
            "neither the outcome nor the targeting rule is predictable, but an untreated group \
             moved like the treated one before the start: CausalImpact uses it to forecast the \
             counterfactual after the start",
        );
    }
    if a.threshold_on_continuous == Some(true) {
        return choice(
            Method::RegressionDiscontinuity,
            "treatment was decided by a threshold on a continuous value: units just either side \
             of the cutoff are comparable, so the jump at the cutoff is the effect \
             (regression discontinuity)",
        );
    }
    Err(StatsError::NoMethodFits {
        reason: "targets were chosen by people, and neither the outcome nor the targeting rule is \
                 predictable, there is no untreated group with a similar trend, and no threshold \
                 decided treatment"
            .into(),
        hint: "randomise the next rollout (an A/B test), or collect covariates that explain who \
               was targeted"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_people(o: bool, t: bool, s: bool, th: bool) -> DesignAnswers {
        DesignAnswers {
            assignment: Some(Assignment::ByPeople),
            outcome_predictable: Some(o),
            targeting_rule_predictable: Some(t),
            similar_trend_group: Some(s),
            threshold_on_continuous: Some(th),
        }
    }

    #[test]
    fn every_row_of_the_table() {
        let random = DesignAnswers {
            assignment: Some(Assignment::Random),
            ..Default::default()
        };
        assert_eq!(choose_method(&random).map(|c| c.method), Ok(Method::AbTest));
        // Later answers must not matter once an earlier one decides.
        for &(t, s, th) in &[(false, false, false), (true, true, true)] {
            assert_eq!(
                choose_method(&by_people(true, t, s, th)).map(|c| c.method),
                Ok(Method::Regression)
            );
        }
        assert_eq!(
            choose_method(&by_people(false, true, false, true)).map(|c| c.method),
            Ok(Method::PropensityScoreMatching)
        );
        assert_eq!(
            choose_method(&by_people(false, false, true, true)).map(|c| c.method),
            Ok(Method::CausalImpact)
        );
        assert_eq!(
            choose_method(&by_people(false, false, false, true)).map(|c| c.method),
            Ok(Method::RegressionDiscontinuity)
        );
        assert!(matches!(
            choose_method(&by_people(false, false, false, false)),
            Err(StatsError::NoMethodFits { .. })
        ));
    }

    #[test]
    fn questions_are_asked_in_table_order_and_only_when_needed() {
        let mut a = DesignAnswers::default();
        assert_eq!(next_question(&a), Some(Question::Assignment));
        assert!(matches!(
            choose_method(&a),
            Err(StatsError::InvalidArgument { .. })
        ));
        a.assignment = Some(Assignment::ByPeople);
        assert_eq!(next_question(&a), Some(Question::OutcomePredictable));
        a.outcome_predictable = Some(false);
        assert_eq!(next_question(&a), Some(Question::TargetingRulePredictable));
        a.targeting_rule_predictable = Some(true);
        assert_eq!(next_question(&a), None);
        let c = choose_method(&a).expect("decided");
        assert!(c.reason.contains("propensity"));
    }
}
