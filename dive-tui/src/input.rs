//! From the command line's image arguments to sources, analyzers and analyses: shared by
//! every command (summary, report, ci, cat, extract) and the interactive view.

use std::io::{self, IsTerminal};

use anyhow::Context as _;
use dive_core::attribution::FamilyRules;
use dive_core::source::{Layout, RegistryOptions};
use dive_core::{Analysis, Analyzer, AnalyzerBuilder, Location, Source, Warning};

use crate::cli::{InputArgs, ReadArgs};
use crate::progress::Bars;

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
    /// `--base IMAGE`, as named and as a source.
    given: Option<(String, Source)>,
    /// The image, to tell whether an annotated base is on the same registry.
    image: String,
    /// The registry options given, used for an annotated base on the same registry only.
    options: RegistryOptions,
}

impl BaseChoice {
    pub(crate) fn new(input: &InputArgs) -> anyhow::Result<Self> {
        Ok(Self {
            given: match &input.base {
                Some(base) => Some((
                    base.clone(),
                    source(base, &input.read).with_context(|| format!("--base {base}"))?,
                )),
                None => None,
            },
            image: image(input)?.to_owned(),
            options: input.read.registry.options()?,
        })
    }

    /// Marks the base image's layers: the image given with `--base`, else, for a registry
    /// image, the one its manifest's annotations name (asked of its registry with the
    /// options given only when it is the same registry: an image cannot send your
    /// credentials elsewhere). An annotated base that cannot be read is a warning.
    pub(crate) fn apply(self, analyzer: &Analyzer, analysis: &mut Analysis) -> anyhow::Result<()> {
        if let Some((name, source)) = self.given {
            let layers = analyzer
                .base_layers(source)
                .with_context(|| format!("reading the base image (--base {name})"))?;
            analysis.set_base(&layers);
            return Ok(());
        }
        let Some(annotated) = analysis.image.base.clone() else {
            return Ok(());
        };
        let (Some(name), Some(digest)) = (&annotated.name, &annotated.digest) else {
            return Ok(());
        };
        if analysis.image.layout != Layout::Registry {
            return Ok(());
        }
        let name = name.split('@').next().unwrap_or(name);
        let options = if registry_host(name) == registry_host(&self.image) {
            self.options
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
        Ok(())
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
