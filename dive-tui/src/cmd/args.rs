//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Commands:
  dive-rs IMAGE                       interactive view (on a terminal; keys: ? in the view)
  dive-rs IMAGE --summary             text summary (--json for the whole analysis)
  dive-rs report IMAGE [--format text|markdown|json|html]   optimisation report
  dive-rs ci IMAGE [--rules .dive-ci] [--format text|markdown|json|junit]   CI gate
  dive-rs IMAGE --ci, or CI=true dive-rs IMAGE            the gate, as dive runs it
  dive-rs diff OLD NEW [--format text|markdown|json|html] what changed between two images
  dive-rs fix IMAGE --dockerfile PATH [--write]          a patch of the Dockerfile, hunk by byte
  dive-rs cat IMAGE PATH [--layer N] [--follow]          a file's bytes on stdout
  dive-rs extract IMAGE PATH... -o DIR [--layer N] [--force]   files and directories into DIR
  dive-rs sbom IMAGE [--format cyclonedx|spdx] [--files]  a bill of materials with the bytes
  dive-rs mcp [--root DIR] [--allow-read]                 a read-only MCP server for agents (stdio)
  dive-rs completions bash|zsh|fish|powershell|elvish      a shell's completion script
  dive-rs man                         the manual page (roff): dive-rs man | man -l -

IMAGE forms (detected by content):
  image.tar                 `docker save` (any Docker version), or an OCI layout packed in a tar
  ./oci-dir                 an OCI image layout directory
  -                         a tar stream on stdin: `docker save app:1 | dive-rs -`
  scan.dive                 a scan saved with --save (opened without the image)
  docker-archive:PATH[:REF], oci-archive:PATH[:REF], oci:DIR[:REF]   skopeo/syft spellings
  registry:HOST/REPO:TAG    straight from a registry (also a bare HOST/REPO:TAG naming no
                            file); layers stream into the analysis, nothing is written to disk
  docker:REF, podman:REF    from the engine's store, streaming its `save` (no temporary file)

Exit status:
  0  the analysis ran (for `ci`: every rule passed or was skipped)
  1  a CI rule failed
  2  the image could not be read, or the arguments or rules are wrong";

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

    /// Write the analysis as JSON (`schema_version` 4) to stdout.
    #[arg(long)]
    pub json: bool,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,

    /// Rows in the summary's largest-files and hidden lists.
    #[arg(long, default_value_t = 20)]
    pub top: usize,

    /// Check the image against CI rules instead (as `dive --ci`; also when CI=true).
    #[arg(long, conflicts_with_all = ["summary", "json"])]
    pub ci: bool,

    /// The rules file for --ci (default: ./.dive-ci when it exists, else dive's defaults).
    #[arg(long, value_name = "FILE", alias = "rules")]
    pub ci_config: Option<std::path::PathBuf>,
}

/// What to do with the image.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an optimisation report: the size story and each finding with its saving.
    Report(ReportArgs),
    /// Check an image against size rules: exit 0 pass, 1 a rule failed, 2 unreadable/bad rules.
    #[command(after_help = CI_HELP)]
    Ci(CiArgs),
    /// What changed between two images: layers, totals, families, packages, waste, paths.
    Diff(DiffArgs),
    /// A unified diff of the Dockerfile that built IMAGE: the edits that are sure, each hunk
    /// with the finding it fixes and the bytes it saves; the rest listed on stderr.
    #[command(after_help = FIX_HELP)]
    Fix(FixArgs),
    /// Write one file of the image to stdout: the final version, or the one a layer wrote.
    #[command(after_help = CAT_HELP)]
    Cat(CatArgs),
    /// Copy files and directories out of the image into a directory they cannot leave.
    #[command(after_help = EXTRACT_HELP)]
    Extract(ExtractArgs),
    /// A software bill of materials on stdout (CycloneDX 1.6 or SPDX 2.3 JSON): one component
    /// per package, with the bytes it ships, shows and hides, its layers and waste.
    #[command(after_help = SBOM_HELP)]
    Sbom(SbomArgs),
    /// Serve agents over MCP on stdin/stdout: read-only tools that open an image, page
    /// through its layers, files, packages and findings, and give its reports and patch.
    #[command(after_help = MCP_HELP)]
    Mcp(McpArgs),
    /// Print the completion script of a shell: `source <(dive-rs completions bash)`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `dive-rs man | man -l -`.
    Man,
}

const MCP_HELP: &str = "\
Stdout carries only JSON-RPC; logs go to stderr. Every tool is read-only. Images are opened
only below --root (the working directory by default; symlinks resolved first); stdin is the
protocol, so `-` is refused; registries need --allow-network, docker:/podman: --allow-engine.
Replies stay under --max-reply bytes (structured content and its text together): a listing
says truncated and gives next_cursor. Cursors are bound to their image and query.

Register it with a client (Claude Desktop, Cursor, VS Code …):
  {\"mcpServers\": {\"dive-rs\": {\"command\": \"dive-rs\",
     \"args\": [\"mcp\", \"--root\", \"/path/to/images\"]}}}";

/// Arguments of `dive-rs mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Images may be opened only below this directory (default: the working directory).
    #[arg(long, value_name = "DIR")]
    pub root: Option<std::path::PathBuf>,
    /// Let the file-reading tool return contents (files a secrets rule matched stay refused).
    #[arg(long)]
    pub allow_read: bool,
    /// Let images be opened from registries (registry:REF).
    #[arg(long)]
    pub allow_network: bool,
    /// Let images be opened from docker:REF and podman:REF.
    #[arg(long)]
    pub allow_engine: bool,
    /// Most bytes a reply may hold, its structured content and its text together.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    pub max_reply: usize,
    /// Keep layer analyses in this directory, by digest.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<std::path::PathBuf>,
}

const SBOM_HELP: &str = "\
Each package of every ecosystem dive-rs reads (pip, conda, dpkg, apk, rpm, npm; Go and Rust
programs and Java archives, with the modules, crates and archives they record nested in them)
is a component with its package URL, version and, where its database records one, its license. Properties
in the dive-rs: namespace carry its bytes: shipped (visible + hidden), visible, hidden by a
later layer, unrecorded, declared by its database, its layers, family, waste classes and GPU
device code. The image is the document's subject, named with its config digest. CycloneDX
lists each package's files as evidence with --files; SPDX 2.3 cannot (a file there needs a
SHA-1 of its content).";

/// Arguments of `dive-rs sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON).
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub format: SbomFormat,

    /// List each package's visible files (CycloneDX evidence.occurrences).
    #[arg(long)]
    pub files: bool,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// Arguments of `dive-rs completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const EXTRACT_HELP: &str = "\
Each PATH lands at its place in the image below DIR (DIR/usr/lib/…), as the final image (or
layer N's own entries) has it. Nothing is ever written outside DIR: every path is opened
below it without following a symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and
symlinks from the image are written as links, never followed. Hard links inside the set stay
links; devices and FIFOs are not made; owners are not set; modes are a user's tar -x's (the
umask applied, setuid and setgid dropped, a world-writable directory keeps its sticky bit or,
without one, loses its world-write bit); files arrive under a temporary name and are renamed;
directory modes come last. Paths already in DIR are refused unless --force. Written paths go
to stdout (one per line, as ls -l's first letter and the path), skipped ones and the totals
to stderr.";

/// Arguments of `dive-rs extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// Paths inside the image: files or directories (`/` for all of it).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<std::ffi::OsString>,

    /// The directory to write into (made when missing).
    #[arg(short, long = "output", value_name = "DIR")]
    pub output: std::path::PathBuf,

    /// Layer N's own entries instead of the final image, hidden versions included.
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// Replace files and symlinks already in DIR (a symlink there is never followed).
    #[arg(long)]
    pub force: bool,

    /// Print only what was skipped and the totals.
    #[arg(short, long)]
    pub quiet: bool,
}

const CAT_HELP: &str = "\
Only the layer blob holding the version asked for is read again: a plain layer from the
file's offset, a compressed one decoded from its start up to the file. The image must be
readable twice: a file, an OCI directory or a registry (not stdin, a compressed archive, a
saved scan or docker:/podman:). The bytes are written exactly as the image holds them, as
cat(1) does: pipe a binary file to xxd or less rather than to a terminal.";

const FIX_HELP: &str = "\
The image's history is matched to the Dockerfile's instructions (BuildKit, the legacy builder,
buildah/podman and kaniko histories); a Dockerfile the image was not built from is refused
(exit 2) with the layers that found no line. Edits it is sure of: a RUN's cache dropped in
that RUN (pip install --no-cache-dir, apt-get clean, rm -rf /var/lib/apt/lists/*, yarn cache
clean, dnf/yum/microdnf clean all or zypper clean --all with the cache directory removed,
rm -rf of the cache directory), a RUN that only deletes, chmods or chowns what the step
before it wrote folded into that step, COPY --chmod/--chown instead of a later chmod/chown of
the copied file, apt-get install --no-install-recommends where apt's records show what only
a Recommends pulled in, and with --cpu-only PyTorch's CPU wheel index. Each saving is the
ledger's bytes, as `report` counts them. Everything else is listed on stderr with its layer,
line and why. Apply the diff with `git apply` or
`patch -p1` from the working directory, or let --write edit the file.";

/// Arguments of `dive-rs fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// The Dockerfile IMAGE was built from.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: std::path::PathBuf,

    /// The stage IMAGE was built from (`--target`); the last one when not given.
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,

    /// The image runs without a GPU: the RUN that installed a CUDA build of PyTorch gets
    /// PyTorch's CPU wheel index, where no other file needs the GPU's device code.
    #[arg(long)]
    pub cpu_only: bool,

    /// diff (a unified diff on stdout) or json (the edits, their savings, what is listed
    /// and the diff).
    #[arg(long, value_enum, default_value_t = FixFormat::Diff)]
    pub format: FixFormat,

    /// Also edit the Dockerfile in place (a temporary file renamed over it, its mode kept;
    /// refused if it changed since it was read).
    #[arg(long)]
    pub write: bool,
}

/// Output formats of `dive-rs fix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    /// A unified diff for git apply and patch -p1.
    Diff,
    /// The plan as JSON.
    Json,
}

/// Arguments of `dive-rs cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// The file's path inside the image (`/etc/os-release`).
    #[arg(value_name = "PATH")]
    pub path: std::ffi::OsString,

    /// The version layer N wrote (from 0, as the summary numbers layers), even when a later
    /// layer deleted or replaced it.
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// Follow symlinks in every component of PATH, as the kernel would inside the image (at
    /// most 40), instead of refusing a symlink.
    #[arg(long)]
    pub follow: bool,
}

const CI_HELP: &str = "\
The rules file is dive's .dive-ci, read as it is, plus an optional dive-rs: section:

  rules:                          # dive's rules, names and defaults (\"disabled\" skips one)
    lowestEfficiency: 0.9         # visible ÷ shipped file bytes must be at least this
    highestWastedBytes: disabled  # hidden bytes (shipped, not visible) at most this
    highestUserWastedPercent: 0.1 # hidden ÷ bytes above the base layer at most this
  dive-rs:
    final-size: 2GB               # a bare size means at most; also <= 2GB, < 2GB, == 0
    compressed-size: 800MB
    layers: 20
    largest-layer: 1GB
    hidden: 50MB
    packages: { torch: <= 2GB, nvidia: == 0 }   # a family, else packages (globs; pip:, dpkg:…)
    forbidden-packages: [gcc*, \"*-dev\"]
    waste: { pip-cache: == 0 }    # a waste class (see the summary's waste table)
    paths: { \"/root/.cache/**\": == 0 }

Sizes: 300MB, 2GB (SI) or 1.5GiB (binary). Unknown rule names are an error.
Packages, families and paths count shipped bytes: visible plus hidden by a later layer.

Exit status: 0 every rule passed or was skipped, 1 a rule failed,
2 the image could not be read or the rules are bad.";

/// Arguments of `dive-rs ci`.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// The rules file (default: ./.dive-ci when it exists, else dive's defaults).
    #[arg(long, visible_alias = "ci-config", value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,

    /// text for a log, markdown for $`GITHUB_STEP_SUMMARY`, json for tools, junit for CI servers.
    #[arg(long, value_enum, default_value_t = GateFormatArg::Text)]
    pub format: GateFormatArg,

    /// Also write the whole analysis as JSON to FILE, from the same run.
    #[arg(long, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,

    /// Override dive's lowestEfficiency rule.
    #[arg(long = "lowestEfficiency", value_name = "RATIO")]
    pub lowest_efficiency: Option<String>,

    /// Override dive's highestWastedBytes rule.
    #[arg(long = "highestWastedBytes", value_name = "SIZE")]
    pub highest_wasted_bytes: Option<String>,

    /// Override dive's highestUserWastedPercent rule.
    #[arg(long = "highestUserWastedPercent", value_name = "RATIO")]
    pub highest_user_wasted_percent: Option<String>,
}

/// Gate formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormatArg {
    /// For a terminal or a CI log.
    Text,
    /// For a pull request or $`GITHUB_STEP_SUMMARY`.
    Markdown,
    /// For tools.
    Json,
    /// `JUnit` XML for GitLab, Jenkins and others.
    Junit,
}

/// Arguments of `dive-rs report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The image and how to read it.
    #[command(flatten)]
    pub input: InputArgs,

    /// text for a terminal, markdown for a pull request, json for tools, html for a page
    /// to attach or open in a browser.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,

    /// The Dockerfile IMAGE was built from: each finding names its line ("line N of PATH").
    /// Refused (exit 2) when the image was not built from it.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<std::path::PathBuf>,

    /// With --dockerfile: the stage IMAGE was built from; the last one when not given.
    #[arg(long, value_name = "NAME", requires = "dockerfile")]
    pub stage: Option<String>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// For a terminal.
    Text,
    /// For a pull request or $`GITHUB_STEP_SUMMARY`.
    Markdown,
    /// The findings as JSON.
    Json,
    /// One self-contained HTML page (treemap, layers, findings) to attach or open anywhere.
    Html,
}

/// Which image to read, shared by every command.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The image: a `docker save` tar, an OCI layout (dir or tar), `-` for stdin, a saved
    /// scan, registry:REF, docker:REF or podman:REF.
    #[arg(required = true)]
    pub image: Option<String>,

    /// How to read it.
    #[command(flatten)]
    pub read: ReadArgs,

    /// Also save the scan to FILE, to open later without the image (`dive-rs FILE`,
    /// `report`, `ci`, `diff` accept it).
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,

    /// The base image (any IMAGE form; only its manifest and config are read): the layers
    /// IMAGE shares with it, from the bottom, are marked as the base's, and their bytes and
    /// waste are told apart from your own. `--base auto` reads the base the manifest names
    /// (BuildKit's org.opencontainers.image.base.* annotations) from the registry it names;
    /// without it that base is only shown, and no host an image names is contacted.
    #[arg(long, value_name = "IMAGE|auto")]
    pub base: Option<String>,
}

/// How to read images.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Pick one image by tag, name or digest when the input holds several.
    #[arg(long = "image", value_name = "TAG|DIGEST")]
    pub select: Option<String>,

    /// Pick a platform from a multi-platform index (default linux/amd64).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Worker threads for decoding layers (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,

    /// Check every layer's SHA-256 against the manifest digest and the config `diff_id` while
    /// reading it (a mismatch exits 2); reads plain layers in full, so it costs time.
    #[arg(long)]
    pub verify: bool,

    /// A TOML file of package families (`[families] acme = ["acme-*", "dpkg:libacme*"]`),
    /// tried before the built-in table.
    #[arg(long, value_name = "FILE")]
    pub families: Option<std::path::PathBuf>,

    /// Smallest file counted as a duplicate (identical bytes at another path); 1 counts
    /// every file. Accepts 4096, 64KiB, 1MB.
    #[arg(long, value_name = "SIZE", default_value = "4KiB", value_parser = parse_size)]
    pub min_duplicate_size: u64,

    /// The GPUs the image runs on (`sm_80,sm_90`, `8.6`): CUDA device code none of them can
    /// run is reported as not for your GPUs, an upper bound of what building for them saves.
    #[arg(long, value_name = "SM_XY,…", value_delimiter = ',', value_parser = parse_gpu_arch)]
    pub gpu_arch: Vec<u32>,

    /// Read every ELF file of plain layers whole to find CUDA fat binaries outside the
    /// `.nv_fatbin` sections too (cuBLASLt and cuFFT keep some in `.rodata`); compressed
    /// layers are read whole anyway and always searched so.
    #[arg(long)]
    pub cuda_deep: bool,

    /// Caps on what an untrusted image can make dive-rs hold.
    #[command(flatten)]
    pub limits: LimitArgs,

    /// How to reach a registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

const REGISTRY: &str = "Registry (registry:REF)";

/// Options for images read from a registry.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Credentials as USER:PASSWORD (default: those `docker login` stored in
    /// ~/.docker/config.json or $`DOCKER_CONFIG`, helpers included; else anonymous).
    #[arg(long, help_heading = REGISTRY, value_name = "USER:PASSWORD", conflicts_with = "no_creds")]
    pub creds: Option<String>,

    /// Pull anonymously, ignoring stored credentials.
    #[arg(long, help_heading = REGISTRY)]
    pub no_creds: bool,

    /// Use plain HTTP for a registry on this machine (localhost, 127.0.0.1, `::1`).
    #[arg(long, help_heading = REGISTRY)]
    pub insecure: bool,

    /// With --insecure: plain HTTP for any host, so credentials and images cross the
    /// network unencrypted.
    #[arg(long, help_heading = REGISTRY, requires = "insecure")]
    pub insecure_any_host: bool,

    /// Keep each fetched layer's analysis in DIR by digest; a later image that shares a
    /// layer (a base image) does not fetch it again.
    #[arg(long, help_heading = REGISTRY, value_name = "DIR")]
    pub cache: Option<std::path::PathBuf>,
}

impl RegistryArgs {
    /// The library's registry options; an error for a malformed --creds.
    pub fn options(&self) -> anyhow::Result<dive_core::RegistryOptions> {
        use dive_core::{Credentials, PlainHttp, RegistryOptions};
        let credentials = match &self.creds {
            Some(creds) => {
                let (user, password) = creds.split_once(':').ok_or_else(|| {
                    anyhow::anyhow!("--creds takes USER:PASSWORD, e.g. --creds ci:s3cret")
                })?;
                Credentials::Basic {
                    user: user.to_owned(),
                    password: password.to_owned(),
                }
            }
            None if self.no_creds => Credentials::Anonymous,
            None => Credentials::DockerConfig,
        };
        let plain_http = match (self.insecure, self.insecure_any_host) {
            (_, true) => PlainHttp::Always,
            (true, false) => PlainHttp::Loopback,
            (false, false) => PlainHttp::Never,
        };
        Ok(RegistryOptions::new()
            .credentials(credentials)
            .plain_http(plain_http))
    }
}

const LIMITS: &str = "Limits (against hostile images)";

/// `--max-…`: caps against hostile images; the defaults are far above real images' needs.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest metadata file read into memory: manifest, index, config or package
    /// database (default 64MiB). A larger image file exits 2; a larger package database is
    /// skipped with a warning.
    #[arg(long, help_heading = LIMITS, value_name = "SIZE", value_parser = parse_size)]
    pub max_metadata: Option<u64>,

    /// Most tar entries over all layers (default 10000000); more exits 2.
    #[arg(long, help_heading = LIMITS, value_name = "N")]
    pub max_entries: Option<u64>,

    /// Longest entry path, link target or tar extension header in bytes (default 4096,
    /// Linux's `PATH_MAX`); longer entries are skipped with a warning.
    #[arg(long, help_heading = LIMITS, value_name = "BYTES")]
    pub max_path: Option<u64>,

    /// Deepest nesting of image indexes (default 8); deeper exits 2.
    #[arg(long, help_heading = LIMITS, value_name = "N")]
    pub max_index_depth: Option<usize>,

    /// Uncompressed ÷ compressed size of a layer above which it is reported as a likely
    /// decompression bomb (default 1000); a warning only.
    #[arg(long, help_heading = LIMITS, value_name = "N")]
    pub max_ratio: Option<u64>,
}

impl LimitArgs {
    /// The library's limits with these flags applied.
    pub fn limits(&self) -> dive_core::Limits {
        let mut limits = dive_core::Limits::default();
        if let Some(bytes) = self.max_metadata {
            limits = limits.metadata_bytes(bytes);
        }
        if let Some(entries) = self.max_entries {
            limits = limits.entries(entries);
        }
        if let Some(bytes) = self.max_path {
            limits = limits.path_bytes(bytes);
        }
        if let Some(depth) = self.max_index_depth {
            limits = limits.index_depth(depth);
        }
        if let Some(ratio) = self.max_ratio {
            limits = limits.ratio(ratio);
        }
        limits
    }
}

fn parse_gpu_arch(text: &str) -> Result<u32, String> {
    dive_core::AnalyzerBuilder::parse_gpu_arch(text)
        .ok_or_else(|| format!("{text:?} is not a GPU architecture (e.g. sm_80, sm_90a, 8.6)"))
}

fn parse_size(text: &str) -> Result<u64, String> {
    dive_core::Limits::parse_size(text)
        .ok_or_else(|| format!("{text:?} is not a size (e.g. 64MiB, 100MB, 4096)"))
}

/// Arguments of `dive-rs diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The image before (any form, or a saved scan).
    pub old: String,

    /// The image after.
    pub new: String,

    /// How to read both.
    #[command(flatten)]
    pub read: ReadArgs,

    /// text for a terminal, markdown for a pull request, json for tools, html for a page
    /// to attach or open in a browser.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,

    /// Path-level changes to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,

    /// Show exact byte counts instead of 1.2 GB.
    #[arg(long)]
    pub bytes: bool,
}
