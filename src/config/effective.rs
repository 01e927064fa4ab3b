//! The configuration in force: the file (or the defaults) with the command line on top, and
//! where each value came from (for `calint config --print`).

use super::Config;
use crate::finding::Severity;
use crate::lints::{self, LintMeta};
use crate::validate::CalicoVersion;

/// Where an effective setting came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingSource {
    Default,
    Config,
    CommandLine,
}

impl SettingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingSource::Default => "default",
            SettingSource::Config => "config",
            SettingSource::CommandLine => "command line",
        }
    }
}

/// Settings given on the command line; they override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `Some(None)`: `--fail-on never`.
    pub fail_on: Option<Option<Severity>>,
    pub calico_version: Option<CalicoVersion>,
    /// Added to the file's excludes; matched relative to each PATH like the walker does.
    pub exclude: Vec<String>,
    /// `--rule CODE=LEVEL`, already resolved.
    pub rules: Vec<(&'static LintMeta, Option<Severity>)>,
}

/// The configuration in force: file, defaults and command line combined.
#[derive(Clone, Debug)]
pub struct Effective {
    pub config: Config,
    /// The failing threshold; `None` is `never` (report only: exit 0 with findings).
    pub fail_on: (Option<Severity>, SettingSource),
    pub calico_version: (CalicoVersion, SettingSource),
    /// Every registered lint, in registry order, with its level (`None` = off).
    pub rules: Vec<(&'static LintMeta, Option<Severity>, SettingSource)>,
    /// Excludes of the file (relative to its directory).
    pub config_exclude: Vec<String>,
    /// Excludes from the command line (relative to each PATH).
    pub cli_exclude: Vec<String>,
}

/// The failing threshold when neither file nor command line sets one.
pub const DEFAULT_FAIL_ON: Severity = Severity::Warning;

impl Effective {
    pub fn new(config: Config, overrides: &Overrides) -> Effective {
        let fail_on = match (overrides.fail_on, &config.fail_on) {
            (Some(s), _) => (s, SettingSource::CommandLine),
            (None, Some(s)) => (s.value, SettingSource::Config),
            (None, None) => (Some(DEFAULT_FAIL_ON), SettingSource::Default),
        };
        let calico_version = match (overrides.calico_version, &config.calico_version) {
            (Some(v), _) => (v, SettingSource::CommandLine),
            (None, Some(v)) => (v.value, SettingSource::Config),
            (None, None) => (CalicoVersion::LATEST, SettingSource::Default),
        };
        let rules = lints::REGISTRY
            .iter()
            .map(|lint| {
                let meta = lint.meta();
                let cli = overrides
                    .rules
                    .iter()
                    .rev()
                    .find(|(m, _)| m.code == meta.code);
                let file = config.rules.iter().find(|s| s.lint.code == meta.code);
                match (cli, file) {
                    (Some((_, level)), _) => (meta, *level, SettingSource::CommandLine),
                    (None, Some(s)) => (meta, s.level, SettingSource::Config),
                    (None, None) => (meta, Some(meta.default_severity), SettingSource::Default),
                }
            })
            .collect();
        Effective {
            fail_on,
            calico_version,
            rules,
            config_exclude: config.exclude.iter().map(|g| g.value.clone()).collect(),
            cli_exclude: overrides.exclude.clone(),
            config,
        }
    }

    /// Severity overrides for [`lints::LintSettings`]: every lint whose level differs from its
    /// default.
    /// Whether findings make the run fail (exit 1).
    pub fn fails(&self, findings: &[crate::finding::Finding]) -> bool {
        self.fail_on
            .0
            .is_some_and(|t| findings.iter().any(|f| f.severity >= t))
    }

    pub fn lint_settings(&self) -> lints::LintSettings {
        let mut settings = lints::LintSettings::default();
        for (meta, level, _) in &self.rules {
            if *level != Some(meta.default_severity) {
                settings.overrides.insert(meta.code.to_string(), *level);
            }
        }
        settings
    }
}
