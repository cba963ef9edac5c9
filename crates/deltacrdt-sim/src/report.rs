//! Output: a text table, CSV and an SVG bar chart.

use std::fmt::Write as _;

use deltacrdt::sync::Strategy;

use crate::{RunReport, Topology};

/// The CSV header matching [`csv_row`].
pub const CSV_HEADER: &str = "workload,topology,nodes,edges,strategy,seed,updates,units,bytes,messages,rounds,rounds_to_converge,peak_buffer_bytes,peak_buffer_deltas,refused,passed";

/// One CSV line (no newline) for a run.
pub fn csv_row(r: &RunReport) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.workload,
        r.topology,
        r.nodes,
        r.edges,
        r.strategy,
        r.seed,
        r.updates,
        r.units,
        r.bytes,
        r.messages,
        r.rounds,
        r.rounds_to_converge
            .map_or(String::from("never"), |x| x.to_string()),
        r.peak_buffer_bytes,
        r.peak_buffer_deltas,
        r.refused,
        r.passed(),
    )
}

/// A whole CSV document.
pub fn csv(reports: &[RunReport]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in reports {
        out.push_str(&csv_row(r));
        out.push('\n');
    }
    out
}

/// The run with strategy BP+RR and the same workload and topology as `r`, if any.
fn baseline<'a>(reports: &'a [RunReport], r: &RunReport) -> Option<&'a RunReport> {
    reports.iter().find(|b| {
        b.strategy == Strategy::BpRr && b.workload == r.workload && b.topology == r.topology
    })
}

/// Transmission of `r` relative to BP+RR on the same workload and topology, in payload units.
pub fn relative_units(reports: &[RunReport], r: &RunReport) -> Option<f64> {
    let b = baseline(reports, r)?;
    (b.units > 0).then(|| r.units as f64 / b.units as f64)
}

/// Bytes sent by `r` relative to BP+RR on the same workload and topology (message framing,
/// acknowledgements and digests included).
pub fn relative_bytes(reports: &[RunReport], r: &RunReport) -> Option<f64> {
    let b = baseline(reports, r)?;
    (b.bytes > 0).then(|| r.bytes as f64 / b.bytes as f64)
}

fn human_bytes(b: u64) -> String {
    match b {
        0..=9_999 => format!("{b} B"),
        10_000..=9_999_999 => format!("{:.1} kB", b as f64 / 1e3),
        _ => format!("{:.1} MB", b as f64 / 1e6),
    }
}

/// A text table of runs: transmission (units and bytes, each also relative to BP+RR), messages,
/// convergence and buffer memory.
pub fn table(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<9} {:<13} {:>10} {:>8} {:>10} {:>8} {:>9} {:>9} {:>10} {:>6}",
        "workload",
        "topology",
        "strategy",
        "units",
        "vs bp-rr",
        "bytes",
        "vs bp-rr",
        "messages",
        "converge",
        "peak buf",
        "check"
    );
    for r in reports {
        let rel = relative_units(reports, r).map_or(String::from("-"), |x| format!("{x:.2}x"));
        let rel_bytes =
            relative_bytes(reports, r).map_or(String::from("-"), |x| format!("{x:.2}x"));
        let conv = r
            .rounds_to_converge
            .map_or(String::from("never"), |x| format!("+{x} rd"));
        let _ = writeln!(
            out,
            "{:<10} {:<9} {:<13} {:>10} {:>8} {:>10} {:>8} {:>9} {:>9} {:>10} {:>6}",
            r.workload,
            r.topology.to_string(),
            r.strategy.name(),
            r.units,
            rel,
            human_bytes(r.bytes),
            rel_bytes,
            r.messages,
            conv,
            human_bytes(r.peak_buffer_bytes as u64),
            if r.passed() { "ok" } else { "FAIL" },
        );
    }
    out
}

/// Bytes per message by part of the wire format (see
/// [`message_parts`](deltacrdt::sync::message_parts)), one row per run.
pub fn wire_table(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<9} {:<13} {:>8} {:>7} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6}",
        "workload",
        "topology",
        "strategy",
        "messages",
        "B/msg",
        "header",
        "ack",
        "digest",
        "framing",
        "delta",
        "tree",
        "crc"
    );
    for r in reports {
        let w = &r.wire;
        let per = |x: usize| x as f64 / r.messages.max(1) as f64;
        let _ = writeln!(
            out,
            "{:<10} {:<9} {:<13} {:>8} {:>7.1} {:>6.1} {:>6.1} {:>7.1} {:>6.1} {:>6.1} {:>6.1} {:>6.1}",
            r.workload,
            r.topology.to_string(),
            r.strategy.name(),
            r.messages,
            per(w.total()),
            per(w.header),
            per(w.ack),
            per(w.digest),
            per(w.delta_framing),
            per(w.delta),
            per(w.tree),
            per(w.checksum),
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A grouped bar chart: one group per (workload, topology), one bar per strategy, bar height
/// = transmission in payload units relative to BP+RR, on a log scale, labelled with the ratio.
pub fn svg(title: &str, reports: &[RunReport]) -> String {
    let mut groups: Vec<(&'static str, String)> = Vec::new();
    for r in reports {
        let g = (r.workload, r.topology.to_string());
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let strategies: Vec<Strategy> = Strategy::ALL
        .into_iter()
        .filter(|s| reports.iter().any(|r| r.strategy == *s))
        .collect();
    let colours = [
        "#8c564b", "#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#1f77b4", "#17becf",
    ];
    let ratios: Vec<f64> = reports
        .iter()
        .filter_map(|r| relative_units(reports, r))
        .filter(|v| *v > 0.0)
        .collect();
    // A log scale: ratios span two orders of magnitude.
    let lo = ratios
        .iter()
        .copied()
        .fold(1.0f64, f64::min)
        .min(0.5)
        .log10()
        .floor();
    let hi = ratios
        .iter()
        .copied()
        .fold(1.0f64, f64::max)
        .max(2.0)
        .log10()
        .ceil();
    let (bar_w, gap, plot_h, left, top) = (22.0, 30.0, 260.0, 60.0, 50.0);
    let group_w = bar_w * strategies.len() as f64 + gap;
    let width = left + group_w * groups.len() as f64 + 170.0;
    let height = top + plot_h + 70.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="22" font-size="14">{}</text>"#,
        escape(title)
    );
    let y_of = |v: f64| top + plot_h - (v.max(1e-9).log10() - lo) / (hi - lo) * plot_h;
    let mut decade = lo;
    while decade <= hi + 1e-9 {
        for m in [1.0, 2.0, 5.0] {
            let t = m * 10f64.powf(decade);
            if t.log10() > hi + 1e-9 {
                break;
            }
            let y = y_of(t);
            let _ = writeln!(
                out,
                r##"<line x1="{left}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{t}x</text>"##,
                width - 170.0,
                if m == 1.0 { "#bbb" } else { "#eee" },
                left - 6.0,
                y + 4.0
            );
        }
        decade += 1.0;
    }
    for (gi, (w, topo)) in groups.iter().enumerate() {
        let x0 = left + gap / 2.0 + gi as f64 * group_w;
        for (si, s) in strategies.iter().enumerate() {
            let Some(r) = reports
                .iter()
                .find(|r| r.workload == *w && r.topology.to_string() == *topo && r.strategy == *s)
            else {
                continue;
            };
            let Some(v) = relative_units(reports, r) else {
                continue;
            };
            let x = x0 + si as f64 * bar_w;
            let y = y_of(v);
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {} {}: {} units ({v:.2}x)</title></rect>"#,
                bar_w - 2.0,
                (top + plot_h - y).max(0.0),
                colours[Strategy::ALL.iter().position(|a| a == s).unwrap_or(0)],
                w,
                topo,
                s,
                r.units
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{v:.1}</text>"#,
                x + bar_w / 2.0 - 1.0,
                y - 3.0
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} / {}</text>"#,
            x0 + (group_w - gap) / 2.0,
            top + plot_h + 18.0,
            w,
            escape(topo)
        );
    }
    for (si, s) in strategies.iter().enumerate() {
        let y = top + 10.0 + si as f64 * 18.0;
        let x = width - 150.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            y - 10.0,
            colours[Strategy::ALL.iter().position(|a| a == s).unwrap_or(0)],
            x + 18.0,
            y,
            s
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="{:.1}">transmission in payload units relative to bp-rr, log scale (lower is better)</text>"#,
        height - 15.0
    );
    out.push_str("</svg>\n");
    out
}

/// One run of the scale experiment with the simulator's own wall time (measured by the
/// caller: the engine reads no clock).
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleRun {
    /// The run.
    pub report: RunReport,
    /// Seconds the simulation took.
    pub wall_seconds: f64,
}

impl ScaleRun {
    /// Bytes sent per update made.
    pub fn bytes_per_update(&self) -> f64 {
        self.report.bytes as f64 / self.report.updates.max(1) as f64
    }

    /// Encoded bytes a replica holds: its final state plus the largest delta buffer seen.
    pub fn memory_per_replica(&self) -> usize {
        self.report.state_bytes + self.report.peak_buffer_bytes
    }
}

/// The CSV header matching [`scale_csv`].
pub const SCALE_CSV_HEADER: &str = "nodes,topology,edges,strategy,seed,updates,bytes,bytes_per_update,units_per_update,messages,rounds_to_converge,state_bytes,peak_buffer_bytes,memory_per_replica,wall_seconds,passed";

/// The scale runs as CSV.
pub fn scale_csv(runs: &[ScaleRun]) -> String {
    let mut out = String::from(SCALE_CSV_HEADER);
    out.push('\n');
    for s in runs {
        let r = &s.report;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{:.1},{:.2},{},{},{},{},{},{:.2},{}",
            r.nodes,
            r.topology,
            r.edges,
            r.strategy,
            r.seed,
            r.updates,
            r.bytes,
            s.bytes_per_update(),
            r.units as f64 / r.updates.max(1) as f64,
            r.messages,
            r.rounds_to_converge
                .map_or(String::from("never"), |x| x.to_string()),
            r.state_bytes,
            r.peak_buffer_bytes,
            s.memory_per_replica(),
            s.wall_seconds,
            r.passed()
        );
    }
    out
}

/// The scale runs as a text table.
pub fn scale_table(runs: &[ScaleRun]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6} {:<9} {:<13} {:>9} {:>10} {:>10} {:>9} {:>11} {:>8} {:>6}",
        "nodes",
        "topology",
        "strategy",
        "updates",
        "B/update",
        "units/upd",
        "converge",
        "mem/replica",
        "wall",
        "check"
    );
    for s in runs {
        let r = &s.report;
        let _ = writeln!(
            out,
            "{:>6} {:<9} {:<13} {:>9} {:>10.0} {:>10.1} {:>9} {:>11} {:>7.1}s {:>6}",
            r.nodes,
            r.topology.to_string(),
            r.strategy.name(),
            r.updates,
            s.bytes_per_update(),
            r.units as f64 / r.updates.max(1) as f64,
            r.rounds_to_converge
                .map_or(String::from("never"), |x| format!("+{x} rd")),
            human_bytes(s.memory_per_replica() as u64),
            s.wall_seconds,
            if r.passed() { "ok" } else { "FAIL" },
        );
    }
    out
}

/// Four panels (bytes per update, rounds to converge, memory per replica, wall time) against
/// cluster size, both axes logarithmic, one line per strategy.
pub fn scale_svg(title: &str, runs: &[ScaleRun]) -> String {
    type Metric = (&'static str, fn(&ScaleRun) -> f64);
    let metrics: [Metric; 4] = [
        ("bytes per update", ScaleRun::bytes_per_update),
        ("rounds to converge", |s| {
            s.report
                .rounds_to_converge
                .map_or(f64::NAN, |x| x.max(1) as f64)
        }),
        ("memory per replica (bytes)", |s| {
            s.memory_per_replica() as f64
        }),
        ("simulator wall time (s)", |s| s.wall_seconds.max(0.01)),
    ];
    let mut sizes: Vec<usize> = runs.iter().map(|s| s.report.nodes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    // One series per strategy and overlay kind (fixed, or sampled afresh every round).
    let sampled = |s: &ScaleRun| matches!(s.report.topology, Topology::SampledPeers { .. });
    let strategies: Vec<(Strategy, bool)> = Strategy::ALL
        .into_iter()
        .flat_map(|st| [(st, false), (st, true)])
        .filter(|&(st, sp)| {
            runs.iter()
                .any(|s| s.report.strategy == st && sampled(s) == sp)
        })
        .collect();
    let label = |(st, sp): (Strategy, bool)| {
        if sp {
            format!("{st} (sampled)")
        } else {
            st.to_string()
        }
    };
    let colours = ["#2ca02c", "#17becf", "#d62728", "#9467bd"];
    let (pw, ph, left, top, gap) = (230.0, 200.0, 60.0, 50.0, 70.0);
    let width = left + 4.0 * (pw + gap);
    let height = top + ph + 80.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="22" font-size="14">{}</text>"#,
        escape(title)
    );
    let (xlo, xhi) = (
        (*sizes.first().unwrap_or(&1) as f64).log10(),
        (*sizes.last().unwrap_or(&10) as f64).log10().max(1e-9),
    );
    for (mi, (name, f)) in metrics.iter().enumerate() {
        let x0 = left + mi as f64 * (pw + gap);
        let vals: Vec<f64> = runs
            .iter()
            .map(f)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let lo = vals
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor();
        let hi = vals
            .iter()
            .copied()
            .fold(1.0f64, f64::max)
            .log10()
            .ceil()
            .max(lo + 1.0);
        let x_of = |n: usize| {
            x0 + if xhi > xlo {
                ((n as f64).log10() - xlo) / (xhi - xlo) * pw
            } else {
                pw / 2.0
            }
        };
        let y_of = |v: f64| top + ph - (v.log10() - lo) / (hi - lo) * ph;
        let _ = writeln!(
            out,
            r##"<rect x="{x0:.1}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{name}</text>"##,
            x0 + pw / 2.0,
            top - 8.0
        );
        let mut d = lo;
        while d <= hi + 1e-9 {
            let y = y_of(10f64.powf(d));
            let _ = writeln!(
                out,
                r##"<line x1="{x0:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0 + pw,
                x0 - 4.0,
                y + 4.0,
                10f64.powf(d)
            );
            d += 1.0;
        }
        for &n in &sizes {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{n}</text>"#,
                x_of(n),
                top + ph + 16.0
            );
        }
        for (si, &(st, sp)) in strategies.iter().enumerate() {
            let pts: Vec<(f64, f64, f64)> = runs
                .iter()
                .filter(|s| s.report.strategy == st && sampled(s) == sp)
                .map(|s| (x_of(s.report.nodes), f(s)))
                .filter(|(_, v)| v.is_finite() && *v > 0.0)
                .map(|(x, v)| (x, y_of(v), v))
                .collect();
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
                .collect();
            let dash = if sp { r#" stroke-dasharray="5,3""# } else { "" };
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                path.join(" "),
                colours[si % colours.len()]
            );
            let name = label((st, sp));
            for (x, y, v) in pts {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{}"><title>{name}: {v:.1}</title></circle>"#,
                    colours[si % colours.len()]
                );
            }
        }
    }
    for (si, &key) in strategies.iter().enumerate() {
        let st = label(key);
        let x = left + si as f64 * 160.0;
        let y = height - 18.0;
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{y:.1}">{st}</text>"#,
            y - 10.0,
            colours[si % colours.len()],
            x + 18.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}">replicas (log scale); every axis logarithmic; dashed: peers sampled afresh every round</text>"#,
        left + 680.0,
        height - 8.0
    );
    out.push_str("</svg>\n");
    out
}
