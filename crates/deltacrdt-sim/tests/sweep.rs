//! Seeded sweep: every fault type, every strategy, every workload, many seeds. Every run must
//! converge with nothing lost (the engine checks every final state against the join of every
//! delta made anywhere, plus the workload's own check).

use deltacrdt::sync::{Strategy, SyncConfig};
use deltacrdt_sim::workload::{CounterIncs, SetAdds};
use deltacrdt_sim::{run, Crash, Faults, Partition, Scenario, Topology, WorkloadKind};

/// The fault types, each alone, then all together.
fn fault_types(nodes: usize) -> Vec<(&'static str, Faults)> {
    let crash = vec![Crash {
        node: nodes - 1,
        at: 3,
        // Restarts while updates still go on (8 per node), so it makes new ones after restarting.
        restart: 6,
    }];
    let partition = Some(Partition { start: 2, end: 10 });
    vec![
        ("none", Faults::default()),
        (
            "loss",
            Faults {
                loss: 0.3,
                ..Faults::default()
            },
        ),
        (
            "duplication",
            Faults {
                duplicate: 0.3,
                ..Faults::default()
            },
        ),
        (
            "reordering",
            Faults {
                latency_min: 1,
                latency_max: 90,
                ..Faults::default()
            },
        ),
        (
            "latency",
            Faults {
                latency_min: 150,
                latency_max: 250,
                ..Faults::default()
            },
        ),
        (
            "partition",
            Faults {
                partition,
                ..Faults::default()
            },
        ),
        (
            "crash-restart",
            Faults {
                crashes: crash.clone(),
                ..Faults::default()
            },
        ),
        (
            "all",
            Faults {
                loss: 0.2,
                duplicate: 0.1,
                latency_min: 5,
                latency_max: 180,
                partition,
                crashes: crash,
            },
        ),
    ]
}

const TOPOLOGIES: [Topology; 6] = [
    Topology::Line,
    Topology::Ring,
    Topology::Tree,
    Topology::PartialMesh(3),
    Topology::FullMesh,
    Topology::Star,
];

#[test]
fn every_fault_strategy_and_workload_converges_and_loses_nothing() {
    let nodes = 6;
    let mut runs = 0;
    let mut covered = std::collections::BTreeSet::new();
    for seed in 0..10u64 {
        for (fault_name, faults) in fault_types(nodes) {
            for (k, strategy) in Strategy::ALL.into_iter().enumerate() {
                // Rotate workloads and topologies over the grid so each seed covers them all.
                let workload = WorkloadKind::ALL[(seed as usize + k) % WorkloadKind::ALL.len()];
                let topology = TOPOLOGIES[(seed as usize * 7 + k) % TOPOLOGIES.len()];
                let scenario = Scenario {
                    nodes,
                    topology,
                    strategy,
                    updates_per_node: 8,
                    faults: faults.clone(),
                    seed: seed * 1000 + k as u64,
                    max_rounds: 400,
                    config: SyncConfig {
                        // Small bounds so long partitions also exercise the catch-up fallback.
                        max_buffer_deltas: 24,
                        ..SyncConfig::default()
                    },
                    ..Scenario::default()
                };
                let r = workload.run(&scenario, &mut |_| {});
                assert!(
                    r.passed(),
                    "seed {seed}, faults {fault_name}, {strategy}, {workload}, {topology}: {:?} (refused {})",
                    r.check,
                    r.refused
                );
                runs += 1;
                covered.insert((workload.to_string(), fault_name, strategy.name()));
            }
        }
    }
    assert_eq!(runs, 10 * 8 * Strategy::ALL.len());
    // Every workload met every fault type under every strategy.
    assert_eq!(
        covered.len(),
        WorkloadKind::ALL.len() * 8 * Strategy::ALL.len()
    );
}

#[test]
fn same_seed_same_run() {
    let scenario = Scenario {
        nodes: 8,
        topology: Topology::PartialMesh(4),
        updates_per_node: 10,
        faults: fault_types(8).pop().unwrap().1,
        seed: 99,
        ..Scenario::default()
    };
    let a = WorkloadKind::AddRemove.run(&scenario, &mut |_| {});
    let b = WorkloadKind::AddRemove.run(&scenario, &mut |_| {});
    assert_eq!(a, b);
    let c = WorkloadKind::AddRemove.run(
        &Scenario {
            seed: 100,
            ..scenario
        },
        &mut |_| {},
    );
    assert_ne!((a.bytes, a.messages), (c.bytes, c.messages));
}

#[test]
fn bp_rr_sends_each_update_over_each_tree_edge_exactly_once() {
    let scenario = Scenario {
        nodes: 7,
        topology: Topology::Tree,
        updates_per_node: 20,
        ..Scenario::default()
    };
    let r = run(&scenario, SetAdds::default(), &mut |_| {});
    assert!(r.passed());
    assert_eq!(r.units, 7 * 20 * 6);
    let classic = run(
        &Scenario {
            strategy: Strategy::ClassicDelta,
            ..scenario
        },
        SetAdds::default(),
        &mut |_| {},
    );
    assert!(classic.units > 2 * r.units);
}

#[test]
fn a_network_that_drops_everything_fails_the_check() {
    let scenario = Scenario {
        nodes: 4,
        topology: Topology::Ring,
        updates_per_node: 3,
        faults: Faults {
            loss: 1.0,
            ..Faults::default()
        },
        max_rounds: 30,
        ..Scenario::default()
    };
    let r = run(&scenario, CounterIncs::default(), &mut |_| {});
    assert!(!r.passed());
    assert_eq!(r.rounds_to_converge, None);
}

#[test]
fn reports_render_every_run() {
    let mut reports = Vec::new();
    for strategy in [Strategy::BpRr, Strategy::ClassicDelta] {
        let scenario = Scenario {
            nodes: 5,
            topology: Topology::Star,
            strategy,
            updates_per_node: 4,
            ..Scenario::default()
        };
        reports.push(WorkloadKind::Register.run(&scenario, &mut |_| {}));
    }
    let csv = deltacrdt_sim::report::csv(&reports);
    assert_eq!(csv.lines().count(), 3);
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| l.starts_with("register,star,5,4,") && l.ends_with(",true")));
    let table = deltacrdt_sim::report::table(&reports);
    assert!(table.contains("1.00x"), "{table}");
    let svg = deltacrdt_sim::report::svg("t <&>", &reports);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("t &lt;&amp;&gt;"));
    assert_eq!(svg.matches("<title>register star").count(), 2);
}
