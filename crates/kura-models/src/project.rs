//! The project's models: `models/<dataset>/<name>.sql`, each one GoogleSQL SELECT with an
//! optional header. Loading parses every file and collects every problem, so one run of
//! `kura plan` or `kura lint` lists them all.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use kura_engine::TableName;
use sqlparser::ast::{visit_relations, Spanned, Statement};

use crate::error::{ModelError, ModelProblem};
use crate::header::{self, did_you_mean, ModelHeader, HEADER_KEYS};

/// The directory under the project root that holds models.
pub const MODELS_DIR: &str = "models";

/// A table a model reads, and where the model names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub table: TableName,
    pub line: u64,
    pub column: u64,
}

/// One model file, parsed.
#[derive(Debug, Clone)]
pub struct Model {
    /// `dataset.name`, from the file's place under `models/`.
    pub name: TableName,
    /// Relative to the project root, as problems print it.
    pub path: PathBuf,
    /// The whole file.
    pub text: String,
    pub header: ModelHeader,
    /// The 1-based line where the header's TOML starts (0 without a header).
    pub header_line: u64,
    pub statement: Statement,
    /// Tables read, sorted by name, each once (at its first mention).
    pub reads: Vec<Reference>,
    /// BLAKE3 of the statement as parsed: comments and layout do not change it.
    pub sql_hash: String,
    /// BLAKE3 of the settings that change what is built (not description or owner).
    pub config_hash: String,
}

impl Model {
    /// The GoogleSQL that builds the model (the file without its header, as written).
    pub fn sql(&self) -> &str {
        let start = header::find_header(&self.text)
            .ok()
            .flatten()
            .map_or(0, |h| h.end);
        self.text[start..].trim()
    }
}

/// Every model of a project, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct ModelProject {
    pub root: PathBuf,
    pub models: Vec<Model>,
    /// Checks and monitors per table, from model headers and datasets' `checks.toml`.
    pub quality: Vec<kura_quality::DeclaredQuality>,
    index: BTreeMap<TableName, usize>,
}

/// A dataset's file of checks and monitors for its tables, models or not.
pub const CHECKS_FILE: &str = "checks.toml";

impl ModelProject {
    /// Reads and parses every model under `root/models`.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] listing every file problem: parse errors, files that are not a
    /// single SELECT, bad headers, names that are not valid table names, duplicates.
    pub fn load(root: &Path) -> Result<Self, ModelError> {
        let dir = root.join(MODELS_DIR);
        let mut models = Vec::new();
        let mut problems = Vec::new();
        for (dataset, file) in model_files(&dir)? {
            let path = Path::new(MODELS_DIR).join(&dataset).join(&file);
            let text =
                std::fs::read_to_string(root.join(&path)).map_err(|source| ModelError::Io {
                    path: path.clone(),
                    source,
                })?;
            let name = file.trim_end_matches(".sql");
            match parse_model(&dataset, name, &path, text) {
                Ok(model) => models.push(model),
                Err(mut p) => problems.append(&mut p),
            }
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));
        let quality = declared_quality(root, &dir, &models, &mut problems)?;
        let mut index = BTreeMap::new();
        for (i, m) in models.iter().enumerate() {
            index.insert(m.name.clone(), i);
        }
        if !problems.is_empty() {
            return Err(ModelError::Invalid(problems));
        }
        Ok(Self {
            root: root.to_path_buf(),
            models,
            quality,
            index,
        })
    }

    /// The declared checks and monitors of the tables `selectors` pick: `dataset.table` or a
    /// model's bare name, `dataset.*`, `tag:x` (models with that tag); all when empty.
    ///
    /// # Errors
    /// A message naming a selector that matches no declared table.
    pub fn select_quality(
        &self,
        selectors: &[String],
    ) -> Result<Vec<&kura_quality::DeclaredQuality>, String> {
        if selectors.is_empty() {
            return Ok(self.quality.iter().collect());
        }
        let mut picked = Vec::new();
        for selector in selectors {
            let matches: Vec<&kura_quality::DeclaredQuality> = self
                .quality
                .iter()
                .filter(|q| {
                    let (dataset, table) = q.table.split_once('.').unwrap_or(("", &q.table));
                    if let Some(tag) = selector.strip_prefix("tag:") {
                        return self.models.iter().any(|m| {
                            m.name.to_string() == q.table && m.header.tags.iter().any(|t| t == tag)
                        });
                    }
                    if let Some(ds) = selector.strip_suffix(".*") {
                        return ds == dataset;
                    }
                    selector == &q.table || selector == table
                })
                .collect();
            if matches.is_empty() {
                let known: Vec<&str> = self.quality.iter().map(|q| q.table.as_str()).collect();
                return Err(format!(
                    "`{selector}` matches no table with checks or a monitor (declared for: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            for q in matches {
                if !picked
                    .iter()
                    .any(|p: &&kura_quality::DeclaredQuality| p.table == q.table)
                {
                    picked.push(q);
                }
            }
        }
        Ok(picked)
    }

    /// The model that builds `name`, if any.
    pub fn index_of(&self, name: &TableName) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Checks every model's `grants` with `validate` (the project's access policy), so a
    /// grant to an unknown group is an error at the model's header, before anything runs.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] with one problem per model whose grants are refused.
    pub fn check_grants(
        &self,
        validate: impl Fn(&[String]) -> Result<(), String>,
    ) -> Result<(), ModelError> {
        let problems: Vec<ModelProblem> = self
            .models
            .iter()
            .filter_map(|model| {
                let message = validate(&model.header.grants).err()?;
                Some(ModelProblem {
                    path: model.path.clone(),
                    line: model.header_line.max(1),
                    column: 1,
                    message: format!("`{}`: {message}", model.name),
                    hint: Some(
                        "grants take `group:NAME` (a group of kura.toml), `user:NAME` or `*`"
                            .into(),
                    ),
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Invalid(problems))
        }
    }

    /// Checks that every table a model reads is a model or exists in the warehouse.
    ///
    /// # Errors
    /// [`ModelError::Invalid`] listing each unknown table where it is named.
    pub fn check_references(&self, exists: impl Fn(&TableName) -> bool) -> Result<(), ModelError> {
        let mut problems = Vec::new();
        for model in &self.models {
            for r in &model.reads {
                if self.index_of(&r.table).is_none() && !exists(&r.table) {
                    let close: Vec<String> =
                        self.models.iter().map(|m| m.name.to_string()).collect();
                    let close: Vec<&str> = close.iter().map(String::as_str).collect();
                    let wanted = r.table.to_string();
                    let hint = match did_you_mean(&wanted, &close) {
                        Some(m) => format!("did you mean the model `{m}`?"),
                        None => format!(
                            "add a model models/{}/{}.sql, or load the table with `kura load`",
                            r.table.dataset, r.table.table
                        ),
                    };
                    problems.push(ModelProblem {
                        path: model.path.clone(),
                        line: r.line,
                        column: r.column,
                        message: format!(
                            "`{}` reads `{}`, which is neither a model nor a table in the warehouse",
                            model.name, r.table
                        ),
                        hint: Some(hint),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Invalid(problems))
        }
    }
}

/// `(dataset, file name)` of every `.sql` file one level under `models/`, sorted.
fn model_files(dir: &Path) -> Result<Vec<(String, String)>, ModelError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for dataset in entries.filter_map(Result::ok) {
        if !dataset.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(dataset_name) = dataset.file_name().into_string() else {
            continue;
        };
        for file in std::fs::read_dir(dataset.path()).map_err(io(&dataset.path()))? {
            let file = file.map_err(io(&dataset.path()))?;
            let Ok(file_name) = file.file_name().into_string() else {
                continue;
            };
            if file_name.ends_with(".sql") && file.file_type().is_ok_and(|t| t.is_file()) {
                out.push((dataset_name.clone(), file_name));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn problem(
    path: &Path,
    line: u64,
    column: u64,
    message: String,
    hint: Option<&str>,
) -> ModelProblem {
    ModelProblem {
        path: path.to_path_buf(),
        line,
        column,
        message,
        hint: hint.map(str::to_string),
    }
}

fn parse_model(
    dataset: &str,
    name: &str,
    path: &Path,
    text: String,
) -> Result<Model, Vec<ModelProblem>> {
    let table = TableName::new(dataset, name).map_err(|e| {
        vec![problem(
            path,
            1,
            1,
            format!("the file name does not make a valid table name: {e}"),
            Some("name model files in lowercase snake_case, as in models/marts/orders.sql"),
        )]
    })?;
    let (header, header_line) = parse_header(&text, path).map_err(|p| vec![p])?;
    let statements = kura_sql::parse(&text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line, l.column)).unwrap_or((1, 1));
        vec![problem(
            path,
            line,
            column,
            format!("invalid GoogleSQL: {e}"),
            e.hint(),
        )]
    })?;
    if statements.len() > 1 {
        let second = statements[1].span().start;
        return Err(vec![problem(
            path,
            second.line.max(1),
            second.column.max(1),
            format!(
                "a model is one SELECT, but this file holds {} statements",
                statements.len()
            ),
            Some("keep one SELECT per file; split the others into their own models"),
        )]);
    }
    let statement = statements.into_iter().next().ok_or_else(|| {
        vec![problem(
            path,
            1,
            1,
            "the file holds no statement".into(),
            Some("write one SELECT"),
        )]
    })?;
    if !matches!(statement, Statement::Query(_)) {
        let kind = statement.to_string();
        let kind = kind
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let (line, column) = first_token(&text);
        return Err(vec![problem(
            path,
            line,
            column,
            format!("a model is one SELECT, but this is `{kind} ...`"),
            Some("kura creates the table or view itself; keep only the SELECT"),
        )]);
    }
    let reads = references(&statement, path)?;
    let sql_hash = blake3::hash(statement.to_string().as_bytes())
        .to_hex()
        .to_string();
    let mut config = serde_json::json!({
        "materialized": header.materialized,
        "partition_by": header.partition_by,
        "lookback_days": header.lookback_days,
        "unique_key": header.unique_key,
        "cluster_by": header.cluster_by,
        "on_schema_change": header.on_schema_change,
    });
    // Only when set, so that models deployed before grants existed keep their hash.
    if !header.grants.is_empty() {
        config["grants"] = serde_json::json!(header.grants);
    }
    let config_hash = blake3::hash(config.to_string().as_bytes())
        .to_hex()
        .to_string();
    let model = Model {
        name: table,
        path: path.to_path_buf(),
        header,
        header_line,
        statement,
        reads,
        sql_hash,
        config_hash,
        text,
    };
    check_header(&model).map_err(|p| vec![p])?;
    Ok(model)
}

fn parse_header(text: &str, path: &Path) -> Result<(ModelHeader, u64), ModelProblem> {
    let found = header::find_header(text)
        .map_err(|m| problem(path, 1, 1, m, Some("close the header with `*/`")))?;
    let Some(found) = found else {
        return Ok((ModelHeader::default(), 0));
    };
    match toml::from_str::<ModelHeader>(found.toml) {
        Ok(h) => Ok((h, found.first_line)),
        Err(e) => {
            let (line, column) = e
                .span()
                .map(|s| line_col(found.toml, s.start))
                .unwrap_or((0, 1));
            let message = e.message().trim().to_string();
            let hint = unknown_key(&message)
                .and_then(|k| did_you_mean(&k, HEADER_KEYS))
                .map(|k| format!("did you mean `{k}`?"))
                .unwrap_or_else(|| format!("valid keys: {}", HEADER_KEYS.join(", ")));
            Err(problem(
                path,
                found.first_line + line,
                column,
                format!("invalid model header: {message}"),
                Some(&hint),
            ))
        }
    }
}

/// Every table's checks and monitor: each model's header, then each dataset's `checks.toml`,
/// merged per table.
fn declared_quality(
    root: &Path,
    dir: &Path,
    models: &[Model],
    problems: &mut Vec<ModelProblem>,
) -> Result<Vec<kura_quality::DeclaredQuality>, ModelError> {
    let mut by_table: BTreeMap<String, kura_quality::DeclaredQuality> = BTreeMap::new();
    for m in models {
        if m.header.checks.is_empty() && m.header.monitor.is_none() {
            continue;
        }
        by_table.insert(
            m.name.to_string(),
            kura_quality::DeclaredQuality {
                table: m.name.to_string(),
                quality: kura_quality::TableQuality {
                    checks: m.header.checks.clone(),
                    monitor: m.header.monitor.clone(),
                },
                source: m.path.clone(),
            },
        );
    }
    let datasets = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    let mut datasets = datasets;
    datasets.sort();
    for dataset in datasets {
        let path = Path::new(MODELS_DIR).join(&dataset).join(CHECKS_FILE);
        let text = match std::fs::read_to_string(root.join(&path)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ModelError::Io { path, source }),
        };
        let tables = match kura_quality::spec::parse_checks_file(&text) {
            Ok(t) => t,
            Err(message) => {
                problems.push(problem(
                    &path,
                    1,
                    1,
                    format!("invalid checks file: {message}"),
                    Some("each table is a TOML table: [orders] with [[orders.checks]] type = \"not_null\" ..."),
                ));
                continue;
            }
        };
        for (table, quality) in tables {
            let name = format!("{dataset}.{table}");
            let entry =
                by_table
                    .entry(name.clone())
                    .or_insert_with(|| kura_quality::DeclaredQuality {
                        table: name.clone(),
                        quality: kura_quality::TableQuality::default(),
                        source: path.clone(),
                    });
            entry.quality.checks.extend(quality.checks);
            if let Some(monitor) = quality.monitor {
                if entry.quality.monitor.is_some() {
                    problems.push(problem(
                        &path,
                        1,
                        1,
                        format!("`{name}` has a monitor in its model header and in {CHECKS_FILE}"),
                        Some("keep one of them"),
                    ));
                }
                entry.quality.monitor = Some(monitor);
            }
            if let Err(message) = kura_quality::spec::validate(&entry.quality) {
                problems.push(problem(
                    &path,
                    1,
                    1,
                    format!("`{name}`: {message}"),
                    Some("check names must be unique per table across the header and checks.toml"),
                ));
            }
        }
    }
    Ok(by_table.into_values().collect())
}

/// Settings that need each other.
fn check_header(model: &Model) -> Result<(), ModelProblem> {
    let h = &model.header;
    let at = |m: &str, hint: &str| {
        problem(
            &model.path,
            model.header_line.max(1),
            1,
            m.into(),
            Some(hint),
        )
    };
    if h.materialized == crate::Materialization::Incremental
        && h.partition_by.is_none()
        && h.unique_key.is_none()
    {
        return Err(at(
            "an incremental model needs partition_by (rebuild recent partitions) or unique_key (merge)",
            "add partition_by = \"<date column>\" or unique_key = \"<key column>\" to the header",
        ));
    }
    if h.materialized == crate::Materialization::View
        && (h.partition_by.is_some() || h.unique_key.is_some() || !h.cluster_by.is_empty())
    {
        return Err(at(
            "partition_by, unique_key and cluster_by apply to tables, but this model is a view",
            "set materialized = \"table\" or \"incremental\", or remove those keys",
        ));
    }
    let quality = kura_quality::TableQuality {
        checks: h.checks.clone(),
        monitor: h.monitor.clone(),
    };
    if let Err(message) = kura_quality::spec::validate(&quality) {
        return Err(at(
            &format!("invalid checks: {message}"),
            "see the check types in the README's Data quality section",
        ));
    }
    Ok(())
}

/// Where the SQL starts: the first character after the header that is not blank.
fn first_token(text: &str) -> (u64, u64) {
    let start = header::find_header(text)
        .ok()
        .flatten()
        .map_or(0, |h| h.end);
    let offset = text[start..]
        .find(|c: char| !c.is_whitespace())
        .map_or(start, |o| start + o);
    let (line, column) = line_col(text, offset);
    (line + 1, column)
}

/// `unknown field `x`, expected ...` -> `x`.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// 0-based line and 1-based column of a byte offset.
fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, column)
}

/// The tables a statement reads with where each is first named.
fn references(statement: &Statement, path: &Path) -> Result<Vec<Reference>, Vec<ModelProblem>> {
    let mut spans: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let _ = visit_relations(statement, |name| {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .flat_map(|v| v.split('.').map(str::to_string).collect::<Vec<_>>())
            .collect();
        if let [.., d, t] = parts.as_slice() {
            let start = name.span().start;
            spans
                .entry((d.clone(), t.clone()))
                .or_insert((start.line.max(1), start.column.max(1)));
        }
        ControlFlow::<()>::Continue(())
    });
    let mut problems = Vec::new();
    let mut reads = Vec::new();
    for t in kura_sql::referenced_tables(statement) {
        let Some(dataset) = t.dataset.clone() else {
            let at = first_mention(statement, &t.table);
            problems.push(problem(
                path,
                at.0,
                at.1,
                format!("`{}` has no dataset", t.table),
                Some("write tables as dataset.table (e.g. stg.orders); a model's CTEs need none"),
            ));
            continue;
        };
        let (line, column) = spans
            .get(&(dataset.clone(), t.table.clone()))
            .copied()
            .unwrap_or((1, 1));
        match TableName::new(&dataset.to_ascii_lowercase(), &t.table.to_ascii_lowercase()) {
            Ok(table) => reads.push(Reference {
                table,
                line,
                column,
            }),
            Err(e) => problems.push(problem(path, line, column, e.to_string(), None)),
        }
    }
    reads.sort_by(|a, b| a.table.cmp(&b.table));
    reads.dedup_by(|a, b| a.table == b.table);
    if problems.is_empty() {
        Ok(reads)
    } else {
        Err(problems)
    }
}

fn first_mention(statement: &Statement, table: &str) -> (u64, u64) {
    let mut at = (1, 1);
    let _ = visit_relations(statement, |name| {
        if name.to_string().eq_ignore_ascii_case(table) {
            let s = name.span().start;
            at = (s.line.max(1), s.column.max(1));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    at
}
