package dev.sixpd.tensor;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal self-attention in the FlashAttention-2 manner: the {@code T × T} score matrix is never stored. Queries are
 * taken in blocks of {@link #BLOCK} rows, keys and values streamed past them in blocks of {@link #BLOCK} positions,
 * and an online softmax keeps, per query row, the running maximum {@code m}, the running sum {@code l} of
 * {@code exp(s - m)} and the unnormalised output {@code o}, rescaling both by {@code exp(m_old - m_new)} when a new
 * block raises the maximum. Forward saves only the output and the per-row log-sum-exp; backward recomputes each
 * score tile from Q, K and that log-sum-exp.
 *
 * <p>Layout (grouped-query attention; with {@code KVH = NH} it is GPT-2's {@code [B, T, 3C]}): {@code qkv} rows of
 * width {@code W = (NH + 2·KVH)·HS}, row {@code (b, t)} at {@code (b·T + t)·W}; query head {@code h} at columns
 * {@code [h·HS, (h+1)·HS)}, K head {@code g} at {@code NH·HS + g·HS}, V head {@code g} at
 * {@code (NH + KVH)·HS + g·HS}; query head {@code h} reads K/V head {@code g = h / (NH/KVH)}. {@code out [B, T, NH·HS]},
 * {@code lse [B, NH, T]}.
 * <pre>
 *   s[t,t2]  = q[t]·k[t2] / sqrt(HS)                      for t2 <= t
 *   lse[t]   = log Σ_{t2 <= t} exp(s[t,t2])
 *   out[t]   = Σ_{t2 <= t} exp(s[t,t2] - lse[t]) · v[t2]
 * </pre>
 *
 * <p>Causal skipping: key blocks that lie wholly above the diagonal are never visited; in the diagonal block the
 * register tiles stop at the diagonal (as in {@link Attention}), and the few masked entries they do compute are
 * overwritten with exact zeros. The ledger counts the unmasked pairs only ({@code T(T+1)/2} per head), as the
 * naive kernel does: forward {@link #matmulFlopsForward} (QKᵀ and P·V, kind {@code ATTENTION_MATMUL}) is the naive
 * kernel's, backward {@link #matmulFlopsBackward} (dP, dV, dQ, dK) is the naive kernel's, and the recomputed
 * score matmul of backward, {@link #recomputeFlopsBackward}, is charged to its own kind
 * {@link Ledger.Kind#ATTENTION_RECOMPUTE}: that row is what flash attention costs in FLOPs. What it saves is
 * bytes: no {@code [B, NH, T, T]} term in {@link #bytesForward} or {@link #bytesBackward}.
 *
 * <p>Determinism: forward runs one task per (b, h); backward one task per (b, kv-head g), which processes the query
 * heads of its group, the key blocks and the query blocks in a fixed order and is the only writer of its dK, dV
 * and of its query heads' dQ. Results are therefore bit-identical for any thread count. Every score and every
 * output element is one fma chain over its inner index in increasing order, whichever register tile computes
 * it, so a row's bits do not depend on where the row sits in its block; {@link DecodeAttention} relies on this to
 * reproduce the last row bit for bit. Thread-safe except for the {@link Ledger} accounting.
 */
public final class FlashAttention {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    /**
     * Query rows and key positions per block. A multiple of the micro-tile's {@link #MR} rows and of every vector
     * length up to 16 floats. 64 keeps a score tile at 16 KB, so in backward the two tiles (P and dS) fit L1
     * (32 KB) while the Q, K, V, dO rows they meet stream from L2, and medium's T = 256 is four whole blocks.
     * Measured against 32 and 128 (one batch element, one thread, best of 300, on a loaded machine, so as ratios):
     * forward ~7 % slower at 32, the same at 128; backward the same at all three. See {@code bench/NOTES.md},
     * "Flash attention".
     */
    public static final int BLOCK = 64;

    private FlashAttention() {
    }

    // ------------------------------------------------------------------------------------------------ FLOPs

    /** Unmasked (query, key) pairs over the whole batch: {@code B·NH·T·(T+1)/2}. */
    public static long pairs(int B, int T, int NH) {
        return (long) B * NH * T * (T + 1) / 2;
    }

    /**
     * (row, key block) visits over the whole batch: row {@code t} visits {@code t/BLOCK + 1} key blocks, so
     * {@code B·NH·Σ_t (⌊t/BLOCK⌋ + 1)}.
     */
    public static long rowBlocks(int B, int T, int NH) {
        long full = T / BLOCK;
        long rem = T % BLOCK;
        // full blocks of rows: block i contributes BLOCK·(i+1); the partial block (full + 1)·rem
        long perHead = (long) BLOCK * full * (full + 1) / 2 + rem * (full + 1);
        return (long) B * NH * perHead;
    }

    /**
     * Matmul FLOPs one forward call records (kind ATTENTION_MATMUL): QKᵀ and P·V over the unmasked pairs,
     * {@code 2·HS} each per pair: {@code 4·HS·pairs}, the same as {@link Attention#matmulFlopsForward} with
     * {@code C = NH·HS}.
     */
    public static long matmulFlopsForward(int B, int T, int NH, int HS) {
        return 4L * HS * pairs(B, T, NH);
    }

    /**
     * Softmax FLOPs one forward call records (kind SOFTMAX). Per pair: the 1/sqrt(HS) scale, the max, the subtract,
     * the exp, the sum (5). Per (row, key block): the new max (1), {@code exp(m_old - m_new)} (2),
     * {@code l·a + sum} (2), the rescale of o (HS) and the add of the block's P·V into o (HS). Per row: the
     * reciprocal of l (1), {@code o·(1/l)} (HS), {@code m + log l} (2):
     * {@code 5·pairs + (5 + 2·HS)·rowBlocks + (HS + 3)·B·NH·T}.
     */
    public static long softmaxFlopsForward(int B, int T, int NH, int HS) {
        return 5L * pairs(B, T, NH) + (5L + 2L * HS) * rowBlocks(B, T, NH) + (HS + 3L) * B * NH * T;
    }

    /**
     * Matmul FLOPs one backward call records (kind ATTENTION_MATMUL): dP = dO·Vᵀ, dV += Pᵀ·dO, dQ += dS·K,
     * dK += dSᵀ·Q over the unmasked pairs, {@code 2·HS} each per pair: {@code 8·HS·pairs}, the same as
     * {@link Attention#matmulFlopsBackward}.
     */
    public static long matmulFlopsBackward(int B, int T, int NH, int HS) {
        return 8L * HS * pairs(B, T, NH);
    }

    /**
     * The score matmul backward recomputes, {@code S = Q·Kᵀ} over the unmasked pairs (kind ATTENTION_RECOMPUTE, in
     * whatever phase the caller has set, normally BACKWARD): {@code 2·HS·pairs}, half the forward matmul count.
     */
    public static long recomputeFlopsBackward(int B, int T, int NH, int HS) {
        return 2L * HS * pairs(B, T, NH);
    }

    /**
     * Softmax FLOPs one backward call records (kind SOFTMAX). Per row {@code D = dO·O} (2·HS); per pair the scale
     * of the recomputed score, {@code - lse}, exp, {@code dP - D}, {@code ·P}, {@code ·1/sqrt(HS)} (6):
     * {@code 6·pairs + 2·HS·B·NH·T}.
     */
    public static long softmaxFlopsBackward(int B, int T, int NH, int HS) {
        return 6L * pairs(B, T, NH) + 2L * HS * B * NH * T;
    }

    /**
     * Bytes one forward call must move at the least: read q, k, v ({@code B·T·W} floats), write out
     * ({@code B·T·NH·HS}) and lse ({@code B·NH·T}); 4 bytes each. No {@code T²} term.
     */
    public static long bytesForward(int B, int T, int NH, int KVH, int HS) {
        long W = (long) (NH + 2 * KVH) * HS;
        return 4L * ((long) B * T * W + (long) B * T * NH * HS + (long) B * NH * T);
    }

    /**
     * Bytes one backward call must move at the least: read q, k, v ({@code B·T·W}), out and dout
     * ({@code 2·B·T·NH·HS}) and lse ({@code B·NH·T}); read and write dqkv ({@code 2·B·T·W}); 4 bytes each. No
     * {@code T²} term.
     */
    public static long bytesBackward(int B, int T, int NH, int KVH, int HS) {
        long W = (long) (NH + 2 * KVH) * HS;
        return 4L * (3L * B * T * W + 2L * B * T * NH * HS + (long) B * NH * T);
    }

    private static void accountForward(int B, int T, int NH, int KVH, int HS) {
        long lseBytes = 4L * B * NH * T;
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsForward(B, T, NH, HS),
                bytesForward(B, T, NH, KVH, HS) - lseBytes);
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsForward(B, T, NH, HS), lseBytes);
    }

    private static void accountBackward(int B, int T, int NH, int KVH, int HS) {
        long lseBytes = 4L * B * NH * T;
        Ledger.add(Ledger.Kind.ATTENTION_RECOMPUTE, recomputeFlopsBackward(B, T, NH, HS), 0);
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsBackward(B, T, NH, HS),
                bytesBackward(B, T, NH, KVH, HS) - lseBytes);
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsBackward(B, T, NH, HS), lseBytes);
    }

    // ------------------------------------------------------------------------------------------------ checks

    /** Validates the head counts; package-private for {@link DecodeAttention}. */
    static void checkHeads(String what, int NH, int KVH, int HS) {
        if (NH <= 0 || KVH <= 0 || HS <= 0) {
            throw new IllegalArgumentException(what + ": bad head sizes NH=" + NH + " KVH=" + KVH + " HS=" + HS
                    + " (need NH, KVH, HS >= 1)");
        }
        if (NH % KVH != 0) {
            throw new IllegalArgumentException(what + ": KVH=" + KVH + " key/value heads do not divide NH=" + NH
                    + " query heads; choose a KV head count that divides the query head count");
        }
    }

    static void checkLen(String what, String name, float[] a, long need) {
        if (a.length < need) {
            throw new IllegalArgumentException(what + ": " + name + " has length " + a.length
                    + " but the shapes need " + need);
        }
    }

    private static void checkForward(String what, float[] out, float[] lse, float[] qkv, int B, int T, int NH,
            int KVH, int HS) {
        checkHeads("FlashAttention." + what, NH, KVH, HS);
        if (B < 0 || T < 0) {
            throw new IllegalArgumentException("FlashAttention." + what + ": bad sizes B=" + B + " T=" + T
                    + " (need B, T >= 0)");
        }
        long W = (long) (NH + 2 * KVH) * HS;
        checkLen("FlashAttention." + what, "qkv", qkv, (long) B * T * W);
        checkLen("FlashAttention." + what, "out", out, (long) B * T * NH * HS);
        checkLen("FlashAttention." + what, "lse", lse, (long) B * NH * T);
    }

    // ------------------------------------------------------------------------------------------------ forward

    /**
     * Forward: overwrites {@code out [B, T, NH·HS]} and {@code lse [B, NH, T]} (the natural log of each row's
     * {@code Σ exp(score)}, scores already scaled by 1/sqrt(HS); backward needs it) from {@code qkv}
     * ({@code [B, T, (NH + 2·KVH)·HS]}, see the class comment). Vector API, one task per (b, h); scratch per task
     * is {@code O(T·HS + BLOCK²)} floats, never {@code T²}.
     */
    public static void forward(float[] out, float[] lse, float[] qkv, int B, int T, int NH, int KVH, int HS) {
        checkForward("forward", out, lse, qkv, B, T, NH, KVH, HS);
        accountForward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int nb = (T + BLOCK - 1) / BLOCK;
        Parallel.forRange(B * NH, 1, (from, to) -> {
            float[] kt = new float[nb * HS * BLOCK];
            float[] vp = new float[T * HS];
            float[] qb = new float[BLOCK * HS];
            float[] s = new float[BLOCK * BLOCK];
            float[] o = new float[BLOCK * HS];
            float[] m = new float[BLOCK];
            float[] l = new float[BLOCK * S.length()];
            float[] a = new float[BLOCK];
            for (int bh = from; bh < to; bh++) {
                forwardHead(out, lse, qkv, kt, vp, qb, s, o, m, l, a, bh / NH, bh % NH, T, NH, KVH, HS, scale);
            }
        });
    }

    private static void forwardHead(float[] out, float[] lse, float[] qkv, float[] kt, float[] vp, float[] qb,
            float[] s, float[] o, float[] m, float[] l, float[] a, int b, int h, int T, int NH, int KVH, int HS,
            float scale) {
        int W = (NH + 2 * KVH) * HS;
        int g = h / (NH / KVH);
        int row0 = b * T * W;
        int q = row0 + h * HS;
        int C = NH * HS;
        // kt[jb][d][j] = k[jb·BLOCK + j, d]: Kᵀ packed block by block, so score rows come out of vector FMAs
        packTransposed(kt, qkv, row0 + NH * HS + g * HS, W, T, HS);
        // vp[t, d] = v[t, d] and, per query block, qb[i, d] = q[i0 + i, d]: rows HS floats apart instead of W,
        // whose large stride maps the rows of a block onto a few L1 sets
        pack(vp, qkv, row0 + (NH + KVH) * HS + g * HS, W, T, HS);
        for (int i0 = 0; i0 < T; i0 += BLOCK) {
            int bi = Math.min(BLOCK, T - i0);
            pack(qb, qkv, q + i0 * W, W, bi, HS);
            Arrays.fill(m, Float.NEGATIVE_INFINITY);
            Arrays.fill(l, 0f);
            Arrays.fill(o, 0f);
            // key blocks left of and on the diagonal; those right of it are skipped
            for (int j0 = 0; j0 <= i0; j0 += BLOCK) {
                int bj = Math.min(BLOCK, T - j0);
                boolean diag = j0 == i0;
                // s[i, j] = scale · q[i0+i]·k[j0+j]  (diagonal block: stops at the diagonal)
                matmul(bi, bj, HS, qb, 0, HS, 1, kt, j0 * HS, BLOCK, s, 0, BLOCK, scale, false,
                        diag ? CAUSAL_N : FULL);
                // online softmax: new row maxes, p = exp(s - m) in place, l and o rescaled
                onlineBlock(s, bi, bj, diag, bj, m, l, 0, a);
                for (int i = 0; i < bi; i++) {
                    // a = 1 when the block did not raise the row's max: o·1 is o, skip it
                    if (a[i] != 1f) {
                        scaleRow(o, i * HS, HS, a[i]);
                    }
                }
                // o[i] += Σ_j p[i, j] · v[j0+j]  (diagonal block: p is zero right of the diagonal)
                matmul(bi, HS, bj, s, 0, BLOCK, 1, vp, j0 * HS, HS, o, 0, HS, 1f, true,
                        diag ? CAUSAL_K_UPTO : FULL);
            }
            // out = o / l, lse = m + log l
            for (int i = 0; i < bi; i++) {
                int t = i0 + i;
                float li = rowSum(l, i);
                finishRow(out, (b * T + t) * C + h * HS, o, i * HS, HS, li);
                lse[(b * NH + h) * T + t] = m[i] + (float) Math.log(li);
            }
        }
    }

    /**
     * The online softmax on a block of score rows. Row {@code i < rows} is {@code s[i·BLOCK, i·BLOCK + n_i)} with
     * {@code n_i = diag ? i + 1 : n} unmasked entries of {@code cols}, and state {@code m[r0 + i]} (running max)
     * and {@code l[(r0+i)·L, (r0+i+1)·L)} (running sum). Per row: {@code m_new = max(m, max s)},
     * {@code s = exp(s - m_new)} in place with exact zeros on {@code [n_i, cols)}, {@code l = l·a + Σ exp},
     * {@code m = m_new}; {@code a[i] = exp(m_old - m_new)} (0 on the first block, where {@code m_old = -inf}) is
     * returned for the caller to rescale the row's partial output. Rows must have room for {@code n} rounded up to
     * whole vectors ({@link #BLOCK} floats do, as BLOCK is a multiple of every vector length); {@code a} needs
     * {@code rows} floats. Package-private: the decode kernel calls it (one row) so its rows have the same bits.
     *
     * <p>Why it looks like this (each found in the profile of the forward pass):
     * <ul>
     * <li>It runs in phases over all the rows (every row's max; then the rescale factors, one vector exp for
     * L rows, whose bits equal the scalar {@link Vectors#exp(float)}'s; then every row's exps), so the latency
     * chains of different rows overlap; row by row, each max reduction → exp → sum chain ran nearly alone.</li>
     * <li>The sum {@code l} is kept as a vector of lane sums per row (L the vector length, zeros at the start)
     * and reduced once, by {@link #rowSum}, when the row is done: a horizontal sum (a chain of L scalar adds) per
     * row and block was a visible share.</li>
     * <li>The partial last vector (the diagonal block's rows end at every length) is a vector, not scalar exps:
     * its lanes past {@code n_i} are set to -inf, so they take no part in the max, and exp makes exact zeros of
     * them, which the sum absorbs without changing a bit and which are the masked entries' values anyway.</li>
     * </ul>
     */
    static void onlineBlock(float[] s, int rows, int n, boolean diag, int cols, float[] m, float[] l, int r0,
            float[] a) {
        // three small methods, not one: C2 stops inlining Vectors.exp into one big method (NodeCountInliningCutoff),
        // and a vector passed to a call that is not inlined is boxed
        blockMax(s, rows, n, diag, m, r0, a);
        rescaleFactors(rows, m, r0, a);
        blockExp(s, rows, n, diag, cols, m, l, r0, a);
    }

    /** {@code a[i] = m_new = max(m_old, max_j s[i, j])} (max is exact, so the order does not matter). */
    private static void blockMax(float[] s, int rows, int n, boolean diag, float[] m, int r0, float[] a) {
        int L = S.length();
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < rows; i++) {
            int off = i * BLOCK;
            int ni = diag ? i + 1 : n;
            int full = S.loopBound(ni);
            FloatVector vmax = ninf;
            for (int j = 0; j < full; j += L) {
                vmax = vmax.max(FloatVector.fromArray(S, s, off + j));
            }
            if (full < ni) {
                vmax = vmax.max(ninf.blend(FloatVector.fromArray(S, s, off + full), S.indexInRange(full, ni)));
            }
            a[i] = Math.max(m[r0 + i], vmax.reduceLanes(VectorOperators.MAX));
        }
    }

    /** {@code m = m_new} (from a), {@code a = exp(m_old - m_new)}: L rows per vector exp, the scalar twin after. */
    private static void rescaleFactors(int rows, float[] m, int r0, float[] a) {
        for (int i = 0; i < rows; i++) {
            float mOld = m[r0 + i];
            m[r0 + i] = a[i];
            a[i] = mOld - a[i];
        }
        int i = 0;
        for (int up = S.loopBound(rows); i < up; i += S.length()) {
            Vectors.exp(FloatVector.fromArray(S, a, i)).intoArray(a, i);
        }
        for (; i < rows; i++) {
            a[i] = Vectors.exp(a[i]);
        }
    }

    /** {@code s = exp(s - m)} in place, zeros on {@code [n_i, cols)}; {@code l = l·a + Σ exp}, lane by lane. */
    private static void blockExp(float[] s, int rows, int n, boolean diag, int cols, float[] m, float[] l, int r0,
            float[] a) {
        int L = S.length();
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < rows; i++) {
            int off = i * BLOCK;
            int ni = diag ? i + 1 : n;
            FloatVector vm = FloatVector.broadcast(S, m[r0 + i]);
            FloatVector acc = FloatVector.zero(S);
            int done = 0;
            for (; done < ni; done += L) {
                // one exp call site: the partial last vector takes the same path, its lanes past n_i at -inf
                FloatVector x = FloatVector.fromArray(S, s, off + done);
                if (done + L > ni) {
                    x = ninf.blend(x, S.indexInRange(done, ni));
                }
                FloatVector e = Vectors.exp(x.sub(vm));
                e.intoArray(s, off + done);
                acc = acc.add(e);
            }
            if (done < cols) {
                Arrays.fill(s, off + done, off + cols, 0f);
            }
            int lr = (r0 + i) * L;
            FloatVector.fromArray(S, l, lr).fma(FloatVector.broadcast(S, a[i]), acc).intoArray(l, lr);
        }
    }

    /** The row sum {@code l} of row {@code r} from its lanes {@code l[r·L, (r+1)·L)}, left to right. */
    static float rowSum(float[] l, int r) {
        return Vectors.sum(FloatVector.fromArray(S, l, r * S.length()));
    }

    /** {@code o[off, off+n) *= a}. */
    static void scaleRow(float[] o, int off, int n, float a) {
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, o, off + i).mul(a).intoArray(o, off + i);
        }
        for (; i < n; i++) {
            o[off + i] *= a;
        }
    }

    /** {@code out[at + d] = o[off + d] · (1/l)} for {@code d < n}. */
    static void finishRow(float[] out, int at, float[] o, int off, int n, float l) {
        float inv = 1f / l;
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, o, off + i).mul(inv).intoArray(out, at + i);
        }
        for (; i < n; i++) {
            out[at + i] = o[off + i] * inv;
        }
    }

    /** {@code dst[t·HS + d] = src[off + t·ld + d]} for {@code t < rows, d < HS}. */
    private static void pack(float[] dst, float[] src, int off, int ld, int rows, int HS) {
        for (int t = 0; t < rows; t++) {
            System.arraycopy(src, off + t * ld, dst, t * HS, HS);
        }
    }

    /**
     * {@code dst[jb·HS·BLOCK + d·BLOCK + j] = src[off + (jb·BLOCK + j)·ld + d]} for {@code t = jb·BLOCK + j < T},
     * {@code d < HS}; positions past T in the last block are zero. Block-contiguous, so a block's rows are
     * {@code BLOCK} floats apart (not T, whose power-of-two stride thrashes L1).
     */
    private static void packTransposed(float[] dst, float[] src, int off, int ld, int T, int HS) {
        for (int j0 = 0; j0 < T; j0 += BLOCK) {
            int bj = Math.min(BLOCK, T - j0);
            int base = j0 * HS;
            for (int d = 0; d < HS; d++) {
                int o = base + d * BLOCK;
                for (int j = 0; j < bj; j++) {
                    dst[o + j] = src[off + (j0 + j) * ld + d];
                }
                Arrays.fill(dst, o + bj, o + BLOCK, 0f);
            }
        }
    }

    /** Scalar twin of {@link #forward}: the same online softmax, one query row at a time, plain loops. */
    public static void forwardScalar(float[] out, float[] lse, float[] qkv, int B, int T, int NH, int KVH, int HS) {
        checkForward("forwardScalar", out, lse, qkv, B, T, NH, KVH, HS);
        accountForward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int W = (NH + 2 * KVH) * HS;
        int C = NH * HS;
        float[] p = new float[BLOCK];
        float[] o = new float[HS];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / (NH / KVH);
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * W + h * HS;
                    float m = Float.NEGATIVE_INFINITY;
                    float l = 0f;
                    Arrays.fill(o, 0f);
                    for (int j0 = 0; j0 <= t; j0 += BLOCK) {
                        int n = Math.min(BLOCK, t + 1 - j0);
                        // scores of this key block, and its max
                        float mNew = m;
                        for (int j = 0; j < n; j++) {
                            int k = (b * T + j0 + j) * W + NH * HS + g * HS;
                            float s = 0f;
                            for (int d = 0; d < HS; d++) {
                                s = Math.fma(qkv[q + d], qkv[k + d], s);
                            }
                            p[j] = s * scale;
                            mNew = Math.max(mNew, p[j]);
                        }
                        // p = exp(s - m_new); rescale l and o by exp(m_old - m_new)
                        float sum = 0f;
                        for (int j = 0; j < n; j++) {
                            p[j] = Vectors.exp(p[j] - mNew);
                            sum += p[j];
                        }
                        float a = Vectors.exp(m - mNew);
                        l = l * a + sum;
                        m = mNew;
                        // o = o·a + Σ_j p[j]·v[j]
                        for (int d = 0; d < HS; d++) {
                            float acc = 0f;
                            for (int j = 0; j < n; j++) {
                                acc = Math.fma(p[j], qkv[(b * T + j0 + j) * W + (NH + KVH) * HS + g * HS + d], acc);
                            }
                            o[d] = o[d] * a + acc;
                        }
                    }
                    // out = o / l, lse = m + log l
                    float inv = 1f / l;
                    for (int d = 0; d < HS; d++) {
                        out[(b * T + t) * C + h * HS + d] = o[d] * inv;
                    }
                    lse[(b * NH + h) * T + t] = m + (float) Math.log(l);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ backward

    private static void checkBackward(String what, float[] dqkv, float[] dout, float[] out, float[] lse,
            float[] qkv, int B, int T, int NH, int KVH, int HS) {
        checkForward(what, out, lse, qkv, B, T, NH, KVH, HS);
        long W = (long) (NH + 2 * KVH) * HS;
        checkLen("FlashAttention." + what, "dqkv", dqkv, (long) B * T * W);
        checkLen("FlashAttention." + what, "dout", dout, (long) B * T * NH * HS);
    }

    /**
     * Backward. ACCUMULATES ({@code +=}) into {@code dqkv} (same layout as {@code qkv}): dQ of every query head,
     * dK and dV of every KV head (with grouped-query attention a K/V head gathers the gradients of all the query
     * heads that read it). {@code out} and {@code lse} must be what {@link #forward} returned for this
     * {@code qkv}. Each score tile is recomputed from Q, K and lse; no {@code T × T} buffer. Vector API, one task
     * per (b, kv-head), fixed order inside: bit-identical for any thread count.
     * <pre>
     *   p[t,t2]   = exp(q[t]·k[t2]/sqrt(HS) - lse[t])            D[t] = dout[t]·out[t]
     *   dp[t,t2]  = dout[t]·v[t2]                               dv[t2] += Σ_t p[t,t2]·dout[t]
     *   ds[t,t2]  = p[t,t2]·(dp[t,t2] - D[t]) / sqrt(HS)
     *   dq[t]    += Σ_t2 ds[t,t2]·k[t2]                         dk[t2] += Σ_t ds[t,t2]·q[t]
     * </pre>
     */
    public static void backward(float[] dqkv, float[] dout, float[] out, float[] lse, float[] qkv, int B, int T,
            int NH, int KVH, int HS) {
        checkBackward("backward", dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
        accountBackward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int nb = (T + BLOCK - 1) / BLOCK;
        Parallel.forRange(B * KVH, 1, (from, to) -> {
            float[] kt = new float[nb * HS * BLOCK];
            float[] vt = new float[nb * HS * BLOCK];
            float[] p = new float[BLOCK * BLOCK];
            float[] ds = new float[BLOCK * BLOCK];
            float[] dd = new float[T];
            for (int bg = from; bg < to; bg++) {
                backwardGroup(dqkv, dout, out, lse, qkv, kt, vt, p, ds, dd, bg / KVH, bg % KVH, T, NH, KVH, HS,
                        scale);
            }
        });
    }

    private static void backwardGroup(float[] dqkv, float[] dout, float[] out, float[] lse, float[] qkv, float[] kt,
            float[] vt, float[] p, float[] ds, float[] dd, int b, int g, int T, int NH, int KVH, int HS,
            float scale) {
        int W = (NH + 2 * KVH) * HS;
        int C = NH * HS;
        int G = NH / KVH;
        int row0 = b * T * W;
        int k = row0 + NH * HS + g * HS;
        int v = row0 + (NH + KVH) * HS + g * HS;
        packTransposed(kt, qkv, k, W, T, HS);
        packTransposed(vt, qkv, v, W, T, HS);
        for (int h = g * G; h < (g + 1) * G; h++) {
            int q = row0 + h * HS;
            int go = b * T * C + h * HS;
            int lseOff = (b * NH + h) * T;
            // D[t] = dout[t]·out[t]
            for (int t = 0; t < T; t++) {
                dd[t] = dot(dout, go + t * C, out, go + t * C, HS);
            }
            // key blocks outer (dK, dV of the block stay hot), query blocks on and below the diagonal inner
            for (int j0 = 0; j0 < T; j0 += BLOCK) {
                int bj = Math.min(BLOCK, T - j0);
                for (int i0 = j0; i0 < T; i0 += BLOCK) {
                    int bi = Math.min(BLOCK, T - i0);
                    boolean diag = i0 == j0;
                    // recompute p[i, j] = exp(scale · q[i0+i]·k[j0+j] - lse[i0+i]), zero right of the diagonal
                    matmul(bi, bj, HS, qkv, q + i0 * W, W, 1, kt, j0 * HS, BLOCK, p, 0, BLOCK, scale, false,
                            diag ? CAUSAL_N : FULL);
                    for (int i = 0; i < bi; i++) {
                        probRow(p, i * BLOCK, diag ? i + 1 : bj, bj, lse[lseOff + i0 + i]);
                    }
                    // dp[i, j] = dout[i0+i]·v[j0+j]
                    matmul(bi, bj, HS, dout, go + i0 * C, C, 1, vt, j0 * HS, BLOCK, ds, 0, BLOCK, 1f, false,
                            diag ? CAUSAL_N : FULL);
                    // ds = p·(dp - D)·scale, zero right of the diagonal
                    for (int i = 0; i < bi; i++) {
                        dsRow(ds, p, i * BLOCK, diag ? i + 1 : bj, bj, dd[i0 + i], scale);
                    }
                    // dv[j0+j] += Σ_i p[i, j]·dout[i0+i]   (Pᵀ by swapped strides)
                    matmul(bj, HS, bi, p, 0, 1, BLOCK, dout, go + i0 * C, C, dqkv, v + j0 * W, W, 1f, true,
                            diag ? CAUSAL_K_FROM : FULL);
                    // dk[j0+j] += Σ_i ds[i, j]·q[i0+i]
                    matmul(bj, HS, bi, ds, 0, 1, BLOCK, qkv, q + i0 * W, W, dqkv, k + j0 * W, W, 1f, true,
                            diag ? CAUSAL_K_FROM : FULL);
                    // dq[i0+i] += Σ_j ds[i, j]·k[j0+j]
                    matmul(bi, HS, bj, ds, 0, BLOCK, 1, qkv, k + j0 * W, W, dqkv, q + i0 * W, W, 1f, true,
                            diag ? CAUSAL_K_UPTO : FULL);
                }
            }
        }
    }

    /**
     * {@code p[off+j] = exp(p[off+j] - lse)} for {@code j < n}, exact zeros on {@code [n, cols)}. One exp call site
     * (the partial last vector's lanes past n set to -inf, which exp makes exact zeros), so C2 inlines it.
     */
    private static void probRow(float[] p, int off, int n, int cols, float lse) {
        int L = S.length();
        FloatVector vl = FloatVector.broadcast(S, lse);
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int done = 0;
        for (; done < n; done += L) {
            FloatVector x = FloatVector.fromArray(S, p, off + done);
            if (done + L > n) {
                x = ninf.blend(x, S.indexInRange(done, n));
            }
            Vectors.exp(x.sub(vl)).intoArray(p, off + done);
        }
        if (done < cols) {
            Arrays.fill(p, off + done, off + cols, 0f);
        }
    }

    /** In place {@code ds[off+j] = p[off+j]·(ds[off+j] - D)·scale} for {@code j < n}, exact zeros on {@code [n, cols)}. */
    private static void dsRow(float[] ds, float[] p, int off, int n, int cols, float D, float scale) {
        FloatVector vd = FloatVector.broadcast(S, D);
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, off + i);
            FloatVector.fromArray(S, ds, off + i).sub(vd).mul(pv).mul(scale).intoArray(ds, off + i);
        }
        for (; i < n; i++) {
            ds[off + i] = (ds[off + i] - D) * p[off + i] * scale;
        }
        Arrays.fill(ds, off + n, off + cols, 0f);
    }

    /** {@code Σ a[ao+i]·b[bo+i]} for {@code i < n}: one vector accumulator, {@link Vectors#sum}, scalar tail. */
    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        float s = Vectors.sum(acc);
        for (; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    /**
     * Scalar twin of {@link #backward}: the same tile order (per (b, kv-head): query heads, key blocks, query
     * positions on and below the diagonal), one (query, key) pair at a time, plain loops. ACCUMULATES into
     * {@code dqkv}.
     */
    public static void backwardScalar(float[] dqkv, float[] dout, float[] out, float[] lse, float[] qkv, int B,
            int T, int NH, int KVH, int HS) {
        checkBackward("backwardScalar", dqkv, dout, out, lse, qkv, B, T, NH, KVH, HS);
        accountBackward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int W = (NH + 2 * KVH) * HS;
        int C = NH * HS;
        int G = NH / KVH;
        for (int b = 0; b < B; b++) {
            for (int g = 0; g < KVH; g++) {
                for (int h = g * G; h < (g + 1) * G; h++) {
                    for (int j0 = 0; j0 < T; j0 += BLOCK) {
                        int j1 = Math.min(T, j0 + BLOCK);
                        for (int t = j0; t < T; t++) {
                            int q = (b * T + t) * W + h * HS;
                            int go = (b * T + t) * C + h * HS;
                            // D = dout[t]·out[t]
                            float D = 0f;
                            for (int d = 0; d < HS; d++) {
                                D = Math.fma(dout[go + d], out[go + d], D);
                            }
                            float lt = lse[(b * NH + h) * T + t];
                            for (int t2 = j0; t2 < Math.min(j1, t + 1); t2++) {
                                int k = (b * T + t2) * W + NH * HS + g * HS;
                                int v = (b * T + t2) * W + (NH + KVH) * HS + g * HS;
                                // recompute p, and dp = dout[t]·v[t2]
                                float s = 0f;
                                float dp = 0f;
                                for (int d = 0; d < HS; d++) {
                                    s = Math.fma(qkv[q + d], qkv[k + d], s);
                                    dp = Math.fma(dout[go + d], qkv[v + d], dp);
                                }
                                float p = Vectors.exp(s * scale - lt);
                                float ds = p * (dp - D) * scale;
                                // dv += p·dout, dq += ds·k, dk += ds·q
                                for (int d = 0; d < HS; d++) {
                                    dqkv[v + d] += p * dout[go + d];
                                    dqkv[q + d] += ds * qkv[k + d];
                                    dqkv[k + d] += ds * qkv[q + d];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ tile GEMM

    /** Which part of a tile's (i, j, k) space a diagonal-block product needs; see {@link #matmul}. */
    private static final int FULL = 0;
    private static final int CAUSAL_N = 1;
    private static final int CAUSAL_K_UPTO = 2;
    private static final int CAUSAL_K_FROM = 3;
    /**
     * Rows per micro-tile: 4 rows × 2 vectors = 8 independent accumulators, which cover the 4-cycle FMA latency on
     * two pipes without spilling (6 × 2 spills under C2: bench/NOTES.md, GEMM step 4).
     */
    private static final int MR = 4;

    /**
     * The small GEMM behind every product of a block pair: {@code c[i,j] = alpha·Σ_k a[i,k]·b[k,j]} (plus
     * {@code c[i,j]} if {@code acc}) for {@code i < M, j < N}, with {@code a[i,k] = a[aOff + i·ars + k·acs]} (Aᵀ is
     * swapped strides), {@code b[k,j] = b[bOff + k·ldb + j]}, {@code c[i,j] = c[cOff + i·ldc + j]}. Each element is
     * one fma chain over k from its first k upward, starting from zero, in every tile shape, so its bits do not
     * depend on the tile that computes it.
     *
     * <p>Causal modes, for a diagonal block (local row i and column j on the diagonal when i = j), per tile of rows
     * {@code [i0, i1)}: CAUSAL_N computes only columns below {@code i1} (rounded up to the vector tile; the caller
     * overwrites the extra entries right of the diagonal); CAUSAL_K_UPTO sums only {@code k < i1}, CAUSAL_K_FROM
     * only {@code k >= i0}, exact when A is zero right of (resp. left of) the diagonal, as P and dS are there. The
     * terms they skip or add are exact zeros, which an fma chain adds without changing a bit.
     */
    private static void matmul(int M, int N, int K, float[] a, int aOff, int ars, int acs, float[] b, int bOff,
            int ldb, float[] c, int cOff, int ldc, float alpha, boolean acc, int mode) {
        int L = S.length();
        int i0 = 0;
        for (; i0 + MR <= M; i0 += MR) {
            int i1 = i0 + MR;
            int nEnd = mode == CAUSAL_N ? Math.min(N, i1) : N;
            int kFrom = mode == CAUSAL_K_FROM ? i0 : 0;
            int kTo = mode == CAUSAL_K_UPTO ? Math.min(K, i1) : K;
            int j = 0;
            for (; j < nEnd && j + 2 * L <= N; j += 2 * L) {
                tile4x2(kFrom, kTo, a, aOff + i0 * ars, ars, acs, b, bOff + j, ldb, c, cOff + i0 * ldc + j, ldc,
                        alpha, acc);
            }
            for (int i = i0; i < i1; i++) {
                rowTail(i, j, N, kFrom, kTo, a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, alpha, acc, mode);
            }
        }
        for (int i = i0; i < M; i++) {
            int kFrom = mode == CAUSAL_K_FROM ? i : 0;
            int kTo = mode == CAUSAL_K_UPTO ? Math.min(K, i + 1) : K;
            rowTail(i, 0, N, kFrom, kTo, a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, alpha, acc, mode);
        }
    }

    /** Row i of C from column j on: two vectors at a time, one vector, then scalar columns. */
    private static void rowTail(int i, int j, int N, int kFrom, int kTo, float[] a, int aOff, int ars, int acs,
            float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, float alpha, boolean acc, int mode) {
        int L = S.length();
        int jEnd = mode == CAUSAL_N ? Math.min(N, i + 1) : N;
        int ai = aOff + i * ars;
        for (; j < jEnd && j + 2 * L <= N; j += 2 * L) {
            tile1x2(kFrom, kTo, a, ai, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, alpha, acc);
        }
        for (; j < jEnd && j + L <= N; j += L) {
            FloatVector c0 = FloatVector.zero(S);
            for (int k = kFrom; k < kTo; k++) {
                c0 = FloatVector.broadcast(S, a[ai + k * acs]).fma(FloatVector.fromArray(S, b, bOff + k * ldb + j), c0);
            }
            store(c, cOff + i * ldc + j, c0, alpha, acc);
        }
        for (; j < jEnd; j++) {
            float s = 0f;
            for (int k = kFrom; k < kTo; k++) {
                s = Math.fma(a[ai + k * acs], b[bOff + k * ldb + j], s);
            }
            int ci = cOff + i * ldc + j;
            c[ci] = acc ? Math.fma(alpha, s, c[ci]) : alpha * s;
        }
    }

    /** MR = 4 rows × 2 vectors of C, summing k in [kFrom, kTo). */
    private static void tile4x2(int kFrom, int kTo, float[] a, int aOff, int ars, int acs, float[] b, int bOff,
            int ldb, float[] c, int cOff, int ldc, float alpha, boolean acc) {
        int L = S.length();
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S);
        FloatVector c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S);
        FloatVector c31 = FloatVector.zero(S);
        int ap = aOff + kFrom * acs;
        int bp = bOff + kFrom * ldb;
        for (int k = kFrom; k < kTo; k++, ap += acs, bp += ldb) {
            // one k step: two B vectors, four broadcast A entries, eight independent FMAs
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + L);
            FloatVector av = FloatVector.broadcast(S, a[ap]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ap + ars]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ap + 2 * ars]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ap + 3 * ars]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
        }
        // written out, not through a helper: C2 does not always inline a store(vector, ...) call from this big
        // method, and a vector passed to a call that is not inlined is boxed
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (acc) {
            c00.fma(va, FloatVector.fromArray(S, c, cOff)).intoArray(c, cOff);
            c01.fma(va, FloatVector.fromArray(S, c, cOff + L)).intoArray(c, cOff + L);
            c10.fma(va, FloatVector.fromArray(S, c, cOff + ldc)).intoArray(c, cOff + ldc);
            c11.fma(va, FloatVector.fromArray(S, c, cOff + ldc + L)).intoArray(c, cOff + ldc + L);
            c20.fma(va, FloatVector.fromArray(S, c, cOff + 2 * ldc)).intoArray(c, cOff + 2 * ldc);
            c21.fma(va, FloatVector.fromArray(S, c, cOff + 2 * ldc + L)).intoArray(c, cOff + 2 * ldc + L);
            c30.fma(va, FloatVector.fromArray(S, c, cOff + 3 * ldc)).intoArray(c, cOff + 3 * ldc);
            c31.fma(va, FloatVector.fromArray(S, c, cOff + 3 * ldc + L)).intoArray(c, cOff + 3 * ldc + L);
        } else {
            c00.mul(va).intoArray(c, cOff);
            c01.mul(va).intoArray(c, cOff + L);
            c10.mul(va).intoArray(c, cOff + ldc);
            c11.mul(va).intoArray(c, cOff + ldc + L);
            c20.mul(va).intoArray(c, cOff + 2 * ldc);
            c21.mul(va).intoArray(c, cOff + 2 * ldc + L);
            c30.mul(va).intoArray(c, cOff + 3 * ldc);
            c31.mul(va).intoArray(c, cOff + 3 * ldc + L);
        }
    }

    /** One row × two vectors of C: two independent chains (different columns), each in k order. */
    private static void tile1x2(int kFrom, int kTo, float[] a, int aOff, int acs, float[] b, int bOff, int ldb,
            float[] c, int cOff, float alpha, boolean acc) {
        int L = S.length();
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        for (int k = kFrom; k < kTo; k++) {
            FloatVector av = FloatVector.broadcast(S, a[aOff + k * acs]);
            c0 = av.fma(FloatVector.fromArray(S, b, bOff + k * ldb), c0);
            c1 = av.fma(FloatVector.fromArray(S, b, bOff + k * ldb + L), c1);
        }
        store(c, cOff, c0, alpha, acc);
        store(c, cOff + L, c1, alpha, acc);
    }

    private static void store(float[] c, int off, FloatVector v, float alpha, boolean acc) {
        if (acc) {
            v.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, off)).intoArray(c, off);
        } else {
            v.mul(alpha).intoArray(c, off);
        }
    }
}
