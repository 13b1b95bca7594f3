//! Compiles each distinct pattern of a batch once.

use std::collections::HashMap;

use datafusion::common::{exec_datafusion_err, Result};
use regex::Regex;

#[derive(Default)]
pub(crate) struct RegexCache {
    compiled: HashMap<String, Regex>,
}

impl RegexCache {
    pub(crate) fn get(&mut self, pattern: &str) -> Result<&Regex> {
        if !self.compiled.contains_key(pattern) {
            let re = Regex::new(pattern)
                .map_err(|e| exec_datafusion_err!("invalid regular expression '{pattern}': {e}"))?;
            self.compiled.insert(pattern.to_string(), re);
        }
        self.compiled
            .get(pattern)
            .ok_or_else(|| exec_datafusion_err!("regular expression cache lost '{pattern}'"))
    }
}
