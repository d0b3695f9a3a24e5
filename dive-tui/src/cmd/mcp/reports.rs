//! The tools over whole reports: CUDA device code, duplicates, the gate, a diff of two
//! images and the Dockerfile patch. Each report is the one the commands write, its strings
//! escaped, under the reply cap.

use dive_core::escape::escape_owned;
use dive_core::report::gate::{DiveOverrides, GateFormat, Rules};
use rmcp::ErrorData as McpError;
use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tools::{Server, escape_lines, quoted, refused};

/// Files of the CUDA report listed at most (largest device code first).
const CUDA_FILES: usize = 100;

/// An image id parameter.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct Image {
    /// The id `open_image` returned.
    image_id: String,
}

/// A report as the command writes it, its strings escaped.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Report {
    image_id: String,
    /// The document (`dive-rs IMAGE --json`'s `cuda`, `dive-rs ci --format json`,
    /// `dive-rs diff --format json`, `dive-rs fix --format json`).
    report: Value,
}

/// Parameters of `duplicates`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct Duplicates {
    image_id: String,
    cursor: Option<String>,
    /// Groups per page, at most 500.
    limit: Option<usize>,
}

/// Parameters of `gate`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct Gate {
    image_id: String,
    /// Rules as a `.dive-ci` file or dive-rs's own rules file holds them (YAML); dive's
    /// defaults when absent.
    rules: Option<String>,
}

/// Parameters of `diff_images`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct DiffImages {
    /// The older image's id (from `open_image`).
    old: String,
    /// The newer image's id.
    new: String,
}

/// Parameters of `fix`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct Fix {
    image_id: String,
    /// The Dockerfile that built the image, below the server's root.
    dockerfile: String,
}

/// What `fix` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Patch {
    image_id: String,
    /// The unified diff of the edits it is sure of (nothing is written).
    diff: String,
    /// Bytes the edits save.
    saving: u64,
    /// The plan: each edit, and what is left for a person.
    plan: Value,
}

/// Every string of `value` escaped as names are everywhere else.
pub(super) fn escaped(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(escape_owned(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(escaped).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (escape_owned(k), escaped(v)))
                .collect(),
        ),
        other => other,
    }
}

#[tool_router(router = report_router, vis = "pub(super)")]
impl Server {
    /// CUDA device code: bytes by GPU architecture, family and package, what a machine
    /// without a GPU carries, and the largest files of device code.
    #[tool(
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<Report>()
    )]
    async fn cuda_report(
        &self,
        Parameters(Image { image_id }): Parameters<Image>,
    ) -> Result<CallToolResult, McpError> {
        let opened = self.get(&image_id)?;
        let mut cuda = dive_core::report::to_json(&opened.analysis)["cuda"].take();
        if let Some(files) = cuda.get_mut("files").and_then(Value::as_array_mut) {
            let total = files.len();
            files.truncate(CUDA_FILES);
            cuda["files_total"] = json!(total);
        }
        let bytes = cuda["device_bytes"].as_u64().unwrap_or(0);
        let text = format!(
            "{bytes} bytes of CUDA device code in {}.",
            quoted(&opened.name)
        );
        self.reply(
            json!(Report {
                image_id,
                report: escaped(cuda)
            }),
            text,
        )
    }

    /// Files visible at several paths with the same bytes, largest saving first, a page at a
    /// time.
    #[tool(
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<super::tools::Page<Value>>()
    )]
    async fn duplicates(
        &self,
        Parameters(query): Parameters<Duplicates>,
    ) -> Result<CallToolResult, McpError> {
        let opened = self.get(&query.image_id)?;
        let key = "duplicates".to_owned();
        let offset = self.offset(query.cursor.as_deref(), &query.image_id, &key)?;
        let groups: Vec<Value> =
            match dive_core::report::to_json(&opened.analysis)["duplicates"].take() {
                Value::Array(groups) => groups.into_iter().map(escaped).collect(),
                _ => Vec::new(),
            };
        self.paged(
            &query.image_id,
            &key,
            &groups,
            offset,
            query.limit,
            "duplicate groups",
        )
    }

    /// Checks the image against size rules (dive's `.dive-ci` or dive-rs's own), as
    /// `dive-rs ci` does: each rule with its measure, limit and verdict.
    #[tool(
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<Report>()
    )]
    async fn gate(
        &self,
        Parameters(Gate { image_id, rules }): Parameters<Gate>,
    ) -> Result<CallToolResult, McpError> {
        let opened = self.get(&image_id)?;
        let rules = match &rules {
            Some(text) => Rules::parse("rules", text, &DiveOverrides::default())
                .map_err(|err| refused(&err.to_string()))?,
            None => Rules::dive_defaults(),
        };
        let verdict = dive_core::report::gate::evaluate(&opened.analysis, &rules);
        let report: Value = serde_json::from_str(&dive_core::report::gate::render(
            &verdict,
            GateFormat::Json,
            true,
        ))
        .map_err(|_| McpError::internal_error("the gate's document did not parse", None))?;
        let text = format!(
            "The gate {} {}.",
            if report["passed"] == true {
                "passes"
            } else {
                "fails"
            },
            quoted(&opened.name)
        );
        self.reply(
            json!(Report {
                image_id,
                report: escaped(report)
            }),
            text,
        )
    }

    /// What changed between two opened images: layers, totals, families, packages, waste
    /// and paths, as `dive-rs diff --format json` writes it.
    #[tool(
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<Report>()
    )]
    async fn diff_images(
        &self,
        Parameters(DiffImages { old, new }): Parameters<DiffImages>,
    ) -> Result<CallToolResult, McpError> {
        let (before, after) = (self.get(&old)?, self.get(&new)?);
        let diff = dive_core::report::diff::diff(&before.analysis, &after.analysis, 20);
        let text =
            dive_core::report::diff::render(&diff, dive_core::report::diff::DiffFormat::Json, true);
        let report: Value = serde_json::from_str(&text)
            .map_err(|_| McpError::internal_error("the diff's document did not parse", None))?;
        let summary = format!(
            "What changed from {} to {}.",
            quoted(&before.name),
            quoted(&after.name)
        );
        self.reply(
            json!(Report {
                image_id: new,
                report: escaped(report)
            }),
            summary,
        )
    }

    /// The patch to the Dockerfile that built the image: the edits it is sure of, each with
    /// the finding it fixes and its saving, as a unified diff; nothing is written.
    #[tool(
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = schema_for_output::<Patch>()
    )]
    async fn fix(
        &self,
        Parameters(Fix {
            image_id,
            dockerfile,
        }): Parameters<Fix>,
    ) -> Result<CallToolResult, McpError> {
        let opened = self.get(&image_id)?;
        let path = std::path::Path::new(&dockerfile);
        // A Dockerfile, by its name: the tool reads a file of the host, and its parse errors
        // quote lines (an agent must not read `.env` through it).
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let dockerfile_like = ["dockerfile", "containerfile"].iter().any(|d| {
            name == *d || name.starts_with(&format!("{d}.")) || name.ends_with(&format!(".{d}"))
        });
        if !dockerfile_like {
            return Err(refused(
                "fix reads a Dockerfile or Containerfile (named Dockerfile, Dockerfile.*, *.Dockerfile)",
            ));
        }
        let real = self.below_root(path)?;
        let text =
            crate::cmd::fix::read_dockerfile(&real).map_err(|err| refused(&format!("{err:#}")))?;
        let plan = dive_core::fix::plan(
            &opened.analysis,
            &dockerfile,
            &text,
            &dive_core::fix::FixOptions::default(),
        )
        .map_err(|err| refused(&err.to_string()))?;
        let label = path
            .file_name()
            .map_or_else(|| "Dockerfile".into(), |n| n.to_string_lossy().into_owned());
        let diff = plan.diff(&label);
        let saving = plan.saving;
        let summary = format!(
            "{} edits to {} save {saving} bytes.",
            plan.fixes.len(),
            quoted(&dockerfile)
        );
        let value = json!(Patch {
            image_id,
            diff: escape_lines(&diff),
            saving,
            plan: escaped(plan.to_json(&label)),
        });
        self.reply(value, summary)
    }
}
