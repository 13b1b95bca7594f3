//! Errors of the models layer. Problems in model files carry `file:line:column`, in the form
//! editors and CI annotate.

use std::fmt;
use std::path::PathBuf;

/// A problem in one model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProblem {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ModelProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// Everything the models layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The project's model files have problems; all of them are listed.
    #[error("{} problem{} in the project's models:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, render(.0))]
    Invalid(Vec<ModelProblem>),

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the saved plan is stale: {reason}")]
    StalePlan { reason: String },

    #[error("invalid plan file {}: {message}", path.display())]
    PlanFile { path: PathBuf, message: String },

    #[error("no model matches `{selector}`")]
    NoMatch { selector: String },

    #[error(transparent)]
    Engine(Box<kura_engine::EngineError>),
}

impl From<kura_engine::EngineError> for ModelError {
    fn from(e: kura_engine::EngineError) -> Self {
        ModelError::Engine(Box::new(e))
    }
}

fn render(problems: &[ModelProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ModelError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ModelError::Invalid(_) => {
                Some("nothing was run or changed; fix the files above".into())
            }
            ModelError::StalePlan { .. } => Some(
                "the project or the warehouse changed since the plan was made; run `kura plan` \
                 again, review it, and apply the new plan"
                    .into(),
            ),
            ModelError::NoMatch { .. } => Some(
                "select by name (orders), dataset (marts.*), tag (tag:finance), with + for \
                 upstream (+orders) or downstream (orders+); `kura models` lists them"
                    .into(),
            ),
            ModelError::Engine(e) => e.hint(),
            _ => None,
        }
    }
}
