//! The lineage graph as a browser draws it: headless Chromium opens the written site, and the
//! test counts the nodes and edges the page script put into `<svg id="lineage">`.
//!
//! Needs Chromium: `KURA_CHROMIUM=/path/to/chromium`, else `/usr/bin/chromium`. When neither
//! exists the tests fail (they never skip), with the command that installs it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{edges, ids, model, shop, source};
use kura_docs::{write_site, DocsSite};

/// Long enough for a cold start on a loaded 2-core CI machine; a layout that loops never ends.
const TIMEOUT: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    let path = std::env::var_os("KURA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: the lineage graph tests need a headless browser.\n\
         hint: install it with `apt-get install -y --no-install-recommends chromium` (Debian), \
         or set KURA_CHROMIUM to a Chromium or Chrome binary",
        path.display()
    );
    path
}

/// The DOM of `page` after its scripts ran, as Chromium serialises it.
fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().expect("temp dir for the browser profile");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Chromium starts");
    // Drain both pipes on threads: a large DOM would otherwise fill the pipe and block Chromium.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for Chromium") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "Chromium did not finish {} within {TIMEOUT:?}: the page script probably loops",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let dom = out.join().expect("stdout reader").expect("DOM is UTF-8");
    let stderr = err.join().expect("stderr reader");
    assert!(
        status.success() && dom.contains("</html>"),
        "Chromium failed on {} ({status}):\n{stderr}",
        page.display()
    );
    dom
}

/// The attributes of every start tag `<name ...>` whose class is exactly `class`.
fn elements(dom: &str, name: &str, class: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{name} ");
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(start) = rest.find(&open) {
        let tag = &rest[start + open.len()..];
        let end = tag.find('>').expect("tag closes");
        let attrs = attributes(&tag[..end]);
        if attrs.get("class").map(String::as_str) == Some(class) {
            found.push(attrs);
        }
        rest = &tag[end..];
    }
    found
}

/// Parses `a="x" b="y"` (values as Chromium serialises them: double quotes, entities).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = tag.trim_start();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let value_start = &rest[eq + 2..];
        let close = value_start.find('"').expect("attribute value closes");
        let value = value_start[..close]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        attrs.insert(name, value);
        rest = value_start[close + 1..].trim_start();
    }
    attrs
}

/// What the page script drew.
struct Drawing {
    svg: BTreeMap<String, String>,
    nodes: BTreeMap<String, (f64, f64)>,
    focus: Vec<String>,
    edges: BTreeSet<(String, String)>,
    edge_count: usize,
    cycle_edges: usize,
}

fn drawing(dom: &str) -> Drawing {
    let start = dom
        .find("<svg id=\"lineage\"")
        .expect("page has the lineage svg");
    let tag = &dom[start + "<svg ".len()..];
    let svg = attributes(&tag[..tag.find('>').expect("tag closes")]);
    let nodes_attrs = elements(dom, "g", "node");
    let mut nodes = BTreeMap::new();
    let mut focus = Vec::new();
    for attrs in &nodes_attrs {
        let id = attrs["data-id"].clone();
        let transform = &attrs["transform"];
        let inner = transform
            .strip_prefix("translate(")
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or_else(|| panic!("unexpected transform {transform}"));
        let (x, y) = inner.split_once(',').expect("translate(x,y)");
        let xy = (
            x.trim().parse().expect("x is a number"),
            y.trim().parse().expect("y is a number"),
        );
        if attrs.contains_key("data-focus") {
            focus.push(id.clone());
        }
        assert!(nodes.insert(id, xy).is_none(), "a node is drawn twice");
    }
    let edge_attrs = elements(dom, "path", "edge");
    let edges = edge_attrs
        .iter()
        .map(|a| (a["data-from"].clone(), a["data-to"].clone()))
        .collect();
    let cycle_edges = edge_attrs
        .iter()
        .filter(|a| a.contains_key("data-cycle"))
        .count();
    Drawing {
        svg,
        nodes,
        focus,
        edges,
        edge_count: edge_attrs.len(),
        cycle_edges,
    }
}

fn ids_of(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn written(site: &DocsSite) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("temp dir");
    write_site(site, out.path()).expect("site written");
    out
}

#[test]
fn overview_draws_every_node_and_edge_in_layers() {
    let site = shop();
    let out = written(&site);
    let drawn = drawing(&dump_dom(&out.path().join("index.html")));

    assert_eq!(
        drawn.svg.get("data-layout").map(String::as_str),
        Some("done")
    );
    assert_eq!(drawn.nodes.len(), site.models.len() + site.sources.len());
    assert_eq!(
        drawn.nodes.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&site)
    );
    assert_eq!(drawn.edge_count, 10);
    assert_eq!(drawn.edges, edges(&site));
    assert_eq!(drawn.cycle_edges, 0);
    assert!(drawn.focus.is_empty());

    // The layout ran: nodes are spread out, and every edge points left to right.
    let positions: BTreeSet<(i64, i64)> = drawn
        .nodes
        .values()
        .map(|&(x, y)| (x as i64, y as i64))
        .collect();
    assert_eq!(
        positions.len(),
        drawn.nodes.len(),
        "nodes overlap: {:?}",
        drawn.nodes
    );
    for (from, to) in &drawn.edges {
        assert!(
            drawn.nodes[from].0 < drawn.nodes[to].0,
            "{from} -> {to} does not point right: {:?}",
            drawn.nodes
        );
    }
    // raw -> stg -> int -> marts.revenue -> marts.dashboard: five layers.
    let columns: BTreeSet<i64> = drawn.nodes.values().map(|&(x, _)| x as i64).collect();
    assert_eq!(columns.len(), 5, "{:?}", drawn.nodes);
    assert_eq!(
        drawn.svg.get("data-crossings").map(String::as_str),
        Some("0")
    );
}

#[test]
fn model_page_draws_its_neighbourhood() {
    let site = shop();
    let out = written(&site);
    let drawn = drawing(&dump_dom(&out.path().join("models/stg.customers.html")));

    assert_eq!(
        drawn.svg.get("data-layout").map(String::as_str),
        Some("done")
    );
    // Itself, what it reads, and everything downstream; not its sibling stg.orders.
    let expected = ids_of(&[
        "raw.customers",
        "stg.customers",
        "int.orders_enriched",
        "marts.customer_ltv",
        "marts.revenue",
        "marts.dashboard",
    ]);
    assert_eq!(
        drawn.nodes.keys().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    let expected_edges: BTreeSet<_> = edges(&site)
        .into_iter()
        .filter(|(a, b)| expected.contains(a) && expected.contains(b))
        .collect();
    assert_eq!(expected_edges.len(), 7);
    assert_eq!(drawn.edge_count, expected_edges.len());
    assert_eq!(drawn.edges, expected_edges);
    assert_eq!(drawn.focus, ["stg.customers"]);
    let ys: BTreeSet<i64> = drawn.nodes.values().map(|&(_, y)| y as i64).collect();
    let xs: BTreeSet<i64> = drawn.nodes.values().map(|&(x, _)| x as i64).collect();
    assert!(xs.len() > 1 && ys.len() > 1, "{:?}", drawn.nodes);
}

#[test]
fn cycles_are_drawn_and_the_layout_terminates() {
    let site = DocsSite {
        project: "loop".into(),
        generated_at: "now".into(),
        models: vec![
            model("int.a", &["raw.s", "int.c"]),
            model("int.b", &["int.a"]),
            model("int.c", &["int.b"]),
            model("int.d", &["int.d", "int.c"]),
            model("marts.e", &["int.c", "int.b"]),
            model("int.f", &["int.g"]),
            model("int.g", &["int.f"]),
        ],
        sources: vec![source("raw.s")],
    };
    let out = written(&site);
    let started = Instant::now();
    let dom = dump_dom(&out.path().join("index.html"));
    let drawn = drawing(&dom);

    assert_eq!(
        drawn.svg.get("data-layout").map(String::as_str),
        Some("done")
    );
    assert_eq!(drawn.nodes.len(), 8);
    assert_eq!(drawn.edges, edges(&site));
    assert_eq!(drawn.edge_count, 10);
    // One edge closes each of the three cycles (a-b-c, d-d, f-g).
    assert_eq!(drawn.cycle_edges, 3);
    assert!(dom.contains("class=\"warning cycle\""));
    let positions: BTreeSet<(i64, i64)> = drawn
        .nodes
        .values()
        .map(|&(x, y)| (x as i64, y as i64))
        .collect();
    assert_eq!(positions.len(), 8, "nodes overlap: {:?}", drawn.nodes);
    assert!(started.elapsed() < TIMEOUT);

    // A model page inside the cycle works too.
    let drawn = drawing(&dump_dom(&out.path().join("models/int.b.html")));
    assert_eq!(
        drawn.svg.get("data-layout").map(String::as_str),
        Some("done")
    );
    assert_eq!(drawn.focus, ["int.b"]);
}

#[test]
fn a_large_project_lays_out_in_time() {
    // 400 models in 8 layers of 50, each reading three models of the layer before, over 50
    // sources: far larger than a small team's project, to catch a layout that scales badly.
    let sources: Vec<String> = (0..50).map(|i| format!("raw.t{i:02}")).collect();
    let mut models = Vec::new();
    let mut previous = sources.clone();
    for layer in 0..8 {
        let current: Vec<String> = (0..50).map(|i| format!("l{layer}.m{i:02}")).collect();
        for (i, id) in current.iter().enumerate() {
            let deps: BTreeSet<&str> = [i, i * 7 + 3, i * 13 + 11]
                .iter()
                .map(|&k| previous[k % previous.len()].as_str())
                .collect();
            models.push(model(id, &deps.into_iter().collect::<Vec<_>>()));
        }
        previous = current;
    }
    let site = DocsSite {
        project: "big".into(),
        generated_at: "now".into(),
        models,
        sources: sources.iter().map(|s| source(s)).collect(),
    };
    let out = written(&site);
    let started = Instant::now();
    let drawn = drawing(&dump_dom(&out.path().join("index.html")));
    let took = started.elapsed();
    assert_eq!(
        drawn.svg.get("data-layout").map(String::as_str),
        Some("done")
    );
    assert_eq!(drawn.nodes.len(), 450);
    assert_eq!(drawn.edges, edges(&site));
    assert!(took < Duration::from_secs(30), "layout took {took:?}");
}

#[test]
fn search_filters_the_model_list_and_dims_the_graph() {
    let out = written(&shop());
    // Type into the search box once the page has loaded, as a user would.
    let index = std::fs::read_to_string(out.path().join("index.html")).expect("index written");
    let typed = index.replace(
        "</body>",
        "<script>addEventListener(\"load\", function () { var i = \
         document.getElementById(\"search\"); i.value = \"LTV\"; i.dispatchEvent(new \
         Event(\"input\")); });</script></body>",
    );
    let page = out.path().join("typed.html");
    std::fs::write(&page, typed).expect("page written");
    let dom = dump_dom(&page);

    let items = elements(&dom, "li", "model-item");
    let shown: Vec<&str> = items
        .iter()
        .filter(|a| !a.contains_key("hidden"))
        .map(|a| a["data-search"].as_str())
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].starts_with("marts.customer_ltv "));
    let bright: Vec<String> = elements(&dom, "g", "node")
        .into_iter()
        .filter(|a| !a.contains_key("data-dim"))
        .map(|a| a["data-id"].clone())
        .collect();
    assert_eq!(bright, ["marts.customer_ltv"]);
}
