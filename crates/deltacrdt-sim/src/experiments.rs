//! Ready-made scenarios: the ICDE 2019 micro experiment and the default lossy-mesh run.

use core::fmt;

use deltacrdt::sync::Strategy;

use crate::workload::{CartEdits, CounterIncs, MixedAddRemove, RegisterWrites, SetAdds};
use crate::{run, Crash, Faults, Partition, Progress, RunReport, Scenario, Topology};

/// The workloads, selectable at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// [`SetAdds`]: unique set adds.
    Set,
    /// [`CounterIncs`]: counter increments.
    Counter,
    /// [`RegisterWrites`]: LWW register writes.
    Register,
    /// [`MixedAddRemove`]: racing adds and removes.
    AddRemove,
    /// [`CartEdits`]: racing edits of shopping carts in one nested map.
    Cart,
}

impl WorkloadKind {
    /// Every workload.
    pub const ALL: [WorkloadKind; 5] = [
        WorkloadKind::Set,
        WorkloadKind::Counter,
        WorkloadKind::Register,
        WorkloadKind::AddRemove,
        WorkloadKind::Cart,
    ];

    /// Runs `scenario` with this workload.
    pub fn run(self, scenario: &Scenario, progress: &mut dyn FnMut(&Progress)) -> RunReport {
        match self {
            WorkloadKind::Set => run(scenario, SetAdds::default(), progress),
            WorkloadKind::Counter => run(scenario, CounterIncs::default(), progress),
            WorkloadKind::Register => run(scenario, RegisterWrites::default(), progress),
            WorkloadKind::AddRemove => run(scenario, MixedAddRemove::default(), progress),
            WorkloadKind::Cart => run(scenario, CartEdits::default(), progress),
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkloadKind::Set => "set",
            WorkloadKind::Counter => "counter",
            WorkloadKind::Register => "register",
            WorkloadKind::AddRemove => "add-remove",
            WorkloadKind::Cart => "cart",
        })
    }
}

/// The micro experiment of Enes et al. (ICDE 2019): 15 nodes, a partial mesh with 4
/// neighbours each (30 edges) and a tree (14 edges); 100 updates per node, one per round; every
/// round each node syncs with all its neighbours over a perfect network. One run per
/// (topology, workload, strategy), set and counter workloads.
pub fn icde(seed: u64) -> Vec<RunReport> {
    let mut out = Vec::new();
    for topology in [Topology::Tree, Topology::PartialMesh(4)] {
        for workload in [WorkloadKind::Set, WorkloadKind::Counter] {
            for strategy in Strategy::ALL {
                let scenario = Scenario {
                    nodes: 15,
                    topology,
                    strategy,
                    updates_per_node: 100,
                    seed,
                    ..Scenario::default()
                };
                out.push(workload.run(&scenario, &mut |_| {}));
            }
        }
    }
    out
}

/// The default scenario: 16 replicas on a partial mesh (4 neighbours each) that loses 10% of
/// messages, duplicates 5% and reorders them (latency 5 to 150 units, 100 per round); the mesh
/// is cut in two during rounds 20..40, and replica 5 crashes in round 30 and restarts from its
/// persisted bytes in round 45. Each replica adds 60 unique set elements, one per round.
pub fn default_scenario(strategy: Strategy, seed: u64) -> Scenario {
    Scenario {
        nodes: 16,
        topology: Topology::PartialMesh(4),
        strategy,
        updates_per_node: 60,
        faults: Faults {
            loss: 0.10,
            duplicate: 0.05,
            latency_min: 5,
            latency_max: 150,
            partition: Some(Partition { start: 20, end: 40 }),
            crashes: vec![Crash {
                node: 5,
                at: 30,
                restart: 45,
            }],
        },
        seed,
        max_rounds: 1_000,
        ..Scenario::default()
    }
}

/// [`scale_scenario`] with random peer sampling per round instead of the fixed overlay
/// (above 64 replicas; at most 64, the same partial mesh): a ring plus 2 peers each replica
/// draws afresh every round, a drawn link lasting 4 rounds after its last draw
/// ([`Topology::SampledPeers`]).
pub fn scale_sampled_scenario(
    strategy: Strategy,
    nodes: usize,
    updates_per_node: u64,
    seed: u64,
) -> Scenario {
    let mut s = scale_scenario(strategy, nodes, updates_per_node, seed);
    if nodes > 64 {
        s.topology = Topology::SampledPeers {
            peers: 2,
            linger: 4,
        };
    }
    s
}

/// The cluster sizes of the scale runs ([`scale_scenario`]).
pub const SCALE_SIZES: [usize; 4] = [16, 64, 256, 1_024];

/// How cost grows with cluster size: BP+RR and the spanning tree on `nodes` replicas, a
/// partial mesh with 4 neighbours up to 64 replicas and, above, a ring plus 2 random peers per
/// replica (about 6 neighbours each: the partial views of a random peer-sampling service),
/// losing 10% of messages, duplicating 5% and reordering them (latency 5 to 150 units).
/// Every replica adds `updates_per_node` set elements, one per round.
pub fn scale_scenario(
    strategy: Strategy,
    nodes: usize,
    updates_per_node: u64,
    seed: u64,
) -> Scenario {
    Scenario {
        nodes,
        topology: if nodes <= 64 {
            Topology::PartialMesh(4)
        } else {
            Topology::RandomPeers { peers: 2, seed }
        },
        strategy,
        updates_per_node,
        faults: Faults {
            loss: 0.10,
            duplicate: 0.05,
            latency_min: 5,
            latency_max: 150,
            ..Faults::default()
        },
        seed,
        max_rounds: 1_000,
        track_missing: false,
        ..Scenario::default()
    }
}
