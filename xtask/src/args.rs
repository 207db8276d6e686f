//! A tiny flag parser: `--name value` pairs and `--flag` switches, `--` ends the flags.

use anyhow::{Result, bail};

/// Parsed arguments.
#[derive(Debug, Default)]
pub struct Args {
    pairs: Vec<(String, String)>,
    switches: Vec<String>,
    /// Everything after `--`.
    pub passthrough: Vec<String>,
}

impl Args {
    /// Parses `raw`; `switch_names` take no value.
    pub fn parse(raw: &[String], switch_names: &[&str]) -> Result<Self> {
        let mut args = Args::default();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                args.passthrough = iter.cloned().collect();
                break;
            }
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument `{arg}`");
            };
            if switch_names.contains(&name) {
                args.switches.push(name.to_string());
            } else {
                let Some(value) = iter.next() else {
                    bail!("--{name} needs a value");
                };
                args.pairs.push((name.to_string(), value.clone()));
            }
        }
        Ok(args)
    }

    /// The value of `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}
