//! The optimisation report of one image as an HTML page: the size story, the treemap, the
//! layers as bars, the findings and the hidden items.

use std::fmt::Write as _;

use super::page::{bytes_cell, page, text};
use super::treemap::{self, Kind, Treemap};
use super::treemap_build;
use super::treemap_svg;
use crate::analysis::Analysis;
use crate::escape::escape_path;
use crate::report::finding::{Finding, total_saving};
use crate::report::findings::findings;
use crate::report::optimisation::{capitalised, grouped};
use crate::report::secrets;
use crate::report::text::{clean_command, cut, human_bytes};

/// One item as the script reads it (short keys: a page holds thousands).
#[derive(serde::Serialize)]
struct ScriptItem<'a> {
    n: &'a str,
    b: u64,
    s: String,
    k: &'static str,
    g: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    h: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    w: bool,
    t: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<&'a str>,
    c: &'a [u32],
}

fn script_data(map: &Treemap, exact: bool) -> String {
    let items: Vec<ScriptItem<'_>> = map
        .items
        .iter()
        .map(|item| ScriptItem {
            n: &item.name,
            b: item.bytes,
            s: human_bytes(item.bytes, exact),
            k: treemap::kind_name(item.kind),
            g: item.colour,
            h: item.hidden,
            w: item.waste.is_some(),
            t: treemap_svg::tooltip(map, item, exact),
            p: item.path.as_deref(),
            c: &item.children,
        })
        .collect();
    serde_json::json!({
        "width": treemap::WIDTH,
        "height": treemap::HEIGHT,
        "items": items,
    })
    .to_string()
}

/// The SVG pattern of hidden bytes: diagonal lines, so that it reads without colour. Defined
/// once at the top of the body; every picture of the page refers to it.
const HATCH: &str = "<svg class=\"defs\" aria-hidden=\"true\"><defs><pattern id=\"hatch\" \
     patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate(45)\">\
     <rect width=\"2.2\" height=\"6\" fill=\"#000\" fill-opacity=\"0.5\"/></pattern></defs></svg>\n";

/// The optimisation report as one HTML page; `exact` prints exact byte counts.
pub fn report_html(analysis: &Analysis, exact: bool) -> String {
    let size = |b: u64| human_bytes(b, exact);
    let facts = &analysis.image;
    let shipped = facts.final_bytes + facts.hidden_bytes;
    let reference = facts.reference.as_deref().unwrap_or("<untagged>");
    let mut body = String::from(HATCH);

    let _ = write!(
        body,
        "<header>\n<h1>Image size report: <code>{}</code></h1>\n<p class=\"sub\">{} · {} · {} · read from <code>{}</code></p>\n",
        text(reference),
        text(facts.platform.as_deref().unwrap_or("unknown platform")),
        text(
            serde_json::to_value(facts.layout)
                .ok()
                .as_ref()
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
        ),
        text(&cut(&facts.config_digest, 19)),
        text(&analysis.input)
    );
    let efficiency = format!("{:.1}%", facts.efficiency * 100.0);
    let figures: [(&str, &str, String); 7] = [
        (
            "final_bytes",
            "visible (final file system)",
            bytes_cell(facts.final_bytes, exact),
        ),
        (
            "hidden_bytes",
            "hidden (shipped, not visible)",
            bytes_cell(facts.hidden_bytes, exact),
        ),
        (
            "shipped_bytes",
            "shipped in layers",
            bytes_cell(shipped, exact),
        ),
        (
            "efficiency",
            "efficiency",
            format!(
                "<data value=\"{:.6}\">{efficiency}</data>",
                facts.efficiency
            ),
        ),
        (
            "layer_count",
            "layers",
            format!("<data value=\"{0}\">{0}</data>", facts.layer_count),
        ),
        (
            "size_compressed",
            "compressed size",
            bytes_cell(facts.size_compressed, exact),
        ),
        (
            "final_files",
            "visible files",
            format!("<data value=\"{0}\">{0}</data>", facts.final_files),
        ),
    ];
    body.push_str("<dl class=\"facts\">\n");
    for (key, name, value) in figures {
        let _ = writeln!(
            body,
            "<div class=\"fact\" data-name=\"{key}\"><dt>{name}</dt><dd>{value}</dd></div>"
        );
    }
    body.push_str("</dl>\n");
    let mut notes: Vec<String> = crate::report::gpu_code::report_lines(analysis, &size);
    if let Some(line) = crate::report::summary::base_line(analysis, &size) {
        notes.push(format!("Base image: {line}"));
    }
    if !notes.is_empty() {
        body.push_str("<ul class=\"sub\">\n");
        for line in notes {
            let _ = writeln!(body, "<li>{}.</li>", text(&line));
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</header>\n");

    let map = treemap_build::build(analysis);
    secrets_section(&mut body, analysis);
    treemap_section(&mut body, &map, exact);
    families_section(&mut body, analysis, exact);
    layers_section(&mut body, analysis, exact);
    findings_section(&mut body, analysis, &size, shipped);
    hidden_section(&mut body, analysis, exact);
    if !analysis.warnings.is_empty() {
        let _ = writeln!(
            body,
            "<section id=\"warnings\">\n<h2>Warnings ({})</h2>\n<ul>",
            analysis.warnings.len()
        );
        for warning in analysis.warnings.iter().take(100) {
            let _ = writeln!(
                body,
                "<li class=\"warn\">{}</li>",
                text(&warning.to_string())
            );
        }
        body.push_str("</ul>\n</section>\n");
    }
    let title = format!("Image size report: {reference}");
    page(&title, &body, Some(&script_data(&map, exact)))
}

fn treemap_section(body: &mut String, map: &Treemap, exact: bool) {
    body.push_str("<section id=\"map\">\n<h2>Where the bytes are</h2>\n");
    body.push_str(
        "<p class=\"note\">Every shipped byte: group (family, packages of one manager, or \
         unowned) → package → directory → file, sized by bytes. Hover an item for its path, \
         owner and layer; click to zoom in, and use the path above the map to zoom out.</p>\n",
    );
    body.push_str("<ul class=\"legend\">\n");
    let top: Vec<&treemap::Item> = map.items.first().map_or_else(Vec::new, |root| {
        root.children
            .iter()
            .map(|&c| &map.items[c as usize])
            .filter(|i| i.kind == Kind::Group)
            .collect()
    });
    for group in &top {
        let _ = writeln!(
            body,
            "<li><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect class=\"c{}\" width=\"14\" height=\"14\"/></svg>{} {}</li>",
            group.colour % treemap::PALETTE,
            text(&group.name),
            bytes_cell(group.bytes, exact)
        );
    }
    body.push_str(
        "<li><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect class=\"plain\" width=\"14\" height=\"14\"/><rect class=\"hatch\" width=\"14\" height=\"14\"/></svg>hidden by a later layer (shipped, not visible)</li>\n\
         <li><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect class=\"waste\" x=\"1\" y=\"1\" width=\"12\" height=\"12\"/></svg>in a waste class (cache, tests, debug info…)</li>\n</ul>\n",
    );
    body.push_str("<nav class=\"crumbs\" id=\"crumbs\" hidden></nav>\n");
    let _ = writeln!(
        body,
        "<svg id=\"treemap\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Treemap of the image's bytes\"><g id=\"tiles\">{}</g></svg>",
        treemap::WIDTH,
        treemap::HEIGHT,
        treemap_svg::svg(map, exact)
    );
    let shown = map.items.len().saturating_sub(1);
    if map.folded_files > 0 {
        let _ = writeln!(
            body,
            "<p class=\"note\">The page holds the {shown} largest items; {} smaller files are \
             folded into \"other\" items with their count and bytes.</p>",
            map.folded_files
        );
    }
    let _ = writeln!(
        body,
        "<div id=\"search\" hidden>\n<h3>Search</h3>\n<input id=\"q\" type=\"search\" placeholder=\"a path or a name\" aria-label=\"Search paths\">\n\
         <p class=\"note\">Search covers the {shown} items this page holds, not every path of \
         the image ({} files in all; <code>dive-rs IMAGE --json</code> lists them all).</p>\n<ol class=\"hits\" id=\"hits\"></ol>\n</div>",
        map.all_files
    );
    body.push_str("</section>\n");
}

fn families_section(body: &mut String, analysis: &Analysis, exact: bool) {
    let attribution = &analysis.attribution;
    let visible = analysis.image.final_bytes;
    let percent = |b: u64| {
        if visible == 0 {
            0.0
        } else {
            b as f64 * 100.0 / visible as f64
        }
    };
    if !attribution.families.is_empty() {
        body.push_str(
            "<section id=\"families\">\n<h2>Families</h2>\n<table>\n<thead><tr><th>family</th><th class=\"num\">visible</th><th class=\"num\">share</th><th class=\"num\">hidden</th><th class=\"num\">packages</th></tr></thead>\n<tbody>\n",
        );
        for family in &attribution.families {
            let _ = writeln!(
                body,
                "<tr class=\"family\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                text(&family.name),
                bytes_cell(family.bytes, exact),
                percent(family.bytes),
                bytes_cell(family.hidden_bytes, exact),
                family.packages
            );
        }
        body.push_str("</tbody>\n</table>\n</section>\n");
    }
    if attribution.packages.is_empty() {
        return;
    }
    let shown = attribution.packages.len().min(50);
    let _ = writeln!(
        body,
        "<section id=\"packages\">\n<h2>Packages ({shown} largest of {})</h2>\n<table>\n<thead><tr><th>package</th><th>version</th><th>manager</th><th>family</th><th class=\"num\">visible</th><th class=\"num\">hidden</th><th>layers</th><th>location</th></tr></thead>\n<tbody>",
        attribution.packages.len()
    );
    for package in attribution.packages.iter().take(shown) {
        let layers: Vec<String> = package.layers.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            body,
            "<tr class=\"package\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"path\">{}</td></tr>",
            text(&package.name),
            text(package.version.as_deref().unwrap_or("")),
            package.ecosystem.name(),
            text(package.family.as_deref().unwrap_or("")),
            bytes_cell(package.bytes, exact),
            bytes_cell(package.hidden_bytes, exact),
            layers.join(", "),
            text(&package.location)
        );
    }
    body.push_str("</tbody>\n</table>\n</section>\n");
}

/// Each layer as a bar: the bytes still visible, then (hatched) those a later layer hid.
fn layers_section(body: &mut String, analysis: &Analysis, exact: bool) {
    const ROW: f64 = 40.0;
    const LEFT: f64 = 4.0;
    let width = treemap::WIDTH - 2.0 * LEFT;
    let max = analysis
        .layers
        .iter()
        .map(|l| l.file_bytes)
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW * analysis.layers.len() as f64 + 4.0;
    let _ = writeln!(
        body,
        "<section id=\"layers\">\n<h2>Layers</h2>\n<p class=\"note\">File bytes each layer added; the hatched part is hidden by a later layer but still shipped.</p>\n<svg class=\"bars\" viewBox=\"0 0 {} {height}\" role=\"img\" aria-label=\"Bytes per layer\">",
        treemap::WIDTH
    );
    for (row, layer) in analysis.layers.iter().enumerate() {
        let y = row as f64 * ROW;
        let step = clean_command(layer.created_by.as_deref().unwrap_or(""));
        let base = if layer.from_base { " [base]" } else { "" };
        let label = format!(
            "#{}{base}  {} ({} hidden)  {}",
            layer.index,
            human_bytes(layer.file_bytes, exact),
            human_bytes(layer.hidden_bytes, exact),
            cut(&step, 150)
        );
        let total = width * layer.file_bytes as f64 / max as f64;
        let hidden = width * layer.hidden_bytes.min(layer.file_bytes) as f64 / max as f64;
        let class = if layer.from_base { "bar-base" } else { "bar" };
        let _ = write!(
            body,
            "<g class=\"layer\" data-layer=\"{}\"><title>{}</title><text x=\"{LEFT}\" y=\"{:.1}\">{}</text>\
             <rect class=\"{class}\" x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\"/>\
             <rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\"/>\
             <rect class=\"bar-hidden\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\"/></g>",
            layer.index,
            text(&format!(
                "layer {}: {} file bytes, {} hidden later\n{step}",
                layer.index,
                human_bytes(layer.file_bytes, exact),
                human_bytes(layer.hidden_bytes, exact)
            )),
            y + 14.0,
            text(&label),
            y + 20.0,
            (total - hidden).max(0.0),
            LEFT + total - hidden,
            y + 20.0,
            hidden,
            LEFT + total - hidden,
            y + 20.0,
            hidden,
        );
    }
    body.push_str("</svg>\n");
    body.push_str(
        "<table>\n<thead><tr><th>layer</th><th class=\"num\">file bytes</th><th class=\"num\">hidden later</th><th class=\"num\">compressed</th><th>step</th></tr></thead>\n<tbody>\n",
    );
    for layer in &analysis.layers {
        let _ = writeln!(
            body,
            "<tr class=\"layer\"><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            layer.index,
            if layer.from_base { " (base)" } else { "" },
            bytes_cell(layer.file_bytes, exact),
            bytes_cell(layer.hidden_bytes, exact),
            bytes_cell(layer.size_compressed, exact),
            text(&clean_command(layer.created_by.as_deref().unwrap_or("")))
        );
    }
    body.push_str("</tbody>\n</table>\n</section>\n");
}

fn findings_section(
    body: &mut String,
    analysis: &Analysis,
    size: &dyn Fn(u64) -> String,
    shipped: u64,
) {
    let all = findings(analysis);
    let total = total_saving(&all);
    let percent = if shipped == 0 {
        0.0
    } else {
        total as f64 * 100.0 / shipped as f64
    };
    let _ = writeln!(
        body,
        "<section id=\"findings\">\n<h2>Findings, largest saving first: {} avoidable ({percent:.1}% of the {} shipped)</h2>",
        text(&size(total)),
        text(&size(shipped))
    );
    let mut number = 0;
    for (when, group) in grouped(&all) {
        match when {
            Some(when) => {
                let _ = writeln!(body, "<h3>{}</h3>", text(when));
            }
            None if group.is_empty() => body.push_str("<p>No avoidable bytes found.</p>\n"),
            None => {}
        }
        write_findings(body, &group, &mut number, size);
    }
    body.push_str("</section>\n");
}

fn write_findings(
    body: &mut String,
    findings: &[&Finding],
    number: &mut usize,
    size: &dyn Fn(u64) -> String,
) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(body, "<ol class=\"findings\" start=\"{}\">", *number + 1);
    for finding in findings {
        *number += 1;
        let _ = writeln!(
            body,
            "<li class=\"finding\"><h3>{}</h3><span class=\"save\">save <data value=\"{}\">{}</data></span>\n<ul class=\"evidence\">",
            text(&capitalised(&finding.title)),
            finding.saving,
            text(&size(finding.saving))
        );
        for line in &finding.evidence {
            let _ = writeln!(body, "<li>{}</li>", text(line));
        }
        let _ = writeln!(
            body,
            "</ul>\n<p class=\"fix\">Fix: {}</p></li>",
            text(&finding.fix)
        );
    }
    body.push_str("</ol>\n");
}

/// The secrets the image ships, first: a credential costs more than any byte.
fn secrets_section(body: &mut String, analysis: &Analysis) {
    let Some(headline) = secrets::headline(analysis) else {
        return;
    };
    let _ = writeln!(
        body,
        "<section id=\"secrets\">\n<h2>Secrets: {}</h2>\n<ul>",
        text(&headline)
    );
    let listed = secrets::ordered(analysis);
    for secret in listed.iter().take(secrets::LISTED) {
        let class = if secret.hidden_by_layer.is_some() {
            "hidden"
        } else {
            "warn"
        };
        let _ = writeln!(
            body,
            "<li class=\"{class}\">{}</li>",
            text(&secrets::describe(secret))
        );
    }
    if listed.len() > secrets::LISTED {
        let more = listed.len() - secrets::LISTED;
        let _ = writeln!(body, "<li>… {more} more in --json</li>");
    }
    for fix in secrets::fixes(analysis) {
        let _ = writeln!(body, "<li>Fix: {}</li>", text(fix));
    }
    body.push_str("</ul>\n</section>\n");
}

fn hidden_section(body: &mut String, analysis: &Analysis, exact: bool) {
    if analysis.hidden.is_empty() {
        return;
    }
    let shown = analysis.hidden.len().min(100);
    let _ = writeln!(
        body,
        "<section id=\"hidden\">\n<h2>Hidden: shipped in a layer, not visible ({shown} largest of {})</h2>\n<table>\n<thead><tr><th class=\"num\">bytes</th><th>path</th><th>added by</th><th>hidden by</th><th>how</th></tr></thead>\n<tbody>",
        analysis.hidden.len()
    );
    for item in analysis.hidden.iter().take(shown) {
        let _ = writeln!(
            body,
            "<tr class=\"hidden\"><td class=\"num\">{}</td><td class=\"path\"><code>{}</code></td><td>layer {}</td><td>layer {}</td><td>{}</td></tr>",
            bytes_cell(item.bytes, exact),
            text(&escape_path(&item.path)),
            item.added_in_layer,
            item.hidden_by_layer,
            item.reason.name().replace('_', " ")
        );
    }
    body.push_str("</tbody>\n</table>\n</section>\n");
}
