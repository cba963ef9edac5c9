//! A short version of the scale experiment (`deltacrdt-sim scale` runs 16 to 1,024 replicas).

use deltacrdt::sync::Strategy;
use deltacrdt_sim::experiments::scale_scenario;
use deltacrdt_sim::report::{scale_csv, scale_svg, scale_table, ScaleRun};
use deltacrdt_sim::{Topology, WorkloadKind};

#[test]
fn small_scale_runs_converge_and_render() {
    let mut runs = Vec::new();
    for nodes in [16, 96] {
        for strategy in [Strategy::BpRr, Strategy::SpanningTree] {
            let report = WorkloadKind::Set.run(&scale_scenario(strategy, nodes, 3, 7), &mut |_| {});
            assert!(report.passed(), "{nodes} {strategy}: {:?}", report.check);
            assert_eq!(report.updates, 3 * nodes as u64);
            assert!(report.state_bytes > 0);
            runs.push(ScaleRun {
                report,
                wall_seconds: 0.5,
            });
        }
    }
    assert_eq!(runs[2].report.topology.to_string(), "peers-2");
    // The tree sends each update over fewer links than BP+RR floods.
    for pair in runs.chunks(2) {
        assert!(pair[1].report.units < pair[0].report.units);
    }
    let table = scale_table(&runs);
    assert_eq!(table.lines().count(), 5, "{table}");
    assert_eq!(scale_csv(&runs).lines().count(), 5);
    let svg = scale_svg("scale", &runs);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 4 * 2);
}

#[test]
fn random_peer_overlays_are_connected_and_seeded() {
    let t = Topology::RandomPeers { peers: 2, seed: 3 };
    let adj = t.neighbours(200);
    let mut seen = [false; 200];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(i) = stack.pop() {
        for &j in &adj[i] {
            if !seen[j] {
                seen[j] = true;
                stack.push(j);
            }
        }
    }
    assert!(seen.iter().all(|s| *s));
    assert!(t.edges(200).len() > 200 + 300);
    assert_eq!(t.edges(200), t.edges(200));
    assert_ne!(
        t.edges(200),
        Topology::RandomPeers { peers: 2, seed: 4 }.edges(200)
    );
}

#[test]
fn peers_sampled_every_round_converge_with_nothing_refused() {
    use deltacrdt_sim::experiments::scale_sampled_scenario;
    let mut runs = Vec::new();
    let sampling = Topology::SampledPeers {
        peers: 2,
        linger: 4,
    };
    assert_eq!(
        scale_sampled_scenario(Strategy::BpRr, 256, 3, 5).topology,
        sampling
    );
    for strategy in [Strategy::BpRr, Strategy::SpanningTree] {
        let fixed = scale_scenario(strategy, 40, 3, 5);
        let scenario = deltacrdt_sim::Scenario {
            topology: sampling,
            ..fixed.clone()
        };
        let fixed = WorkloadKind::Set.run(&fixed, &mut |_| {});
        let sampled = WorkloadKind::Set.run(&scenario, &mut |_| {});
        assert!(sampled.passed(), "{strategy}: {:?}", sampled.check);
        assert_eq!(sampled.refused, 0);
        assert_eq!(sampled.topology.to_string(), "sample-2");
        // Every fresh link starts with a digest exchange: sampling costs more bytes than
        // the fixed overlay.
        assert!(sampled.bytes > fixed.bytes, "{strategy}");
        runs.push(ScaleRun {
            report: fixed,
            wall_seconds: 0.1,
        });
        runs.push(ScaleRun {
            report: sampled,
            wall_seconds: 0.1,
        });
    }
    // Four series: each strategy on either overlay, the sampled ones dashed.
    let svg = scale_svg("scale", &runs);
    assert_eq!(svg.matches("<polyline").count(), 4 * 4);
    assert_eq!(svg.matches("stroke-dasharray").count(), 4 * 2);
    assert!(svg.contains("bp-rr (sampled)"));
}

#[test]
fn a_sampled_overlay_is_a_ring_plus_the_links_drawn_each_round() {
    let t = Topology::SampledPeers {
        peers: 2,
        linger: 4,
    };
    assert_eq!(t.edges(10), Topology::Ring.edges(10));
}
