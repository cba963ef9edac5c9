//! Writes `RESULTS.md` and `results.svg` from criterion's results and the measured sizes.
//!
//! Usage: `bench-report <criterion-dir> <sizes.json> <machine.txt> <out-dir>`; normally run by
//! `scripts/bench-report`, which produces the three inputs first.

use std::path::PathBuf;
use std::process::ExitCode;

use deltacrdt_benches::report::{
    bars, markdown, read_criterion, rows, svg, targets, Machine, Verdict,
};
use deltacrdt_benches::sizes::SizeRow;

fn run(args: &[String]) -> Result<(), String> {
    let [criterion, sizes, machine, out] = args else {
        return Err(
            "usage: bench-report <criterion-dir> <sizes.json> <machine.txt> <out-dir>".into(),
        );
    };
    let timings = read_criterion(&PathBuf::from(criterion))
        .map_err(|e| format!("reading {criterion}: {e}"))?;
    if timings.is_empty() {
        return Err(format!("no criterion results under {criterion}"));
    }
    let sizes: Vec<SizeRow> = serde_json::from_str(
        &std::fs::read_to_string(sizes).map_err(|e| format!("reading {sizes}: {e}"))?,
    )
    .map_err(|e| format!("parsing {sizes}: {e}"))?;
    let machine = Machine::parse(
        &std::fs::read_to_string(machine).map_err(|e| format!("reading {machine}: {e}"))?,
    );
    let rows = rows(&timings);
    let out = PathBuf::from(out);
    std::fs::write(
        out.join("RESULTS.md"),
        markdown(&machine, &rows, &sizes, "results.svg"),
    )
    .map_err(|e| format!("writing RESULTS.md: {e}"))?;
    std::fs::write(out.join("results.svg"), svg(&bars(&rows, &sizes)))
        .map_err(|e| format!("writing results.svg: {e}"))?;
    for t in targets(&rows, &sizes) {
        let v = match t.verdict() {
            Verdict::Met => "met",
            Verdict::NotMet => "NOT MET",
            Verdict::Missing => "not measured",
        };
        println!(
            "{:<70} measured {:>8} (need <= {:.3}): {v}",
            t.claim,
            t.measured.map_or("-".into(), |m| format!("{m:.3}")),
            t.max_ratio
        );
    }
    println!(
        "wrote {} and {}",
        out.join("RESULTS.md").display(),
        out.join("results.svg").display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-report: {e}");
            ExitCode::FAILURE
        }
    }
}
