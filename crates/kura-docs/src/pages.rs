//! The HTML of each page: the project overview, one page per model and one per source.
//!
//! Pages are plain strings built with `format!`; every piece of user text goes through
//! [`escape`] or [`highlight_sql`] on the way in. The lineage graph is an empty
//! `<svg id="lineage">` plus its data as JSON; the page script draws it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::graph::{GraphJson, Lineage};
use crate::highlight::highlight_sql;
use crate::html::{escape, json_for_script, shell};
use crate::{DocColumn, DocModel, DocSource, DocsSite};

/// The overview: counts, the whole project's lineage, and a searchable list of models by dataset.
pub fn index_page(site: &DocsSite, lineage: &Lineage) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1>\n<p class=\"meta\">{} models · {} sources · {} dependencies · generated {}</p>\n",
        escape(&site.project),
        site.models.len(),
        site.sources.len(),
        lineage.edge_count(),
        escape(&site.generated_at),
    );
    body.push_str(&cycle_notice(lineage, None));
    body.push_str("<h2>Lineage</h2>\n");
    body.push_str(&lineage_section(&lineage.to_json(None, None, "")));

    body.push_str(
        "<h2>Models</h2>\n<input id=\"search\" type=\"search\" placeholder=\"Search models, \
         columns, tags (press /)\" autocomplete=\"off\">\n<p id=\"search-empty\" class=\"meta\" \
         hidden>No model matches.</p>\n",
    );
    let mut by_dataset: BTreeMap<&str, Vec<&DocModel>> = BTreeMap::new();
    for model in &site.models {
        by_dataset
            .entry(dataset_of(&model.id))
            .or_default()
            .push(model);
    }
    for (dataset, mut models) in by_dataset {
        models.sort_by(|a, b| a.id.cmp(&b.id));
        let _ = writeln!(
            body,
            "<section class=\"dataset\"><h3>{}</h3>\n<ul class=\"models\">",
            escape(if dataset.is_empty() {
                "(no dataset)"
            } else {
                dataset
            })
        );
        for model in models {
            let node = &lineage.nodes[lineage.get(&model.id).expect("every model is a node")];
            let mut search = vec![model.id.as_str(), model.path.as_str()];
            search.extend(model.description.as_deref());
            search.extend(model.owner.as_deref());
            search.extend(model.tags.iter().map(String::as_str));
            search.extend(model.columns.iter().map(|c| c.name.as_str()));
            let _ = writeln!(
                body,
                "<li class=\"model-item\" data-search=\"{}\"><a href=\"{}\">{}</a> <span \
                 class=\"badge kind-{}\">{}</span>{}{}</li>",
                escape(&search.join(" ").to_lowercase()),
                escape(&node.href()),
                escape(&model.id),
                node.kind.as_str(),
                escape(&model.materialized),
                tags(&model.tags),
                model
                    .description
                    .as_deref()
                    .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
                    .map(|d| format!("<div class=\"summary\">{}</div>", escape(d)))
                    .unwrap_or_default(),
            );
        }
        body.push_str("</ul></section>\n");
    }

    body.push_str("<h2>Sources</h2>\n<ul class=\"sources\">\n");
    let mut sources: Vec<&DocSource> = site.sources.iter().collect();
    sources.sort_by(|a, b| a.id.cmp(&b.id));
    for source in sources {
        let node = &lineage.nodes[lineage.get(&source.id).expect("every source is a node")];
        let _ = writeln!(
            body,
            "<li><a href=\"{}\">{}</a> <span class=\"meta\">{} columns</span></li>",
            escape(&node.href()),
            escape(&source.id),
            source.columns.len()
        );
    }
    body.push_str("</ul>\n");
    shell(&site.project, "Overview", "", &body)
}

/// A model's page: what it is, its lineage, its columns and checks, and its SQL.
pub fn model_page(site: &DocsSite, lineage: &Lineage, model: &DocModel) -> String {
    let me = lineage.get(&model.id).expect("every model is a node");
    let kind = lineage.nodes[me].kind;
    let mut body = String::new();
    let _ = write!(
        body,
        "<nav class=\"crumbs\"><a href=\"../index.html\">{}</a> › {}</nav>\n<h1>{} <span \
         class=\"badge kind-{}\">{}</span></h1>\n",
        escape(&site.project),
        escape(dataset_of(&model.id)),
        escape(&model.id),
        kind.as_str(),
        kind.as_str(),
    );
    if let Some(description) = &model.description {
        let _ = writeln!(body, "<p class=\"description\">{}</p>", escape(description));
    }
    body.push_str(&cycle_notice(lineage, Some(me)));
    body.push_str("<table class=\"facts\">\n");
    let mut fact = |name: &str, value: String| {
        let _ = writeln!(body, "<tr><th>{name}</th><td>{value}</td></tr>");
    };
    fact("Materialized", escape(&model.materialized));
    fact(
        "Owner",
        model
            .owner
            .as_deref()
            .map_or_else(|| "<span class=\"meta\">none</span>".into(), escape),
    );
    fact(
        "Tags",
        if model.tags.is_empty() {
            "<span class=\"meta\">none</span>".into()
        } else {
            tags(&model.tags)
        },
    );
    fact("File", format!("<code>{}</code>", escape(&model.path)));
    fact("Upstream", links(lineage, &lineage.upstream[me]));
    fact("Downstream", links(lineage, &lineage.downstream[me]));
    body.push_str("</table>\n<h2>Lineage</h2>\n");
    let members = lineage.neighbourhood(me);
    body.push_str(&lineage_section(&lineage.to_json(
        Some(&members),
        Some(me),
        "../",
    )));
    body.push_str("<h2>Columns</h2>\n");
    body.push_str(&columns_table(&model.columns));
    body.push_str("<h2>Checks</h2>\n");
    if model.checks.is_empty() {
        body.push_str("<p class=\"meta\">No checks.</p>\n");
    } else {
        body.push_str("<ul class=\"checks\">\n");
        for check in &model.checks {
            let _ = writeln!(body, "<li><code>{}</code></li>", escape(check));
        }
        body.push_str("</ul>\n");
    }
    let _ = writeln!(
        body,
        "<h2>SQL</h2>\n<pre class=\"sql\"><code>{}</code></pre>",
        highlight_sql(&model.sql)
    );
    shell(&site.project, &model.id, "../", &body)
}

/// A source's page: its columns and what reads it.
pub fn source_page(site: &DocsSite, lineage: &Lineage, source: &DocSource) -> String {
    let me = lineage.get(&source.id).expect("every source is a node");
    let mut body = String::new();
    let _ = write!(
        body,
        "<nav class=\"crumbs\"><a href=\"../index.html\">{}</a> › {}</nav>\n<h1>{} <span \
         class=\"badge kind-source\">source</span></h1>\n<table class=\"facts\">\n<tr><th>Read \
         by</th><td>{}</td></tr>\n</table>\n<h2>Lineage</h2>\n",
        escape(&site.project),
        escape(dataset_of(&source.id)),
        escape(&source.id),
        links(lineage, &lineage.downstream[me]),
    );
    let members = lineage.neighbourhood(me);
    body.push_str(&lineage_section(&lineage.to_json(
        Some(&members),
        Some(me),
        "../",
    )));
    body.push_str("<h2>Columns</h2>\n");
    body.push_str(&columns_table(&source.columns));
    shell(&site.project, &source.id, "../", &body)
}

/// The dataset part of an id (`stg` of `stg.orders`), empty if it has none.
fn dataset_of(id: &str) -> &str {
    id.rsplit_once('.').map_or("", |(dataset, _)| dataset)
}

/// The legend, the empty SVG the script draws into, and the graph's data.
fn lineage_section(graph: &GraphJson) -> String {
    format!(
        "<div class=\"legend\"><span class=\"kind-source\">source</span><span \
         class=\"kind-staging\">staging</span><span class=\"kind-mart\">mart</span><span \
         class=\"kind-other\">other</span></div>\n<div class=\"lineage-frame\"><svg \
         id=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"lineage \
         graph\" data-layout=\"pending\"></svg></div>\n<noscript><p class=\"meta\">The lineage \
         graph needs JavaScript; the upstream and downstream links list the same \
         dependencies.</p></noscript>\n<script type=\"application/json\" \
         id=\"lineage-data\">{}</script>\n",
        json_for_script(graph)
    )
}

/// A warning naming the cycle `node` is in, or all cycles for the overview (`None`).
fn cycle_notice(lineage: &Lineage, node: Option<usize>) -> String {
    let cycles: Vec<&[usize]> = match node {
        Some(n) => lineage.cycle_of(n).into_iter().collect(),
        None => lineage.cycles.iter().map(Vec::as_slice).collect(),
    };
    let mut out = String::new();
    for cycle in cycles {
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("<code>{}</code>", escape(&lineage.nodes[i].id)))
            .collect();
        let what = if names.len() == 1 {
            format!("{} reads itself", names[0])
        } else {
            format!("{} depend on each other", names.join(", "))
        };
        let _ = writeln!(
            out,
            "<p class=\"warning cycle\">Dependency cycle: {what}, so no run order exists. Remove \
             one of the references; the graph draws the edges that close the cycle dashed.</p>"
        );
    }
    out
}

/// Links to the pages of `nodes`, or "none".
fn links(lineage: &Lineage, nodes: &[usize]) -> String {
    if nodes.is_empty() {
        return "<span class=\"meta\">none</span>".into();
    }
    nodes
        .iter()
        .map(|&i| {
            let node = &lineage.nodes[i];
            format!(
                "<a class=\"kind-{}\" href=\"../{}\">{}</a>",
                node.kind.as_str(),
                escape(&node.href()),
                escape(&node.id)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tags as chips.
fn tags(tags: &[String]) -> String {
    tags.iter()
        .map(|t| format!(" <span class=\"tag\">{}</span>", escape(t)))
        .collect()
}

/// The columns of a model or source, or a note that none are known.
fn columns_table(columns: &[DocColumn]) -> String {
    if columns.is_empty() {
        return "<p class=\"meta\">No columns known.</p>\n".into();
    }
    let mut out = String::from(
        "<table class=\"columns\">\n<tr><th>Column</th><th>Type</th><th>Description</th></tr>\n",
    );
    for column in columns {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&column.name),
            escape(&column.data_type),
            column
                .description
                .as_deref()
                .map(escape)
                .unwrap_or_default()
        );
    }
    out.push_str("</table>\n");
    out
}
