//! The HTML page every report shares: its shell with the Content-Security-Policy that
//! allows only the inline style and script by their SHA-256 hashes, text made safe for HTML,
//! byte cells, tables and delta bars.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::escape::escape;
use crate::report::text::human_bytes;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// `text` for HTML text or a quoted attribute: what a terminal would act on shown as escapes
/// (as everywhere people read names), then `& < > " '` as entities.
pub(crate) fn text(text: &str) -> String {
    let text = escape(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that may sit inside a `<script>` element: serde leaves `</script>` as it is.
pub(super) fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A byte figure people read, with the exact count for tools (`<data value>`).
pub(super) fn bytes_cell(bytes: u64, exact: bool) -> String {
    format!(
        "<data value=\"{bytes}\">{}</data>",
        text(&human_bytes(bytes, exact))
    )
}

/// The page around `body`: the policy first in `<head>`, then the inline style; the script
/// and its data only when `data` is given.
pub(crate) fn page(title: &str, body: &str, data: Option<&str>) -> String {
    let script_src = if data.is_some() {
        sha256_source(SCRIPT)
    } else {
        "'none'".to_owned()
    };
    let policy = format!(
        "default-src 'none'; script-src {script_src}; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        sha256_source(STYLE)
    );
    let mut out = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"dive-rs {}\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        text(title)
    );
    out.push_str(body);
    let _ = writeln!(
        out,
        "<footer>Made by dive-rs {} from the image's own bytes. Names from the image are shown \
         escaped: a control character as <code>\\e</code>, a byte of invalid UTF-8 as \
         <code>\\xff</code>.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(data) = data {
        let _ = write!(
            out,
            "<script type=\"application/json\" id=\"data\">{}</script>\n<script>{SCRIPT}</script>\n",
            script_json(data)
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_holds_no_markup_and_reads_back_as_the_escaped_name(name in ".*") {
            let html = text(&name);
            prop_assert!(!html.contains(['<', '>', '"', '\'']));
            let read = html
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            prop_assert_eq!(read, escape(&name).into_owned());
        }

        #[test]
        fn script_json_never_closes_its_element_and_parses_back(name in ".*") {
            let json = serde_json::json!({ "n": name }).to_string();
            let inline = script_json(&json);
            prop_assert!(!inline.contains(['<', '>', '&']));
            let back: serde_json::Value = serde_json::from_str(&inline).unwrap();
            prop_assert_eq!(back["n"].as_str(), Some(name.as_str()));
        }
    }
}
