//! Writing the site: files, escaping, links, errors and reruns (no browser needed).

mod common;

use std::fs;
use std::path::Path;

use common::{model, shop, source, HOSTILE};
use kura_docs::{write_site, DocsError, DocsSite};

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("could not read {}: {e}", path.display()))
}

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn html_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = all_files(dir);
    files.retain(|p| p.extension().is_some_and(|e| e == "html"));
    files
}

#[test]
fn writes_one_page_per_model_and_source() {
    let site = shop();
    let out = tempfile::tempdir().expect("temp dir");
    let summary = write_site(&site, out.path()).expect("site written");

    assert_eq!(summary.pages, 1 + 6 + 2);
    assert_eq!(summary.index, out.path().join("index.html"));
    let names: Vec<String> = all_files(out.path())
        .iter()
        .map(|p| {
            p.strip_prefix(out.path())
                .expect("under out")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            ".kura-docs",
            "assets/kura-docs.css",
            "assets/kura-docs.js",
            "index.html",
            "models/int.orders_enriched.html",
            "models/marts.customer_ltv.html",
            "models/marts.dashboard.html",
            "models/marts.revenue.html",
            "models/stg.customers.html",
            "models/stg.orders.html",
            "site.json",
            "sources/raw.customers.html",
            "sources/raw.orders.html",
        ]
    );

    let back: DocsSite =
        serde_json::from_str(&read(&out.path().join("site.json"))).expect("site.json parses");
    assert_eq!(back, site);
}

#[test]
fn user_text_is_escaped_everywhere() {
    let out = tempfile::tempdir().expect("temp dir");
    write_site(&shop(), out.path()).expect("site written");
    // site.json is data, not markup: it holds the text as given.
    for path in html_files(out.path()) {
        let text = read(&path);
        assert!(
            !text.contains("<script>alert"),
            "{} contains unescaped user text",
            path.display()
        );
        // The embedded graph data and the page script, nothing else.
        assert_eq!(text.matches("<script").count(), 2, "{}", path.display());
        assert_eq!(text.matches("</script>").count(), 2, "{}", path.display());
    }
    let page = read(&out.path().join("models/stg.orders.html"));
    let escaped = "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;";
    // Description, owner, tag, column name, column description, check, SQL comment, title.
    assert!(page.matches(escaped).count() >= 8, "{page}");
    assert!(page.contains(
        "<span class=\"str\">&#39;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;</span>"
    ));
    assert!(read(&out.path().join("index.html")).contains(&format!("shop {escaped}")));
}

#[test]
fn hostile_ids_cannot_escape_the_page_or_the_directory() {
    let bad = "raw.x</script><b>\"'/../../evil";
    let site = DocsSite {
        project: "p".into(),
        generated_at: "now".into(),
        models: vec![model("stg.x", &[bad])],
        sources: vec![source(bad)],
    };
    let out = tempfile::tempdir().expect("temp dir");
    let summary = write_site(&site, out.path()).expect("site written");
    assert_eq!(summary.pages, 3);
    for path in all_files(out.path()) {
        assert!(path.starts_with(out.path()));
    }
    for path in html_files(out.path()) {
        let text = read(&path);
        assert!(!text.contains("</script><b>"), "{}", path.display());
    }
    assert!(out
        .path()
        .join("sources/raw.x~3C~2Fscript~3E~3Cb~3E~22~27~2F..~2F..~2Fevil.html")
        .is_file());
}

#[test]
fn pages_link_upstream_and_downstream() {
    let out = tempfile::tempdir().expect("temp dir");
    write_site(&shop(), out.path()).expect("site written");
    let page = read(&out.path().join("models/int.orders_enriched.html"));
    for link in [
        "href=\"../models/stg.orders.html\">stg.orders</a>",
        "href=\"../models/stg.customers.html\">stg.customers</a>",
        "href=\"../models/marts.revenue.html\">marts.revenue</a>",
        "href=\"../models/marts.customer_ltv.html\">marts.customer_ltv</a>",
    ] {
        assert!(page.contains(link), "missing {link}");
    }
    assert!(page.contains("<span class=\"kw\">SELECT</span>"));
    let source = read(&out.path().join("sources/raw.customers.html"));
    assert!(source.contains("href=\"../models/stg.customers.html\">stg.customers</a>"));
    let index = read(&out.path().join("index.html"));
    assert!(index.contains("<h3>marts</h3>") && index.contains("<h3>stg</h3>"));
    assert!(index.contains("id=\"search\""));
    assert!(index.contains("6 models · 2 sources · 10 dependencies"));
}

#[test]
fn output_is_deterministic() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    let mut reordered = shop();
    reordered.models.reverse();
    write_site(&shop(), a.path()).expect("site written");
    write_site(&reordered, b.path()).expect("site written");
    for page in ["index.html", "models/marts.dashboard.html"] {
        assert_eq!(read(&a.path().join(page)), read(&b.path().join(page)));
    }
}

#[test]
fn inconsistent_input_is_an_error_with_a_hint() {
    let out = tempfile::tempdir().expect("temp dir");

    let mut site = shop();
    site.models[0].depends_on.push("raw.ordrs".into());
    let err = write_site(&site, out.path()).expect_err("unknown dependency");
    assert!(matches!(err, DocsError::UnknownDependency { .. }));
    assert_eq!(
        err.to_string(),
        "model `marts.dashboard` depends on `raw.ordrs`, which is neither a model nor a source\n\
         hint: add `raw.ordrs` to the sources (or fix the reference in models/marts/dashboard.sql)"
    );

    let mut site = shop();
    site.sources.push(source("stg.orders"));
    let err = write_site(&site, out.path()).expect_err("duplicate id");
    assert!(err
        .to_string()
        .starts_with("`stg.orders` is defined twice (as a model and as a source)\nhint:"));

    let mut site = shop();
    site.models[2].id.clear();
    let err = write_site(&site, out.path()).expect_err("empty id");
    assert!(err
        .to_string()
        .starts_with("model #3 has an empty id\nhint:"));

    assert!(
        fs::read_dir(out.path()).expect("dir").next().is_none(),
        "nothing written on bad input"
    );
}

#[test]
fn rerun_removes_stale_pages_only_in_its_own_directory() {
    let out = tempfile::tempdir().expect("temp dir");
    write_site(&shop(), out.path()).expect("site written");
    let mut smaller = shop();
    smaller.models.retain(|m| m.id != "marts.dashboard");
    write_site(&smaller, out.path()).expect("site rewritten");
    assert!(!out.path().join("models/marts.dashboard.html").exists());
    assert!(out.path().join("models/marts.revenue.html").exists());

    // A directory kura-docs did not create keeps whatever was there.
    let foreign = tempfile::tempdir().expect("temp dir");
    fs::create_dir(foreign.path().join("models")).expect("mkdir");
    fs::write(foreign.path().join("models/mine.html"), "keep me").expect("write");
    write_site(&smaller, foreign.path()).expect("site written");
    assert_eq!(read(&foreign.path().join("models/mine.html")), "keep me");
}

#[test]
fn a_cycle_is_written_and_reported_not_refused() {
    let site = DocsSite {
        project: "loop".into(),
        generated_at: "now".into(),
        models: vec![
            model("int.a", &["raw.s", "int.c"]),
            model("int.b", &["int.a"]),
            model("int.c", &["int.b"]),
            model("int.d", &["int.d"]),
        ],
        sources: vec![source("raw.s")],
    };
    let out = tempfile::tempdir().expect("temp dir");
    write_site(&site, out.path()).expect("a cycle is not an error");
    let index = read(&out.path().join("index.html"));
    assert!(index.contains(
        "Dependency cycle: <code>int.a</code>, <code>int.b</code>, <code>int.c</code> depend"
    ));
    assert!(index.contains("Dependency cycle: <code>int.d</code> reads itself, so"));
    let b = read(&out.path().join("models/int.b.html"));
    assert_eq!(b.matches("class=\"warning cycle\"").count(), 1);
    let hostile_free = read(&out.path().join("models/int.a.html"));
    assert!(!hostile_free.contains(HOSTILE));
}
