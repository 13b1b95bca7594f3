//! kura-docs: writes a static HTML documentation site for a project's SQL models, with a
//! model-level lineage graph.
//!
//! How the parts fit: the caller (`kura docs`, through `kura-models`) fills a [`DocsSite`]
//! ([`input`]) and calls [`write_site`] ([`write`](mod@write)). [`graph`] checks the
//! dependencies, classifies every node (source / staging / mart / other), finds cycles and cuts
//! out each page's neighbourhood. [`pages`] renders the HTML: an overview (`index.html`), one
//! page per model (`models/<id>.html`) and per source (`sources/<id>.html`); [`highlight`]
//! colours SQL keywords in Rust so pages read well without JavaScript, and [`html`] holds the
//! escaping every piece of user text goes through.
//!
//! The lineage graph is the one part drawn in the browser: each page embeds its graph as JSON and
//! `assets/kura-docs.js` lays it out (longest-path layers, barycentre sweeps against crossings)
//! and draws it as SVG. The site is self-contained: no CDN, no network, it works from `file://`.
//! `tests/browser.rs` opens it in headless Chromium and counts what the script drew.

pub mod error;
pub mod graph;
pub mod highlight;
pub mod html;
pub mod input;
pub mod pages;
pub mod write;

pub use error::DocsError;
pub use input::{DocColumn, DocModel, DocSource, DocsSite};
pub use write::{write_site, SiteSummary};
