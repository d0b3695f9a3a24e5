//! Text from an image made safe to show: every name, tag, version or Dockerfile step passes
//! through [`escape`] (or [`escape_bytes`] for raw paths) before a terminal, Markdown or HTML.
//!
//! Anyone can publish an image, and people inspect images they do not trust: a file name
//! holding `ESC ] 52 ; c ; …` would write the clipboard of many terminals, `ESC [ 2 J` clears
//! the screen, a bidirectional override reorders what is shown ("Trojan Source"). As `ls -b`
//! and git do, such code points are shown visibly, never dropped: `a\x1bb` prints as `a\eb`,
//! not as `ab`. JSON output stays exact (serde escapes C0, `path_hex` keeps raw bytes).
//!
//! Backslashes are left as they are, so that escaping twice changes nothing: a message built
//! from escaped parts can be escaped again where it leaves the program.
//!
//! Escaped text is also legal XML 1.0 (the gate's `JUnit`), which forbids C0 controls but tab,
//! LF and CR, and the noncharacters U+FFFE and U+FFFF: all of them are escaped.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every code point that a terminal would act on written as a visible escape:
/// C0 controls (`\t`, `\n`, `\r`, `\e`, else `\x07`), DEL (`\x7f`), C1 controls (`\u{9b}`),
/// bidirectional controls and line separators (`\u{202e}`, `\u{2028}`), and noncharacters
/// (`\u{fffe}`, `\u{fdd0}`). Borrowed when nothing needs escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    if is_plain_ascii(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    match text.find(needs_escape) {
        None => Cow::Borrowed(text),
        Some(first) => {
            let mut out = String::with_capacity(text.len() + 8);
            out.push_str(&text[..first]);
            push_escaped(&mut out, &text[first..]);
            Cow::Owned(out)
        }
    }
}

/// [`escape`] for text already owned: returned as it is (no copy) when nothing needs escaping.
pub fn escape_owned(text: String) -> String {
    if !is_plain_ascii(text.as_bytes()) && text.contains(needs_escape) {
        escape(&text).into_owned()
    } else {
        text
    }
}

/// Raw bytes (a tar path) as [`escape`] shows text, with each byte of invalid UTF-8 written
/// as `\xff`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    Cow::Owned(out)
}

/// A path of the merged tree (stored without its leading `/`) as shown to people: `/a/b`.
pub fn escape_path(path: &[u8]) -> String {
    format!("/{}", escape_bytes(path))
}

/// Printable ASCII only: nothing to escape. Most names are, and this test runs a byte at a
/// time (vectorised) where [`needs_escape`] decodes every character.
fn is_plain_ascii(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| (0x20..0x7f).contains(&b))
}

unstable_use!(chars::needs_escape);

mod chars {
    use super::is_noncharacter;

    /// Whether a terminal, or a reader, would take `c` as something other than a glyph.
    pub fn needs_escape(c: char) -> bool {
        matches!(c,
            '\0'..='\x1f' | '\x7f'..='\u{9f}'
            // Arabic letter mark, LRM/RLM, embeddings and overrides, isolates.
            | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            // Line and paragraph separators break a row as a newline would.
            | '\u{2028}' | '\u{2029}')
            || is_noncharacter(c)
    }
}

/// Unicode's 66 noncharacters (U+FDD0..=U+FDEF and the last two code points of every plane):
/// never a glyph, and U+FFFE and U+FFFF are not even allowed in XML 1.0 (a `JUnit` file holding
/// one is refused by strict parsers) nor in HTML's input stream.
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn text_is_copied_exactly_when_some_character_needs_escaping(
            text in "[ -~\\x00-\\x1f\\x7f\\u{80}-\\u{a0}\\u{200e}\\u{202a}é]{0,12}",
        ) {
            let needs = text.contains(needs_escape);
            proptest::prop_assert_eq!(matches!(escape(&text), Cow::Owned(_)), needs);
            proptest::prop_assert_eq!(escape_owned(text.clone()) != text, needs);
        }
    }

    #[test]
    fn terminal_controls_are_shown_not_dropped() {
        assert_eq!(escape("a\x1bb"), "a\\eb");
        assert_eq!(escape("\x1b]0;OWNED\x07title"), "\\e]0;OWNED\\x07title");
        assert_eq!(
            escape("tab\there\nnew\rcr\x7f"),
            "tab\\there\\nnew\\rcr\\x7f"
        );
        assert_eq!(escape("csi\u{9b}2J"), "csi\\u{9b}2J");
        assert_eq!(escape("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(escape("iso\u{2066}x\u{2069}"), "iso\\u{2066}x\\u{2069}");
        assert_eq!(escape("line\u{2028}sep"), "line\\u{2028}sep");
    }

    #[test]
    fn noncharacters_are_shown_as_xml_cannot_hold_them() {
        assert_eq!(escape("a\u{fffe}b\u{ffff}"), "a\\u{fffe}b\\u{ffff}");
        assert_eq!(escape("\u{fdd0}\u{10ffff}"), "\\u{fdd0}\\u{10ffff}");
        // Their neighbours are ordinary characters.
        for text in ["\u{fffd}", "\u{fdcf}", "\u{fdf0}", "\u{10000}", "\u{1fffd}"] {
            assert!(matches!(escape(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    /// XML 1.0's `Char` production: what a well-formed document may hold.
    fn is_xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_is_legal_xml(
            text in "[\x00-\x7f\u{80}-\u{a0}\u{d7ff}\u{e000}\u{fdd0}\u{fffd}-\u{ffff}\u{10000}\u{10fffe}\u{10ffff}é]{0,16}",
        ) {
            let shown = escape(&text);
            proptest::prop_assert!(shown.chars().all(is_xml_char), "{:?}", shown);
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "usr/lib/libě.so",
            "torch 2.10.0+cu128",
            "日本語",
            "a\\b",
            "emoji 🐳",
            "",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn code_points_not_bytes_are_judged() {
        // `ě` is C4 9B in UTF-8: a byte scan for 0x9B (CSI) would wrongly hit it.
        assert_eq!(escape_bytes("ě".as_bytes()), "ě");
        assert_eq!(escape_bytes(b"a\xffb\xc4"), "a\\xffb\\xc4");
        assert_eq!(escape_bytes(b"\xff\x1b[2J"), "\\xff\\e[2J");
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = escape_bytes(b"x\x1b\x07\xff\t\xc2\x9b\\e\xe2\x80\xae").into_owned();
        assert_eq!(escape(&once), once);
        assert!(!once.chars().any(needs_escape));
    }

    #[test]
    fn owned_text_is_escaped_alike() {
        assert_eq!(escape_owned("a\x1bb".to_owned()), "a\\eb");
        assert_eq!(escape_owned("plain".to_owned()), "plain");
    }

    #[test]
    fn paths_get_their_leading_slash() {
        assert_eq!(escape_path(b"app/\x1b[2J"), "/app/\\e[2J");
        assert_eq!(escape_path(b""), "/");
    }
}
