//! Command-line arguments.

use clap::Parser;

const AFTER_HELP: &str = "\
IMAGE forms (detected by content):
  image.tar                 `docker save` (any Docker version), or an OCI layout packed in a tar
  ./oci-dir                 an OCI image layout directory
  -                         a tar stream on stdin: `docker save app:1 | dive-rs -`
  docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF]   skopeo/syft spellings

Exit status:
  0  the analysis ran
  1  reserved for a failed CI gate (`dive-rs ci`, coming)
  2  the image could not be read, or the arguments are wrong";

/// See where every byte of a container image comes from.
#[derive(Debug, Parser)]
#[command(name = "dive-rs", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// The image: a `docker save` tar, an OCI layout (dir or tar), or `-` for stdin.
    pub image: String,

    /// Print the text summary (the default until the interactive view lands).
    #[arg(long, conflicts_with = "json")]
    pub summary: bool,

    /// Write the analysis as JSON (schema_version 1) to stdout.
    #[arg(long)]
    pub json: bool,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,

    /// Pick one image by tag, name or digest when the input holds several.
    #[arg(long = "image", value_name = "TAG|DIGEST")]
    pub select: Option<String>,

    /// Pick a platform from a multi-platform index (default linux/amd64).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Worker threads for decoding layers (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,

    /// Rows in the summary's largest-files and hidden lists.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}
