//! The report reads criterion's files, computes ratios and verdicts, and renders them.

use std::fs;
use std::path::PathBuf;

use deltacrdt_benches::report::{
    bars, markdown, read_criterion, rows, size_goals, svg, targets, Machine, Target, Verdict,
};
use deltacrdt_benches::sizes::SizeRow;

fn fake_criterion(name: &str, results: &[(&str, &str, &str, f64)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "deltacrdt-bench-report-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    for (i, (group, function, param, median)) in results.iter().enumerate() {
        let d = dir
            .join(format!("g{i}"))
            .join(function)
            .join(param)
            .join("new");
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("benchmark.json"),
            format!(r#"{{"group_id":"{group}","function_id":"{function}","value_str":"{param}","throughput":null}}"#),
        )
        .unwrap();
        fs::write(
            d.join("estimates.json"),
            format!(
                r#"{{"mean":{{"point_estimate":1.0}},"median":{{"point_estimate":{median}}}}}"#
            ),
        )
        .unwrap();
    }
    // A baseline directory that is not `new` must be ignored.
    let base = dir.join("g0").join("base");
    fs::create_dir_all(&base).unwrap();
    fs::write(base.join("benchmark.json"), "not json").unwrap();
    dir
}

fn size(metric: &str, param: &str, ours: f64, crdts: f64) -> SizeRow {
    SizeRow {
        metric: metric.into(),
        param: param.into(),
        unit: "bytes/element".into(),
        ours,
        crdts: Some(crdts),
        floor: Some(8.0),
    }
}

#[test]
fn rows_ratios_and_verdicts() {
    let dir = fake_criterion(
        "rows",
        &[
            ("orset/join", "ours", "10000", 100.0),
            ("orset/join", "crdts", "10000", 2000.0),
            ("orset/join", "floor", "10000", 10.0),
            ("orset/join", "ours", "1000", 10.0),
            ("orset/add", "ours", "1000 into 10000", 50.0),
            ("orset/add", "crdts", "1000 into 10000", 100.0),
            ("gcounter/join", "ours", "16", 1.0),
            ("gcounter/join", "crdts", "16", 4.0),
        ],
    );
    let timings = read_criterion(&dir).unwrap();
    assert_eq!(timings.len(), 8);
    let rows = rows(&timings);
    let order: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.group.as_str(), r.param.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("orset/add", "1000 into 10000"),
            ("orset/join", "1000"),
            ("orset/join", "10000"),
            ("gcounter/join", "16")
        ]
    );
    let join = &rows[2];
    assert_eq!(join.vs_crdts(), Some(0.05));
    assert_eq!(join.vs_floor(), Some(10.0));
    assert_eq!(rows[1].vs_crdts(), None);

    let sizes = vec![
        size("orset heap", "10000", 100.0, 300.0),
        size("orset encoded", "10000", 6.0, 32.0),
    ];
    let t = targets(&rows, &sizes);
    let verdict = |claim: &str| {
        t.iter()
            .find(|t| t.claim.contains(claim))
            .unwrap()
            .verdict()
    };
    assert_eq!(verdict("join at 1e4"), Verdict::Met);
    assert_eq!(verdict("heap"), Verdict::NotMet);
    assert_eq!(verdict("encoded"), Verdict::Met);
    assert_eq!(verdict("gcounter join at 16"), Verdict::NotMet);
    assert_eq!(verdict("pncounter join at 1000"), Verdict::Missing);
    assert_eq!(verdict("add"), Verdict::NotMet);

    let machine = Machine::parse("CPU: Test CPU\ncores (nproc): 2\nno colon here\n");
    assert_eq!(machine.facts.len(), 2);
    let md = markdown(&machine, &rows, &sizes, "results.svg");
    assert!(md.contains("- CPU: Test CPU"));
    assert!(
        md.contains("| orset/join | 10000 | 100.0 ns | 2.00 µs | 10.0 ns | 0.050 | 10 |"),
        "{md}"
    );
    assert!(md.contains("**not met**"));
    assert!(md.contains("![crdts ÷ ours, log scale](results.svg)"));

    let b = bars(&rows, &sizes);
    assert_eq!(b.len(), 5);
    let chart = svg(&b);
    assert!(chart.starts_with("<svg"));
    assert!(chart.trim_end().ends_with("</svg>"));
    assert_eq!(chart.matches("<rect").count(), 1 + b.len());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_criterion_dir_is_an_error() {
    assert!(read_criterion(&std::env::temp_dir().join("no-such-criterion-dir-deltacrdt")).is_err());
}

#[test]
fn target_verdict_boundaries() {
    let t = |m| Target {
        claim: String::new(),
        max_ratio: 0.25,
        measured: m,
    };
    assert_eq!(t(Some(0.25)).verdict(), Verdict::Met);
    assert_eq!(t(Some(0.2501)).verdict(), Verdict::NotMet);
    assert_eq!(t(None).verdict(), Verdict::Missing);
}

#[test]
fn ormap_rows_sort_after_orset_and_size_goals_are_judged() {
    let dir = fake_criterion(
        "ormap",
        &[
            ("gcounter/join", "ours", "16", 1.0),
            ("ormap/join", "ours", "10000", 10.0),
            ("ormap/join", "crdts", "10000", 40.0),
            ("ormap/update", "ours", "1000 into 10000", 5.0),
            (
                "ormap/delta_since",
                "ours",
                "10000 + 10 updates, 2 removes",
                2.0,
            ),
            ("orset/join", "ours", "10000", 1.0),
        ],
    );
    let rows = rows(&read_criterion(&dir).unwrap());
    let order: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    assert_eq!(
        order,
        vec![
            "orset/join",
            "ormap/update",
            "ormap/join",
            "ormap/delta_since",
            "gcounter/join"
        ]
    );
    assert_eq!(rows[2].vs_crdts(), Some(0.25));
    assert_eq!(rows[3].vs_crdts(), None);

    let mut sizes = vec![size("orset heap", "10000", 40.0, 250.0)];
    let goals = size_goals(&sizes);
    assert_eq!(goals[0].verdict(), Verdict::Met);
    assert_eq!(goals[1].verdict(), Verdict::Missing);
    sizes[0].ours = 40.5;
    sizes.push(size("ormap catch-up after one update", "100000", 30.0, 9e5));
    let goals = size_goals(&sizes);
    assert_eq!(goals[0].verdict(), Verdict::NotMet);
    assert_eq!(goals[1].verdict(), Verdict::Met);
    let md = markdown(&Machine::default(), &rows, &sizes, "results.svg");
    assert!(
        md.contains("| ormap/join | 10000 | 10.0 ns | 40.0 ns | – | 0.25 | – |"),
        "{md}"
    );
    assert!(md.contains("| ORSet heap per `u64` element at 1e4 elements | 40 bytes/element | 40.5 | **not met** |"), "{md}");
    assert!(md.contains("[KERNEL.md](KERNEL.md)"));
    let _ = fs::remove_dir_all(&dir);
}
