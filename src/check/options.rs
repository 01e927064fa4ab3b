//! From `.calint.yaml` and the command line to [`CheckOptions`]: the one place every command
//! (`check`, `diff`, `reach`, `graph`, `exposure`, `paths`) gets its options from, so none of
//! them can ignore a setting of the file (`exclude`, `limits`, `calico-version`, `tiers`) or a
//! configuration flag (`--config`, `--no-config`, `--exclude`, `--calico-version`).
//!
//! It lives in `check` rather than `config` because [`CheckOptions`] is the pipeline's type and
//! `config` sits below `check` in the layers (`config` reads the file into [`Effective`]; this
//! module turns that into the pipeline's options).

use super::{AnchoredExcludes, CheckOptions, ReachabilityConfig, ViewSpec, display_name};
use crate::analysis::{AnalysisOptions, DEFAULT_SOLVER_TIMEOUT_MS};
use crate::config::{self, Config, ConfigError, Effective, Limits, Origin, Overrides};
use crate::lints::LintSettings;
use crate::validate::ValidateOptions;
use std::path::{Path, PathBuf};

/// Which configuration file applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConfigChoice {
    /// Walk up from the first path looking for `.calint.yaml`.
    #[default]
    Discover,
    /// `--config FILE`.
    File(PathBuf),
    /// `--no-config`: the built-in defaults.
    None,
}

/// Find and read the configuration for `paths` (relative paths against `cwd`), then put the
/// command line's `overrides` on top.
pub fn effective(
    paths: &[PathBuf],
    choice: &ConfigChoice,
    overrides: &Overrides,
    cwd: &Path,
) -> Result<Effective, ConfigError> {
    let found = match choice {
        ConfigChoice::File(file) => Some((config::absolute(file, cwd), true)),
        ConfigChoice::None => None,
        ConfigChoice::Discover => {
            config::discover(&config::start_dir(paths, cwd)).map(|p| (p, false))
        }
    };
    let config = match found {
        None => Config::default(),
        Some((path, explicit)) => {
            let origin = if explicit {
                Origin::Explicit(path.clone())
            } else {
                Origin::Discovered(path.clone())
            };
            config::load(&path, display_name(&path, Some(cwd)), origin)?
        }
    };
    Ok(Effective::new(config, overrides))
}

/// What a command's own flags add to the configuration in force.
#[derive(Clone, Debug, Default)]
pub struct CommandFlags {
    pub paths: Vec<PathBuf>,
    /// `--solver-timeout`: wins over `limits.solver-timeout-ms`.
    pub solver_timeout_ms: Option<u32>,
    /// `--no-analysis` (and the query commands, which load without analysing).
    pub no_analysis: bool,
    /// `--explain`.
    pub explain: bool,
    /// `--render` (or the file's `render: true`).
    pub render: bool,
}

/// The per-query solver limit: the flag, else the file's `limits.solver-timeout-ms`, else the
/// built-in default.
pub fn solver_timeout_ms(effective: &Effective, flag: Option<u32>) -> u32 {
    flag.or(effective.config.limits.solver_timeout_ms)
        .unwrap_or(DEFAULT_SOLVER_TIMEOUT_MS)
}

/// The pipeline's options for a command: the configuration in force and the command's flags.
pub fn check_options(effective: &Effective, flags: &CommandFlags) -> CheckOptions {
    let config = &effective.config;
    let mut opts = CheckOptions {
        paths: flags.paths.clone(),
        excludes: effective.cli_exclude.clone(),
        anchored_excludes: config
            .base_dir()
            .filter(|_| !effective.config_exclude.is_empty())
            .map(|base| AnchoredExcludes {
                base: base.to_path_buf(),
                patterns: effective.config_exclude.clone(),
            }),
        validate: ValidateOptions {
            target: effective.calico_version.0,
        },
        lints: LintSettings {
            explain: flags.explain,
            ..effective.lint_settings()
        },
        reachability: ReachabilityConfig::from_config(config),
        external_tiers: (config.tier_defs.iter())
            .map(config::tiers::TierDef::compiled)
            .collect(),
        views: ViewSpec::from_config(config),
        render: flags.render || config.render.as_ref().is_some_and(|r| r.value),
        analysis: (!flags.no_analysis).then_some(AnalysisOptions {
            solver_timeout_ms: solver_timeout_ms(effective, flags.solver_timeout_ms),
            ..AnalysisOptions::default()
        }),
        ..CheckOptions::default()
    };
    apply_limits(&mut opts, &config.limits);
    opts
}

/// The file's `limits:` on top of the built-in bounds (the solver limit is set by
/// [`solver_timeout_ms`], where the flag wins).
fn apply_limits(opts: &mut CheckOptions, l: &Limits) {
    if let Some(v) = l.max_file_size {
        opts.max_file_size = v;
    }
    if let Some(v) = l.max_yaml_depth {
        opts.parse_limits.max_depth = v;
    }
    if let Some(v) = l.max_alias_nodes {
        opts.parse_limits.max_alias_nodes = v;
    }
    if let Some(v) = l.max_yaml_nodes {
        opts.parse_limits.max_nodes = v;
    }
    if let Some(v) = l.max_problems_per_file {
        opts.max_problems_per_file = v;
    }
    if let Some(v) = l.max_selector_bytes {
        opts.selector_limits.max_bytes = v;
    }
    if let Some(v) = l.max_selector_terms {
        opts.selector_limits.max_terms = v;
    }
    if let (Some(a), Some(v)) = (opts.analysis.as_mut(), l.analysis_budget_ms) {
        a.budget_ms = (v > 0).then_some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effective_of(yaml: &str) -> Effective {
        let source = crate::source::SourceFile::new(
            ".calint.yaml".into(),
            ".calint.yaml".into(),
            yaml.into(),
        );
        let config = config::parse(source, Origin::Defaults).expect("valid configuration");
        Effective::new(config, &Overrides::default())
    }

    #[test]
    fn the_file_s_limits_and_version_reach_the_options_and_the_flag_wins_the_timeout() {
        let e = effective_of(
            "calico-version: \"3.30\"\nlimits:\n  max-file-size: 100\n  max-selector-terms: 7\n  solver-timeout-ms: 50\n  analysis-budget-ms: 0\n",
        );
        let opts = check_options(&e, &CommandFlags::default());
        assert_eq!(opts.max_file_size, 100);
        assert_eq!(opts.selector_limits.max_terms, 7);
        assert_eq!(opts.validate.target.to_string(), "v3.30");
        let a = opts.analysis.expect("analysis on");
        assert_eq!((a.solver_timeout_ms, a.budget_ms), (50, None));
        let flags = CommandFlags {
            solver_timeout_ms: Some(9),
            ..CommandFlags::default()
        };
        let a = check_options(&e, &flags).analysis.expect("analysis on");
        assert_eq!(a.solver_timeout_ms, 9);
        let flags = CommandFlags {
            no_analysis: true,
            ..CommandFlags::default()
        };
        assert!(check_options(&e, &flags).analysis.is_none());
        assert_eq!(solver_timeout_ms(&e, None), 50);
        assert_eq!(
            solver_timeout_ms(&effective_of(""), None),
            DEFAULT_SOLVER_TIMEOUT_MS
        );
    }
}
