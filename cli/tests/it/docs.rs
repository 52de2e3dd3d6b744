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

/// The lines of the README's tour: the first ```sh block after "## Tour".
fn readme_tour() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("read README.md");
    let tour = &readme[readme.find("\n## Tour\n").expect("README.md has a \"## Tour\" section")..];
    let block = &tour[tour.find("```sh\n").expect("the tour has a ```sh block") + 6..];
    let block = &block[..block.find("\n```").expect("the tour's block ends")];
    block.lines().filter_map(command_of).map(str::to_string).collect()
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
