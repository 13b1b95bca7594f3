//! The project's lineage as a graph: which model reads which model or source.
//!
//! [`Lineage::build`] checks the input once (unique ids, every dependency known), so pages can
//! link without failing. It also finds dependency cycles: `kura-models` rejects them before a
//! run, but docs are what you open to understand a broken project, so a cycle is shown and
//! reported on the page rather than refused.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::html::file_stem;
use crate::{DocsError, DocsSite};

/// What a node is, which decides its colour in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A loaded table no model builds.
    Source,
    /// A model in a staging dataset (`stg`, `staging`, `stg_*`), or named `stg_*`.
    Staging,
    /// A model in a mart dataset (`marts`, `mart_finance`).
    Mart,
    /// Any other model.
    Other,
}

impl Kind {
    /// Classifies a model by its id, following the layering convention `kura-lint` checks:
    /// the dataset (the part before the last `.`) names the layer.
    pub fn of_model(id: &str) -> Kind {
        let (dataset, name) = id.rsplit_once('.').unwrap_or(("", id));
        let dataset = dataset.rsplit('.').next().unwrap_or(dataset);
        let dataset = dataset.to_ascii_lowercase();
        if dataset == "stg"
            || dataset.starts_with("stg_")
            || dataset.starts_with("staging")
            || name.starts_with("stg_")
        {
            Kind::Staging
        } else if dataset.starts_with("mart") {
            Kind::Mart
        } else {
            Kind::Other
        }
    }

    /// The lowercase name used in CSS classes and the legend.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Staging => "staging",
            Kind::Mart => "mart",
            Kind::Other => "other",
        }
    }
}

/// One model or source in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id (`stg.orders`).
    pub id: String,
    /// What it is.
    pub kind: Kind,
    /// Its index in [`DocsSite::models`], or `None` for a source.
    pub model: Option<usize>,
    /// Its index in [`DocsSite::sources`], or `None` for a model.
    pub source: Option<usize>,
}

impl Node {
    /// The page of this node, relative to the site's root.
    pub fn href(&self) -> String {
        let dir = if self.model.is_some() {
            "models"
        } else {
            "sources"
        };
        format!("{dir}/{}.html", file_stem(&self.id))
    }
}

/// The checked lineage of a whole project.
#[derive(Debug, Clone)]
pub struct Lineage {
    /// Every model and source, sorted by id.
    pub nodes: Vec<Node>,
    /// For each node, the nodes it reads (sorted, without repeats).
    pub upstream: Vec<Vec<usize>>,
    /// For each node, the nodes that read it (sorted, without repeats).
    pub downstream: Vec<Vec<usize>>,
    /// Each set of nodes that depend on one another in a cycle (a self-dependency counts),
    /// sorted.
    pub cycles: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
}

/// A graph as the page script reads it (`assets/kura-docs.js`).
#[derive(Debug, Clone, Serialize)]
pub struct GraphJson {
    /// The nodes to draw, sorted by id.
    pub nodes: Vec<NodeJson>,
    /// Dependencies, from the read node to the reading one.
    pub edges: Vec<EdgeJson>,
}

/// A node as the page script reads it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeJson {
    /// Its id, also its label.
    pub id: String,
    /// Its colour.
    pub kind: Kind,
    /// Its page, relative to the page showing the graph.
    pub href: String,
    /// Whether this is the page's own model or source (drawn emphasised).
    pub focus: bool,
}

/// An edge as the page script reads it.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeJson {
    /// The id read.
    pub from: String,
    /// The id reading it.
    pub to: String,
}

impl Lineage {
    /// Builds the graph of `site`.
    ///
    /// # Errors
    ///
    /// [`DocsError::EmptyId`], [`DocsError::DuplicateId`] and [`DocsError::UnknownDependency`]
    /// when the input does not describe one consistent graph.
    pub fn build(site: &DocsSite) -> Result<Lineage, DocsError> {
        let mut nodes = Vec::with_capacity(site.models.len() + site.sources.len());
        for (i, model) in site.models.iter().enumerate() {
            if model.id.is_empty() {
                return Err(DocsError::EmptyId {
                    kind: "model",
                    position: i + 1,
                });
            }
            nodes.push(Node {
                id: model.id.clone(),
                kind: Kind::of_model(&model.id),
                model: Some(i),
                source: None,
            });
        }
        for (i, source) in site.sources.iter().enumerate() {
            if source.id.is_empty() {
                return Err(DocsError::EmptyId {
                    kind: "source",
                    position: i + 1,
                });
            }
            nodes.push(Node {
                id: source.id.clone(),
                kind: Kind::Source,
                model: None,
                source: Some(i),
            });
        }
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(pair) = nodes.windows(2).find(|w| w[0].id == w[1].id) {
            let kind = |n: &Node| if n.model.is_some() { "model" } else { "source" };
            return Err(DocsError::DuplicateId {
                id: pair[0].id.clone(),
                first: kind(&pair[0]),
                second: kind(&pair[1]),
            });
        }
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();

        let mut upstream = vec![BTreeSet::new(); nodes.len()];
        let mut downstream = vec![BTreeSet::new(); nodes.len()];
        for model in &site.models {
            let to = index[&model.id];
            for dependency in &model.depends_on {
                let Some(&from) = index.get(dependency) else {
                    return Err(DocsError::UnknownDependency {
                        model: model.id.clone(),
                        dependency: dependency.clone(),
                        path: model.path.clone(),
                    });
                };
                upstream[to].insert(from);
                downstream[from].insert(to);
            }
        }
        let upstream: Vec<Vec<usize>> = upstream.into_iter().map(Vec::from_iter).collect();
        let downstream: Vec<Vec<usize>> = downstream.into_iter().map(Vec::from_iter).collect();
        let cycles = find_cycles(&upstream, &downstream);
        Ok(Lineage {
            nodes,
            upstream,
            downstream,
            cycles,
            index,
        })
    }

    /// The node with this id, if any.
    pub fn get(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The number of distinct dependencies (edges) in the project.
    pub fn edge_count(&self) -> usize {
        self.upstream.iter().map(Vec::len).sum()
    }

    /// What a node's page shows: the node, everything it reads directly or indirectly, and
    /// everything that reads it, sorted.
    ///
    /// Siblings (other readers of an upstream node) are left out: they say nothing about this
    /// node, and in a large project they would make every page show the whole graph.
    pub fn neighbourhood(&self, focus: usize) -> Vec<usize> {
        let mut members = reach(focus, &self.upstream);
        members.extend(reach(focus, &self.downstream));
        members.insert(focus);
        members.into_iter().collect()
    }

    /// The graph of `members` (every node if `None`) for a page `root` away from the site's
    /// root, with the edges between members.
    pub fn to_json(
        &self,
        members: Option<&[usize]>,
        focus: Option<usize>,
        root: &str,
    ) -> GraphJson {
        let all: Vec<usize>;
        let members = match members {
            Some(m) => m,
            None => {
                all = (0..self.nodes.len()).collect();
                &all
            }
        };
        let mut included = vec![false; self.nodes.len()];
        for &m in members {
            included[m] = true;
        }
        let nodes = members
            .iter()
            .map(|&i| NodeJson {
                id: self.nodes[i].id.clone(),
                kind: self.nodes[i].kind,
                href: format!("{root}{}", self.nodes[i].href()),
                focus: Some(i) == focus,
            })
            .collect();
        let edges = members
            .iter()
            .flat_map(|&to| self.upstream[to].iter().map(move |&from| (from, to)))
            .filter(|&(from, _)| included[from])
            .map(|(from, to)| EdgeJson {
                from: self.nodes[from].id.clone(),
                to: self.nodes[to].id.clone(),
            })
            .collect();
        GraphJson { nodes, edges }
    }

    /// The cycle `node` is part of, if any.
    pub fn cycle_of(&self, node: usize) -> Option<&[usize]> {
        self.cycles
            .iter()
            .find(|c| c.contains(&node))
            .map(Vec::as_slice)
    }
}

/// Every node reachable from `start` along `edges`, without `start` unless a cycle leads back.
fn reach(start: usize, edges: &[Vec<usize>]) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(n) = stack.pop() {
        for &next in &edges[n] {
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    seen
}

/// The strongly connected components that form cycles (more than one node, or a node that
/// reads itself), by Kosaraju's algorithm with explicit stacks so deep chains cannot overflow.
fn find_cycles(upstream: &[Vec<usize>], downstream: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = upstream.len();
    // Pass 1: finish order along downstream edges.
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for start in 0..n {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&child) = downstream[node].get(*next) {
                *next += 1;
                if !visited[child] {
                    visited[child] = true;
                    stack.push((child, 0));
                }
            } else {
                order.push(node);
                stack.pop();
            }
        }
    }
    // Pass 2: components along upstream edges, in reverse finish order.
    let mut component = vec![usize::MAX; n];
    let mut cycles = Vec::new();
    for &start in order.iter().rev() {
        if component[start] != usize::MAX {
            continue;
        }
        component[start] = start;
        let mut members = vec![start];
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for &parent in &upstream[node] {
                if component[parent] == usize::MAX {
                    component[parent] = start;
                    members.push(parent);
                    stack.push(parent);
                }
            }
        }
        if members.len() > 1 || upstream[start].contains(&start) {
            members.sort_unstable();
            cycles.push(members);
        }
    }
    cycles.sort();
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_dataset() {
        assert_eq!(Kind::of_model("stg.orders"), Kind::Staging);
        assert_eq!(Kind::of_model("staging.orders"), Kind::Staging);
        assert_eq!(Kind::of_model("core.stg_orders"), Kind::Staging);
        assert_eq!(Kind::of_model("marts.revenue"), Kind::Mart);
        assert_eq!(Kind::of_model("mart_finance.revenue"), Kind::Mart);
        assert_eq!(Kind::of_model("proj.marts.revenue"), Kind::Mart);
        assert_eq!(Kind::of_model("int.orders_joined"), Kind::Other);
        assert_eq!(Kind::of_model("orders"), Kind::Other);
    }

    #[test]
    fn finds_cycles_and_self_loops_only() {
        // 0 -> 1 -> 2 -> 0, 3 -> 3, 4 -> 0 (upstream lists: what each node reads).
        let upstream = vec![vec![2, 4], vec![0], vec![1], vec![3], vec![]];
        let mut downstream = vec![vec![]; 5];
        for (to, froms) in upstream.iter().enumerate() {
            for &from in froms {
                downstream[from].push(to);
            }
        }
        assert_eq!(
            find_cycles(&upstream, &downstream),
            vec![vec![0, 1, 2], vec![3]]
        );
    }
}
