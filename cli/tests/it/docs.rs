//! What the documentation promises, checked against the real binary: the README's tour runs as
//! written (docs/tour.sh, and every command of the README's tour is in it); the roles of keys
//! (docs/OFFICERS.md, docs/OPERATIONS.md).

use std::path::{Path, PathBuf};

use crate::common::{Fixture, interview_body, output_text};

/// The repository's root (the parent of `cli/`).
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ has a parent").to_path_buf()
}

/// The command of a shell line: without a trailing `  # comment`, trimmed; None for a blank or
/// comment line.
fn command_of(line: &str) -> Option<&str> {
    let command = line.split_once("  # ").map_or(line, |(command, _)| command).trim();
    (!command.is_empty() && !command.starts_with('#')).then_some(command)
}

/// The lines of the README's tour: the first ```sh block after "## Tour", then the one after
/// "## Serve a commission".
fn readme_tour() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("read README.md");
    let mut lines = Vec::new();
    for heading in ["\n## Tour\n", "\n## Serve a commission\n"] {
        let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("README.md has a {heading:?} section"))..];
        let block = &section[section.find("```sh\n").expect("the section has a ```sh block") + 6..];
        let block = &block[..block.find("\n```").expect("the section's block ends")];
        lines.extend(block.lines().filter_map(command_of).map(str::to_string));
    }
    lines
}

/// Every command line of the README's tour is a line of docs/tour.sh (the script may guard a
/// step, `[ … ] || COMMAND`), so the README cannot show a step that the script does not run.
#[test]
fn every_command_of_the_readme_tour_is_in_docs_tour_sh() {
    let script = std::fs::read_to_string(repository().join("docs/tour.sh")).expect("read docs/tour.sh");
    let steps: Vec<&str> = script.lines().filter_map(command_of).collect();
    let readme = readme_tour();
    assert!(readme.len() > 40, "the README's tour has its commands: {readme:?}");
    let missing: Vec<&String> = readme
        .iter()
        .filter(|line| !steps.iter().any(|step| step == line || step.ends_with(&format!("|| {line}"))))
        .collect();
    assert!(
        missing.is_empty(),
        "these lines of the README's tour are not steps of docs/tour.sh (copy them there, or \
         change the README to the script's line): {missing:#?}"
    );
}

/// docs/tour.sh runs from start to end with the binary under test, in its own temporary
/// directory (without the `bench` step, which takes ~15 s and has its own tests; CI runs the
/// whole tour with the release binary).
#[test]
fn the_tour_runs_as_written() {
    let output = std::process::Command::new("bash")
        .arg(repository().join("docs/tour.sh"))
        .env("LIANLOG", env!("CARGO_BIN_EXE_lianlog"))
        .env("TOUR_SKIP_BENCH", "1")
        .env_remove("LIANLOG_LEDGER")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash docs/tour.sh");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "docs/tour.sh failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    assert!(stderr.trim_end().ends_with("tour: every step passed"), "{stderr}");
    // It ran to the end: the last step before `bench` was echoed.
    assert!(stderr.contains("+ lianlog --archive "), "{stderr}");
}

/// docs/OFFICERS.md "Roles": an admin key cannot append records; a second key granted `officer`
/// gives the same person the second role; a key is granted once.
#[test]
fn an_admin_key_cannot_append_and_a_second_key_gives_a_second_role() {
    let fixture = Fixture::build();
    let body = interview_body("张三", "约谈提醒");
    let refused = fixture.append("interview", &body, &fixture.admin).code(3);
    let (_, stderr) = output_text(refused.get_output());
    for fragment in ["admin.zhao+", "lacks the role officer (纪检干部)", "kind interview", "it holds admin"] {
        assert!(stderr.contains(fragment), "expected {fragment:?} in: {stderr}");
    }

    let second = fixture.root.join("zhao-officer.pem");
    crate::common::lianlog().args(["key", "new", "officer.zhao", "--out"]).arg(&second).assert().success();
    fixture.grant(&second, "officer", "赵主任", "市纪委监委");
    fixture.append("interview", &body, &second).success();

    let regrant = fixture
        .cmd()
        .args(["key", "grant", &fixture.vkey(&second), "--role", "auditor"])
        .args(["--holder-name", "赵主任", "--holder-unit", "市纪委监委", "--key"])
        .arg(&fixture.admin)
        .assert()
        .failure();
    let (_, stderr) = output_text(regrant.get_output());
    assert!(stderr.contains("granted at most once"), "{stderr}");
}

/// Every command of `lianlog`, as `lianlog-key-new`-style page names, from the help of each level.
fn command_names(prefix: &[&str]) -> Vec<String> {
    let output = crate::common::lianlog().args(prefix).arg("--help").output().expect("run lianlog --help");
    let (help, _) = output_text(&output);
    let mut names = vec![std::iter::once("lianlog").chain(prefix.iter().copied()).collect::<Vec<_>>().join("-")];
    let Some(list) = help.split("\nCommands:\n").nth(1) else { return names };
    for line in list.lines().take_while(|line| !line.is_empty()) {
        if let Some(name) = line.strip_prefix("  ").and_then(|rest| rest.split_whitespace().next())
            && !line.starts_with("   ")
            && name != "help"
        {
            let path: Vec<&str> = prefix.iter().copied().chain(std::iter::once(name)).collect();
            names.extend(command_names(&path));
        }
    }
    names
}

/// `lianlog man --dir DIR` writes one page per command (nothing more, nothing less), generated from
/// the same clap definition as `--help`, so they cannot fall behind it: every option of
/// `key grant --help` is in its page; `--ledger` is hidden where no ledger is opened.
#[test]
fn man_pages_cover_every_command_and_follow_the_help() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("man/man1");
    crate::common::lianlog().args(["man", "--dir"]).arg(&dir).assert().success();
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = command_names(&[]).into_iter().map(|name| format!("{name}.1")).collect();
    expected.sort();
    assert_eq!(pages, expected, "one page per command of `lianlog --help`");
    assert!(pages.len() > 40 && pages.contains(&"lianlog-key-new.1".to_string()), "{pages:?}");

    let page = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let grant = page("lianlog-key-grant.1");
    assert!(grant.starts_with(".ie \\n(.g .ds Aq") || grant.contains(".TH lianlog-key-grant"), "{grant}");
    let output = crate::common::lianlog().args(["key", "grant", "--help"]).output().unwrap();
    let (help, _) = output_text(&output);
    for option in help.split_whitespace().filter(|word| word.starts_with("--")) {
        let option = option.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        assert!(grant.contains(&option.replace('-', "\\-")), "{option} of `key grant --help` is not in its man page");
    }
    assert!(page("lianlog-key-list.1").contains("\\-\\-ledger"), "key list opens a ledger");
    for offline in ["lianlog-key-new.1", "lianlog-check-inclusion.1", "lianlog-snapshot-verify.1", "lianlog-bench.1"] {
        assert!(!page(offline).contains("\\-\\-ledger"), "{offline} opens no ledger: --ledger is noise there");
    }
}

/// `lianlog completions SHELL` prints a script for each shell the README names, which completes
/// subcommands and their flags.
#[test]
fn completions_for_every_documented_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = crate::common::lianlog().args(["completions", shell]).output().unwrap();
        let (script, stderr) = output_text(&output);
        assert!(output.status.success(), "{shell}: {stderr}");
        for word in ["lianlog", "snapshot", "export-log-key", "without-bodies", "ledger"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // Unknown shells are refused as bad usage.
    crate::common::lianlog().args(["completions", "cmd.exe"]).assert().code(2);
}
