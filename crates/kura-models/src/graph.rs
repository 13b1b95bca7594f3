//! The dependency graph between models, found from the tables each one reads, and the
//! `--select` language over it.

use std::collections::{BTreeSet, VecDeque};

use crate::error::{ModelError, ModelProblem};
use crate::project::ModelProject;

/// Models as nodes (their index in the project), edges from each model to those it reads.
#[derive(Debug, Clone)]
pub struct ModelGraph {
    /// Models each model reads.
    pub upstream: Vec<Vec<usize>>,
    /// Models that read each model.
    pub downstream: Vec<Vec<usize>>,
    /// Every model after all it reads; ties in name order.
    pub order: Vec<usize>,
}

impl ModelGraph {
    /// Builds the graph.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] naming a cycle, at the reference that closes it.
    pub fn build(project: &ModelProject) -> Result<Self, ModelError> {
        let n = project.models.len();
        let mut upstream = vec![Vec::new(); n];
        let mut downstream = vec![Vec::new(); n];
        for (i, model) in project.models.iter().enumerate() {
            for r in &model.reads {
                if let Some(j) = project.index_of(&r.table) {
                    upstream[i].push(j);
                    downstream[j].push(i);
                }
            }
        }
        let mut waiting: Vec<usize> = upstream.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &d in &downstream[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        if order.len() < n {
            let stuck: Vec<usize> = (0..n).filter(|&i| waiting[i] > 0).collect();
            return Err(cycle_error(project, &upstream, &stuck));
        }
        Ok(Self {
            upstream,
            downstream,
            order,
        })
    }

    /// Everything upstream (`up`) or downstream of `start`, not including it.
    pub fn reachable(&self, start: usize, up: bool) -> BTreeSet<usize> {
        let edges = if up { &self.upstream } else { &self.downstream };
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<usize> = edges[start].iter().copied().collect();
        while let Some(i) = queue.pop_front() {
            if seen.insert(i) {
                queue.extend(edges[i].iter().copied());
            }
        }
        seen
    }

    /// The models `selectors` name; all models when there are none. A selector is a name
    /// (`orders` or `marts.orders`), a dataset (`marts.*`), a tag (`tag:finance`), and may
    /// take `+` before (with everything upstream) or after (with everything downstream).
    ///
    /// # Errors
    /// [`ModelError::NoMatch`] for a selector that names nothing.
    pub fn select(
        &self,
        project: &ModelProject,
        selectors: &[String],
    ) -> Result<BTreeSet<usize>, ModelError> {
        if selectors.is_empty() {
            return Ok((0..project.models.len()).collect());
        }
        let mut chosen = BTreeSet::new();
        for selector in selectors.iter().flat_map(|s| s.split(',')).map(str::trim) {
            if selector.is_empty() {
                continue;
            }
            let with_up = selector.starts_with('+');
            let with_down = selector.ends_with('+');
            let core = selector.trim_start_matches('+').trim_end_matches('+');
            let matched: Vec<usize> = project
                .models
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    if let Some(tag) = core.strip_prefix("tag:") {
                        m.header.tags.iter().any(|t| t == tag)
                    } else if let Some(dataset) = core.strip_suffix(".*") {
                        m.name.dataset == dataset
                    } else if core.contains('.') {
                        m.name.to_string() == core
                    } else {
                        m.name.table == core
                    }
                })
                .map(|(i, _)| i)
                .collect();
            if matched.is_empty() {
                return Err(ModelError::NoMatch {
                    selector: selector.to_string(),
                });
            }
            for i in matched {
                chosen.insert(i);
                if with_up {
                    chosen.extend(self.reachable(i, true));
                }
                if with_down {
                    chosen.extend(self.reachable(i, false));
                }
            }
        }
        Ok(chosen)
    }
}

/// Finds one cycle among `stuck` models and reports it where its last edge is written.
fn cycle_error(project: &ModelProject, upstream: &[Vec<usize>], stuck: &[usize]) -> ModelError {
    let stuck_set: BTreeSet<usize> = stuck.iter().copied().collect();
    // Walk upstream edges inside the stuck set until a model repeats: that loop is a cycle.
    let mut path = vec![stuck[0]];
    let mut position = std::collections::BTreeMap::from([(stuck[0], 0usize)]);
    loop {
        let last = *path.last().expect("path starts non-empty");
        let Some(&next) = upstream[last].iter().find(|j| stuck_set.contains(j)) else {
            break;
        };
        if let Some(&at) = position.get(&next) {
            let mut cycle: Vec<usize> = path[at..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            let names: Vec<String> = cycle
                .iter()
                .map(|&i| project.models[i].name.to_string())
                .collect();
            // The edge from the last model to the first closes the loop: report it there.
            let reader = &project.models[cycle[cycle.len() - 2]];
            let read = &project.models[cycle[cycle.len() - 1]].name;
            let (line, column) = reader
                .reads
                .iter()
                .find(|r| &r.table == read)
                .map_or((1, 1), |r| (r.line, r.column));
            return ModelError::Invalid(vec![ModelProblem {
                path: reader.path.clone(),
                line,
                column,
                message: format!(
                    "models depend on each other in a cycle: {}",
                    names.join(" -> ")
                ),
                hint: Some(
                    "a model cannot read itself through others; move the shared part into \
                     its own upstream model"
                        .into(),
                ),
            }]);
        }
        position.insert(next, path.len());
        path.push(next);
    }
    ModelError::Invalid(vec![ModelProblem {
        path: project.models[stuck[0]].path.clone(),
        line: 1,
        column: 1,
        message: "models depend on each other in a cycle".into(),
        hint: None,
    }])
}
