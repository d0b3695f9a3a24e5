//! Shell completions and the manual page, generated from the command-line definitions so that
//! they never drift from `--help`.

use std::io::Write;

use clap::CommandFactory;

use crate::cmd::args::{Cli, CompletionsArgs};

/// `dive-rs completions SHELL`: the completion script on stdout.
pub(crate) fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "dive-rs", &mut script);
    if args.shell == clap_complete::Shell::Bash {
        // clap_complete spells the state of a hyphenated program's subcommand two ways
        // (`dive__rs__subcmd__report` in the loop, `dive__subcmd__rs__subcmd__report` in the
        // case arms: clap-rs/clap#6421), so no subcommand option would ever complete.
        let fixed = String::from_utf8_lossy(&script).replace("dive__subcmd__rs", "dive__rs");
        script = fixed.into_bytes();
    }
    out.write_all(&script)?;
    Ok(())
}

/// `dive-rs man`: one roff page (section 1) on stdout. `clap_mangen` writes the main command;
/// each subcommand's synopsis, description and own options follow under a heading of its
/// own (a single page is what `dive-rs man | man -l -` shows, so the list of subcommands
/// points there rather than to pages that do not exist).
pub(crate) fn man(out: &mut dyn Write) -> anyhow::Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let page = String::from_utf8_lossy(&page);
    // Option groups every subcommand shares, told once in the main page.
    let shared: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .filter(|t| !matches!(*t, "NAME" | "SYNOPSIS" | "DESCRIPTION" | "OPTIONS"))
        .collect();
    let mut preformatted = false;
    for line in page.lines() {
        if line.starts_with(".SH ") && preformatted {
            writeln!(out, ".fi")?;
            preformatted = false;
        }
        if line == ".SH EXTRA" {
            // The overview of commands, forms and exit codes is laid out in columns.
            writeln!(out, ".SH \"USAGE AND EXIT STATUS\"\n.nf")?;
            preformatted = true;
            continue;
        }
        let line = match line
            .strip_prefix("dive\\-rs\\-")
            .and_then(|l| l.strip_suffix("(1)"))
        {
            Some(sub) => format!("dive\\-rs {sub} (below)"),
            None => line.to_owned(),
        };
        writeln!(out, "{line}")?;
    }
    if preformatted {
        writeln!(out, ".fi")?;
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("dive-rs {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()).display_name(&name));
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        man.render_options_section(&mut part)?;
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut part)?;
        }
        // Its sections become subsections of its heading; shared option groups are skipped.
        let part = String::from_utf8_lossy(&part);
        let mut skipping = false;
        for line in part.lines() {
            let Some(title) = line.strip_prefix(".SH ") else {
                if !skipping {
                    writeln!(out, "{line}")?;
                }
                continue;
            };
            skipping = shared.contains(&title);
            let title = match title {
                "SYNOPSIS" => "Synopsis",
                "DESCRIPTION" => "Description",
                "OPTIONS" => "Options",
                "EXTRA" => "Notes",
                other => other,
            };
            if skipping {
                writeln!(
                    out,
                    ".PP\nAlso the options of {} above.",
                    title.trim_matches('"')
                )?;
            } else {
                writeln!(out, ".SS \"{}\"", title.trim_matches('"'))?;
            }
        }
    }
    Ok(())
}
