//! Every scenario file of `scenarios/` passes in-process: file → domain states → `plan` → `apply` →
//! compare with `expect`, and a second `plan` on the result writes nothing.

use std::path::PathBuf;

fn scenario_files() -> Vec<PathBuf> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_file_passes_in_process() {
    let files = scenario_files();
    assert!(files.len() >= 19, "expected the 19 shared scenario files, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let scenario = scenario::Scenario::load(path).unwrap_or_else(|error| panic!("{error}"));
        match scenario::run_in_process(&scenario) {
            Ok(outcome) => {
                for failure in scenario::check(&scenario, &outcome) {
                    failures.push(format!("{}: {failure}", path.file_name().unwrap().to_string_lossy()));
                }
            }
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
