//! The compiled TreeSHAP kernel for trees up to depth 8: the same quadrature as the walker in
//! the parent module, without recursion, lookups or divisions per row.
//!
//! At load each tree is compiled into arrays in breadth-first order (siblings adjacent, a
//! node's parent a level up, so no pass waits on the value it has just written): 8 bytes per
//! node for the decisions (feature, threshold, default direction) and a 96-byte edge record
//! for the edge from its parent — the feature that edge splits on, its children, the nearest
//! ancestor edge on the same feature (`prev`, a static property of the tree), the combined
//! cover fraction `zero` of that feature's splits down to here (also static), and `1/F_k` at
//! the four Gauss–Legendre nodes for the row not following and following the edge
//! (`F_k = zero + (one − zero)·t_k`, `one` ∈ {0, 1}). Each tree ends with a neutral edge (all
//! factors 1) that stands for "no ancestor edge on this feature". Four nodes integrate
//! polynomials of degree 7 exactly, so paths of up to 8 distinct features — every tree of
//! depth ≤ 8 — are exact; deeper trees go to the walker.
//!
//! Per row and tree, three linear passes:
//! 1. decisions: for each split, whether the row goes left (missing values by the default);
//! 2. top-down: `one` of each edge (the row followed every split on the edge's feature down
//!    to here) and the product `P` of the path's factors at the four nodes; an edge whose
//!    feature was split on above replaces that factor (multiplying by its stored `1/F`);
//! 3. bottom-up (reverse order, so children come first), a pair of siblings at a time:
//!    `S` = Σ over the subtree's leaves of `v · P`; each edge attributes
//!    `(one − zero) Σ_k w_k (S − C)_k / F_k` to its feature, where `C` is the part of `S`
//!    that deeper edges on the same feature attribute themselves.
//!
//! The four quadrature values are one `[f64; 4]` (one AVX2 register where the CPU has it,
//! chosen at run time, with a portable build beside it). The same kernel explains `R` rows
//! per pass over the model (the batch API uses 4), which hides the latency of each row's
//! chain of dependent multiplications behind the others.

use crate::gbt::Tree;

/// Quadrature nodes of the compiled kernel.
pub(crate) const LANES: usize = 4;
/// The deepest tree the compiled kernel is exact for (paths of at most 8 distinct features).
pub(crate) const MAX_DEPTH: usize = 2 * LANES;

const NONE: u32 = u32::MAX;

type Lanes = [f64; LANES];

/// What the decision pass reads of a node.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// Internal nodes: `x < threshold` goes left.
    threshold: f32,
    /// Split feature (internal nodes).
    feature: u16,
    /// `DEFAULT_LEFT`.
    flags: u16,
}

/// What the top-down and bottom-up passes read of a node and the edge from its parent.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Edge {
    /// `1/F_k` for the row not following the edge (`[0]`) and following it (`[1]`); 0 where
    /// `F_k` is 0. After each tree's nodes comes one neutral edge (all 1).
    inv: [Lanes; 2],
    /// The combined cover fraction of the path's splits on the edge's feature, down to here.
    zero: f64,
    parent: u16,
    /// The nearest ancestor edge on the same feature; the tree's node count (a neutral slot
    /// of the scratch) when there is none.
    prev: u16,
    /// The children (internal nodes); the node count for leaves (so a leaf is a node whose
    /// `left` is the node count).
    left: u16,
    right: u16,
    /// The feature the edge from the parent splits on.
    edge_feature: u16,
    /// The leaf value (0 for internal nodes).
    value: f32,
    /// `IS_LEFT`.
    flags: u32,
}

const DEFAULT_LEFT: u16 = 2;
const IS_LEFT: u32 = 1;

/// Every tree of a model compiled, or `None` when one is deeper than [`MAX_DEPTH`] (the
/// walker explains those).
#[derive(Debug, Clone)]
pub(crate) struct FlatForest {
    t: Lanes,
    w: Lanes,
    splits: Vec<Split>,
    edges: Vec<Edge>,
    /// Start of each tree's nodes (and its end as the next start).
    starts: Vec<usize>,
    max_nodes: usize,
}

/// Working memory for `R` rows at a time, sized for the largest tree plus one neutral slot;
/// reused across calls.
#[derive(Debug)]
pub(crate) struct Scratch<const R: usize> {
    p: Vec<[Lanes; R]>,
    s: Vec<[Lanes; R]>,
    c: Vec<[Lanes; R]>,
    one: Vec<[f64; R]>,
    left: Vec<[bool; R]>,
}

impl<const R: usize> Default for Scratch<R> {
    fn default() -> Self {
        Self {
            p: Vec::new(),
            s: Vec::new(),
            c: Vec::new(),
            one: Vec::new(),
            left: Vec::new(),
        }
    }
}

impl<const R: usize> Scratch<R> {
    fn fit(&mut self, n: usize) {
        if self.p.len() < n {
            let zero = [[0.0; LANES]; R];
            self.p.resize(n, zero);
            self.s.resize(n, zero);
            self.c.resize(n, zero);
            self.one.resize(n, [0.0; R]);
            self.left.resize(n, [false; R]);
        }
    }
}

/// Rows explained together by the batch kernel (one pass over the model serves them all).
pub(crate) const BATCH: usize = 4;

impl FlatForest {
    /// Compiles the trees with the 4-node rule `rule` (nodes, weights on [0, 1]); `None`
    /// when a tree is deeper than [`MAX_DEPTH`], has a feature index beyond `u16` or the
    /// rule has another size.
    pub(crate) fn compile(trees: &[Tree], rule: &[(f64, f64)]) -> Option<Self> {
        if rule.len() != LANES || trees.iter().any(|t| t.depth > MAX_DEPTH) {
            return None;
        }
        let mut t = [0.0; LANES];
        let mut w = [0.0; LANES];
        for (k, &(tk, wk)) in rule.iter().enumerate() {
            t[k] = tk;
            w[k] = wk;
        }
        let total = trees.iter().map(|t| t.nodes.len()).sum();
        let mut forest = Self {
            t,
            w,
            splits: Vec::with_capacity(total),
            edges: Vec::with_capacity(total + trees.len()),
            starts: Vec::with_capacity(trees.len() + 1),
            max_nodes: 0,
        };
        for tree in trees {
            let start = forest.splits.len();
            forest.starts.push(start);
            forest.compile_tree(tree)?;
            forest.max_nodes = forest.max_nodes.max(forest.splits.len() - start);
        }
        forest.starts.push(forest.splits.len());
        Some(forest)
    }

    /// Appends `tree` in breadth-first order, with its edge constants.
    fn compile_tree(&mut self, tree: &Tree) -> Option<()> {
        struct Built {
            parent: u32,
            is_left: bool,
            leaf: bool,
            feature: u32,
            edge_feature: u32,
            zero: f64,
            prev: u32,
        }
        let mut built: Vec<Built> = Vec::with_capacity(tree.nodes.len());
        // (node in the tree, its parent's index here, whether it is the left child, the
        // parent's cover). The nearest ancestor edge on a feature is found by walking up the
        // parents: depth ≤ 8 keeps that short.
        // Breadth first: a node's parent is a level up, so neither pass waits on the node
        // just computed (its parent or children are a level away).
        let mut queue: std::collections::VecDeque<(u32, u32, bool, f32)> =
            std::collections::VecDeque::from([(0, NONE, false, 0.0)]);
        let mut order = Vec::with_capacity(tree.nodes.len());
        while let Some((index, parent, is_left, parent_cover)) = queue.pop_front() {
            let node = tree.nodes.get(index as usize)?;
            let here = u32::try_from(built.len()).ok()?;
            let mut b = Built {
                parent,
                is_left,
                leaf: node.is_leaf,
                feature: node.feature,
                edge_feature: 0,
                zero: 1.0,
                prev: NONE,
            };
            if parent != NONE {
                let feature = built[parent as usize].feature;
                b.edge_feature = feature;
                let z = if parent_cover > 0.0 {
                    f64::from(node.cover) / f64::from(parent_cover)
                } else {
                    0.0
                };
                let mut a = parent;
                while a != NONE {
                    let r = &built[a as usize];
                    if r.parent != NONE && r.edge_feature == feature {
                        b.prev = a;
                        break;
                    }
                    a = r.parent;
                }
                b.zero = if b.prev == NONE {
                    z
                } else {
                    built[b.prev as usize].zero * z
                };
            }
            built.push(b);
            order.push(index);
            if !node.is_leaf {
                queue.push_back((node.left, here, true, node.cover));
                queue.push_back((node.right, here, false, node.cover));
            }
        }
        let n = u16::try_from(built.len()).ok()?;
        let mut children = vec![(n, n); built.len()];
        for (i, b) in built.iter().enumerate().skip(1) {
            let i = u16::try_from(i).ok()?;
            let slot = &mut children[b.parent as usize];
            if b.is_left {
                slot.0 = i;
            } else {
                slot.1 = i;
            }
        }
        for ((b, &index), &(left, right)) in built.iter().zip(&order).zip(&children) {
            let node = tree.nodes.get(index as usize)?;
            self.splits.push(Split {
                threshold: node.threshold,
                feature: u16::try_from(b.feature).ok()?,
                flags: if node.default_left { DEFAULT_LEFT } else { 0 },
            });
            let mut inv = [[0.0; LANES]; 2];
            for (o, row) in inv.iter_mut().enumerate() {
                for k in 0..LANES {
                    let f = b.zero + (o as f64 - b.zero) * self.t[k];
                    row[k] = if f > 0.0 { 1.0 / f } else { 0.0 };
                }
            }
            self.edges.push(Edge {
                inv,
                zero: b.zero,
                parent: if b.parent == NONE {
                    0
                } else {
                    u16::try_from(b.parent).ok()?
                },
                prev: if b.prev == NONE {
                    n
                } else {
                    u16::try_from(b.prev).ok()?
                },
                left,
                right,
                edge_feature: u16::try_from(b.edge_feature).ok()?,
                value: if b.leaf { node.value } else { 0.0 },
                flags: if b.is_left { IS_LEFT } else { 0 },
            });
        }
        // The neutral edge: no ancestor edge on the feature replaces nothing.
        self.edges.push(Edge {
            inv: [[1.0; LANES]; 2],
            zero: 1.0,
            parent: 0,
            prev: n,
            left: n,
            right: n,
            edge_feature: 0,
            value: 0.0,
            flags: 0,
        });
        Some(())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.splits.capacity() * std::mem::size_of::<Split>()
            + self.edges.capacity() * std::mem::size_of::<Edge>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }

    /// Adds the SHAP values of `R` rows to theirs: row `r` is `xs[r]`, its values go to
    /// `phi[r * stride..][..features]`.
    pub(crate) fn explain<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        scratch.fit(self.max_nodes + 1);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // The one unsafe call of the library: a function compiled for AVX2 and FMA.
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                #[allow(unsafe_code)]
                unsafe {
                    self.explain_avx2(xs, phi, stride, scratch);
                }
                return;
            }
        }
        self.explain_portable(xs, phi, stride, scratch);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn explain_avx2<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        self.explain_all(xs, phi, stride, scratch);
    }

    fn explain_portable<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        self.explain_all(xs, phi, stride, scratch);
    }

    #[inline(always)]
    fn explain_all<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        for (tree, pair) in self.starts.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            if b - a > 1 {
                self.explain_tree(
                    &self.splits[a..b],
                    &self.edges[a + tree..=b + tree],
                    xs,
                    phi,
                    stride,
                    scratch,
                );
            }
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn explain_tree<const R: usize>(
        &self,
        splits: &[Split],
        edges: &[Edge],
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        let n = splits.len();
        let (t, w) = (&self.t, &self.w);
        let Scratch { p, s, c, one, left } = scratch;
        // Slot `n` is neutral: no ancestor (`prev`), no child (`right` of a leaf).
        let (p, s, c, one, left) = (
            &mut p[..=n],
            &mut s[..=n],
            &mut c[..=n],
            &mut one[..=n],
            &mut left[..n],
        );
        one[n] = [1.0; R];
        s[n] = [[0.0; LANES]; R];
        // 1. Decisions (a leaf's is never read).
        for (sp, go) in splits.iter().zip(left.iter_mut()) {
            let f = usize::from(sp.feature);
            let default_left = sp.flags & DEFAULT_LEFT != 0;
            for r in 0..R {
                let v = xs[r].get(f).copied().unwrap_or(f32::NAN);
                go[r] = (v < sp.threshold) | (v.is_nan() & default_left);
            }
        }
        // 2. Top-down.
        p[0] = [[1.0; LANES]; R];
        for i in 1..n {
            let e = &edges[i];
            let parent = usize::from(e.parent);
            let prev = usize::from(e.prev);
            let is_left = e.flags & IS_LEFT != 0;
            let (base, going, above) = (p[parent], left[parent], one[prev]);
            let replaced = &edges[prev].inv;
            let mut pi = [[0.0; LANES]; R];
            let mut oi = [0.0; R];
            for r in 0..R {
                let o = if going[r] == is_left { above[r] } else { 0.0 };
                oi[r] = o;
                let rep = &replaced[usize::from(above[r] != 0.0)];
                for k in 0..LANES {
                    pi[r][k] = base[r][k] * rep[k] * (e.zero + (o - e.zero) * t[k]);
                }
            }
            p[i] = pi;
            one[i] = oi;
            c[i] = [[0.0; LANES]; R];
        }
        // 3. Bottom-up (reverse breadth-first order: children before parents), a pair of
        // siblings at a time: nodes 2j + 1 and 2j + 2 are the children of one node, their
        // edges split on its feature, and one update of that feature serves both.
        for j in (0..(n - 1) / 2).rev() {
            let mut gain = [0.0; R];
            let mut feature = 0;
            for i in [2 * j + 1, 2 * j + 2] {
                let e = &edges[i];
                feature = usize::from(e.edge_feature);
                let mut sum = [[0.0; LANES]; R];
                if usize::from(e.left) == n {
                    let (pi, value) = (p[i], f64::from(e.value));
                    for r in 0..R {
                        for k in 0..LANES {
                            sum[r][k] = pi[r][k] * value;
                        }
                    }
                } else {
                    let (l, rt) = (s[usize::from(e.left)], s[usize::from(e.right)]);
                    for r in 0..R {
                        for k in 0..LANES {
                            sum[r][k] = l[r][k] + rt[r][k];
                        }
                    }
                }
                let (own, oi) = (c[i], one[i]);
                for r in 0..R {
                    let ii = &e.inv[usize::from(oi[r] != 0.0)];
                    let mut acc = 0.0;
                    for k in 0..LANES {
                        acc += w[k] * (sum[r][k] - own[r][k]) * ii[k];
                    }
                    gain[r] += (oi[r] - e.zero) * acc;
                }
                s[i] = sum;
                // Most edges have no ancestor edge on their feature: adding their sums to a
                // neutral slot would chain every iteration through one memory location.
                let prev = usize::from(e.prev);
                if prev != n {
                    let claimed = &mut c[prev];
                    for r in 0..R {
                        for k in 0..LANES {
                            claimed[r][k] += sum[r][k];
                        }
                    }
                }
            }
            for r in 0..R {
                if let Some(target) = phi.get_mut(r * stride + feature) {
                    *target += gain[r];
                }
            }
        }
    }
}
