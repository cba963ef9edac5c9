//! Who talks to whom: the overlay graphs of the experiments.

use core::fmt;

/// An undirected overlay graph over nodes `0..n`.
///
/// ```
/// use deltacrdt_sim::Topology;
/// assert_eq!(Topology::PartialMesh(4).edges(15).len(), 30);
/// assert_eq!(Topology::Tree.edges(15).len(), 14);
/// assert_eq!(Topology::FullMesh.edges(5).len(), 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topology {
    /// `0 - 1 - ... - n-1`.
    Line,
    /// A line closed into a cycle.
    Ring,
    /// A binary tree: the parent of `i` is `(i - 1) / 2`.
    Tree,
    /// Every node linked to its `k` nearest nodes on a ring (`k/2` each way; for odd `k` also
    /// the opposite node when `n` is even): a connected `k`-regular graph.
    PartialMesh(usize),
    /// Every pair linked.
    FullMesh,
    /// Node 0 linked to every other node.
    Star,
    /// A ring plus, for every node, links to `peers` others drawn at random (seeded by
    /// `seed`): the partial views of a random peer-sampling service, for large clusters.
    RandomPeers {
        /// Random links each node makes (it also gets those others make to it).
        peers: usize,
        /// The seed of the draw.
        seed: u64,
    },
    /// Random peer sampling per round: a ring (its [`edges`](Self::edges)) plus, every
    /// round, `peers` links from each node to others drawn afresh at random (seeded by the
    /// scenario's seed). The simulator, as the caller, adds a drawn peer as a neighbour on
    /// both sides and removes it `linger` rounds after it was last drawn; messages still in
    /// flight on a removed link are dropped, as a closed connection drops them.
    SampledPeers {
        /// Links each node draws per round.
        peers: usize,
        /// Rounds a drawn link stays after its last draw.
        linger: u64,
    },
}

impl Topology {
    /// The edges `(a, b)` with `a < b`, sorted and without duplicates.
    pub fn edges(self, n: usize) -> Vec<(usize, usize)> {
        let mut e = Vec::new();
        let mut link = |a: usize, b: usize| {
            if a != b {
                e.push((a.min(b), a.max(b)));
            }
        };
        match self {
            Topology::Line => (1..n).for_each(|i| link(i - 1, i)),
            Topology::Ring => {
                (1..n).for_each(|i| link(i - 1, i));
                if n > 2 {
                    link(n - 1, 0);
                }
            }
            Topology::Tree => (1..n).for_each(|i| link((i - 1) / 2, i)),
            Topology::PartialMesh(k) => {
                for i in 0..n {
                    for d in 1..=k / 2 {
                        link(i, (i + d) % n);
                    }
                    if k % 2 == 1 && n % 2 == 0 {
                        link(i, (i + n / 2) % n);
                    }
                }
            }
            Topology::FullMesh => {
                for a in 0..n {
                    for b in a + 1..n {
                        link(a, b);
                    }
                }
            }
            Topology::Star => (1..n).for_each(|i| link(0, i)),
            Topology::SampledPeers { .. } => {
                (1..n).for_each(|i| link(i - 1, i));
                if n > 2 {
                    link(n - 1, 0);
                }
            }
            Topology::RandomPeers { peers, seed } => {
                (1..n).for_each(|i| link(i - 1, i));
                if n > 2 {
                    link(n - 1, 0);
                }
                let mut rng = crate::SplitMix64::new(seed ^ n as u64);
                for i in 0..n {
                    for _ in 0..peers {
                        link(i, rng.between(0, n as u64 - 1) as usize);
                    }
                }
            }
        }
        e.sort_unstable();
        e.dedup();
        e
    }

    /// The neighbours of every node.
    pub fn neighbours(self, n: usize) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); n];
        for (a, b) in self.edges(n) {
            adj[a].push(b);
            adj[b].push(a);
        }
        adj
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Line => f.write_str("line"),
            Topology::Ring => f.write_str("ring"),
            Topology::Tree => f.write_str("tree"),
            Topology::PartialMesh(k) => write!(f, "mesh-{k}"),
            Topology::FullMesh => f.write_str("full-mesh"),
            Topology::Star => f.write_str("star"),
            Topology::RandomPeers { peers, .. } => write!(f, "peers-{peers}"),
            Topology::SampledPeers { peers, .. } => write!(f, "sample-{peers}"),
        }
    }
}
