//! From the command line's image arguments to sources, analyzers and analyses: shared by
//! every command (summary, report, ci, cat, extract) and the interactive view.

use std::io::{self, IsTerminal};

use anyhow::Context as _;
use dive_core::FamilyRules;
use dive_core::{Analysis, Analyzer, AnalyzerBuilder, Location, Source, Warning};
use dive_core::{Layout, RegistryOptions};

use crate::cmd::args::{InputArgs, ReadArgs};
use crate::cmd::progress::Bars;

/// Analyses the image, with a progress bar on stderr, its base marked and `--save` done.
pub(crate) fn analyze(input: &InputArgs) -> anyhow::Result<Analysis> {
    let image = image(input)?;
    let source = source(image, &input.read)?;
    let base = BaseChoice::new(input)?;
    let analyzer = builder(&input.read)?.build();
    let mut analysis = analyzer.analyze(source, &Bars::stderr().bar(image))?;
    base.apply(&analyzer, &mut analysis)?;
    if let Some(path) = &input.save {
        dive_core::scan::save(&analysis, path)?;
    }
    Ok(analysis)
}

/// Where the base image comes from, settled before any reading (owned, so the interactive
/// view's worker thread can take it).
pub(crate) struct BaseChoice {
    /// What `--base` asked for.
    wanted: BaseWanted,
    /// The image, to tell whether an annotated base is on the same registry.
    image: String,
    /// The registry options given, used for an annotated base on the same registry only.
    options: RegistryOptions,
}

/// `--base`: nothing, `auto`, or an image.
enum BaseWanted {
    /// No base is read: one the manifest names is shown, never fetched.
    Nothing,
    /// `--base auto`: the base the manifest's annotations name, read from its registry.
    Annotated,
    /// `--base IMAGE`, as named and as a source.
    Given(String, Source),
}

/// The `--base` value that reads the base the manifest names.
pub(crate) const BASE_AUTO: &str = "auto";

impl BaseChoice {
    pub(crate) fn new(input: &InputArgs) -> anyhow::Result<Self> {
        Ok(Self {
            wanted: match input.base.as_deref() {
                None => BaseWanted::Nothing,
                Some(BASE_AUTO) => BaseWanted::Annotated,
                Some(base) => BaseWanted::Given(
                    base.to_owned(),
                    source(base, &input.read).with_context(|| format!("--base {base}"))?,
                ),
            },
            image: image(input)?.to_owned(),
            options: input.read.registry.options()?,
        })
    }

    /// Marks the base image's layers: the image given with `--base IMAGE`, or with `--base
    /// auto` the one the manifest's annotations name, read from the registry they name (an
    /// image names any host it likes: only when asked is it contacted, and with the options
    /// given only when it is the registry the image came from, so that an image cannot send
    /// your credentials elsewhere). An annotated base that cannot be read is a warning.
    pub(crate) fn apply(self, analyzer: &Analyzer, analysis: &mut Analysis) -> anyhow::Result<()> {
        match self.wanted {
            BaseWanted::Nothing => Ok(()),
            BaseWanted::Given(name, source) => {
                let layers = analyzer
                    .base_layers(source)
                    .with_context(|| format!("reading the base image (--base {name})"))?;
                analysis.set_base(&layers);
                Ok(())
            }
            BaseWanted::Annotated => {
                mark_annotated_base(analyzer, analysis, &self.image, self.options);
                Ok(())
            }
        }
    }
}

/// `--base auto`: reads the base the manifest names, by name and digest, from its registry.
fn mark_annotated_base(
    analyzer: &Analyzer,
    analysis: &mut Analysis,
    image: &str,
    options: RegistryOptions,
) {
    let annotated = analysis.image.base.clone();
    let Some((Some(name), Some(digest))) = annotated.as_ref().map(|b| (&b.name, &b.digest)) else {
        let why = if annotated.is_some() {
            "the manifest names its base image without both its name and digest"
        } else {
            "the manifest names no base image (BuildKit's \
             org.opencontainers.image.base.name and .digest annotations)"
        };
        analysis.warnings.push(Warning::new(
            Location::input(image),
            format!("--base auto: {why}; --base IMAGE names it"),
        ));
        return;
    };
    let name = name.split('@').next().unwrap_or(name);
    let same_registry =
        analysis.image.layout == Layout::Registry && registry_host(name) == registry_host(image);
    let options = if same_registry {
        options
    } else {
        RegistryOptions::new()
    };
    let found = Source::parse(&format!("registry:{name}@{digest}"))
        .map(|s| s.with_registry_options(options))
        .and_then(|s| analyzer.base_layers(s));
    match found {
        Ok(layers) => {
            analysis.set_base(&layers);
        }
        Err(err) => analysis.warnings.push(Warning::new(
            Location::input(format!("{name}@{digest}")),
            format!(
                "the base image the manifest names could not be read ({err}); \
                 --base IMAGE names it"
            ),
        )),
    }
}

/// The registry a reference names (`docker.io` when it names none).
fn registry_host(reference: &str) -> &str {
    let reference = reference.strip_prefix("registry:").unwrap_or(reference);
    match reference.split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => host,
        _ => "docker.io",
    }
}

pub(crate) fn image(input: &InputArgs) -> anyhow::Result<&str> {
    input.image.as_deref().context("an IMAGE is required")
}

/// The source an IMAGE names, checked before any reading starts.
pub(crate) fn source(image: &str, read: &ReadArgs) -> anyhow::Result<Source> {
    if image == "-" && io::stdin().is_terminal() {
        anyhow::bail!(
            "stdin is a terminal, not an image; pipe one in: docker save IMAGE | dive-rs -"
        );
    }
    Ok(Source::parse(image)?.with_registry_options(read.registry.options()?))
}

/// How to read images, with the families file read and checked once.
pub(crate) fn builder(input: &ReadArgs) -> anyhow::Result<AnalyzerBuilder> {
    let mut builder = AnalyzerBuilder::new()
        .verify(input.verify)
        .limits(input.limits.limits())
        .min_duplicate_size(input.min_duplicate_size)
        .gpu_archs(input.gpu_arch.clone())
        .cuda_deep(input.cuda_deep);
    if let Some(threads) = input.threads {
        builder = builder.threads(threads);
    }
    if let Some(select) = &input.select {
        builder = builder.image(select);
    }
    if let Some(platform) = &input.platform {
        builder = builder.platform(platform);
    }
    if let Some(dir) = &input.registry.cache {
        builder = builder.cache(dir);
    }
    if let Some(path) = &input.families {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the families file", path.display()))?;
        builder = builder.families(FamilyRules::from_toml(&path.display().to_string(), &text)?);
    }
    Ok(builder)
}
