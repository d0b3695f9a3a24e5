//! The shell text of a `RUN`, read only as far as `fix` needs to be sure of an edit: whether
//! a command can take `&& more` at its end, the `pip install` words a flag goes after, and
//! the commands simple enough to move into an earlier `RUN` (`rm`, `chmod`, `chown` of
//! literal absolute paths). Anything this reader does not understand is "not sure": the
//! finding is listed, never patched.
//!
//! Budget: each function is one pass over the command's bytes.

/// Whether `command` (a shell-form `RUN`'s command, continuation lines joined) ends where
/// ` && more` can follow and run after all of it: quotes closed, no shell comment (a `#`
/// that starts a word, after a blank or an operator, would swallow what is appended), no
/// heredoc, no `exit`, no `umask` or `set -f` (they change what a later command does), and
/// no trailing operator, `&` (background) or opening bracket.
pub(super) fn appendable(command: &str) -> bool {
    let Some(words) = words(command) else {
        return false;
    };
    if comment_at(command)
        || command.contains("set -f")
        || command.contains("noglob")
        || words
            .iter()
            .any(|w| matches!(w.text, "exit" | "umask" | "shopt") || w.text.contains("<<"))
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

/// Whether an unquoted `#` starts a word of `command` (at its start, after a blank or after
/// one of the operators `; & | ( ) < >`): the shell reads the rest of the line as a comment.
fn comment_at(command: &str) -> bool {
    let bytes = command.as_bytes();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double => {
                let before = i.checked_sub(1).map(|j| bytes[j]);
                if before.is_none_or(|c| b" \t\n\r;&|()<>".contains(&c)) {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
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
    /// `chmod [-R] MODE`: the mode as written, the paths.
    Chmod(String, Vec<String>),
    /// `chown [-R] OWNER[:GROUP]`: the owner as written, the paths.
    Chown(String, Vec<String>),
}

impl Movable {
    /// The paths it changes.
    pub(super) fn paths(&self) -> &[String] {
        match self {
            Movable::Remove(paths) | Movable::Chmod(_, paths) | Movable::Chown(_, paths) => paths,
        }
    }
}

/// `mode` (as `chmod` takes it: octal, or symbolic clauses such as `u+x,go-w`) applied to
/// a regular file's `current` mode, with the build's umask (022) where a clause names no
/// one; `None` for a mode this reader does not understand.
pub(super) fn chmod(mode: &str, current: u32) -> Option<u32> {
    const UMASK: u32 = 0o022;
    if !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777);
    }
    let mut result = current & 0o7777;
    for clause in mode.split(',') {
        let ops_at = clause.find(['+', '-', '='])?;
        let (who, mut ops) = clause.split_at(ops_at);
        let mut users = 0u32;
        for w in who.bytes() {
            users |= match w {
                b'u' => 0o4700,
                b'g' => 0o2070,
                b'o' => 0o1007,
                b'a' => 0o7777,
                _ => return None,
            };
        }
        let masked = who.is_empty();
        if masked {
            users = 0o7777;
        }
        while let Some(op) = ops.chars().next() {
            let perms_end = ops[1..].find(['+', '-', '=']).map_or(ops.len(), |i| i + 1);
            let perms = &ops[1..perms_end];
            ops = &ops[perms_end..];
            let mut bits = 0u32;
            for p in perms.bytes() {
                bits |= match p {
                    b'r' => 0o444,
                    b'w' => 0o222,
                    b'x' => 0o111,
                    b'X' if result & 0o111 != 0 => 0o111,
                    b'X' => 0,
                    b's' => 0o6000,
                    b't' => 0o1000,
                    _ => return None,
                };
            }
            bits &= users;
            if masked {
                bits &= !UMASK;
            }
            match op {
                '+' => result |= bits,
                '-' => result &= !bits,
                _ => result = (result & !(users & if masked { !UMASK } else { 0o7777 })) | bits,
            }
        }
    }
    Some(result)
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
                Movable::Chmod((*mode).to_owned(), paths(operands)?)
            }
            "chown" if recursive_only(&flags) => {
                let (owner, operands) = rest.split_first()?;
                Movable::Chown((*owner).to_owned(), paths(operands)?)
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
/// after each `pip install`, `pip download` or `pip wheel` (`pip`, `pip3`, `pip3.11`, a pip
/// named by its path, `python… -m pip`) of the command BuildKit runs (continuation lines
/// joined with `escape`, comment lines dropped): where ` --no-cache-dir` goes. Empty when
/// none is found.
pub(super) fn pip_installs(raw: &str, escape: char) -> Vec<usize> {
    let words = joined_words(raw, escape);
    let mut found = Vec::new();
    for (i, (_, t)) in words.iter().enumerate() {
        let after_m = i >= 1 && words[i - 1].1 == "-m";
        let is_pip = (is_pip_program(t) && !after_m) || (t == "pip" && after_m);
        if !is_pip {
            continue;
        }
        if let Some((at, verb)) = words.get(i + 1)
            && matches!(verb.as_str(), "install" | "download" | "wheel")
        {
            found.push(*at);
        }
    }
    found
}

/// The words of `raw` (a `RUN`'s arguments as written) once its continuation lines are
/// joined as BuildKit joins them (escape and line end removed, comment lines dropped), each
/// with the offset in `raw` just past its last byte: where a flag after it goes. Words are
/// split at blanks only, so an offset is always at a character boundary of `raw`.
fn joined_words(raw: &str, escape: char) -> Vec<(usize, String)> {
    // The joined text, and for each of its bytes the offset of that byte in `raw`.
    let mut joined = String::with_capacity(raw.len());
    let mut at: Vec<usize> = Vec::with_capacity(raw.len());
    let mut start = 0;
    for (i, line) in raw.split('\n').enumerate() {
        let here = start;
        start += line.len() + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if i > 0 {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
        }
        let without_blanks = line.trim_end_matches([' ', '\t']);
        let kept = match without_blanks.strip_suffix(escape) {
            Some(rest) if !rest.ends_with(escape) => rest,
            _ => line,
        };
        joined.push_str(kept);
        at.extend(here..here + kept.len());
    }
    let mut words = Vec::new();
    let mut word_start: Option<usize> = None;
    for (i, c) in joined.char_indices().chain([(joined.len(), ' ')]) {
        let blank = matches!(c, ' ' | '\t' | '\n' | '\r');
        match (blank, word_start) {
            (true, Some(s)) => {
                words.push((at[i - 1] + 1, joined[s..i].to_owned()));
                word_start = None;
            }
            (false, None) => word_start = Some(i),
            _ => {}
        }
    }
    words
}

/// `pip`, `pip3`, `pip3.11`, or one of them named by its path (`/opt/venv/bin/pip`).
fn is_pip_program(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word);
    name.strip_prefix("pip")
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Every word of `command` that runs pip (as a program where a command starts, or as
/// `python -m pip`; `pip install -U pip` runs it once): what [`pip_installs`] must have found
/// one flag place for, each.
pub(super) fn pip_runs(command: &str) -> usize {
    let words: Vec<&str> = command.split_whitespace().collect();
    let command_at = |i: usize| {
        i == 0
            || matches!(
                words[i - 1],
                "&&" | "||" | ";" | "|" | "then" | "do" | "sudo" | "exec"
            )
            || words[i - 1].ends_with(';')
    };
    words
        .iter()
        .enumerate()
        .filter(|&(i, w)| {
            let after_m = i >= 1 && words[i - 1] == "-m";
            (is_pip_program(w) && command_at(i)) || (*w == "pip" && after_m)
        })
        .count()
}

/// The tools that install Debian packages with apt's resolver.
const APT_TOOLS: [&str; 2] = ["apt-get", "apt"];

/// Byte offsets in `raw` (a `RUN`'s arguments as written) just after each `install` of
/// `apt-get`/`apt` (options before it skipped, `-o`'s value too) in the command BuildKit
/// runs (continuation lines joined with `escape`): where ` --no-install-recommends` goes.
pub(super) fn apt_installs(raw: &str, escape: char) -> Vec<usize> {
    let words = joined_words(raw, escape);
    let mut found = Vec::new();
    for (i, (_, t)) in words.iter().enumerate() {
        if !APT_TOOLS.contains(&t.rsplit('/').next().unwrap_or(t)) {
            continue;
        }
        let rest = words[i + 1..].iter().map(|(at, w)| (*at, w.as_str()));
        if let Some((at, _)) = apt_verb(rest).filter(|(_, v)| *v == "install") {
            found.push(at);
        }
    }
    found
}

/// The packages `command`'s apt installs name, as apt reads each word (`pkg=1.2`,
/// `pkg/bookworm`, `pkg:amd64` give `pkg`); `None` when a word is quoted, expanded, a glob or
/// otherwise not a plain package name: then what was asked for is not known.
pub(super) fn apt_requested(command: &str) -> Option<Vec<String>> {
    let words = words(command)?;
    let texts: Vec<&str> = words.iter().map(|w| w.text).collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let tool = word.text.rsplit('/').next().unwrap_or(word.text);
        if word.quoted || !APT_TOOLS.contains(&tool) {
            continue;
        }
        let rest = texts[i + 1..].iter().copied().enumerate();
        let Some((verb, _)) = apt_verb(rest).filter(|(_, v)| *v == "install") else {
            continue;
        };
        let mut j = i + 2 + verb;
        while let Some(package) = words.get(j) {
            let text = package.text.strip_suffix(';').unwrap_or(package.text);
            if is_operator(package.text) {
                break;
            }
            if matches!(text, "-o" | "-c" | "-t") {
                j += 2;
                continue;
            }
            if !text.starts_with('-') {
                let plain = text.bytes().all(|b| {
                    b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'.' | b'+' | b'-' | b'=' | b'/' | b':' | b'~')
                });
                if package.quoted || !plain || text.is_empty() {
                    return None;
                }
                let name = text.split(['=', '/', ':']).next().unwrap_or(text);
                out.push(name.to_owned());
            }
            if package.text.ends_with(';') {
                break;
            }
            j += 1;
        }
    }
    Some(out)
}

/// Whether `word` ends a simple command: `&&`, `||`, `;`, `|`.
fn is_operator(word: &str) -> bool {
    matches!(word, "&&" | "||" | ";" | "|" | "&")
}

/// Commands that may follow the last apt install of a `RUN` without using what it
/// installed: cleanups and bookkeeping.
const AFTER_INSTALL: &[&str] = &[
    "rm", "true", ":", "echo", "mkdir", "ln", "useradd", "groupadd", "adduser", "addgroup",
    "apt-mark",
];

/// The first command of `command` after its last apt install that may use what the install
/// brought (anything but a cleanup, bookkeeping or another apt command that does not
/// install), if any.
pub(super) fn used_after_install(command: &str) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    // Simple commands: their words, split at operators.
    let mut commands: Vec<Vec<&str>> = vec![Vec::new()];
    for word in &words {
        if is_operator(word) {
            commands.push(Vec::new());
            continue;
        }
        let text = word.strip_suffix(';').unwrap_or(word);
        if let Some(last) = commands.last_mut() {
            last.push(text);
        }
        if word.ends_with(';') {
            commands.push(Vec::new());
        }
    }
    let program = |c: &[&str]| -> Option<usize> { c.iter().position(|w| !w.contains('=')) };
    let installs = |c: &Vec<&str>| {
        program(c).is_some_and(|p| {
            let tool = c[p].rsplit('/').next().unwrap_or(c[p]);
            APT_TOOLS.contains(&tool)
                && apt_verb(c[p + 1..].iter().copied().enumerate())
                    .is_some_and(|(_, v)| v == "install")
        })
    };
    let last = commands.iter().rposition(installs)?;
    commands[last + 1..]
        .iter()
        .filter_map(|c| program(c).map(|p| (c, p)))
        .find(|&(c, p)| {
            let tool = c[p].rsplit('/').next().unwrap_or(c[p]);
            !(AFTER_INSTALL.contains(&tool) || APT_TOOLS.contains(&tool))
        })
        .map(|(c, p)| c[p..].join(" "))
}

/// The first word of `rest` that is not an option (nor `-o`'s, `-c`'s or `-t`'s value).
fn apt_verb<T: AsRef<str>>(mut rest: impl Iterator<Item = (usize, T)>) -> Option<(usize, T)> {
    while let Some((at, word)) = rest.next() {
        if matches!(word.as_ref(), "-o" | "-c" | "-t") {
            rest.next();
        } else if !word.as_ref().starts_with('-') {
            return Some((at, word));
        }
    }
    None
}

/// How many times `command` runs `apt-get install` or `apt install`: what [`apt_installs`]
/// must have found one flag place for, each.
pub(super) fn apt_install_runs(command: &str) -> usize {
    let words: Vec<&str> = command.split_whitespace().collect();
    (0..words.len())
        .filter(|&i| {
            let w = words[i];
            APT_TOOLS.contains(&w.rsplit('/').next().unwrap_or(w))
                && apt_verb(words[i + 1..].iter().copied().enumerate())
                    .is_some_and(|(_, v)| v == "install")
        })
        .count()
}

/// Whether `command` runs `tool` with one of `verbs` as its first word that is not an
/// option (`apt-get -y install`; an option's value after `-o`, `-c` or `-t` skipped too).
pub(super) fn runs(command: &str, tools: &[&str], verbs: &[&str]) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.iter().enumerate().any(|(i, w)| {
        let tool = w.rsplit('/').next().unwrap_or(w);
        if !tools.contains(&tool) {
            return false;
        }
        let mut rest = words[i + 1..].iter();
        while let Some(word) = rest.next() {
            if matches!(*word, "-o" | "-c" | "-t") {
                rest.next();
            } else if !word.starts_with('-') {
                return verbs.contains(word);
            }
        }
        false
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
            "rm -f /tmp/x",
            "echo 'a;#b' \"c #d\" e#f",
        ] {
            assert!(appendable(ok), "{ok}");
            assert!(!comment_at(ok), "{ok}");
        }
        for no in [
            "apt-get update # then install",
            "echo 'open",
            "sleep 1 &",
            "make &&",
            "a;",
            "cat <<EOF",
            "make || exit 1",
            "apt-get install -y curl;# note",
            "make &# note",
            "(cd x)#c",
            "umask 077 && touch f",
            "set -f; echo *",
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
                Movable::Chmod("+x".into(), vec!["/usr/bin/x".into()])
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
    fn modes_are_what_chmod_makes_of_them() {
        for (mode, from, to) in [
            ("755", 0o644, Some(0o755)),
            ("+x", 0o644, Some(0o755)),
            ("u+x", 0o644, Some(0o744)),
            ("go-r", 0o644, Some(0o600)),
            ("a=r,u+w", 0o777, Some(0o644)),
            ("+X", 0o644, Some(0o644)),
            ("u+s", 0o755, Some(0o4755)),
            ("+w", 0o444, Some(0o644)),
            ("q+x", 0o644, None),
            ("99", 0o644, None),
        ] {
            assert_eq!(chmod(mode, from), to, "{mode} on {from:o}");
        }
    }

    #[test]
    fn pip_installs_are_found_on_their_lines() {
        let raw = "pip install a && \\\n  # pip install b\n  python3 -m pip install c \\\n  && pip3.11 install d && pipx install e && /opt/venv/bin/pip install f";
        let at = pip_installs(raw, '\\');
        let after: Vec<&str> = at.iter().map(|&i| &raw[i - 7..i]).collect();
        assert_eq!(after, ["install"; 4]);
        assert_eq!(pip_runs(&raw.replace("# pip install b", "")), 4);
        assert_eq!(pip_runs("pip install -U pip && echo pip"), 1);
        assert!(runs("apt-get -y install jq", &["apt-get"], &["install"]));
        assert!(runs(
            "apt-get -o Acquire::Retries=3 install jq",
            &["apt-get"],
            &["install"]
        ));
        assert!(!runs("apt-get update", &["apt-get"], &["install"]));
    }

    #[test]
    fn apt_requests_are_the_plain_package_words() {
        assert_eq!(
            apt_requested(
                "apt-get update && apt-get install -y -t bookworm-backports curl=7.88 jq/bookworm \
                 libc6:amd64 && rm -rf /var/lib/apt/lists/*; apt install -y git;"
            ),
            Some(vec![
                "curl".to_owned(),
                "jq".to_owned(),
                "libc6".to_owned(),
                "git".to_owned()
            ])
        );
        assert_eq!(apt_requested("apt-get install -y $PKGS"), None);
        assert_eq!(apt_requested("apt-get install -y 'curl'"), None);
        assert_eq!(apt_requested("apt-get install -y lib*"), None);
        assert_eq!(apt_requested("xargs apt-get install -y < /tmp/p"), None);
        assert_eq!(
            apt_requested("xargs -a /tmp/p apt-get -y install"),
            Some(vec![])
        );
    }

    #[test]
    fn what_runs_after_the_last_install_is_told() {
        let clean = "apt-get update && apt-get install -y curl && apt-get clean && rm -rf /x";
        assert_eq!(used_after_install(clean), None);
        assert_eq!(
            used_after_install("apt-get install -y gcc && gcc -o /x /x.c"),
            Some("gcc -o /x /x.c".to_owned())
        );
        assert_eq!(
            used_after_install("apt-get install -y p; X=1 pip3 install psycopg2"),
            Some("pip3 install psycopg2".to_owned())
        );
        assert_eq!(used_after_install("echo no install"), None);
    }

    #[test]
    fn apt_installs_are_found_after_their_options() {
        let raw = "apt-get update && apt-get -y -o Dpkg::Options::=--force-confold install a \\\n  # apt-get install b\n  && DEBIAN_FRONTEND=noninteractive /usr/bin/apt install c \\\n  && apt-get remove d && aptitude install e";
        let at = apt_installs(raw, '\\');
        let after: Vec<&str> = at.iter().map(|&i| &raw[i - 7..i]).collect();
        assert_eq!(after, ["install"; 2]);
        assert_eq!(apt_install_runs(&raw.replace("# apt-get install b", "")), 2);
        // The verb on the next line is found where it stands; a line joined to a command
        // by its continuation is part of that command, not a new one.
        let split = "apt-get -y \\\n  install curl && echo foo\\\napt-get install wget";
        let at = apt_installs(split, '\\');
        assert_eq!(at, [split.find(" curl").unwrap()]);
        // Another escape character (`# escape=`` ` ``) joins the same way.
        let backtick = "apt-get -y `\r\n  install curl";
        assert_eq!(
            apt_installs(backtick, '`'),
            [backtick.len() - " curl".len()]
        );
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
