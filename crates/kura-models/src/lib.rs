//! kura's SQL models: the project's `models/<dataset>/<name>.sql` files, the dependency
//! graph found by parsing them, and how they become views and tables.
//!
//! - [`ModelProject::load`] reads and parses every model, listing every problem with
//!   `file:line:column`; [`ModelGraph::build`] orders them and finds cycles.
//! - [`build::build`] materialises selected models in dependency order, independent ones at the
//!   same time, and records each deployment in `_kura.models`.
//! - [`plan::plan`] compares the project with what is deployed and classifies each change as
//!   breaking or not; [`plan::apply`] runs exactly that plan.

pub mod build;
pub mod docs;
mod error;
pub mod graph;
pub mod header;
pub mod lint;
pub mod plan;
pub mod project;
pub mod state;

pub use build::{BuildOptions, BuildReport, BuildResult, BuildStatus, Environment};
pub use error::{ModelError, ModelProblem};
pub use graph::ModelGraph;
pub use header::{Materialization, ModelHeader};
pub use plan::{Action, Impact, Plan, PlannedChange};
pub use project::{Model, ModelProject, Reference};
