//! Principals, groups and dataset grants: who may read and write which dataset.
//!
//! The policy is checked against the tables a statement names (before views are expanded), so
//! a view works like a BigQuery authorised view: reading `marts.orders` needs a grant on
//! `marts`, not on the `raw` tables underneath it. That is what keeps analysts off raw data
//! while letting them use what is built from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use crate::project::AccessSection;

/// The dataset where kura records itself (query log, load log, ...).
pub const SYSTEM_DATASET: &str = "_kura";

/// The dataset of raw loads: engineers only unless `kura.toml` says otherwise.
pub const RAW_DATASET: &str = "raw";

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// The grants of one dataset, as written in `kura.toml`.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DatasetGrants {
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
}

/// A refused access, with everything the error message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    pub principal: String,
    pub dataset: String,
    /// The table, when the refusal comes from the table's own readers (a model's `grants`)
    /// rather than the dataset's grants.
    pub table: Option<String>,
    pub access: Access,
    /// Who would be allowed, as configured, to suggest the fix.
    pub allowed: Vec<String>,
}

/// The resolved access policy of a project.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    groups: BTreeMap<String, BTreeSet<String>>,
    datasets: BTreeMap<String, DatasetGrants>,
}

impl AccessPolicy {
    pub fn new(section: &AccessSection) -> Self {
        let groups = section
            .groups
            .iter()
            .map(|(g, members)| {
                let members = members
                    .iter()
                    .map(|m| m.strip_prefix("user:").unwrap_or(m).to_string())
                    .collect();
                (g.clone(), members)
            })
            .collect();
        Self {
            groups,
            datasets: section.datasets.clone(),
        }
    }

    /// The groups `principal` belongs to.
    pub fn groups_of(&self, principal: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|(_, members)| members.contains(principal))
            .map(|(g, _)| g.as_str())
            .collect()
    }

    /// The grants that apply to `dataset`: its own entry, else (for a dev copy `name__env`) those
    /// of `name`, else the `"*"` entry, else kura's
    /// defaults (raw: engineers only; `_kura`: read by engineers and analysts; others: read
    /// by engineers and analysts, written by engineers).
    pub fn grants_for(&self, dataset: &str) -> DatasetGrants {
        if let Some(g) = self.datasets.get(dataset) {
            return g.clone();
        }
        // A dev environment's copy (`finance__dev`) is guarded like the dataset it copies.
        if let Some((base, _env)) = dataset.split_once("__") {
            if !base.is_empty() {
                return self.grants_for(base);
            }
        }
        let engineers = "group:engineers".to_string();
        let analysts = "group:analysts".to_string();
        if dataset == RAW_DATASET {
            return DatasetGrants {
                read: vec![engineers.clone()],
                write: vec![engineers],
            };
        }
        if dataset == SYSTEM_DATASET {
            return DatasetGrants {
                read: vec![engineers, analysts],
                write: Vec::new(),
            };
        }
        if let Some(g) = self.datasets.get("*") {
            return g.clone();
        }
        DatasetGrants {
            read: vec![engineers.clone(), analysts],
            write: vec![engineers],
        }
    }

    /// Checks one access. Writes to `_kura` are refused to everyone: only kura writes there.
    ///
    /// # Errors
    /// [`AccessDenied`] naming the principal, dataset and access, with who is allowed.
    pub fn check(
        &self,
        principal: &str,
        dataset: &str,
        access: Access,
    ) -> Result<(), AccessDenied> {
        let grants = self.grants_for(dataset);
        let members = match access {
            Access::Read => &grants.read,
            Access::Write => &grants.write,
        };
        let allowed = !(dataset == SYSTEM_DATASET && access == Access::Write)
            && members.iter().any(|m| self.matches(m, principal));
        if allowed {
            Ok(())
        } else {
            Err(AccessDenied {
                principal: principal.to_string(),
                dataset: dataset.to_string(),
                table: None,
                access,
                allowed: members.clone(),
            })
        }
    }

    /// Checks a read of one table. A table with its own `readers` (a model's `grants`) is read
    /// by exactly those, plus whoever may write its dataset (they build it); a table without
    /// them follows its dataset's grants.
    ///
    /// # Errors
    /// [`AccessDenied`] naming the table when its own readers refuse.
    pub fn check_table_read(
        &self,
        principal: &str,
        dataset: &str,
        table: &str,
        readers: Option<&[String]>,
    ) -> Result<(), AccessDenied> {
        let Some(readers) = readers else {
            return self.check(principal, dataset, Access::Read);
        };
        let is_reader = readers.iter().any(|m| self.matches(m, principal));
        if is_reader || self.check(principal, dataset, Access::Write).is_ok() {
            return Ok(());
        }
        Err(AccessDenied {
            principal: principal.to_string(),
            dataset: dataset.to_string(),
            table: Some(format!("{dataset}.{table}")),
            access: Access::Read,
            allowed: readers.to_vec(),
        })
    }

    /// Checks that each grant names something this policy knows how to match: `*`,
    /// `group:NAME` of a declared group, `user:NAME` or a bare principal. A bare name that is
    /// also a group's name is refused as ambiguous, with the fix.
    ///
    /// # Errors
    /// A message naming the first bad grant and how to write it.
    pub fn validate_grants(&self, grants: &[String]) -> Result<(), String> {
        for g in grants {
            let name = g
                .strip_prefix("group:")
                .or_else(|| g.strip_prefix("user:"))
                .unwrap_or(g);
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                return Err(format!(
                    "grant `{g}` names no one: it is empty or has spaces"
                ));
            }
            if let Some(group) = g.strip_prefix("group:") {
                if !self.groups.contains_key(group) {
                    let known: Vec<&str> = self.groups.keys().map(String::as_str).collect();
                    let known = if known.is_empty() {
                        "none are declared".to_string()
                    } else {
                        format!("groups: {}", known.join(", "))
                    };
                    return Err(format!(
                        "grant `{g}` names no group of kura.toml [access.groups] ({known})"
                    ));
                }
            } else if !g.starts_with("user:") && g != "*" && self.groups.contains_key(g.as_str()) {
                return Err(format!(
                    "grant `{g}` is a bare principal name, but `{g}` is a group; write \
                     `group:{g}` for the group or `user:{g}` for a principal of that name"
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, member: &str, principal: &str) -> bool {
        if member == "*" {
            return true;
        }
        if let Some(group) = member.strip_prefix("group:") {
            return self
                .groups
                .get(group)
                .is_some_and(|members| members.contains(principal));
        }
        member.strip_prefix("user:").unwrap_or(member) == principal
    }
}

/// The principal to run as when none is given: `$KURA_PRINCIPAL`, else the OS user.
pub fn default_principal() -> String {
    ["KURA_PRINCIPAL", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::parse_config;

    fn policy() -> AccessPolicy {
        let config = parse_config(&crate::project::config_template("t", "alice")).unwrap();
        let mut access = config.access;
        access
            .groups
            .insert("analysts".into(), vec!["user:bob".into()]);
        access.datasets.insert(
            "marts".into(),
            DatasetGrants {
                read: vec!["group:analysts".into(), "dashboard".into()],
                write: vec!["group:engineers".into()],
            },
        );
        AccessPolicy::new(&access)
    }

    #[test]
    fn raw_is_for_engineers_only() {
        let p = policy();
        assert!(p.check("alice", "raw", Access::Read).is_ok());
        assert!(p.check("alice", "raw", Access::Write).is_ok());
        let denied = p.check("bob", "raw", Access::Read).unwrap_err();
        assert_eq!(denied.allowed, vec!["group:engineers"]);
        assert!(p.check("dashboard", "raw", Access::Read).is_err());
    }

    #[test]
    fn service_principal_gets_only_what_is_granted() {
        let p = policy();
        assert!(p.check("dashboard", "marts", Access::Read).is_ok());
        assert!(p.check("dashboard", "marts", Access::Write).is_err());
        assert!(p.check("dashboard", "stg", Access::Read).is_err());
        assert!(p.check("bob", "stg", Access::Read).is_ok());
    }

    #[test]
    fn a_table_with_readers_is_read_by_them_and_its_dataset_writers_only() {
        let p = policy();
        let readers = vec!["user:dashboard".to_string()];
        // Widens: dashboard reads this table of `stg`, which it may not read otherwise.
        assert!(p.check("dashboard", "stg", Access::Read).is_err());
        assert!(p
            .check_table_read("dashboard", "stg", "kpis", Some(&readers))
            .is_ok());
        // Narrows: bob the analyst reads `stg`, but not this table.
        let denied = p
            .check_table_read("bob", "stg", "kpis", Some(&readers))
            .unwrap_err();
        assert_eq!(denied.table.as_deref(), Some("stg.kpis"));
        assert_eq!(denied.allowed, readers);
        // The dataset's writers build it, so they read it.
        assert!(p
            .check_table_read("alice", "stg", "kpis", Some(&readers))
            .is_ok());
        // Without readers the dataset decides.
        assert!(p.check_table_read("bob", "stg", "kpis", None).is_ok());
        assert!(p.check_table_read("bob", "raw", "orders", None).is_err());
    }

    #[test]
    fn grants_must_name_known_groups_unambiguously() {
        let p = policy();
        let ok =
            |v: &[&str]| p.validate_grants(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["group:analysts", "user:bob", "dashboard", "*"]).is_ok());
        let e = ok(&["analysts"]).unwrap_err();
        assert!(e.contains("write `group:analysts`"), "{e}");
        let e = ok(&["group:finance"]).unwrap_err();
        assert!(e.contains("names no group"), "{e}");
        assert!(e.contains("groups: analysts, engineers"), "{e}");
        for empty in ["user:", "group:", "", "user:a b", " bob"] {
            let e = ok(&[empty]).unwrap_err();
            assert!(e.contains("names no one"), "{empty:?}: {e}");
        }
    }

    #[test]
    fn a_dev_copy_is_guarded_like_its_dataset() {
        let p = policy();
        assert!(p.check("dashboard", "marts__dev", Access::Read).is_ok());
        assert!(p.check("bob", "raw__dev", Access::Read).is_err());
        assert!(p.check("alice", "raw__dev", Access::Write).is_ok());
        assert_eq!(p.grants_for("stg__dev"), p.grants_for("stg"));
    }

    #[test]
    fn nobody_writes_the_system_dataset() {
        let p = policy();
        assert!(p.check("alice", "_kura", Access::Write).is_err());
        assert!(p.check("bob", "_kura", Access::Read).is_ok());
    }
}
