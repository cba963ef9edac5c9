//! `deltacrdt-sim`: run the default scenario (or the ICDE 2019 experiment) and print tables.
//!
//! ```text
//! cargo run --release -p deltacrdt-sim                 # default scenario, all strategies
//! cargo run --release -p deltacrdt-sim -- icde         # Enes et al. micro experiment
//! cargo run --release -p deltacrdt-sim -- scale        # 16 to 1,024 replicas, lossy
//! cargo run --release -p deltacrdt-sim -- seeds        # default scenario, BP+RR and the tree, seeds 1..=16
//! options: --seed N   --csv FILE   --svg FILE   (seeds: --seeds N, how many)
//! scale options: --sizes 16,64,...   --updates N (per replica, default 4)
//! ```

use std::process::ExitCode;

use deltacrdt::sync::Strategy;
use deltacrdt_sim::experiments::{
    default_scenario, icde, scale_sampled_scenario, scale_scenario, SCALE_SIZES,
};
use deltacrdt_sim::{report, Progress, RunReport, WorkloadKind};

struct Args {
    icde: bool,
    scale: bool,
    seeds: Option<u64>,
    sizes: Vec<usize>,
    updates: u64,
    seed: u64,
    csv: Option<String>,
    svg: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        icde: false,
        scale: false,
        seeds: None,
        sizes: SCALE_SIZES.to_vec(),
        updates: 4,
        seed: 1,
        csv: None,
        svg: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "icde" => args.icde = true,
            "default" => args.icde = false,
            "scale" => args.scale = true,
            "seeds" => args.seeds = Some(args.seeds.unwrap_or(16)),
            "--seeds" => {
                let v = it.next().ok_or("--seeds needs a number")?;
                args.seeds = Some(
                    v.parse()
                        .map_err(|_| format!("--seeds: not a number: {v}"))?,
                );
            }
            "--sizes" => {
                let v = it.next().ok_or("--sizes needs a list like 16,64")?;
                args.sizes = v
                    .split(',')
                    .map(|x| x.parse().map_err(|_| format!("--sizes: not a number: {x}")))
                    .collect::<Result<_, _>>()?;
            }
            "--updates" => {
                let v = it.next().ok_or("--updates needs a number")?;
                args.updates = v
                    .parse()
                    .map_err(|_| format!("--updates: not a number: {v}"))?;
            }
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
                    "usage: deltacrdt-sim [default|icde|scale|seeds] [--seeds N] [--seed N] [--csv FILE] [--svg FILE] [--sizes 16,64,256,1024] [--updates N]",
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
    if args.scale {
        return scale(&args);
    }
    if let Some(n) = args.seeds {
        return seeds(n);
    }
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

/// The scale experiment: BP+RR and the spanning tree at each size, side by side.
fn scale(args: &Args) -> ExitCode {
    println!(
        "scale: {} set adds per replica, one per round; 10% loss, 5% duplicates, latency 5..150; \
         partial mesh (4 neighbours) up to 64 replicas; above, a fixed ring + 2 random peers per replica \
         (peers-2) and, side by side, a ring + 2 peers drawn afresh by each replica every round, \
         kept 4 rounds (sample-2); seed {}",
        args.updates, args.seed
    );
    let mut runs = Vec::new();
    for &n in &args.sizes {
        let overlays: &[bool] = if n > 64 { &[false, true] } else { &[false] };
        for (strategy, &sampled) in [Strategy::BpRr, Strategy::SpanningTree]
            .into_iter()
            .flat_map(|st| overlays.iter().map(move |sp| (st, sp)))
        {
            let scenario = if sampled {
                scale_sampled_scenario(strategy, n, args.updates, args.seed)
            } else {
                scale_scenario(strategy, n, args.updates, args.seed)
            };
            let start = std::time::Instant::now();
            let report = WorkloadKind::Set.run(&scenario, &mut |_| {});
            let wall_seconds = start.elapsed().as_secs_f64();
            let run = report::ScaleRun {
                report,
                wall_seconds,
            };
            print!(
                "{}",
                report::scale_table(std::slice::from_ref(&run))
                    .lines()
                    .nth(1)
                    .map_or(String::new(), |l| format!("{l}\n"))
            );
            runs.push(run);
        }
    }
    println!();
    print!("{}", report::scale_table(&runs));
    if let Some(path) = &args.csv {
        if let Err(e) = std::fs::write(path, report::scale_csv(&runs)) {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    if let Some(path) = &args.svg {
        let svg = report::scale_svg("cost against cluster size (lossy, set adds)", &runs);
        if let Err(e) = std::fs::write(path, svg) {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {path}");
    }
    if runs.iter().all(|r| r.report.passed()) {
        println!("all runs converged and lost nothing");
        ExitCode::SUCCESS
    } else {
        println!("SOME RUNS FAILED");
        ExitCode::FAILURE
    }
}

/// The default scenario (set workload) under seeds `1..=n`: BP+RR and the spanning tree side
/// by side, per seed, against the goals (at most 2 rounds later than BP+RR, at most half its
/// bytes).
fn seeds(n: u64) -> ExitCode {
    println!("default scenario, set workload, BP+RR and spanning-tree, seeds 1..={n}");
    println!(
        "{:>5} {:>7} {:>7} {:>6} {:>11} {:>11} {:>6}  goals",
        "seed", "bp-rr", "tree", "diff", "bp-rr B", "tree B", "ratio"
    );
    let (mut met, mut failed, mut sum_b, mut sum_t) = (0, false, 0, 0);
    for seed in 1..=n {
        let b = WorkloadKind::Set.run(&default_scenario(Strategy::BpRr, seed), &mut |_| {});
        let t = WorkloadKind::Set.run(&default_scenario(Strategy::SpanningTree, seed), &mut |_| {});
        failed |= !b.passed() || !t.passed();
        let (rb, rt) = (
            b.rounds_to_converge.unwrap_or(u64::MAX),
            t.rounds_to_converge.unwrap_or(u64::MAX),
        );
        let ratio = t.bytes as f64 / b.bytes as f64;
        let ok = rt <= rb.saturating_add(2) && ratio <= 0.5;
        met += u64::from(ok);
        sum_b += rb;
        sum_t += rt;
        println!(
            "{seed:>5} {:>7} {:>7} {:>+6} {:>11} {:>11} {ratio:>6.2}  {}",
            format!("+{rb}"),
            format!("+{rt}"),
            rt as i64 - rb as i64,
            b.bytes,
            t.bytes,
            if ok { "met" } else { "not met" }
        );
    }
    println!(
        "mean rounds to converge: bp-rr +{:.2}, spanning-tree +{:.2}; goals met in {met} of {n} seeds",
        sum_b as f64 / n as f64,
        sum_t as f64 / n as f64
    );
    if failed {
        println!("SOME RUNS FAILED");
        ExitCode::FAILURE
    } else {
        println!("all runs converged and lost nothing");
        ExitCode::SUCCESS
    }
}
