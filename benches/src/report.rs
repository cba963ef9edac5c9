//! Turns criterion's results and the measured sizes into `RESULTS.md` and an SVG chart.
//!
//! Criterion writes, for every benchmark, `<dir>/<...>/new/benchmark.json` (its group,
//! function and parameter) and `new/estimates.json` (the statistics). The benches name their
//! functions `ours`, `crdts` and `floor`, so every `(group, parameter)` becomes one row with
//! the three median times and the ratios `ours ÷ crdts` and `ours ÷ floor`, all measured in the
//! same run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use serde_json::Value;

use crate::sizes::SizeRow;

/// One criterion measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// The benchmark group, e.g. `orset/join`.
    pub group: String,
    /// The contender: `ours`, `crdts` or `floor`.
    pub function: String,
    /// The parameter, e.g. `10000`.
    pub param: String,
    /// The median time of one iteration, in nanoseconds.
    pub median_ns: f64,
}

/// One table row: the same workload for each contender, times in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The benchmark group, e.g. `orset/join`.
    pub group: String,
    /// The parameter, e.g. `10000`.
    pub param: String,
    /// deltacrdt's median time.
    pub ours: Option<f64>,
    /// The `crdts` crate's median time.
    pub crdts: Option<f64>,
    /// The floor's median time.
    pub floor: Option<f64>,
}

impl Row {
    /// `ours ÷ crdts`, when both were measured.
    pub fn vs_crdts(&self) -> Option<f64> {
        Some(self.ours? / self.crdts?)
    }

    /// `ours ÷ floor`, when both were measured.
    pub fn vs_floor(&self) -> Option<f64> {
        Some(self.ours? / self.floor?)
    }
}

fn json_file(path: &Path) -> io::Result<Value> {
    let text = fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

fn find_new_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file()
            {
                out.push(path);
            } else {
                find_new_dirs(&path, out)?;
            }
        }
    }
    Ok(())
}

/// Reads every benchmark criterion recorded under `dir` (its `CRITERION_HOME`).
///
/// # Errors
/// If `dir` cannot be read, or a result file is not the JSON criterion writes.
pub fn read_criterion(dir: &Path) -> io::Result<Vec<Timing>> {
    let mut dirs = Vec::new();
    find_new_dirs(dir, &mut dirs)?;
    let mut out = Vec::new();
    for d in dirs {
        let meta = json_file(&d.join("benchmark.json"))?;
        let est = json_file(&d.join("estimates.json"))?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let median = est["median"]["point_estimate"].as_f64().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: no median", d.display()),
            )
        })?;
        out.push(Timing {
            group: text(&meta["group_id"]),
            function: text(&meta["function_id"]),
            param: text(&meta["value_str"]),
            median_ns: median,
        });
    }
    Ok(out)
}

const TYPE_ORDER: [&str; 6] = [
    "orset",
    "ormap",
    "gcounter",
    "pncounter",
    "lwwregister",
    "mvregister",
];
const WORKLOAD_ORDER: [&str; 12] = [
    "add",
    "remove",
    "update",
    "inc",
    "inc_dec",
    "set",
    "write",
    "join",
    "delta_since",
    "encode",
    "decode",
    "encode_decode",
];

fn sort_key(group: &str, param: &str) -> (usize, usize, String, u64, String) {
    let (ty, work) = group.split_once('/').unwrap_or((group, ""));
    let pos = |list: &[&str], x: &str| list.iter().position(|y| *y == x).unwrap_or(list.len());
    let num = param
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(u64::MAX);
    (
        pos(&TYPE_ORDER, ty),
        pos(&WORKLOAD_ORDER, work),
        group.to_string(),
        num,
        param.to_string(),
    )
}

/// Groups timings into rows, ordered by type, then workload, then size.
pub fn rows(timings: &[Timing]) -> Vec<Row> {
    let mut map: BTreeMap<(usize, usize, String, u64, String), Row> = BTreeMap::new();
    for t in timings {
        let row = map
            .entry(sort_key(&t.group, &t.param))
            .or_insert_with(|| Row {
                group: t.group.clone(),
                param: t.param.clone(),
                ours: None,
                crdts: None,
                floor: None,
            });
        match t.function.as_str() {
            "ours" => row.ours = Some(t.median_ns),
            "crdts" => row.crdts = Some(t.median_ns),
            "floor" => row.floor = Some(t.median_ns),
            _ => {}
        }
    }
    map.into_values().collect()
}

/// Whether a target of the issue is met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The measured ratio is within the target.
    Met,
    /// The measured ratio misses the target.
    NotMet,
    /// The benchmark did not run.
    Missing,
}

/// One target of the issue: `ours ÷ crdts` must be at most `max_ratio`.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The target as the issue states it.
    pub claim: String,
    /// The largest acceptable `ours ÷ crdts`.
    pub max_ratio: f64,
    /// The measured `ours ÷ crdts`.
    pub measured: Option<f64>,
}

impl Target {
    /// Met, not met, or not measured.
    pub fn verdict(&self) -> Verdict {
        match self.measured {
            None => Verdict::Missing,
            Some(r) if r <= self.max_ratio => Verdict::Met,
            Some(_) => Verdict::NotMet,
        }
    }
}

fn timing_ratio(rows: &[Row], group: &str, param: &str) -> Option<f64> {
    rows.iter()
        .find(|r| r.group == group && r.param == param)?
        .vs_crdts()
}

fn size_ratio(sizes: &[SizeRow], metric: &str, param: &str) -> Option<f64> {
    let s = sizes
        .iter()
        .find(|s| s.metric == metric && s.param == param)?;
    Some(s.ours / s.crdts?)
}

/// The Rust-side targets of issue 4, evaluated on this run.
pub fn targets(rows: &[Row], sizes: &[SizeRow]) -> Vec<Target> {
    let add = rows
        .iter()
        .find(|r| r.group == "orset/add")
        .and_then(Row::vs_crdts);
    let mut out = vec![
        Target {
            claim: "ORSet join at 1e4 elements at least 10x faster than Orswot".into(),
            max_ratio: 0.1,
            measured: timing_ratio(rows, "orset/join", "10000"),
        },
        Target {
            claim: "ORSet heap per element at most 1/6 of Orswot's".into(),
            max_ratio: 1.0 / 6.0,
            measured: size_ratio(sizes, "orset heap", "10000"),
        },
        Target {
            claim: "ORSet encoded size per element at most 1/4 of Orswot with bincode".into(),
            max_ratio: 0.25,
            measured: size_ratio(sizes, "orset encoded", "10000"),
        },
    ];
    for ty in ["gcounter", "pncounter"] {
        for r in ["16", "1000"] {
            out.push(Target {
                claim: format!("{ty} join at {r} replicas at least 5x faster"),
                max_ratio: 0.2,
                measured: timing_ratio(rows, &format!("{ty}/join"), r),
            });
        }
    }
    out.push(Target {
        claim: "ORSet add (with its delta) at least 3x faster than Orswot".into(),
        max_ratio: 1.0 / 3.0,
        measured: add,
    });
    out
}

/// A duration in nanoseconds, in the unit that reads best.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_string(), f)
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else if r >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("{r:.3}")
    }
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "**met**",
        Verdict::NotMet => "**not met**",
        Verdict::Missing => "not measured",
    }
}

/// A goal of issue 9 on an absolute size: `ours` must be at most `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeGoal {
    /// The goal as the issue states it.
    pub claim: String,
    /// The unit of `max` and `measured`.
    pub unit: String,
    /// The largest acceptable value.
    pub max: f64,
    /// The measured value (ours).
    pub measured: Option<f64>,
}

impl SizeGoal {
    /// Met, not met, or not measured.
    pub fn verdict(&self) -> Verdict {
        match self.measured {
            None => Verdict::Missing,
            Some(v) if v <= self.max => Verdict::Met,
            Some(_) => Verdict::NotMet,
        }
    }
}

/// The size goals of issue 9 (dot kernel and ORMap), evaluated on this run.
pub fn size_goals(sizes: &[SizeRow]) -> Vec<SizeGoal> {
    let ours = |metric: &str, param: &str| {
        sizes
            .iter()
            .find(|s| s.metric == metric && s.param == param)
            .map(|s| s.ours)
    };
    vec![
        SizeGoal {
            claim: "ORSet heap per `u64` element at 1e4 elements".into(),
            unit: "bytes/element".into(),
            max: 40.0,
            measured: ours("orset heap", "10000"),
        },
        SizeGoal {
            claim: "ORMap catch-up after one nested change in a 100,000-key map".into(),
            unit: "bytes".into(),
            max: 64.0,
            measured: ours("ormap catch-up after one update", "100000"),
        },
    ]
}

/// What each benchmark group measures, for the report.
pub const DESCRIPTIONS: [(&str, &str); 13] = [
    ("*/add, */remove, */inc, */inc_dec, */set, */write", "mutator throughput: N operations, each applied and producing its delta (ours) or operation (crdts, cloned before `apply` so it can be shipped); for `Orswot` every add derives its context from `read_ctx()` and every remove from `contains()`, after the previous operation was applied; the floor appends to a sorted `Vec<u64>`"),
    ("orset/join", "two replicas that diverged: n/2 shared elements, then each side adds n/2 of its own and the left removes every tenth shared one; `left ⊔ right` (inputs cloned outside the timing); floor: sorted union of two `Vec<u64>` of n elements each, half shared"),
    ("gcounter/join, pncounter/join", "two counters over r replicas, each ahead on half of them; floor: union of two sorted `Vec<u64>` of r (2r for PN) entries"),
    ("*/delta_since", "what a lagging replica needs: ours computes `delta_since(version)`; **the `crdts` crate has no catch-up delta, so its column is the cost of cloning the whole state it must send instead**; floor: copy of the tail of a sorted `Vec<u64>`"),
    ("ormap/update", "1,000 increments of existing keys (every tenth) of a map of 10,000 counters, each producing its delta. Ours: `ORMap<u64, CausalCounter>`, `try_update(key, |v| v.inc(replica, 1))`, whose delta holds only the nested change; crdts: `Map<u64, PNCounter<u64>, u64>` (`PNCounter` is the `crdts` counter closest to a causal counter that implements the map's `Val` trait), `update(key, read_ctx().derive_add_ctx(actor), |v, a| v.inc(a.dot.actor))`, the operation cloned before `apply`"),
    ("ormap/join", "two maps of 10,000 keys that diverged like the ORSet pair: 5,000 shared keys, each side increments 5,000 keys of its own, the left removes every tenth shared key and the right increments another tenth of them again; ours `join`, crdts `merge` (inputs cloned outside the timing)"),
    ("ormap/delta_since", "a map of 10,000 keys after 10 increments and 2 key removes: ours computes `delta_since(version)` of the lagging replica. **The `crdts` map has no catch-up delta (it must ship its whole state), so the row has no crdts column**; see the catch-up payload sizes"),
    ("ormap heap, ormap encoded", "the map of 10,000 counters above; encoded: ours `to_bytes`, crdts `bincode` 1.x; floor: a sorted `Vec<(u64, i64)>` (16 bytes per key)"),
    ("*/encode, */decode", "ours: the crate's binary format (`to_bytes`/`from_bytes`, with full validation on decode); crdts: `bincode` 1.x through its serde derives; floor: 8 little-endian bytes per `u64`"),
    ("lwwregister/join, mvregister/join", "two registers with concurrent writes (16 writers' siblings for MV)"),
    ("sync/orset_round, sync round bytes", "two replicas in sync on 10,000 elements; one makes 100 adds, then messages flow until the link is quiet. Ours: the sans-IO `sync::Session` (buffered deltas, one encoded delta-interval message, RR on receipt, acknowledgement back); crdts, which has no sync protocol: its 100 operations `bincode`-encoded in one message, decoded and applied. Bytes count both directions"),
    ("heap (sizes)", "bytes the value keeps on the heap, from a counting global allocator (requested sizes), divided by the number of elements/keys/replicas/siblings"),
    ("encoded (sizes)", "encoded length divided by the number of elements; catch-up payload: bytes a lagging replica receives (crdts: the whole state, bincode)"),
];

/// The facts about the run that the report states: machine, toolchain, date, load.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Machine {
    /// `(label, value)` pairs, e.g. `("CPU", "AMD EPYC")`.
    pub facts: Vec<(String, String)>,
}

impl Machine {
    /// Parses `label: value` lines (blank lines and lines without a colon are skipped).
    pub fn parse(text: &str) -> Self {
        Machine {
            facts: text
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .collect(),
        }
    }
}

/// Renders `RESULTS.md`.
pub fn markdown(machine: &Machine, rows: &[Row], sizes: &[SizeRow], svg_file: &str) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "# Benchmark results: deltacrdt vs the `crdts` crate (7.x) vs a sorted-`Vec` floor\n"
    );
    let _ = writeln!(w, "Written by `scripts/bench-report` (a short criterion configuration); do not edit by hand.\n");
    let _ = writeln!(w, "## Machine\n");
    for (k, v) in &machine.facts {
        let _ = writeln!(w, "- {k}: {v}");
    }
    let _ = writeln!(
        w,
        "\n**Noise.** This run used a short configuration (few samples, short measurement time) on a 2-core machine \
         that other jobs (compilers, tests) may have been using at the same time, so absolute times can be off by \
         tens of percent. The ratios compare contenders measured minutes apart in the same run and are the numbers \
         to read; a ratio near a target's threshold should be re-measured before concluding.\n"
    );
    let _ = writeln!(w, "Ratios are `ours ÷ crdts` and `ours ÷ floor`: **below 1 means deltacrdt is faster (or smaller)**.\n");

    let _ = writeln!(w, "## Targets of issue 4 (Rust side)\n");
    let _ = writeln!(w, "| target | required ours ÷ crdts | measured | verdict |");
    let _ = writeln!(w, "|---|---|---|---|");
    for t in targets(rows, sizes) {
        let _ = writeln!(
            w,
            "| {} | ≤ {} | {} | {} |",
            t.claim,
            ratio(t.max_ratio),
            opt(t.measured, ratio),
            verdict_text(t.verdict())
        );
    }

    let _ = writeln!(w, "\n## Size goals of issue 9 (dot kernel and ORMap)\n");
    let _ = writeln!(w, "| goal | at most | measured | verdict |");
    let _ = writeln!(w, "|---|---|---|---|");
    for g in size_goals(sizes) {
        let _ = writeln!(
            w,
            "| {} | {} {} | {} | {} |",
            g.claim,
            g.max,
            g.unit,
            opt(g.measured, |v| format!("{v:.1}")),
            verdict_text(g.verdict())
        );
    }
    let _ = writeln!(
        w,
        "\nThe ratios before and after the port of `ORSet` and `MVRegister` onto the dot kernel (issue 9), \
         measured in one sitting, are in [KERNEL.md](KERNEL.md).\n"
    );

    let _ = writeln!(w, "## Chart\n\n![crdts ÷ ours, log scale]({svg_file})\n");
    let _ = writeln!(w, "Each bar is how many times faster (timings) or smaller (sizes) deltacrdt is than the `crdts` crate on that row; bars left of 1x mean slower or larger. Ticks mark the issue's targets.\n");

    let _ = writeln!(w, "## Timings (median per iteration)\n");
    let _ = writeln!(
        w,
        "| benchmark | workload | ours | crdts | floor | ours ÷ crdts | ours ÷ floor |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.group,
            r.param,
            opt(r.ours, format_ns),
            opt(r.crdts, format_ns),
            opt(r.floor, format_ns),
            opt(r.vs_crdts(), ratio),
            opt(r.vs_floor(), ratio),
        );
    }

    let _ = writeln!(w, "\n## Sizes\n");
    let _ = writeln!(
        w,
        "| metric | workload | unit | ours | crdts | floor | ours ÷ crdts | ours ÷ floor |"
    );
    let _ = writeln!(w, "|---|---|---|---:|---:|---:|---:|---:|");
    for s in sizes {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} |",
            s.metric,
            s.param,
            s.unit,
            s.ours,
            opt(s.crdts, |v| format!("{v:.1}")),
            opt(s.floor, |v| format!("{v:.1}")),
            opt(s.crdts.map(|c| s.ours / c), ratio),
            opt(s.floor.filter(|f| *f > 0.0).map(|f| s.ours / f), ratio),
        );
    }

    let _ = writeln!(w, "\n## What each benchmark does\n");
    let _ = writeln!(w, "| benchmark | workload |");
    let _ = writeln!(w, "|---|---|");
    for (k, v) in DESCRIPTIONS {
        let _ = writeln!(w, "| {k} | {v} |");
    }
    md
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar of the chart: a label, `crdts ÷ ours`, and the target factor if there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What the bar shows.
    pub label: String,
    /// `crdts ÷ ours`: above 1, deltacrdt is faster or smaller.
    pub factor: f64,
    /// The factor the issue asks for, if any.
    pub target: Option<f64>,
}

/// The bars of the chart: every timing and size row that has both ours and crdts.
pub fn bars(rows: &[Row], sizes: &[SizeRow]) -> Vec<Bar> {
    let target_of = |claim_group: &str, param: &str| -> Option<f64> {
        match (claim_group, param) {
            ("orset/join", "10000") => Some(10.0),
            ("gcounter/join" | "pncounter/join", _) => Some(5.0),
            ("orset/add", _) => Some(3.0),
            ("orset heap", "10000") => Some(6.0),
            ("orset encoded", "10000") => Some(4.0),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for r in rows {
        if let Some(v) = r.vs_crdts() {
            out.push(Bar {
                label: format!("{} {}", r.group, r.param),
                factor: 1.0 / v,
                target: target_of(&r.group, &r.param),
            });
        }
    }
    for s in sizes {
        if let Some(c) = s.crdts {
            if s.ours > 0.0 && c > 0.0 {
                out.push(Bar {
                    label: format!("{} {}", s.metric, s.param),
                    factor: c / s.ours,
                    target: target_of(&s.metric, &s.param),
                });
            }
        }
    }
    out
}

/// Renders the chart: horizontal bars of `crdts ÷ ours` on a log scale.
pub fn svg(bars: &[Bar]) -> String {
    const LABEL_W: f64 = 330.0;
    const PLOT_W: f64 = 560.0;
    const ROW_H: f64 = 18.0;
    const TOP: f64 = 46.0;
    let lo = bars
        .iter()
        .map(|b| b.factor)
        .filter(|f| *f > 0.0)
        .fold(0.1f64, f64::min)
        .log10()
        .floor();
    let lo = 10f64.powf(lo);
    let hi = bars
        .iter()
        .flat_map(|b| [b.factor, b.target.unwrap_or(1.0)])
        .fold(10.0f64, f64::max)
        .log10()
        .ceil()
        .max(1.0);
    let hi = 10f64.powf(hi).max(10.0);
    let x = |v: f64| {
        LABEL_W + (v.clamp(lo, hi).log10() - lo.log10()) / (hi.log10() - lo.log10()) * PLOT_W
    };
    let height = TOP + ROW_H * bars.len() as f64 + 30.0;
    let width = LABEL_W + PLOT_W + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="16" font-size="13" font-weight="bold">deltacrdt vs crdts: crdts ÷ ours (log scale; right of 1x = deltacrdt faster/smaller)</text>"#,
        10
    );
    let mut tick = lo;
    while tick <= hi * 1.0001 {
        let tx = x(tick);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{}" stroke="#ccc"/><text x="{tx:.1}" y="{}" text-anchor="middle">{}x</text>"##,
            TOP - 6.0,
            height - 24.0,
            TOP - 10.0,
            if tick < 1.0 {
                format!("{tick}")
            } else {
                format!("{tick:.0}")
            }
        );
        tick *= 10.0;
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let (x0, x1) = (x(1.0), x(b.factor));
        let (left, w) = if x1 >= x0 {
            (x0, x1 - x0)
        } else {
            (x1, x0 - x1)
        };
        let color = if b.factor >= 1.0 {
            "#2b8a3e"
        } else {
            "#c92a2a"
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}">{}x</text>"#,
            LABEL_W - 6.0,
            y + 12.0,
            escape(&b.label),
            y + 3.0,
            w.max(1.0),
            ROW_H - 6.0,
            left + w + 4.0,
            y + 12.0,
            ratio(b.factor)
        );
        if let Some(t) = b.target {
            let tx = x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#1c7ed6" stroke-width="2"/>"##,
                y + 1.0,
                y + ROW_H - 1.0
            );
        }
    }
    let x0 = x(1.0);
    let _ = writeln!(
        s,
        r#"<line x1="{x0:.1}" y1="{}" x2="{x0:.1}" y2="{}" stroke="black"/>"#,
        TOP - 6.0,
        height - 24.0
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="{}">green: deltacrdt ahead; red: behind; blue tick: the issue's target</text>"##,
        height - 8.0
    );
    s.push_str("</svg>\n");
    s
}
