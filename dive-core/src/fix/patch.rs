//! Edits of a Dockerfile's text by span, and the unified diff that shows them: every byte
//! outside an edit stays as the user wrote it (line ends, comments, casing), and the diff is
//! one `git apply` and `patch -p1` take, each hunk labelled after its `@@ … @@`.
//!
//! Budget: applying is one pass over the text; the diff holds the changed lines and three
//! lines of context around each.

use std::ops::Range;

/// Lines of context around each change, as `diff -u` and git write.
const CONTEXT: usize = 3;

/// One replacement of a span of the original text (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Edit {
    /// The bytes replaced.
    pub(super) span: Range<usize>,
    /// What goes there.
    pub(super) text: String,
    /// A command appended at the end of a `RUN`: after any other insertion at that point (a
    /// flag after the `install` that ends the `RUN` must stay with it).
    pub(super) after: bool,
}

/// The text with `edits` applied. Edits are sorted by position, appended commands after other
/// insertions at the same point (stable otherwise: insertions at one offset keep their
/// order); the caller guarantees that they do not overlap.
pub(super) fn apply(text: &str, edits: &[(usize, Edit)]) -> String {
    let mut sorted: Vec<&(usize, Edit)> = edits.iter().collect();
    sorted.sort_by_key(|(_, e)| (e.span.start, e.span.end, e.after));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for (_, edit) in sorted {
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.text);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The spans of the edits taken so far, to tell in O(log n) whether a new one overlaps:
/// replaced spans (which never overlap each other) by start, insertion points apart (two
/// insertions at one point do not overlap: they follow each other).
#[derive(Debug, Default)]
pub(super) struct Taken {
    replaced: std::collections::BTreeMap<usize, usize>,
    inserted: std::collections::BTreeSet<usize>,
}

impl Taken {
    /// Whether `span` overlaps a span taken: two replaced spans sharing a byte, or an
    /// insertion strictly inside a replaced span.
    pub(super) fn overlaps(&self, span: &Range<usize>) -> bool {
        // The replaced span starting last before `span` ends is the one that reaches furthest.
        let reaches = |end: usize, past: usize| {
            self.replaced
                .range(..end)
                .next_back()
                .is_some_and(|(_, &e)| e > past)
        };
        if span.is_empty() {
            reaches(span.start, span.start)
        } else {
            reaches(span.end, span.start)
                || self
                    .inserted
                    .range(span.start + 1..span.end)
                    .next()
                    .is_some()
        }
    }

    /// Records `span` as taken.
    pub(super) fn take(&mut self, span: &Range<usize>) {
        if span.is_empty() {
            self.inserted.insert(span.start);
        } else {
            self.replaced.insert(span.start, span.end);
        }
    }
}

/// A hunk's lines and the fixes (by index) whose edits it holds.
struct Region {
    /// Changed original lines, 0-based, end exclusive.
    lines: Range<usize>,
    /// The original text of those lines.
    bytes: Range<usize>,
    /// The fixes whose edits it holds, each once.
    edits: Vec<usize>,
    /// Its edits, as a range of the edits sorted by position.
    sorted: Range<usize>,
}

/// The unified diff from `text` to `text` with `edits` applied, for `path` (written after
/// `a/` and `b/`); `label` names the fixes whose edits a hunk holds. Empty without edits.
pub(super) fn unified_diff(
    text: &str,
    edits: &[(usize, Edit)],
    path: &str,
    label: impl Fn(&[usize]) -> String,
) -> String {
    if edits.is_empty() {
        return String::new();
    }
    let starts: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .filter(|&s| s < text.len())
        .collect();
    let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).max(1) - 1;
    let line_end = |line: usize| starts.get(line + 1).copied().unwrap_or(text.len());

    let mut sorted: Vec<&(usize, Edit)> = edits.iter().collect();
    sorted.sort_by_key(|(_, e)| (e.span.start, e.span.end, e.after));
    let mut regions: Vec<Region> = Vec::new();
    for (at, (fix, edit)) in sorted.iter().copied().enumerate() {
        let first = line_of(edit.span.start);
        // A span that ends at a line's start (a removed line and its line end) stops before it.
        let last = if edit.span.end > edit.span.start {
            line_of(edit.span.end - 1)
        } else {
            first
        };
        match regions.last_mut() {
            Some(r) if first <= r.lines.end => {
                r.lines.end = r.lines.end.max(last + 1);
                r.bytes.end = line_end(r.lines.end - 1);
                if !r.edits.contains(fix) {
                    r.edits.push(*fix);
                }
                r.sorted.end = at + 1;
            }
            _ => regions.push(Region {
                lines: first..last + 1,
                bytes: starts.get(first).copied().unwrap_or(text.len())..line_end(last),
                edits: vec![*fix],
                sorted: at..at + 1,
            }),
        }
    }

    let mut out = format!(
        "--- {}\n+++ {}\n",
        git_quoted(&format!("a/{path}")),
        git_quoted(&format!("b/{path}"))
    );
    let line_text = |line: usize| &text[starts[line]..line_end(line)];
    let mut i = 0;
    let mut shift: isize = 0;
    while i < regions.len() {
        // Regions whose contexts touch share a hunk.
        let mut j = i + 1;
        while j < regions.len() && regions[j].lines.start <= regions[j - 1].lines.end + 2 * CONTEXT
        {
            j += 1;
        }
        let group = &regions[i..j];
        let from = group[0].lines.start.saturating_sub(CONTEXT);
        let to = (group[j - i - 1].lines.end + CONTEXT).min(starts.len());
        let mut body = String::new();
        let (mut old_n, mut new_n) = (0usize, 0usize);
        let mut fixes: Vec<usize> = Vec::new();
        let mut line = from;
        for region in group {
            for l in line..region.lines.start {
                push_line(&mut body, ' ', line_text(l));
                old_n += 1;
                new_n += 1;
            }
            for l in region.lines.clone() {
                push_line(&mut body, '-', line_text(l));
                old_n += 1;
            }
            let inside: Vec<(usize, Edit)> = sorted[region.sorted.clone()]
                .iter()
                .map(|(f, e)| {
                    let mut e = e.clone();
                    e.span = e.span.start - region.bytes.start..e.span.end - region.bytes.start;
                    (*f, e)
                })
                .collect();
            let new_text = apply(&text[region.bytes.clone()], &inside);
            for l in split_lines(&new_text) {
                push_line(&mut body, '+', l);
                new_n += 1;
            }
            for f in &region.edits {
                if !fixes.contains(f) {
                    fixes.push(*f);
                }
            }
            line = region.lines.end;
        }
        for l in line..to {
            push_line(&mut body, ' ', line_text(l));
            old_n += 1;
            new_n += 1;
        }
        let old_start = if old_n == 0 { from } else { from + 1 };
        let new_first = (from as isize + shift) as usize;
        let new_start = if new_n == 0 { new_first } else { new_first + 1 };
        shift += new_n as isize - old_n as isize;
        out.push_str(&format!(
            "@@ -{} +{} @@ {}\n",
            range(old_start, old_n),
            range(new_start, new_n),
            label(&fixes)
        ));
        out.push_str(&body);
        i = j;
    }
    out
}

/// A file name as git writes it in a diff header: as it is when plain, else in double
/// quotes with C escapes (`\"`, `\\`, `\t`, `\n`, octal for other bytes); both git apply and
/// patch read it. A blank is quoted too, which patch needs.
fn git_quoted(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if plain {
        return name.to_owned();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b' ' => out.push(' '),
            b if b.is_ascii_graphic() => out.push(char::from(b)),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// `start,count`, or `start` alone for one line, as diff writes it.
fn range(start: usize, count: usize) -> String {
    if count == 1 {
        start.to_string()
    } else {
        format!("{start},{count}")
    }
}

/// The lines of `text`, each with its line end.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
}

/// One diff line: its mark, its text with the line end it has; a last line without one gets
/// the marker both tools read.
fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(at: usize, text: &str) -> Edit {
        Edit {
            span: at..at,
            text: text.to_owned(),
            after: false,
        }
    }

    #[test]
    fn edits_replace_only_their_spans() {
        let text = "FROM a\r\nRUN x\r\n";
        let edits = vec![(0, insert(13, " && y")), (1, insert(13, " && z"))];
        assert_eq!(apply(text, &edits), "FROM a\r\nRUN x && y && z\r\n");
    }

    /// A flag after the `install` that ends a `RUN` and a command appended to that `RUN`
    /// meet at one point: the flag stays with the install, whichever edit came first.
    #[test]
    fn appended_commands_come_after_flags_at_their_point() {
        let text = "RUN xargs apt-get -y install\n";
        let append = Edit {
            after: true,
            ..insert(28, " && rm -rf /var/lib/apt/lists/*")
        };
        let edits = vec![(0, append), (1, insert(28, " --no-install-recommends"))];
        assert_eq!(
            apply(text, &edits),
            "RUN xargs apt-get -y install --no-install-recommends && rm -rf /var/lib/apt/lists/*\n"
        );
        let diff = unified_diff(text, &edits, "Dockerfile", |_| String::new());
        assert!(
            diff.contains("install --no-install-recommends && rm"),
            "{diff}"
        );
    }

    #[test]
    fn the_diff_keeps_line_ends_and_marks_a_missing_last_one() {
        let text = "FROM a\r\nRUN x\r\nRUN rm -rf /t";
        let edits = vec![
            (0, insert(13, " && rm -rf /t")),
            (
                0,
                Edit {
                    span: 15..text.len(),
                    text: String::new(),
                    after: false,
                },
            ),
        ];
        let diff = unified_diff(text, &edits, "Dockerfile", |f| format!("fix {f:?}"));
        assert_eq!(
            diff,
            "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,3 +1,2 @@ fix [0]\n FROM a\r\n-RUN x\r\n-RUN rm -rf /t\n\\ No newline at end of file\n+RUN x && rm -rf /t\r\n"
        );
    }

    #[test]
    fn names_are_quoted_as_git_quotes_them() {
        assert_eq!(git_quoted("a/app/Dockerfile"), "a/app/Dockerfile");
        assert_eq!(git_quoted("a/my dir/Dockerfile"), "\"a/my dir/Dockerfile\"");
        assert_eq!(git_quoted("a/x\ty\"z\\é"), "\"a/x\\ty\\\"z\\\\\\303\\251\"");
    }

    #[test]
    fn far_apart_edits_make_two_hunks_with_shifted_numbers() {
        let text: String = (1..=20).map(|i| format!("L{i}\n")).collect();
        let at = |line: usize| text.match_indices('\n').nth(line - 1).unwrap().0;
        let edits = vec![(0, insert(at(2), "\nNEW")), (1, insert(at(15), "!"))];
        let diff = unified_diff(&text, &edits, "D", |f| format!("{f:?}"));
        assert!(diff.contains("@@ -1,5 +1,6 @@ [0]\n"), "{diff}");
        assert!(diff.contains("@@ -12,7 +13,7 @@ [1]\n"), "{diff}");
    }
}
