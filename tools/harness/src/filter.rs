// SPDX-License-Identifier: GPL-2.0
//! --filter: which tests to run.
//!
//! A pattern containing a glob character (`*`, `?`, `[`) must match a whole
//! test name ("object/program"; `*` also matches `/`) or its program part
//! (after the last `/`); any other pattern matches as a substring.  A test
//! is selected when any pattern matches its name or its __description.  No
//! pattern selects everything.

use anyhow::Context as _;

#[derive(Debug)]
enum Pat {
    Substr(String),
    Glob(glob::Pattern),
}

#[derive(Debug, Default)]
pub struct Filter {
    pats: Vec<Pat>,
}

impl Filter {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> anyhow::Result<Filter> {
        let pats = patterns
            .iter()
            .map(|p| {
                let p = p.as_ref();
                if p.contains(['*', '?', '[']) {
                    glob::Pattern::new(p)
                        .map(Pat::Glob)
                        .with_context(|| format!("bad filter pattern '{p}'"))
                } else {
                    Ok(Pat::Substr(p.to_string()))
                }
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Filter { pats })
    }

    /// Does the test with this name (and optional description) run?
    pub fn selects(&self, name: &str, description: Option<&str>) -> bool {
        if self.pats.is_empty() {
            return true;
        }
        let hit = |s: &str| {
            self.pats.iter().any(|p| match p {
                Pat::Substr(sub) => s.contains(sub.as_str()),
                Pat::Glob(g) => {
                    g.matches(s) || s.rsplit_once('/').is_some_and(|(_, last)| g.matches(last))
                }
            })
        };
        hit(name) || description.is_some_and(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pattern_selects_everything() {
        assert!(Filter::new::<&str>(&[]).unwrap().selects("a/b", None));
    }

    #[test]
    fn substring_matches_anywhere() {
        let f = Filter::new(&["trim"]).unwrap();
        assert!(f.selects("dynptr_trim/trim_zero", None));
        assert!(!f.selects("dynptr_clone/clone_basic", None));
    }

    #[test]
    fn glob_matches_whole_name_across_slash() {
        let f = Filter::new(&["dynptr_*/clone_*"]).unwrap();
        assert!(f.selects("dynptr_clone/clone_basic", None));
        assert!(!f.selects("x_dynptr_clone/clone_basic", None));
        let f = Filter::new(&["module/*"]).unwrap();
        assert!(f.selects("module/rmmod_busy", None));
        assert!(!f.selects("dynptr/module_x", None));
    }

    #[test]
    fn glob_may_match_just_the_program_part() {
        let f = Filter::new(&["clone_*"]).unwrap();
        assert!(f.selects("dynptr_clone/clone_basic", None));
        assert!(!f.selects("dynptr_trim/trim_clone_basic", None));
    }

    #[test]
    fn any_of_several_patterns_and_description_alias() {
        let f = Filter::new(&["nomatch", "advance"]).unwrap();
        assert!(f.selects("o/p", Some("advance past the end")));
        assert!(!f.selects("o/p", Some("trim")));
    }

    #[test]
    fn bad_glob_is_rejected() {
        assert!(Filter::new(&["[abc"]).is_err());
    }
}
