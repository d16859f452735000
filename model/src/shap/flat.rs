//! The compiled TreeSHAP kernel for trees up to depth 8: the same quadrature as the walker in
//! the parent module, without recursion, lookups, divisions or path arithmetic per row.
//!
//! Notation: an edge from a node splitting on feature `f` to one of its children has the
//! cover ratio `r` (child cover / node cover) and the combined fraction `z` (the product of
//! the ratios of every split on `f` down that path, a static property of the tree); `o` is 1
//! when the explained row followed every split on `f` down to here, else 0. The edge's factor
//! at the quadrature node `t_k` is `F_k = z + (o − z) t_k`. The path product `P` of an edge is
//! the product of the factors of the distinct features above it; going down one edge
//! multiplies it by `F_k / F_prev,k` (`prev`: the nearest ancestor edge on the same feature,
//! `F_prev = 1` when there is none).
//!
//! Because `o ∈ {0, 1}`, that multiplier takes one of three values per edge, all static (the
//! repeated-feature factors are precomputed, so no division runs per row):
//! - the row did not follow `prev` (`o_prev = 0`, so `o = 0`): both factors are `z (1 − t)`
//!   and the multiplier is the edge's ratio `r`;
//! - the row followed `prev` and goes down this edge: `(z + (1 − z) t) / F_prev(o = 1)`;
//! - the row followed `prev` and goes down the sibling: `z (1 − t) / F_prev(o = 1)`.
//!
//! Every one of those multipliers is `(a + b t_k)`, divided by `F_prev` when the row followed
//! `prev`, with `a` and `b` constants of the edge and the state: `(r v, 0)` when the row
//! missed `prev`, `(z v, (1 − z) v)` for the edge it goes down, `(z v, −z v)` for the other
//! (`v`: a leaf child's value, else 1). So at load every node gets those scalars for its two
//! edges in each of its three states — "the row missed `prev`", "it goes left", "it goes
//! right" (`state` 0, 1, 2) — and `1/F_prev − 1` per quadrature node; per row a node costs a
//! few multiply-adds on its parent's `P`. The state picks the constants by indexing (a table,
//! never a branch: the state is the row's, so a branch would be mispredicted). The bottom-up
//! pass attributes to the node's feature
//! `Σ_k w_k (o − z)(S − C)_k / F_k` for both edges, `S` the edge's subtree sum, `C` the part
//! of it that deeper edges on the same feature attribute themselves (claimed by them): an edge
//! the row does not follow attributes `(0 − z)/F_k = −1/(1 − t_k)` (`cold`, the same for every
//! edge), the followed edge `(1 − z)/(z + (1 − z) t_k)`, stored as its difference from `cold`.
//! A node whose children are both leaves (about half of a full tree's) is done in one step:
//! its sum and its attribution are its `P` times constants of its state (there the followed
//! edge's `F` cancels, so four scalars and `1/F_prev − 1` describe the node). Most of them
//! (85 % in the 300-tree depth-6 benchmark model) have no split on their feature above them:
//! for those the row is always in state 1 or 2, `F_prev = 1` and nothing claims their sum, so
//! they have a loop of their own with three scalars each and nothing else to read.
//!
//! The tables hold 40 to 144 bytes per internal node (the 300-tree depth-6 benchmark model
//! takes 3.1 MB in all, from 4.8 MB when every state's multipliers were stored per quadrature
//! node): a row's explanation reads all of them, so their size weighs on its cost whenever
//! the model is not in cache.
//!
//! Two quadrature nodes serve trees up to depth 4 (exact for paths of up to 4 distinct
//! features), four up to depth 8; deeper trees go to the walker. An edge's values at the
//! quadrature nodes are one `[f64; q]` (one AVX2 register); the kernel is compiled
//! for AVX2 and FMA, chosen at run time, with a portable build beside it. (Three nodes would
//! do to depth 6, but their six-lane pairs measured slower than four nodes' eight.)
//!
//! Per row and tree, over the internal nodes in level order (a node's parent first), nodes
//! with an internal child first:
//! 1. top-down: the node's decision (one comparison with the prepared row, whose missing
//!    values stand in as ±∞ by the node's default direction), its state and its edges' `P` (a
//!    leaf child's `P` times its value: its subtree sum `S`);
//! 2. the nodes whose children are both leaves, in one step each (those without a `prev`
//!    first, in a loop of their own);
//! 3. bottom-up (reverse, so a node's whole subtree comes first): `S` of the node = the sum of
//!    its children's; the node's feature receives both edges' attributions; per feature the
//!    terms stay in one pair accumulator, summed once per call.
//!
//! Level order keeps consecutive nodes independent (in pre-order a node's first child waits
//! for it). A batch explains its rows one after the other per tree, so each tree's constants
//! are read from memory once per batch and from L1 for the other rows.

use crate::gbt::Tree;

/// The deepest tree the compiled kernel is exact for (paths of at most 8 distinct features).
pub(crate) const MAX_DEPTH: usize = 8;
/// Rows explained together by the batch API (one pass over the model serves them all).
pub(crate) const BATCH: usize = 8;

/// Which edge of a node in state `code` is the followed one whose attribution differs from
/// `cold` (none in state 0; the fourth entry pads the table to a power of two).
const FOLLOWED: [[f64; 2]; 4] = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];

/// The state of the sentinel entry past a tree's nodes: a node with no `prev` compares its
/// `prev_state` (also this) with it, and so always counts as following it.
const ALWAYS: u8 = 3;

/// A node's two child edges (`[0]` left, `[1]` right), one value per quadrature node.
type Pair<const Q: usize> = [[f64; Q]; 2];

/// How the top-down pass finds a node's decision, state and `P`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Split {
    /// `x < threshold` goes left (never −∞ or NaN).
    threshold: f32,
    /// Where the prepared row holds the split feature's value: `2 × feature`, plus 1 when
    /// missing values go left (see [`prepare`]).
    slot: u32,
    /// The edge into the node, `2 × parent + side` (the neutral edge for the root): edges
    /// are the slots of the working arrays.
    edge: u16,
    /// The node of the nearest ancestor edge on the same feature, and the state in which the
    /// row follows that edge (the sentinel past the tree's nodes and [`ALWAYS`] when there
    /// is none).
    prev_node: u8,
    prev_state: u8,
}

/// A node with an internal child, as the top-down pass reads it.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Down<const Q: usize> {
    /// `1 / F_prev − 1` with the row following `prev` (zeros when there is no `prev`).
    beyond: [f64; Q],
    /// By state and edge (left, right), `(a, b)` such that the edge's `P` is the node's `P`
    /// times `a + b t_k`, divided by `F_prev` in states 1 and 2: `(r v, 0)` in state 0 (`v`: a
    /// leaf child's value, else 1); `(z v, (1 − z) v)` for the edge the row goes down, and
    /// `(z v, −z v)` for the other.
    coef: [[[f64; 2]; 2]; 3],
    split: Split,
}

/// A node whose children are both leaves: explained in one step. With `g = P / F_prev` when
/// the row follows `prev` (states 1 and 2), its sum is `g (Σ z v + β t_k)` and it attributes
/// `g β w_k` to its feature, `β` being the followed edge's `(1 − z) v` less the other's `z v`
/// (the followed edge's `F` cancels); when the row missed `prev` (state 0) its sum is
/// `P Σ r v` and its attribution `P Σ r v · cold_k`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Bottom<const Q: usize> {
    /// As in [`Down`].
    beyond: [f64; Q],
    /// By state: `Σ r v` (state 0), then `β` with the row going left (1) and right (2).
    attribution: [f64; 3],
    /// By state, the sum's constant term: `Σ r v` (state 0), `Σ z v` (states 1 and 2).
    alpha: [f64; 3],
    split: Split,
    feature: u16,
    /// Where its sum is claimed (as in [`Up`]).
    claim: u16,
}

/// A node whose children are both leaves and above which no split is on its feature (most
/// of them): the row always follows its (absent) `prev`, so it is a [`Bottom`] in state 1 or
/// 2 with `F_prev = 1`, and nothing claims its sum. Its sum is `P (Σ z v + β t_k)` and its
/// attribution `P β w_k`, `β` by the row's direction.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Plain {
    /// `Σ z v` over the two edges.
    zero: f64,
    /// `β` with the row going left, and right.
    slope: [f64; 2],
    /// As in [`Split`].
    threshold: f32,
    slot: u32,
    edge: u16,
    feature: u16,
}

/// What the bottom-up pass reads of a node.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Up<const Q: usize> {
    /// What each edge attributes beyond `cold` per unit of `S − C` when it is the followed one.
    gain: Pair<Q>,
    feature: u16,
    /// Where the node's subtree sum goes: the edge into it (as in [`Split`]).
    edge: u16,
    /// Where it is claimed, an edge's slot in `claimed`: its `prev` edge, or a slot of its
    /// own past the edges when it has none, so that unclaimed sums do not chain through one
    /// slot. Own slots are never read (only the edges of nodes with an internal child are,
    /// and those are zeroed by the top-down pass of every row), so they are never reset.
    claim: u16,
}

/// One model compiled with a `Q`-node rule.
#[derive(Debug, Clone)]
pub(crate) struct Compiled<const Q: usize> {
    /// The quadrature nodes `t_k` and weights `w_k`.
    t: [f64; Q],
    w: [f64; Q],
    /// `−w_k / (1 − t_k)`: what an edge the row does not follow attributes per unit of `S − C`.
    cold: [f64; Q],
    /// `w_k − cold_k`.
    w_less_cold: [f64; Q],
    down: Vec<Down<Q>>,
    up: Vec<Up<Q>>,
    bottom: Vec<Bottom<Q>>,
    plain: Vec<Plain>,
    /// Start of each tree's nodes in `down` (and `up`), in `bottom` and in `plain` (and their
    /// ends as the next starts).
    starts: Vec<[usize; 3]>,
    /// The most internal nodes of one tree.
    max_internal: usize,
    /// One more than the largest feature index split on.
    features: usize,
}

/// Every tree of a model compiled, with the smallest exact rule for its deepest tree.
#[derive(Debug, Clone)]
pub(crate) enum FlatForest {
    Q2(Compiled<2>),
    Q4(Compiled<4>),
}

/// The most internal nodes of a tree of depth ≤ [`MAX_DEPTH`].
const MAX_INTERNAL: usize = (1 << MAX_DEPTH) - 1;

/// Working memory of the `Q`-node kernel, sized for the largest tree; reused across calls.
#[derive(Debug)]
struct Work<const Q: usize> {
    /// Per node, its edges' `P` until the child is done, then the child's subtree sum `S`;
    /// the neutral edge (`P = 1`) last.
    ps: Vec<Pair<Q>>,
    /// Per node, its edges' `C`; then the nodes' own slots.
    claimed: Vec<Pair<Q>>,
    /// Per node: its state (0: the row missed `prev`; 1: goes left; 2: goes right), and the
    /// sentinel [`ALWAYS`] last.
    code: Vec<u8>,
    /// Per row and feature, the terms of its attribution.
    acc: Vec<Pair<Q>>,
    /// The rows prepared (see [`prepare`]).
    rows: Vec<f32>,
}

impl<const Q: usize> Default for Work<Q> {
    fn default() -> Self {
        Self {
            ps: Vec::new(),
            claimed: Vec::new(),
            code: Vec::new(),
            acc: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl<const Q: usize> Work<Q> {
    fn fit(&mut self, internal: usize, rows: usize, features: usize) {
        let zero = [[0.0; Q]; 2];
        if self.ps.len() < internal + 1 {
            self.ps.resize(internal + 1, zero);
            self.claimed.resize(2 * internal + 1, zero);
            self.code.resize(internal + 1, 0);
        }
        if self.acc.len() < rows * features {
            self.acc.resize(rows * features, zero);
            self.rows.resize(rows * 2 * features, 0.0);
        }
    }
}

/// Working memory for the kernel of any rule; one per thread, reused by every call.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    q2: Work<2>,
    q4: Work<4>,
}

impl FlatForest {
    /// Compiles the trees with the 2-node Gauss–Legendre rule when none is deeper than 4,
    /// else the 4-node rule (nodes and weights on [0, 1] from `rule_of(q)`); `None` when a tree
    /// is deeper than [`MAX_DEPTH`], has a feature index beyond `u16` or a split at −∞ or NaN,
    /// or covers that give a path factor that is not positive (a crafted model: the walker
    /// explains it).
    pub(crate) fn compile<'r>(
        trees: &[Tree],
        rule_of: impl Fn(usize) -> Option<&'r [(f64, f64)]>,
    ) -> Option<Self> {
        let depth = trees.iter().map(|t| t.depth).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return None;
        }
        if depth <= 4 {
            Compiled::compile(trees, rule_of(2)?).map(Self::Q2)
        } else {
            Compiled::compile(trees, rule_of(4)?).map(Self::Q4)
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Q2(c) => c.heap_bytes(),
            Self::Q4(c) => c.heap_bytes(),
        }
    }

    /// The number of quadrature nodes the model was compiled with.
    #[cfg(test)]
    pub(crate) fn points(&self) -> usize {
        match self {
            Self::Q2(_) => 2,
            Self::Q4(_) => 4,
        }
    }

    /// As [`Self::explain`], always with the portable build (the one CPUs without AVX2 and
    /// FMA run), so that tests on any machine cover it.
    #[cfg(test)]
    pub(crate) fn explain_portable(
        &self,
        xs: &[&[f32]],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch,
    ) {
        self.run(xs, phi, stride, scratch, true);
    }

    /// Adds the SHAP values of the rows `xs` to theirs: row `r`'s go to
    /// `phi[r * stride..][..stride]`.
    pub(crate) fn explain(
        &self,
        xs: &[&[f32]],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch,
    ) {
        self.run(xs, phi, stride, scratch, false);
    }

    /// `portable`: the portable build even where AVX2 and FMA are there.
    fn run(
        &self,
        xs: &[&[f32]],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch,
        portable: bool,
    ) {
        match self {
            Self::Q2(c) => c.explain(xs, phi, stride, &mut scratch.q2, portable),
            Self::Q4(c) => c.explain(xs, phi, stride, &mut scratch.q4, portable),
        }
    }
}

impl<const Q: usize> Compiled<Q> {
    fn compile(trees: &[Tree], rule: &[(f64, f64)]) -> Option<Self> {
        if rule.len() != Q {
            return None;
        }
        let mut t = [0.0; Q];
        let mut w = [0.0; Q];
        let mut cold = [0.0; Q];
        for (k, &(tk, wk)) in rule.iter().enumerate() {
            if !(tk > 0.0 && tk < 1.0) {
                return None;
            }
            t[k] = tk;
            w[k] = wk;
            cold[k] = -wk / (1.0 - tk);
        }
        let w_less_cold = std::array::from_fn(|k| w[k] - cold[k]);
        let total: usize = trees.iter().map(|t| t.nodes.len() / 2).sum();
        let mut compiled = Self {
            t,
            w,
            cold,
            w_less_cold,
            down: Vec::with_capacity(total / 2),
            up: Vec::with_capacity(total / 2),
            bottom: Vec::with_capacity(total / 8),
            plain: Vec::with_capacity(total / 2),
            starts: Vec::with_capacity(trees.len() + 1),
            max_internal: 0,
            features: 0,
        };
        for tree in trees {
            let start = compiled.ends();
            compiled.starts.push(start);
            compiled.compile_tree(tree)?;
            let end = compiled.ends();
            let internal = (0..3).map(|i| end[i] - start[i]).sum();
            compiled.max_internal = compiled.max_internal.max(internal);
        }
        compiled.starts.push(compiled.ends());
        // How the nodes split between the three kinds is known only now: no spare capacity kept.
        compiled.down.shrink_to_fit();
        compiled.up.shrink_to_fit();
        compiled.bottom.shrink_to_fit();
        compiled.plain.shrink_to_fit();
        Some(compiled)
    }

    fn ends(&self) -> [usize; 3] {
        [self.down.len(), self.bottom.len(), self.plain.len()]
    }

    /// Appends the internal nodes of `tree`: those with an internal child in level order (to
    /// `down` and `up`), then those whose children are both leaves (in level order too: to
    /// `plain` when no split above them is on their feature, else to `bottom`), with their
    /// constants.
    fn compile_tree(&mut self, tree: &Tree) -> Option<()> {
        let (t, w) = (self.t, self.w);
        let root = tree.nodes.first()?;
        if root.is_leaf {
            return Some(());
        }
        // Level order: the tree's node index and the (position, side) of its parent.
        let mut order: Vec<(usize, Option<(usize, usize)>)> =
            Vec::with_capacity(tree.nodes.len() / 2);
        let mut queue = std::collections::VecDeque::from([(0usize, None)]);
        while let Some((index, parent)) = queue.pop_front() {
            let node = tree.nodes.get(index)?;
            if node.is_leaf {
                continue;
            }
            let j = order.len();
            if j >= MAX_INTERNAL {
                return None; // deeper than MAX_DEPTH, or not a tree
            }
            order.push((index, parent));
            queue.push_back((node.left as usize, Some((j, 0))));
            queue.push_back((node.right as usize, Some((j, 1))));
        }
        let internal = order.len();
        let leaf = |child: u32| tree.nodes.get(child as usize).is_some_and(|c| c.is_leaf);
        let is_bottom: Vec<bool> = order
            .iter()
            .map(|&(index, _)| leaf(tree.nodes[index].left) && leaf(tree.nodes[index].right))
            .collect();
        // New positions: the nodes with an internal child first (their edges are slots of the
        // working arrays), then the bottom nodes.
        let inner = is_bottom.iter().filter(|b| !**b).count();
        let mut position = vec![0usize; internal];
        let (mut next_inner, mut next_bottom) = (0, inner);
        for (j, &bottom) in is_bottom.iter().enumerate() {
            let next = if bottom {
                &mut next_bottom
            } else {
                &mut next_inner
            };
            position[j] = *next;
            *next += 1;
        }
        let neutral = 2 * inner;
        let narrow = |v: usize| u16::try_from(v).ok();
        let byte = |v: usize| u8::try_from(v).ok();
        // The edge into each node (new numbering), the neutral one for the root.
        let pin_of = |j: usize| order[j].1.map_or(neutral, |(a, s)| 2 * position[a] + s);
        let mut zero_of_edge = vec![1.0f64; neutral + 1];
        for (j, &(index, parent)) in order.iter().enumerate() {
            let node = &tree.nodes[index];
            let feature = node.feature;
            // The nearest ancestor edge on the same feature: up the edges into each ancestor.
            let mut prev = neutral;
            let mut up_from = parent;
            while let Some((a, side)) = up_from {
                if tree.nodes[order[a].0].feature == feature {
                    prev = 2 * position[a] + side;
                    break;
                }
                up_from = order[a].1;
            }
            if node.threshold.is_nan() || node.threshold == f32::NEG_INFINITY {
                // The prepared row's −∞ stand-in must go left of every split.
                return None;
            }
            let pin = pin_of(j);
            let zero_prev = zero_of_edge[prev];
            let (prev_node, prev_state) = if prev == neutral {
                (inner, ALWAYS)
            } else {
                (prev / 2, 1 + byte(prev % 2)?)
            };
            let claim = if prev == neutral {
                neutral + 1 + position[j]
            } else {
                prev
            };
            let cover = f64::from(node.cover);
            let mut beyond = [0.0; Q];
            for (k, inv) in beyond.iter_mut().enumerate() {
                // F of `prev` followed (1 when there is none).
                let f_prev = zero_prev + (1.0 - zero_prev) * t[k];
                if !(f_prev > 0.0 && f_prev.is_finite()) {
                    return None;
                }
                *inv = 1.0 / f_prev - 1.0;
            }
            // Per edge: `r v`, `z v` and `(1 − z) v`.
            let mut edges = [[0.0; 3]; 2];
            let mut gain = [[0.0; Q]; 2];
            for (s, child) in [node.left, node.right].into_iter().enumerate() {
                let child = tree.nodes.get(child as usize)?;
                let ratio = if cover > 0.0 {
                    f64::from(child.cover) / cover
                } else {
                    0.0
                };
                let zero = ratio * zero_prev;
                if !is_bottom[j] {
                    zero_of_edge[2 * position[j] + s] = zero;
                }
                let scale = if child.is_leaf {
                    f64::from(child.value)
                } else {
                    1.0
                };
                edges[s] = [ratio * scale, zero * scale, (1.0 - zero) * scale];
                for k in 0..Q {
                    // F of this edge followed.
                    let followed = zero + (1.0 - zero) * t[k];
                    if !(followed > 0.0 && followed.is_finite()) {
                        return None;
                    }
                    gain[s][k] = (1.0 - zero) * w[k] / followed - self.cold[k];
                }
            }
            let finite = |p: &[f64]| p.iter().all(|v| v.is_finite());
            if !(finite(&beyond) && finite(edges.as_flattened()) && finite(gain.as_flattened())) {
                return None;
            }
            let split = Split {
                threshold: node.threshold,
                slot: 2 * feature + u32::from(node.default_left),
                edge: narrow(pin)?,
                prev_node: byte(prev_node)?,
                prev_state,
            };
            let (feature, claim) = (narrow(feature as usize)?, narrow(claim)?);
            let [[missed_l, zero_l, rest_l], [missed_r, zero_r, rest_r]] = edges;
            // For a node whose children are both leaves: `Σ z v` and `β` by the row's direction
            // (see [`Bottom`] and [`Plain`]).
            let (zero, slope) = (zero_l + zero_r, [rest_l - zero_r, rest_r - zero_l]);
            let leaves_finite = finite(&slope) && zero.is_finite();
            if is_bottom[j] && prev == neutral {
                if !leaves_finite {
                    return None;
                }
                self.plain.push(Plain {
                    zero,
                    slope,
                    threshold: split.threshold,
                    slot: split.slot,
                    edge: split.edge,
                    feature,
                });
            } else if is_bottom[j] {
                // Both children leaves: the node's sum and attribution follow from its `P` at
                // once (see [`Bottom`]).
                let attribution = [missed_l + missed_r, slope[0], slope[1]];
                if !(leaves_finite && attribution[0].is_finite()) {
                    return None;
                }
                let alpha = [attribution[0], zero, zero];
                self.bottom.push(Bottom {
                    beyond,
                    attribution,
                    alpha,
                    split,
                    feature,
                    claim,
                });
            } else {
                let coef = [
                    [[missed_l, 0.0], [missed_r, 0.0]],
                    [[zero_l, rest_l], [zero_r, -zero_r]],
                    [[zero_l, -zero_l], [zero_r, rest_r]],
                ];
                self.down.push(Down {
                    beyond,
                    coef,
                    split,
                });
                self.up.push(Up {
                    gain,
                    feature,
                    edge: split.edge,
                    claim,
                });
            }
            self.features = self.features.max(feature as usize + 1);
        }
        Some(())
    }

    fn heap_bytes(&self) -> usize {
        self.down.capacity() * std::mem::size_of::<Down<Q>>()
            + self.up.capacity() * std::mem::size_of::<Up<Q>>()
            + self.bottom.capacity() * std::mem::size_of::<Bottom<Q>>()
            + self.plain.capacity() * std::mem::size_of::<Plain>()
            + self.starts.capacity() * std::mem::size_of::<[usize; 3]>()
    }

    fn explain(
        &self,
        xs: &[&[f32]],
        phi: &mut [f64],
        stride: usize,
        work: &mut Work<Q>,
        portable: bool,
    ) {
        work.fit(self.max_internal, xs.len(), self.features);
        #[cfg(target_arch = "x86_64")]
        {
            if !portable
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // The one unsafe call of the library: a function compiled for AVX2 and FMA.
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                #[allow(unsafe_code)]
                unsafe {
                    self.explain_avx2(xs, phi, stride, work);
                }
                return;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = portable; // only one build there
        self.explain_all::<false>(xs, phi, stride, work);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn explain_avx2(&self, xs: &[&[f32]], phi: &mut [f64], stride: usize, work: &mut Work<Q>) {
        self.explain_all::<true>(xs, phi, stride, work);
    }

    /// `FMA`: fused multiply-adds (the AVX2/FMA build); without them `mul_add` would be a
    /// library call, so the portable build multiplies and adds.
    #[inline(always)]
    fn explain_all<const FMA: bool>(
        &self,
        xs: &[&[f32]],
        phi: &mut [f64],
        stride: usize,
        work: &mut Work<Q>,
    ) {
        let features = self.features;
        if features == 0 {
            return; // no tree splits: nothing to attribute
        }
        let Work {
            ps,
            claimed,
            code,
            acc,
            rows,
        } = work;
        let acc = &mut acc[..xs.len() * features];
        acc.fill([[0.0; Q]; 2]);
        let rows = &mut rows[..xs.len() * 2 * features];
        for (x, row) in xs.iter().zip(rows.chunks_exact_mut(2 * features)) {
            prepare(x, row);
        }
        // Per edge rather than per node.
        let (ps, claimed) = (ps.as_flattened_mut(), claimed.as_flattened_mut());
        for pair in self.starts.windows(2) {
            let ([d0, b0, p0], [d1, b1, p1]) = (pair[0], pair[1]);
            let (down, up) = (&self.down[d0..d1], &self.up[d0..d1]);
            let (bottom, plain) = (&self.bottom[b0..b1], &self.plain[p0..p1]);
            if bottom.is_empty() && plain.is_empty() {
                continue; // a leaf
            }
            let internal = down.len() + bottom.len() + plain.len();
            let claimed = &mut claimed[..2 * (2 * internal + 1)];
            for (x, acc) in rows
                .chunks_exact(2 * features)
                .zip(acc.chunks_exact_mut(features))
            {
                self.top_down::<FMA>(down, x, ps, claimed, code);
                self.plains::<FMA>(plain, x, ps, acc);
                self.bottoms::<FMA>(bottom, x, ps, claimed, code, acc);
                self.bottom_up::<FMA>(up, ps, claimed, code, acc);
            }
        }
        for (r, acc) in acc.chunks_exact(features).enumerate() {
            for (f, terms) in acc.iter().take(stride).enumerate() {
                if let Some(target) = phi.get_mut(r * stride + f) {
                    *target += terms.iter().flatten().sum::<f64>();
                }
            }
        }
    }

    /// The top-down pass of one row over one tree's nodes.
    #[inline(always)]
    fn top_down<const FMA: bool>(
        &self,
        down: &[Down<Q>],
        x: &[f32],
        ps: &mut [[f64; Q]],
        claimed: &mut [[f64; Q]],
        code: &mut [u8],
    ) {
        let t = &self.t;
        let internal = down.len();
        let (ps, claimed, code) = (
            &mut ps[..=2 * internal],
            &mut claimed[..2 * internal],
            &mut code[..=internal],
        );
        ps[2 * internal] = [1.0; Q];
        code[internal] = ALWAYS;
        for j in 0..internal {
            let d = &down[j];
            let (state, p) = enter(&d.split, x, ps, code);
            code[j] = state;
            // States 1 and 2: the row follows `prev`, and goes left (1) or right (2).
            let inv = beyond::<Q, FMA>(state, &d.beyond);
            let coef = &d.coef[usize::from(state).min(2)];
            for s in 0..2 {
                let [a, b] = coef[s];
                let mut out = [0.0; Q];
                for k in 0..Q {
                    out[k] = p[k] * inv[k] * fma::<FMA>(b, t[k], a);
                }
                ps[2 * j + s] = out;
                claimed[2 * j + s] = [0.0; Q];
            }
        }
    }

    /// The nodes whose children are both leaves, with no split on their feature above them.
    #[inline(always)]
    fn plains<const FMA: bool>(
        &self,
        plain: &[Plain],
        x: &[f32],
        ps: &mut [[f64; Q]],
        acc: &mut [Pair<Q>],
    ) {
        let (t, w) = (&self.t, &self.w);
        for b in plain {
            // As in [`enter`].
            let right = usize::from(x[b.slot as usize] >= b.threshold);
            let c = b.slope[right];
            let p = ps[usize::from(b.edge)];
            let a = &mut acc[usize::from(b.feature)][0];
            let mut sum = [0.0; Q];
            for k in 0..Q {
                a[k] = fma::<FMA>(p[k] * c, w[k], a[k]);
                sum[k] = p[k] * fma::<FMA>(c, t[k], b.zero);
            }
            ps[usize::from(b.edge)] = sum;
        }
    }

    /// The other nodes whose children are both leaves, each in one step.
    #[inline(always)]
    fn bottoms<const FMA: bool>(
        &self,
        bottom: &[Bottom<Q>],
        x: &[f32],
        ps: &mut [[f64; Q]],
        claimed: &mut [[f64; Q]],
        code: &[u8],
        acc: &mut [Pair<Q>],
    ) {
        let (t, w_less_cold, cold) = (&self.t, &self.w_less_cold, &self.cold);
        for b in bottom {
            let (state, p) = enter(&b.split, x, ps, code);
            // States 1 and 2: the row follows `prev`.
            let hot = hot(state);
            let index = usize::from(state).min(2);
            let (c, alpha) = (b.attribution[index], b.alpha[index]);
            let beta = hot * c;
            let inv = beyond::<Q, FMA>(state, &b.beyond);
            let a = &mut acc[usize::from(b.feature)][0];
            let mut sum = [0.0; Q];
            for k in 0..Q {
                let g = p[k] * inv[k];
                // `w_k` in states 1 and 2, `cold_k` in state 0.
                let v = fma::<FMA>(hot, w_less_cold[k], cold[k]);
                a[k] = fma::<FMA>(g * c, v, a[k]);
                sum[k] = g * fma::<FMA>(beta, t[k], alpha);
            }
            hand_up(ps, claimed, b.split.edge, b.claim, sum);
        }
    }

    #[inline(always)]
    fn bottom_up<const FMA: bool>(
        &self,
        up: &[Up<Q>],
        ps: &mut [[f64; Q]],
        claimed: &mut [[f64; Q]],
        code: &[u8],
        acc: &mut [Pair<Q>],
    ) {
        let cold = &self.cold;
        let n = up.len();
        let code = &code[..n];
        for j in (0..n).rev() {
            let u = &up[j];
            let (s2, c2) = (
                [ps[2 * j], ps[2 * j + 1]],
                [claimed[2 * j], claimed[2 * j + 1]],
            );
            let followed = FOLLOWED[usize::from(code[j]) & 3];
            let a = &mut acc[usize::from(u.feature)];
            let mut sum = [0.0; Q];
            for k in 0..Q {
                sum[k] = s2[0][k] + s2[1][k];
            }
            for s in 0..2 {
                for k in 0..Q {
                    let coefficient = fma::<FMA>(followed[s], u.gain[s][k], cold[k]);
                    a[s][k] = fma::<FMA>(s2[s][k] - c2[s][k], coefficient, a[s][k]);
                }
            }
            hand_up(ps, claimed, u.edge, u.claim, sum);
        }
    }
}

/// Writes the row for the top-down pass: each feature's value twice, a missing one (NaN, or
/// a feature beyond the row) as +∞ in the first place (so that `x < threshold` sends it
/// right) and −∞ in the second (left); a node reads the place of its default direction, so
/// its decision is one comparison.
fn prepare(x: &[f32], row: &mut [f32]) {
    for (f, pair) in row.chunks_exact_mut(2).enumerate() {
        match x.get(f) {
            Some(&v) if !v.is_nan() => pair.copy_from_slice(&[v, v]),
            _ => pair.copy_from_slice(&[f32::INFINITY, f32::NEG_INFINITY]),
        }
    }
}

/// Hands a node's subtree sum up: it becomes `S` of the edge into the node and is added where
/// it is claimed.
#[inline(always)]
fn hand_up<const Q: usize>(
    ps: &mut [[f64; Q]],
    claimed: &mut [[f64; Q]],
    edge: u16,
    claim: u16,
    sum: [f64; Q],
) {
    ps[usize::from(edge)] = sum;
    let slot = &mut claimed[usize::from(claim)];
    for k in 0..Q {
        slot[k] += sum[k];
    }
}

/// A node's state for the row (0: the row missed `prev`; 1: goes left; 2: goes right) and
/// the `P` of the edge into it.
#[inline(always)]
fn enter<const Q: usize>(split: &Split, x: &[f32], ps: &[[f64; Q]], code: &[u8]) -> (u8, [f64; Q]) {
    let followed_prev = u8::from(code[usize::from(split.prev_node)] == split.prev_state);
    // Never NaN, and never out of the row: the prepared row holds a number in the slots of
    // every feature split on.
    let v = x[split.slot as usize];
    let right = u8::from(v >= split.threshold);
    let state = followed_prev + (followed_prev & right);
    (state, ps[usize::from(split.edge)])
}

/// 1.0 when the row follows `prev` (states 1 and 2), else 0.0, read from a table: the
/// compiler turns `f64::from(state != 0)` into a select of two constants, which x86 has no
/// instruction for, so it becomes a branch — unpredictable, as the state is the row's.
#[inline(always)]
fn hot(state: u8) -> f64 {
    const HOT: [f64; 4] = [0.0, 1.0, 1.0, 0.0];
    HOT[usize::from(state) & 3]
}

/// `1 / F_prev` when the row follows `prev` (states 1 and 2), else 1: one fused multiply-add
/// rather than a select (see [`hot`]).
#[inline(always)]
fn beyond<const Q: usize, const FMA: bool>(state: u8, beyond: &[f64; Q]) -> [f64; Q] {
    let hot = hot(state);
    let mut out = [0.0; Q];
    for k in 0..Q {
        out[k] = fma::<FMA>(hot, beyond[k], 1.0);
    }
    out
}

/// `a · b + c`, fused where the build has FMA.
#[inline(always)]
fn fma<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
