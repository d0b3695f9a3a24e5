//! The rows the viewer shows, each escaped: a line of text, a hex dump row, an ELF
//! summary. Nothing a file holds reaches the terminal unescaped.

use dive_core::escape::{escape, escape_bytes};

/// Bytes a hex row shows.
pub(super) const HEX_ROW: u64 = 16;

/// An ELF summary as label and value rows; names from the file are escaped.
pub(super) fn summary_rows(summary: &dive_core::contents::ElfSummary) -> Vec<(String, String)> {
    let size = |b: u64| dive_core::report::human_bytes(b, false);
    let names = |list: &[String]| {
        list.iter()
            .map(|n| escape(n).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows = vec![
        ("class".to_owned(), summary.class.clone()),
        ("machine".to_owned(), summary.machine.clone()),
        ("type".to_owned(), summary.kind.clone()),
        (
            "SONAME".to_owned(),
            summary
                .soname
                .as_deref()
                .map_or_else(|| "-".to_owned(), |s| escape(s).into_owned()),
        ),
        (
            "needs".to_owned(),
            match (summary.needed.is_empty(), summary.more_needed) {
                (true, _) => "-".to_owned(),
                (false, 0) => names(&summary.needed),
                (false, more) => format!("{} and {more} more", names(&summary.needed)),
            },
        ),
        (
            "build-id".to_owned(),
            summary.build_id.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("debug info".to_owned(), size(summary.debug_bytes)),
        ("symbols".to_owned(), size(summary.symbol_bytes)),
        (
            "sections".to_owned(),
            format!(
                "{} (x: hex dump)",
                summary.sections.len() as u64 + summary.more_sections.0
            ),
        ),
    ];
    if !summary.left_out.is_empty() {
        // Names in it are the summary's own words, not the file's.
        rows.insert(
            rows.len() - 1,
            (
                "not read".to_owned(),
                format!(
                    "{} (over the {} a summary reads)",
                    summary.left_out.join(", "),
                    size(dive_core::contents::ElfSummary::CAP)
                ),
            ),
        );
    }
    rows.extend(summary.sections.iter().map(|(name, bytes)| {
        (
            String::new(),
            format!("{:>10}  {}", size(*bytes), escape(name)),
        )
    }));
    let (more, bytes) = summary.more_sections;
    if more > 0 {
        rows.push((
            String::new(),
            format!("{:>10}  … {more} more sections", size(bytes)),
        ));
    }
    rows
}

/// A line of text as the screen shows it: the newline dropped, tabs as spaces, everything
/// else a terminal would act on escaped.
pub(super) fn text_row(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\t')
        .map(|part| escape_bytes(part).into_owned())
        .collect::<Vec<_>>()
        .join("    ")
}

/// `xx xx … xx  |ascii…|` for up to 16 bytes.
pub(super) fn hex_row(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(70);
    for i in 0..HEX_ROW as usize {
        match bytes.get(i) {
            Some(b) => out.push_str(&format!("{b:02x} ")),
            None => out.push_str("   "),
        }
        if i == 7 {
            out.push(' ');
        }
    }
    out.push_str(" |");
    out.extend(bytes.iter().map(|&b| {
        if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '.'
        }
    }));
    out.push('|');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_no_terminal_controls() {
        assert_eq!(text_row(b"a\tb\x1b]0;x\x07\n"), "a    b\\e]0;x\\x07");
        assert_eq!(
            hex_row(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            "7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|"
        );
        assert_eq!(
            hex_row(b"ab"),
            format!("61 62 {} |ab|", "   ".repeat(14) + " ")
        );
    }
}
