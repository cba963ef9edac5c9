//! `deltacrdt-sim`: run the default scenario (or the ICDE 2019 experiment) and print tables.
//!
//! ```text
//! cargo run --release -p deltacrdt-sim                 # default scenario, all strategies
//! cargo run --release -p deltacrdt-sim -- icde         # Enes et al. micro experiment
//! options: --seed N   --csv FILE   --svg FILE
//! ```

use std::process::ExitCode;

use deltacrdt::sync::Strategy;
use deltacrdt_sim::experiments::{default_scenario, icde};
use deltacrdt_sim::{report, Progress, RunReport, WorkloadKind};

struct Args {
    icde: bool,
    seed: u64,
    csv: Option<String>,
    svg: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        icde: false,
        seed: 1,
        csv: None,
        svg: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "icde" => args.icde = true,
            "default" => args.icde = false,
            "--seed" => {
                let v = it.next().ok_or("--seed needs a number")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v}"))?;
            }
            "--csv" => args.csv = Some(it.next().ok_or("--csv needs a file name")?),
            "--svg" => args.svg = Some(it.next().ok_or("--svg needs a file name")?),
            "-h" | "--help" => {
                return Err(String::from(
                    "usage: deltacrdt-sim [default|icde] [--seed N] [--csv FILE] [--svg FILE]",
                ))
            }
            other => return Err(format!("unknown argument {other} (try --help)")),
        }
    }
    Ok(args)
}

fn print_progress(p: &Progress) {
    if p.round % 5 != 0 && p.up_to_date == 0 {
        return;
    }
    let bar: String = (0..p.nodes)
        .map(|i| if i < p.up_to_date { '#' } else { '.' })
        .collect();
    println!(
        "round {:>4}  [{bar}] {:>2}/{} replicas hold every update, {:>5} update-units missing, {:>2} up, {:>9} bytes sent{}",
        p.round,
        p.up_to_date,
        p.nodes,
        p.missing_units,
        p.up,
        p.bytes,
        if p.partitioned { "  (partitioned)" } else { "" }
    );
}

fn write_outputs(args: &Args, title: &str, reports: &[RunReport]) -> Result<(), String> {
    if let Some(path) = &args.csv {
        std::fs::write(path, report::csv(reports)).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}");
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, report::svg(title, reports)).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (title, reports) = if args.icde {
        println!("Enes et al. (ICDE 2019) micro experiment: 15 nodes, 100 updates per node, one per round");
        let reports = icde(args.seed);
        (
            "ICDE 2019 micro experiment: transmission relative to BP+RR",
            reports,
        )
    } else {
        let s = default_scenario(Strategy::BpRr, args.seed);
        println!(
            "default scenario: {} replicas, {} ({} edges), loss {:.0}%, duplicates {:.0}%, latency {}..{} (100 per round), \
             partition in rounds 20..40, replica 5 crashes in round 30 and restarts in round 45; {} set adds per replica; seed {}",
            s.nodes,
            s.topology,
            s.topology.edges(s.nodes).len(),
            s.faults.loss * 100.0,
            s.faults.duplicate * 100.0,
            s.faults.latency_min,
            s.faults.latency_max,
            s.updates_per_node,
            args.seed
        );
        println!("\nstrategy bp-rr, live:");
        let mut reports = vec![WorkloadKind::Set.run(&s, &mut print_progress)];
        println!("\nsame scenario, every strategy (then the cart workload: one edit of user -> SKU -> quantity per replica per round):");
        for strategy in Strategy::ALL {
            if strategy != Strategy::BpRr {
                reports.push(
                    WorkloadKind::Set.run(&default_scenario(strategy, args.seed), &mut |_| {}),
                );
            }
        }
        reports.sort_by_key(|r| Strategy::ALL.iter().position(|s| *s == r.strategy));
        // The case study's carts in the same scenario: racing adds, quantity changes and
        // removes of one nested map (see `workload::CartEdits`).
        for strategy in Strategy::ALL {
            reports
                .push(WorkloadKind::Cart.run(&default_scenario(strategy, args.seed), &mut |_| {}));
        }
        (
            "default scenario (lossy partitioned mesh): transmission relative to BP+RR",
            reports,
        )
    };
    print!("{}", report::table(&reports));
    println!("\nbytes per message, by part of the wire format:");
    print!("{}", report::wire_table(&reports));
    if let Err(e) = write_outputs(&args, title, &reports) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    if reports.iter().all(RunReport::passed) {
        println!("all runs converged and lost nothing");
        ExitCode::SUCCESS
    } else {
        println!("SOME RUNS FAILED");
        ExitCode::FAILURE
    }
}
