//! The compiled TreeSHAP kernel for trees up to depth 8: the same quadrature as the walker in
//! the parent module, without recursion, lookups or divisions per row.
//!
//! At load each tree's internal nodes are laid out in pre-order, one 88-byte record per node
//! that holds the node's split and both edges to its children (`Down`), beside a 6-byte record
//! for the bottom-up pass (`Up`): 5.9 KB for a full tree of depth 6; the 300 × 6 benchmark
//! model (15,717 internal nodes) takes 1.5 MB, so it streams from one core's 2 MiB L2.
//!
//! Notation: an edge from a node splitting on feature `f` to one of its children has the
//! cover ratio `r` (child cover / node cover) and the combined fraction `z` (the product of
//! the ratios of every split on `f` down that path, a static property of the tree); `o` is 1
//! when the explained row followed every split on `f` down to here, else 0. The edge's factor
//! at the quadrature node `t_k` is `F_k = z + (o − z) t_k`. Because `o ∈ {0, 1}`:
//! - a deeper edge on the same feature replaces its nearest such ancestor's factor (`prev`);
//!   when the row did not follow `prev`, the ratio `F/F_prev` is the edge's own `r` (both
//!   factors are `z (1 − t)`); when it did, it is `F · (1/F_prev)`, and `1/F_prev` of a
//!   followed edge is stored at load (as `f32`, refined by one Newton step to `f64` precision
//!   when used: no division per row);
//! - an edge the row does not follow attributes `(0 − z)/F_k = −1/(1 − t_k)`, the same for
//!   every edge (`cold`); only the one followed child of each node (`hot`) has an edge-specific
//!   factor `(1 − z)/(z + (1 − z) t_k)`.
//!
//! Per row and tree, two linear passes over the internal nodes:
//! 1. top-down (pre-order, so a node's parent comes first): the node's decision (missing
//!    values by the default), `o` of both child edges, and their path products `P` (a leaf
//!    child's `P` multiplied by its value at once: that is its subtree sum `S`);
//! 2. bottom-up (reverse pre-order, so a node's whole subtree comes first): `S` of the node =
//!    the sum of its children's; the node's feature receives `Σ_k w_k (o − z)(S − C)_k / F_k`
//!    for both edges, where `C` is the part of an edge's `S` that deeper edges on the same
//!    feature attribute themselves (claimed by them into the edge's slot); per feature the
//!    four quadrature terms stay in one `f64×4` accumulator, summed once per call.
//!
//! The four quadrature values are one `[f64; 4]` (one AVX2 register where the CPU has it,
//! chosen at run time, with a portable build beside it). The same kernel explains `R` rows
//! per pass over the model (the batch API uses 4). Four nodes integrate polynomials of
//! degree 7 exactly, so paths of up to 8 distinct features — every tree of depth ≤ 8 — are
//! exact; deeper trees go to the walker.

use crate::gbt::Tree;

/// Quadrature nodes of the compiled kernel.
pub(crate) const LANES: usize = 4;
/// The deepest tree the compiled kernel is exact for (paths of at most 8 distinct features).
pub(crate) const MAX_DEPTH: usize = 2 * LANES;
/// Rows explained together by the batch kernel (one pass over the model serves them all).
pub(crate) const BATCH: usize = 4;

type Lanes = [f64; LANES];

const DEFAULT_LEFT: u16 = 1;
/// The root's `pin` before the tree's node count is known.
const ROOT: usize = usize::MAX;

/// An internal node and the edges to its two children (`[0]` left, `[1]` right), as the
/// top-down pass reads them. Edge `2j + s` of a tree is node `j`'s edge to child `s`; edge
/// `2J` (J internal nodes) is the tree's neutral edge (`P = 1`, followed, `1/F = 1`).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Down {
    /// `1/F_k` of the edge for a row that follows it, `F_k = z + (1 − z) t_k`, as `f32`.
    inv: [[f32; LANES]; 2],
    /// The combined fraction `z` of each edge.
    zero: [f64; 2],
    /// The cover ratio `r` of each edge.
    ratio: [f64; 2],
    /// A leaf child's value, 1 for an internal child.
    scale: [f32; 2],
    /// `x < threshold` goes left.
    threshold: f32,
    feature: u16,
    flags: u16,
    /// The edge into this node (the neutral edge for the root).
    pin: u16,
    /// The nearest ancestor edge on the same feature (the neutral edge when none).
    prev: u16,
}

/// What the bottom-up pass reads of a node.
#[derive(Debug, Clone, Copy)]
struct Up {
    feature: u16,
    pin: u16,
    /// Where the node's subtree sum is claimed: its `prev` edge, or a slot of its own (past
    /// the edges) when it has none, so that unclaimed sums do not chain through one slot.
    claim: u16,
}

/// Every tree of a model compiled, or `None` when one is deeper than [`MAX_DEPTH`] (the
/// walker explains those).
#[derive(Debug, Clone)]
pub(crate) struct FlatForest {
    t: Lanes,
    w: Lanes,
    /// `−w_k / (1 − t_k)`: what an edge the row does not follow attributes per unit of `S − C`.
    cold: Lanes,
    down: Vec<Down>,
    up: Vec<Up>,
    /// Start of each tree's internal nodes (and its end as the next start).
    starts: Vec<usize>,
    /// The most internal nodes of one tree.
    max_internal: usize,
    /// One more than the largest feature index split on.
    features: usize,
}

/// Working memory for `R` rows at a time, sized for the largest tree; reused across calls.
#[derive(Debug)]
pub(crate) struct Scratch<const R: usize> {
    /// Per edge: `P` until the child is done, then the child's subtree sum `S`.
    ps: Vec<[Lanes; R]>,
    /// Per edge: `C`, claimed by deeper edges on the same feature; then a slot per node.
    claimed: Vec<[Lanes; R]>,
    /// Per edge: `o`.
    one: Vec<[f64; R]>,
    /// Per node: `1/F_k` of the edge to the child the row goes to (`o = 1` there when the
    /// node's `prev` was followed); the neutral entry last.
    inv: Vec<[Lanes; R]>,
    /// Per node: what the followed edge attributes beyond `cold`, per unit of `S − C`
    /// (0 when `o = 0` there too).
    hot_gain: Vec<[Lanes; R]>,
    /// Per node: the child the row goes to (0 left, 1 right).
    hot: Vec<[u8; R]>,
    /// Per feature, the four quadrature terms of its attribution.
    acc: Vec<[Lanes; R]>,
}

impl<const R: usize> Default for Scratch<R> {
    fn default() -> Self {
        Self {
            ps: Vec::new(),
            claimed: Vec::new(),
            one: Vec::new(),
            inv: Vec::new(),
            hot_gain: Vec::new(),
            hot: Vec::new(),
            acc: Vec::new(),
        }
    }
}

impl<const R: usize> Scratch<R> {
    fn fit(&mut self, internal: usize, features: usize) {
        let zero = [[0.0; LANES]; R];
        if self.ps.len() < 2 * internal + 1 {
            self.ps.resize(2 * internal + 1, zero);
            self.claimed.resize(3 * internal + 1, zero);
            self.one.resize(2 * internal + 1, [0.0; R]);
            self.inv.resize(internal + 1, zero);
            self.hot_gain.resize(internal, zero);
            self.hot.resize(internal, [0; R]);
        }
        if self.acc.len() < features {
            self.acc.resize(features, zero);
        }
    }
}

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
        let mut cold = [0.0; LANES];
        for (k, &(tk, wk)) in rule.iter().enumerate() {
            if !(tk > 0.0 && tk < 1.0) {
                return None;
            }
            t[k] = tk;
            w[k] = wk;
            cold[k] = -wk / (1.0 - tk);
        }
        let total = trees.iter().map(|t| t.nodes.len() / 2).sum();
        let mut forest = Self {
            t,
            w,
            cold,
            down: Vec::with_capacity(total),
            up: Vec::with_capacity(total),
            starts: Vec::with_capacity(trees.len() + 1),
            max_internal: 0,
            features: 0,
        };
        for tree in trees {
            let start = forest.down.len();
            forest.starts.push(start);
            forest.compile_tree(tree)?;
            forest.max_internal = forest.max_internal.max(forest.down.len() - start);
        }
        forest.starts.push(forest.down.len());
        Some(forest)
    }

    /// Appends the internal nodes of `tree` in pre-order, with their edge constants.
    fn compile_tree(&mut self, tree: &Tree) -> Option<()> {
        let root = tree.nodes.first()?;
        if root.is_leaf {
            return Some(());
        }
        // Pre-order: the tree's node index and the edge into it of every internal node.
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(tree.nodes.len() / 2);
        let mut stack = vec![(0usize, ROOT)];
        while let Some((index, pin)) = stack.pop() {
            let node = tree.nodes.get(index)?;
            if node.is_leaf {
                continue;
            }
            let j = order.len();
            if order.len() > tree.nodes.len() {
                return None; // not a tree
            }
            order.push((index, pin));
            // Right first, so that the left subtree comes next in the order.
            stack.push((node.right as usize, 2 * j + 1));
            stack.push((node.left as usize, 2 * j));
        }
        let internal = order.len();
        let neutral = 2 * internal;
        let narrow = |v: usize| u16::try_from(v).ok();
        narrow(3 * internal + 1)?;
        let pin_of = |pin: usize| if pin == ROOT { neutral } else { pin };
        let mut zero_of_edge = vec![1.0f64; 2 * internal + 1];
        for (j, &(index, pin)) in order.iter().enumerate() {
            let node = &tree.nodes[index];
            let feature = node.feature;
            // The nearest ancestor edge on the same feature: up the edges into each ancestor.
            let mut prev = neutral;
            let mut edge = pin_of(pin);
            while edge != neutral {
                let (ancestor, _) = order[edge / 2];
                if tree.nodes[ancestor].feature == feature {
                    prev = edge;
                    break;
                }
                edge = pin_of(order[edge / 2].1);
            }
            let cover = f64::from(node.cover);
            let mut down = Down {
                inv: [[0.0; LANES]; 2],
                zero: [0.0; 2],
                ratio: [0.0; 2],
                scale: [1.0; 2],
                threshold: node.threshold,
                feature: narrow(feature as usize)?,
                flags: if node.default_left { DEFAULT_LEFT } else { 0 },
                pin: narrow(pin_of(pin))?,
                prev: narrow(prev)?,
            };
            for (s, child) in [node.left, node.right].into_iter().enumerate() {
                let child = tree.nodes.get(child as usize)?;
                let ratio = if cover > 0.0 {
                    f64::from(child.cover) / cover
                } else {
                    0.0
                };
                let zero = ratio * zero_of_edge[prev];
                zero_of_edge[2 * j + s] = zero;
                down.ratio[s] = ratio;
                down.zero[s] = zero;
                if child.is_leaf {
                    down.scale[s] = child.value;
                }
                for k in 0..LANES {
                    let f = zero + (1.0 - zero) * self.t[k];
                    // Rounded to f32 here, refined when used.
                    #[allow(clippy::cast_possible_truncation)]
                    let inv = if f > 0.0 { (1.0 / f) as f32 } else { 0.0 };
                    // Fractions far outside [0, 1] (a crafted model whose covers add up only
                    // within the loader's tolerance) can make 1/F too small for an f32, which
                    // one Newton step cannot recover: the walker explains such a model.
                    if f > 0.0 && !inv.is_normal() {
                        return None;
                    }
                    down.inv[s][k] = inv;
                }
            }
            self.features = self.features.max(feature as usize + 1);
            self.down.push(down);
            self.up.push(Up {
                feature: down.feature,
                pin: down.pin,
                claim: if prev == neutral {
                    narrow(neutral + 1 + j)?
                } else {
                    down.prev
                },
            });
        }
        Some(())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.down.capacity() * std::mem::size_of::<Down>()
            + self.up.capacity() * std::mem::size_of::<Up>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }

    /// Adds the SHAP values of `R` rows to theirs: row `r` is `xs[r]`, its values go to
    /// `phi[r * stride..][..stride]`.
    pub(crate) fn explain<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        scratch.fit(self.max_internal, self.features);
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
        self.explain_all::<R, true>(xs, phi, stride, scratch);
    }

    fn explain_portable<const R: usize>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        self.explain_all::<R, false>(xs, phi, stride, scratch);
    }

    /// `FMA`: fused multiply-adds (the AVX2/FMA build); without them `mul_add` would be a
    /// library call, so the portable build multiplies and adds.
    #[inline(always)]
    fn explain_all<const R: usize, const FMA: bool>(
        &self,
        xs: [&[f32]; R],
        phi: &mut [f64],
        stride: usize,
        scratch: &mut Scratch<R>,
    ) {
        let features = self.features;
        scratch.acc[..features].fill([[0.0; LANES]; R]);
        for pair in self.starts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b > a {
                self.explain_tree::<R, FMA>(&self.down[a..b], &self.up[a..b], xs, scratch);
            }
        }
        for (f, acc) in scratch.acc[..features.min(stride)].iter().enumerate() {
            for r in 0..R {
                if let Some(target) = phi.get_mut(r * stride + f) {
                    *target += acc[r].iter().sum::<f64>();
                }
            }
        }
    }

    #[inline(always)]
    fn explain_tree<const R: usize, const FMA: bool>(
        &self,
        down: &[Down],
        up: &[Up],
        xs: [&[f32]; R],
        scratch: &mut Scratch<R>,
    ) {
        let internal = down.len();
        let neutral = 2 * internal;
        let (t, w, cold) = (&self.t, &self.w, &self.cold);
        let Scratch {
            ps,
            claimed,
            one,
            inv,
            hot_gain,
            hot,
            acc,
        } = scratch;
        let (ps, claimed, one, inv, hot_gain, hot) = (
            &mut ps[..=neutral],
            &mut claimed[..=neutral + internal],
            &mut one[..=neutral],
            &mut inv[..=internal],
            &mut hot_gain[..internal],
            &mut hot[..internal],
        );
        ps[neutral] = [[1.0; LANES]; R];
        one[neutral] = [1.0; R];
        inv[internal] = [[1.0; LANES]; R];
        // 1. Top-down.
        for (j, d) in down.iter().enumerate() {
            let p = ps[usize::from(d.pin)];
            let prev = usize::from(d.prev);
            let (above, inv_prev) = (one[prev], inv[prev / 2]);
            let f = usize::from(d.feature);
            let default_left = d.flags & DEFAULT_LEFT != 0;
            // `o` of each edge, by arithmetic (stores at a computed index into a small
            // array would be read back whole before they could be forwarded).
            let mut o = [[0.0; R]; 2];
            let mut y = [[0.0; LANES]; R];
            let mut gain = [[0.0; LANES]; R];
            for r in 0..R {
                let v = xs[r].get(f).copied().unwrap_or(f32::NAN);
                let left = (v < d.threshold) | (v.is_nan() & default_left);
                let h = usize::from(!left);
                hot[j][r] = u8::from(!left);
                o[0][r] = above[r] * f64::from(u8::from(left));
                o[1][r] = above[r] - o[0][r];
                // 1/F of the followed edge: the stored f32 refined by a Newton step.
                let z = d.zero[h];
                for k in 0..LANES {
                    let fk = fma::<FMA>(1.0 - z, t[k], z);
                    let y0 = f64::from(d.inv[h][k]);
                    y[r][k] = fma::<FMA>(y0, fma::<FMA>(-fk, y0, 1.0), y0);
                    gain[r][k] = above[r] * fma::<FMA>((1.0 - z) * w[k], y[r][k], -cold[k]);
                }
            }
            inv[j] = y;
            hot_gain[j] = gain;
            for s in 0..2 {
                let (z, ratio, scale) = (d.zero[s], d.ratio[s], f64::from(d.scale[s]));
                let mut out = [[0.0; LANES]; R];
                for r in 0..R {
                    for k in 0..LANES {
                        // F_k = z (1 − t_k) + o t_k; after a followed `prev`, F / F_prev;
                        // after one not followed, the ratio.
                        let fk = fma::<FMA>(z, 1.0 - t[k], o[s][r] * t[k]);
                        let m = fma::<FMA>(above[r], fma::<FMA>(fk, inv_prev[r][k], -ratio), ratio);
                        out[r][k] = p[r][k] * m * scale;
                    }
                }
                ps[2 * j + s] = out;
                one[2 * j + s] = o[s];
                claimed[2 * j + s] = [[0.0; LANES]; R];
            }
        }
        // 2. Bottom-up.
        for (j, u) in up.iter().enumerate().rev() {
            let (sl, sr) = (ps[2 * j], ps[2 * j + 1]);
            let (cl, cr) = (claimed[2 * j], claimed[2 * j + 1]);
            let (goes, gain) = (hot[j], hot_gain[j]);
            let mut sum = [[0.0; LANES]; R];
            let a = &mut acc[usize::from(u.feature)];
            for r in 0..R {
                // The followed child's sums, by index (a branch here would be mispredicted
                // half the time).
                let h = 2 * j + usize::from(goes[r]);
                let (sh, ch) = (ps[h][r], claimed[h][r]);
                for k in 0..LANES {
                    sum[r][k] = sl[r][k] + sr[r][k];
                    let own = sum[r][k] - cl[r][k] - cr[r][k];
                    a[r][k] += fma::<FMA>(cold[k], own, gain[r][k] * (sh[k] - ch[k]));
                }
            }
            ps[usize::from(u.pin)] = sum;
            let c = &mut claimed[usize::from(u.claim)];
            for r in 0..R {
                for k in 0..LANES {
                    c[r][k] += sum[r][k];
                }
            }
        }
    }
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
