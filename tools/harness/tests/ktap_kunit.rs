// SPDX-License-Identifier: GPL-2.0
//! rdynptr-test's KTAP parses with the kernel's own KTAP parser
//! (`tools/testing/kunit/kunit.py parse`), with the same totals.
//! scripts/rdynptr.sh hosttest gives the parser's path in
//! RDYNPTR_KUNIT_PY (scripts/libbpf.sh unpacks it from the kernel source).

use rdynptr_harness::ktap::{Ktap, Outcome};
use std::process::Command;

#[test]
fn ktap_output_parses_with_kunit_py_and_the_totals_agree() {
    let kunit = std::env::var("RDYNPTR_KUNIT_PY")
        .expect("RDYNPTR_KUNIT_PY is not set: run this through `make hosttest`");
    let mut out = Vec::new();
    let mut k = Ktap::new(&mut out);
    k.start(5).unwrap();
    k.diag("rdynptr-test: kernel 7.3.4, 2 object(s)").unwrap();
    k.result("verifier_and/a", &Outcome::Pass).unwrap();
    k.diag("verifier_and/b @unpriv:\n  expected: 1\n  got: 2")
        .unwrap();
    k.result("verifier_and/b @unpriv", &Outcome::Fail).unwrap();
    k.result(
        "verifier_and/c",
        &Outcome::Skip("kfunc bpf_x # missing\nhere".into()),
    )
    .unwrap();
    k.subtest(
        "kunit/rdynptr_dynptr",
        &Outcome::Pass,
        &[
            ("case_one".into(), Outcome::Pass),
            ("case_two".into(), Outcome::Skip("not here".into())),
        ],
    )
    .unwrap();
    k.result("module/btf_present", &Outcome::Pass).unwrap();
    k.finish("vmtest").unwrap();
    let totals = k.totals();

    let dir = std::env::temp_dir().join(format!("rdynptr-ktap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out.ktap");
    std::fs::write(&file, &out).unwrap();
    let run = Command::new("python3")
        .arg(&kunit)
        .arg("parse")
        .arg(&file)
        .output()
        .expect("running kunit.py");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&run.stdout);
    let want = format!(
        "Ran {} tests: passed: {}, failed: {}, skipped: {}",
        totals.pass + totals.fail + totals.skip,
        totals.pass,
        totals.fail,
        totals.skip
    );
    assert!(
        text.contains(&want),
        "kunit.py parse did not say '{want}':\n{text}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(text.contains("[FAILED] verifier_and/b @unpriv"), "{text}");
    assert!(text.contains("[SKIPPED] verifier_and/c"), "{text}");
}
