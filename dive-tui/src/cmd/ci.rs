//! `dive-rs ci`, and dive's own spelling of it (`dive-rs IMAGE --ci`, or `CI=true`): the
//! image checked against size rules; the exit status says whether a rule failed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use dive_core::report;
use dive_core::report::gate::{self, DiveOverrides, GateFormat, Rules};

use crate::cmd::args::{CiArgs, GateFormatArg, InputArgs};
use crate::cmd::input::analyze;
use crate::cmd::json::write_json;

/// `dive-rs ci`: 0 when every rule passed or was skipped, else
/// [`gate::EXIT_GATE_FAILED`].
pub fn ci(args: &CiArgs) -> anyhow::Result<u8> {
    gate(&args.input, &GateOptions::from(args))
}

/// `dive-rs IMAGE --ci` (or under `CI=true`), as dive runs its gate: the rules file
/// `--ci-config` names, text output.
pub fn dive_ci(input: &InputArgs, rules: Option<PathBuf>) -> anyhow::Result<u8> {
    let options = GateOptions {
        rules,
        ..GateOptions::default()
    };
    gate(input, &options)
}

/// What `ci` needs besides the image.
#[derive(Debug, Default)]
struct GateOptions {
    rules: Option<PathBuf>,
    format: Option<GateFormat>,
    json: Option<PathBuf>,
    bytes: bool,
    overrides: DiveOverrides,
}

impl From<&CiArgs> for GateOptions {
    fn from(args: &CiArgs) -> Self {
        Self {
            rules: args.rules.clone(),
            format: Some(match args.format {
                GateFormatArg::Text => GateFormat::Text,
                GateFormatArg::Markdown => GateFormat::Markdown,
                GateFormatArg::Json => GateFormat::Json,
                GateFormatArg::Junit => GateFormat::Junit,
            }),
            json: args.json.clone(),
            bytes: args.bytes,
            overrides: DiveOverrides {
                lowest_efficiency: args.lowest_efficiency.clone(),
                highest_wasted_bytes: args.highest_wasted_bytes.clone(),
                highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
            },
        }
    }
}

/// The rules file named, else `./.dive-ci` when present (as dive), else dive's defaults.
fn load_rules(options: &GateOptions) -> anyhow::Result<Rules> {
    let default = Path::new(".dive-ci");
    let path = match &options.rules {
        Some(path) => Some(path.as_path()),
        None => default.is_file().then_some(default),
    };
    let Some(path) = path else {
        return Ok(Rules::parse("dive's defaults", "", &options.overrides)?);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the rules file", path.display()))?;
    Ok(Rules::parse(
        &path.display().to_string(),
        &text,
        &options.overrides,
    )?)
}

fn gate(input: &InputArgs, options: &GateOptions) -> anyhow::Result<u8> {
    // Bad rules are found before the image is read.
    let rules = load_rules(options)?;
    let mut analysis = analyze(input)?;
    if analysis.gpus.is_empty() {
        // The rules file's `cuda-archs` names the GPUs when the command line does not.
        analysis.gpus.clone_from(&rules.cuda_archs);
    }
    if let Some(path) = &options.json {
        let file = std::fs::File::create(path)
            .with_context(|| format!("{}: cannot write the JSON analysis", path.display()))?;
        let mut out = io::BufWriter::new(file);
        write_json(&mut out, &report::to_json(&analysis))
            .and_then(|()| Ok(out.flush()?))
            .with_context(|| format!("{}: writing JSON", path.display()))?;
    }
    let gate = gate::evaluate(&analysis, &rules);
    let format = options.format.unwrap_or(GateFormat::Text);
    let mut out = io::stdout().lock();
    out.write_all(gate::render(&gate, format, options.bytes).as_bytes())?;
    out.flush()?;
    Ok(gate.exit_code())
}
