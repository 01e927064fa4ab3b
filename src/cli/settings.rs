//! Flags shared by the commands: which configuration file, and what the command line overrides
//! in it. [`ConfigFileArgs`] (every command that reads a tree) and [`SettingsArgs`] (the lint
//! settings on top, for `check`, `diff` and `config`). Turning them into options is the
//! library's job (`calint::check::options`).

use super::{ColorChoice, EXIT_ERROR};
use calint::check::display_name;
use calint::check::options::{self, ConfigChoice};
use calint::config::{Effective, Origin, Overrides};
use calint::finding::Severity;
use calint::lints::{self, LintMeta};
use calint::report;
use calint::validate::CalicoVersion;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    /// Report only: exit 0 whatever the findings (still 2 on usage, configuration, I/O errors).
    Never,
}

impl From<FailOn> for Option<Severity> {
    fn from(f: FailOn) -> Option<Severity> {
        match f {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Error => Some(Severity::Error),
            FailOn::Never => None,
        }
    }
}

/// Which configuration applies, and the settings of it every command honours.
#[derive(Args, Clone)]
pub struct ConfigFileArgs {
    /// Use this configuration file instead of looking for .calint.yaml.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore any .calint.yaml; use the built-in defaults and the flags.
    #[arg(long)]
    no_config: bool,
    /// Skip paths matching this glob, relative to each PATH (repeatable; adds to the config's).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Calico version whose validator to imitate, e.g. 3.31 [default: 3.33, or the config's].
    #[arg(long, value_name = "X.Y", value_parser = parse_version)]
    calico_version: Option<CalicoVersion>,
}

#[derive(Args, Clone)]
pub struct SettingsArgs {
    #[command(flatten)]
    config: ConfigFileArgs,
    /// Exit with 1 when a finding has at least this severity [default: warning, or the config's].
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Set a lint's level: CODE=off|info|warning|error (code or name; repeatable).
    #[arg(long = "rule", value_name = "CODE=LEVEL", value_parser = parse_rule)]
    rules: Vec<(&'static LintMeta, Option<Severity>)>,
}

fn parse_version(s: &str) -> Result<CalicoVersion, String> {
    CalicoVersion::parse(s).ok_or_else(|| format!("`{s}` is not a version like 3.31"))
}

fn parse_rule(s: &str) -> Result<(&'static LintMeta, Option<Severity>), String> {
    let (code, level) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not CODE=LEVEL (e.g. CAL101=off)"))?;
    let lint = lints::find(code.trim()).ok_or_else(|| {
        format!("`{code}` is not a calint lint code or name (see `calint rules`)")
    })?;
    let level = match level.trim() {
        "off" => None,
        other => Some(
            Severity::parse(other)
                .ok_or_else(|| format!("`{other}` is not one of off, info, warning, error"))?,
        ),
    };
    Ok((lint.meta(), level))
}

impl ConfigFileArgs {
    /// Find and read the configuration for `paths`, then apply the flags. A broken
    /// configuration is reported on stderr (with source snippets) and gives exit code 2.
    pub fn resolve(&self, paths: &[PathBuf], color: ColorChoice) -> Result<Effective, u8> {
        self.resolve_with(paths, color, Overrides::default())
    }

    fn resolve_with(
        &self,
        paths: &[PathBuf],
        color: ColorChoice,
        overrides: Overrides,
    ) -> Result<Effective, u8> {
        let cwd = std::env::current_dir().map_err(|e| {
            eprintln!("error: cannot read the working directory: {e}");
            EXIT_ERROR
        })?;
        let choice = match &self.config {
            Some(file) => ConfigChoice::File(file.clone()),
            None if self.no_config => ConfigChoice::None,
            None => ConfigChoice::Discover,
        };
        let overrides = Overrides {
            calico_version: self.calico_version,
            exclude: self.exclude.clone(),
            ..overrides
        };
        options::effective(paths, &choice, &overrides, &cwd).map_err(|err| {
            eprint!(
                "{}",
                report::human::render_config_error(&err, color.enabled_on_stderr())
            );
            EXIT_ERROR
        })
    }
}

impl SettingsArgs {
    /// [`ConfigFileArgs::resolve`] with the lint settings of the command line on top.
    pub fn resolve(&self, paths: &[PathBuf], color: ColorChoice) -> Result<Effective, u8> {
        let overrides = Overrides {
            fail_on: self.fail_on.map(Option::<Severity>::from),
            rules: self.rules.clone(),
            ..Overrides::default()
        };
        self.config.resolve_with(paths, color, overrides)
    }
}

/// How `config --print` and `--verbose` name the configuration's origin.
pub fn describe_origin(origin: &Origin, cwd: Option<&Path>) -> String {
    match origin {
        Origin::Defaults => "none (built-in defaults)".to_string(),
        Origin::Discovered(p) => format!("{} (found)", display_name(p, cwd)),
        Origin::Explicit(p) => format!("{} (--config)", display_name(p, cwd)),
    }
}
