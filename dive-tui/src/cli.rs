//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Commands:
  dive-rs IMAGE                       interactive view (on a terminal; keys: ? in the view)
  dive-rs IMAGE --summary             text summary (--json for the whole analysis)
  dive-rs report IMAGE [--format text|markdown|json]   optimisation report

IMAGE forms (detected by content):
  image.tar                 `docker save` (any Docker version), or an OCI layout packed in a tar
  ./oci-dir                 an OCI image layout directory
  -                         a tar stream on stdin: `docker save app:1 | dive-rs -`
  scan.dive                 a scan saved with --save (opened without the image)
  docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF]   skopeo/syft spellings

Exit status:
  0  the analysis ran
  1  reserved for a failed CI gate (`dive-rs ci`, coming)
  2  the image could not be read, or the arguments are wrong";

/// See where every byte of a container image comes from.
#[derive(Debug, Parser)]
#[command(
    name = "dive-rs",
    version,
    about,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// A subcommand; without one, dive-rs analyses IMAGE.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the text summary instead of opening the interactive view.
    #[arg(long, conflicts_with = "json")]
    pub summary: bool,

    /// Write the analysis as JSON (schema_version 2) to stdout.
    #[arg(long)]
    pub json: bool,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,

    /// Rows in the summary's largest-files and hidden lists.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

/// What to do with the image.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an optimisation report: the size story and each finding with its saving.
    Report(ReportArgs),
}

/// Arguments of `dive-rs report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// text for a terminal, markdown for a pull request, json for tools.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// For a terminal.
    Text,
    /// For a pull request or $GITHUB_STEP_SUMMARY.
    Markdown,
    /// The findings as JSON.
    Json,
}

/// Which image to read, shared by every command.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The image: a `docker save` tar, an OCI layout (dir or tar), or `-` for stdin.
    #[arg(required = true)]
    pub image: Option<String>,

    /// Pick one image by tag, name or digest when the input holds several.
    #[arg(long = "image", value_name = "TAG|DIGEST")]
    pub select: Option<String>,

    /// Pick a platform from a multi-platform index (default linux/amd64).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Worker threads for decoding layers (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,

    /// A TOML file of package families (`[families] acme = ["acme-*", "dpkg:libacme*"]`),
    /// tried before the built-in table.
    #[arg(long, value_name = "FILE")]
    pub families: Option<std::path::PathBuf>,

    /// Also save the scan to FILE, to open later without the image (`dive-rs FILE`,
    /// `report`, `ci`, `diff` accept it).
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,
}
