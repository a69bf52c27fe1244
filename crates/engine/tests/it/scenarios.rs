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

#[test]
fn a_scenario_with_a_wrong_expectation_fails_the_check() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/02-yearly-salary-divided-by-12.json");
    let mut scenario = scenario::Scenario::load(&path).unwrap();
    let expected = scenario.expect.loket.as_mut().unwrap();
    expected.employments[0].wages[1].amount = crate::support::dec("4166.66");
    scenario.expect.issues.push(scenario::ExpectedIssue {
        code: "salary_gap".to_string(),
        severity: "error".to_string(),
        person: Some(1002),
        message: None,
        message_contains: None,
    });
    let outcome = scenario::run_in_process(&scenario).unwrap();
    let failures = scenario::check(&scenario, &outcome);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].contains("expected Periodic 4166.66"), "{}", failures[0]);
    assert!(failures[1].contains("expected issue salary_gap"), "{}", failures[1]);
}
