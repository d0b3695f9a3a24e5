//! The shell text of a `RUN`, read only as far as `fix` needs to be sure of an edit: whether
//! a command can take `&& more` at its end, the `pip install` words a flag goes after, and
//! the commands simple enough to move into an earlier `RUN` (`rm`, `chmod`, `chown` of
//! literal absolute paths). Anything this reader does not understand is "not sure": the
//! finding is listed, never patched.
//!
//! Budget: each function is one pass over the command's bytes.

/// Whether `command` (a shell-form `RUN`'s command, continuation lines joined) ends where
/// ` && more` can follow and run after all of it: quotes closed, no shell comment (a `#`
/// word would swallow what is appended), no heredoc, no `exit`, and no trailing operator,
/// `&` (background) or opening bracket.
pub(super) fn appendable(command: &str) -> bool {
    let Some(words) = words(command) else {
        return false;
    };
    if words
        .iter()
        .any(|w| w.text.starts_with('#') && !w.quoted || w.text == "exit" || w.text.contains("<<"))
    {
        return false;
    }
    let end = command.trim_end();
    !end.is_empty()
        && !["&", ";", "|", "\\", "(", "{", "!", "`"]
            .iter()
            .any(|op| end.ends_with(op))
        && !end.ends_with(" then")
        && !end.ends_with(" do")
        && !end.ends_with(" else")
}

/// One shell word: its text as written (quotes kept) and whether any part was quoted.
#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    quoted: bool,
}

/// Splits `command` into words at unquoted blanks; `None` when a quote is left open or an
/// escape ends the text.
fn words(command: &str) -> Option<Vec<Word<'_>>> {
    let bytes = command.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                if let Some(s) = start.take() {
                    out.push(Word {
                        text: &command[s..i],
                        quoted,
                    });
                    quoted = false;
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
        match b {
            b'\'' => {
                quoted = true;
                i += 1 + memchr::memchr(b'\'', &bytes[i + 1..])? + 1;
            }
            b'"' => {
                quoted = true;
                i += 1;
                loop {
                    match *bytes.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'\\' => {
                quoted = true;
                if i + 1 >= bytes.len() {
                    return None;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    if let Some(s) = start {
        out.push(Word {
            text: &command[s..],
            quoted,
        });
    }
    Some(out)
}

/// A command that can run at the end of an earlier `RUN` with the same effect: every word
/// plain (no quote, `$`, backtick or other shell syntax), every path absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Movable {
    /// `rm` with `-r`/`-f` flags.
    Remove(Vec<String>),
    /// `chmod [-R] MODE`.
    Chmod(Vec<String>),
    /// `chown [-R] OWNER[:GROUP]`.
    Chown(Vec<String>),
}

/// `command` as a list of movable commands joined by `&&`, with their paths; `None` when
/// any part is something else. The text of each, as written, is in `texts`.
pub(super) fn movable(command: &str) -> Option<(Vec<Movable>, Vec<String>)> {
    let words = words(command)?;
    let mut commands = Vec::new();
    let mut texts = Vec::new();
    for part in words.split(|w| w.text == "&&") {
        let plain: Vec<&str> = part.iter().map(|w| w.text).collect();
        if part.iter().any(|w| w.quoted) || !plain.iter().all(|w| plain_word(w)) {
            return None;
        }
        let (&name, args) = plain.split_first()?;
        let (flags, rest): (Vec<&str>, Vec<&str>) = args.iter().partition(|w| w.starts_with('-'));
        // Flags after the first operand would be operands to some tools: keep them first.
        if args.iter().take(flags.len()).any(|w| !w.starts_with('-')) {
            return None;
        }
        let paths = |operands: &[&str]| -> Option<Vec<String>> {
            (!operands.is_empty() && operands.iter().all(|p| p.starts_with('/')))
                .then(|| operands.iter().map(|p| (*p).to_owned()).collect())
        };
        let recursive_only = |flags: &[&str]| flags.iter().all(|f| matches!(*f, "-R" | "-r"));
        let command = match name {
            "rm" if flags
                .iter()
                .all(|f| matches!(*f, "-r" | "-R" | "-f" | "-rf" | "-fr" | "-Rf" | "-fR")) =>
            {
                Movable::Remove(paths(&rest)?)
            }
            "chmod" if recursive_only(&flags) => {
                let (mode, operands) = rest.split_first()?;
                if !mode
                    .bytes()
                    .all(|b| b"0123456789ugoa+-=rwxXst,".contains(&b))
                {
                    return None;
                }
                Movable::Chmod(paths(operands)?)
            }
            "chown" if recursive_only(&flags) => {
                let (_owner, operands) = rest.split_first()?;
                Movable::Chown(paths(operands)?)
            }
            _ => return None,
        };
        commands.push(command);
        texts.push(plain.join(" "));
    }
    (!commands.is_empty()).then_some((commands, texts))
}

/// A word with no shell syntax in it: letters, digits and `_./+-=:,@%` (and `*`, a glob,
/// which the earlier `RUN` expands the same way over the same files).
fn plain_word(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./+-=:,@%*".contains(&b))
}

/// A path from the image that may go into a `RUN` as it is: absolute, plain characters only
/// (no quote, `$`, backtick, blank, control or escape character, no glob), no `..`. Any
/// other path is listed, never written into a command.
pub(super) fn safe_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./+-@".contains(&b))
        && !path.split('/').any(|part| part == "..")
}

/// Byte offsets in `raw` (a `RUN`'s arguments as written, continuation lines and all) just
/// after each `pip install` (`pip`, `pip3`, `pip3.11`, `python… -m pip`) on a line that is
/// not a comment: where ` --no-cache-dir` goes. Empty when a `pip install` is split over
/// lines or none is found.
pub(super) fn pip_installs(raw: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for (n, line) in raw.split('\n').enumerate() {
        let here = line_start;
        line_start += line.len() + 1;
        if n > 0 && line.trim_start().starts_with('#') {
            continue;
        }
        let tokens: Vec<(usize, &str)> = line
            .split([' ', '\t'])
            .scan(0usize, |at, t| {
                let start = *at;
                *at += t.len() + 1;
                Some((start, t))
            })
            .filter(|(_, t)| !t.is_empty())
            .collect();
        for (i, (_, t)) in tokens.iter().enumerate() {
            let is_pip = t
                .strip_prefix("pip")
                .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
                && (i == 0 || !tokens[i - 1].1.ends_with("-m"))
                || (*t == "pip" && i >= 1 && tokens[i - 1].1 == "-m");
            if !is_pip {
                continue;
            }
            if let Some(&(at, "install")) = tokens.get(i + 1) {
                found.push(here + at + "install".len());
            }
        }
    }
    found
}

/// Whether `command` runs `tool` with one of `verbs` as its next word (`apt-get install`).
pub(super) fn runs(command: &str, tools: &[&str], verbs: &[&str]) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).any(|w| {
        let tool = w[0].rsplit('/').next().unwrap_or(w[0]);
        tools.contains(&tool) && verbs.contains(&w[1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendable_commands_take_more_at_their_end() {
        for ok in [
            "apt-get update && apt-get install -y gcc",
            "pip install 'torch==2.3' \"numpy<2\"",
            "if true; then echo; fi",
            "a || true",
        ] {
            assert!(appendable(ok), "{ok}");
        }
        for no in [
            "apt-get update # then install",
            "echo 'open",
            "sleep 1 &",
            "make &&",
            "a;",
            "cat <<EOF",
            "make || exit 1",
            "",
        ] {
            assert!(!appendable(no), "{no}");
        }
    }

    #[test]
    fn movable_commands_are_plain_deletes_and_modes_of_absolute_paths() {
        let (cmds, texts) = movable("rm -rf /root/.cache/pip && chmod +x /usr/bin/x").unwrap();
        assert_eq!(
            cmds,
            vec![
                Movable::Remove(vec!["/root/.cache/pip".into()]),
                Movable::Chmod(vec!["/usr/bin/x".into()])
            ]
        );
        assert_eq!(texts, ["rm -rf /root/.cache/pip", "chmod +x /usr/bin/x"]);
        for no in [
            "rm -rf tmp",
            "rm -rf \"/tmp/x\"",
            "rm -rf $HOME/.cache",
            "rm -rf /tmp/x; echo",
            "rm --no-preserve-root -rf /",
            "chmod -R 755",
            "strip /usr/lib/x.so",
            "rm -rf /tmp/`x`",
        ] {
            assert!(movable(no).is_none(), "{no}");
        }
    }

    #[test]
    fn pip_installs_are_found_on_their_lines() {
        let raw = "pip install a && \\\n  # pip install b\n  python3 -m pip install c \\\n  && pip3.11 install d && pipx install e";
        let at = pip_installs(raw);
        let after: Vec<&str> = at.iter().map(|&i| &raw[i - 7..i]).collect();
        assert_eq!(after, ["install"; 3]);
        assert_eq!(at.len(), 3, "{at:?}");
    }

    #[test]
    fn paths_from_the_image_are_written_only_when_plain() {
        assert!(safe_path("/root/.cache/pip"));
        for no in [
            "/a b", "/a$b", "/a`b`", "/a'b", "/a\nb", "/a\\b", "a", "/../etc", "/a*",
        ] {
            assert!(!safe_path(no), "{no:?}");
        }
    }
}
