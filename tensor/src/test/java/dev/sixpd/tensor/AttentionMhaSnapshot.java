package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A verbatim copy of {@link Attention}'s multi-head kernels as they were on main at 6939663, before the
 * grouped-query generalisation (only the class name, this comment and the prefix of the error messages differ).
 * {@link AttentionTest} checks that the multi-head methods, now delegating to the grouped-query ones, still give
 * exactly these bits: the model's losses are tested to the bit against a recorded trace. Test code only; delete it
 * together with that test once the trace is re-recorded on a different attention kernel.
 */
final class AttentionMhaSnapshot {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private AttentionMhaSnapshot() {
    }

    /** Unmasked (query, key) pairs over the whole batch: {@code B·NH·T·(T+1)/2}. */
    public static long pairs(int B, int T, int NH) {
        return (long) B * NH * T * (T + 1) / 2;
    }

    /**
     * Matmul FLOPs one forward call records (kind ATTENTION_MATMUL): QKᵀ and A·V over the unmasked pairs only,
     * {@code 2·hs} each per pair: {@code 4·hs·B·NH·T(T+1)/2 = 2·B·C·T·(T+1)}.
     */
    public static long matmulFlopsForward(int B, int T, int C, int NH) {
        return 2L * B * C * T * (T + 1);
    }

    /**
     * Matmul FLOPs one backward call records (kind ATTENTION_MATMUL): dA = dO·Vᵀ, dV += Aᵀ·dO, dQ += dS·K,
     * dK += dSᵀ·Q over the unmasked pairs only, {@code 2·hs} each per pair: {@code 4·B·C·T·(T+1)}, exactly twice
     * the forward.
     */
    public static long matmulFlopsBackward(int B, int T, int C, int NH) {
        return 4L * B * C * T * (T + 1);
    }

    /**
     * Softmax FLOPs one forward call records (kind SOFTMAX): per pair the 1/sqrt(hs) scale (1) and the softmax's
     * max, subtract, exp, sum, normalise (5); per row one reciprocal: {@code 6·pairs + B·NH·T}.
     */
    public static long softmaxFlopsForward(int B, int T, int C, int NH) {
        return 6L * pairs(B, T, NH) + (long) B * NH * T;
    }

    /**
     * Softmax FLOPs one backward call records (kind SOFTMAX): per pair the row dot Σ att·datt (2), att·(datt - s)
     * (2) and the 1/sqrt(hs) scale (1): {@code 5·pairs}.
     */
    public static long softmaxFlopsBackward(int B, int T, int C, int NH) {
        return 5L * pairs(B, T, NH);
    }

    private static int headSize(String what, int B, int T, int C, int NH) {
        if (B < 0 || T < 0 || C < 0 || NH <= 0) {
            throw new IllegalArgumentException("AttentionMhaSnapshot." + what + ": bad sizes B=" + B + " T=" + T + " C=" + C
                    + " NH=" + NH + " (need B, T, C >= 0 and NH >= 1)");
        }
        if (C % NH != 0) {
            throw new IllegalArgumentException("AttentionMhaSnapshot." + what + ": NH=" + NH + " heads do not divide C=" + C
                    + "; choose a head count that divides the model width");
        }
        return C / NH;
    }

    private static void checkLen(String what, String name, float[] a, long need) {
        if (a.length < need) {
            throw new IllegalArgumentException("AttentionMhaSnapshot." + what + ": " + name + " has length " + a.length
                    + " but the shapes need " + need);
        }
    }

    private static void accountForward(int B, int T, int C, int NH) {
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsForward(B, T, C, NH), 4L * B * T * 4 * C);
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsForward(B, T, C, NH), 4L * B * NH * T * T);
    }

    private static void accountBackward(int B, int T, int C, int NH) {
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsBackward(B, T, C, NH), 4L * B * T * (3 * C + C + 6 * C));
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsBackward(B, T, C, NH), 4L * B * NH * T * T * 3);
    }

    /**
     * Forward: overwrites {@code out [B, T, C]} and {@code att [B, NH, T, T]} from {@code qkv [B, T, 3C]}. Vector
     * API, one task per (b, h).
     */
    public static void forward(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forward", B, T, C, NH);
        checkLen("forward", "out", out, (long) B * T * C);
        checkLen("forward", "att", att, (long) B * NH * T * T);
        checkLen("forward", "qkv", qkv, 3L * B * T * C);
        accountForward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(B * NH, 1, (from, to) -> {
            float[] kt = new float[hs * T];
            for (int bh = from; bh < to; bh++) {
                forwardHead(out, att, qkv, kt, bh / NH, bh % NH, T, C, NH, hs, scale);
            }
        });
    }

    private static void forwardHead(float[] out, float[] att, float[] qkv, float[] kt, int b, int h, int T, int C,
            int NH, int hs, float scale) {
        int C3 = 3 * C;
        int attBase = (b * NH + h) * T * T;
        int q = b * T * C3 + h * hs;
        int k = q + C;
        int v = q + 2 * C;
        // kt[d, t] = k[t, d]: Kᵀ packed so the score rows come out of vector FMAs without horizontal sums
        transpose(kt, qkv, k, C3, T, hs);
        // blocks of RB query rows, so each block's scores stay in L1 between the three steps
        for (int t0 = 0; t0 < T; t0 += RB) {
            int t1 = Math.min(T, t0 + RB);
            // att[t, t2] = scale · q[t]·k[t2] for t2 <= t (diagonal tiles also fill a few masked entries)
            matmul(t0, t1, T, hs, qkv, q, C3, 1, kt, 0, T, att, attBase, T, scale, false, CAUSAL_N);
            // softmax over each row's unmasked prefix; exact zeros after it
            for (int t = t0; t < t1; t++) {
                Softmax.rowForward(att, att, attBase + t * T, t + 1, T);
            }
            // out[t] = Σ_{t2 <= t} att[t, t2] · v[t2]
            matmul(t0, t1, hs, T, att, attBase, T, 1, qkv, v, C3, out, b * T * C + h * hs, C, 1f, false,
                    CAUSAL_K_UPTO);
        }
    }

    /**
     * {@code dst[d·T + t] = src[off + t·ld + d]} for {@code t < T, d < hs}, in blocks of 16 positions so the
     * writes stay contiguous and the 16 source rows stay in L1 (a plain column-order copy thrashes on the
     * power-of-two stride T).
     */
    private static void transpose(float[] dst, float[] src, int off, int ld, int T, int hs) {
        for (int t0 = 0; t0 < T; t0 += 16) {
            int t1 = Math.min(T, t0 + 16);
            for (int d = 0; d < hs; d++) {
                int o = d * T;
                for (int t = t0; t < t1; t++) {
                    dst[o + t] = src[off + t * ld + d];
                }
            }
        }
    }

    /** Which part of the (i, j, k) iteration space a causal product needs; see {@link #matmul}. */
    private static final int FULL = 0;
    private static final int CAUSAL_N = 1;
    private static final int CAUSAL_K_UPTO = 2;
    private static final int CAUSAL_K_FROM = 3;
    /**
     * Rows per micro-tile: 6 rows × 2 vectors = 12 independent accumulators (enough to cover the FMA latency on two
     * FMA pipes), plus 2 B vectors and a broadcast: 15 of AVX2's 16 vector registers.
     */
    private static final int MR = 6;
    /** Query rows per block of a head: a multiple of MR; 48 rows of T = 256 scores are 48 KB. */
    private static final int RB = 8 * MR;

    /**
     * The small GEMM behind every attention product: rows {@code iFrom <= i < iTo} of
     * {@code c[i,j] = alpha·Σ_k a[i,k]·b[k,j] (+ c[i,j] if acc)} with {@code a[i,k] = a[aOff + i·ars + k·acs]}
     * (so Aᵀ is just swapped strides), {@code b[k,j] = b[bOff + k·ldb + j]}, {@code c[i,j] = c[cOff + i·ldc + j]}. Micro-tiles of MR rows × 2 vectors, B rows
     * loaded as vectors, A entries broadcast; leftover rows one at a time, leftover columns one vector at a time
     * and then scalar.
     *
     * <p>Causal modes, per tile of rows {@code [i0, i1)}: CAUSAL_N computes only columns {@code j < i1} (rounded up
     * to the vector tile; the extra entries above the diagonal are garbage the caller overwrites); CAUSAL_K_UPTO
     * sums only {@code k < i1} and CAUSAL_K_FROM only {@code k >= i0}, which is exact when A is zero above
     * (resp. below) the diagonal in those tiles — true for softmax probabilities and their gradients.
     */
    private static void matmul(int iFrom, int iTo, int N, int K, float[] a, int aOff, int ars, int acs, float[] b,
            int bOff, int ldb, float[] c, int cOff, int ldc, float alpha, boolean acc, int mode) {
        int L = S.length();
        int i0 = iFrom;
        for (; i0 + MR <= iTo; i0 += MR) {
            int i1 = i0 + MR;
            int nEnd = mode == CAUSAL_N ? Math.min(N, i1) : N;
            int kFrom = mode == CAUSAL_K_FROM ? i0 : 0;
            int kTo = mode == CAUSAL_K_UPTO ? Math.min(K, i1) : K;
            int j = 0;
            for (; j < nEnd && j + 2 * L <= N; j += 2 * L) {
                tile6x2(kFrom, kTo, a, aOff + i0 * ars, ars, acs, b, bOff + j, ldb, c, cOff + i0 * ldc + j, ldc,
                        alpha, acc);
            }
            for (int i = i0; i < i1; i++) {
                rowTail(i, j, N, kFrom, kTo, a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, alpha, acc, mode);
            }
        }
        for (int i = i0; i < iTo; i++) {
            int kFrom = mode == CAUSAL_K_FROM ? i : 0;
            int kTo = mode == CAUSAL_K_UPTO ? Math.min(K, i + 1) : K;
            rowTail(i, 0, N, kFrom, kTo, a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, alpha, acc, mode);
        }
    }

    /** Row i of C from column j on: one vector at a time, then scalar columns. */
    private static void rowTail(int i, int j, int N, int kFrom, int kTo, float[] a, int aOff, int ars, int acs,
            float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, float alpha, boolean acc, int mode) {
        int L = S.length();
        int jEnd = mode == CAUSAL_N ? Math.min(N, i + 1) : N;
        for (; j < jEnd && j + L <= N; j += L) {
            tile1x1(kFrom, kTo, a, aOff + i * ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, alpha, acc);
        }
        for (; j < jEnd; j++) {
            float s = 0f;
            for (int k = kFrom; k < kTo; k++) {
                s = Math.fma(a[aOff + i * ars + k * acs], b[bOff + k * ldb + j], s);
            }
            int ci = cOff + i * ldc + j;
            c[ci] = acc ? Math.fma(alpha, s, c[ci]) : alpha * s;
        }
    }

    /** MR=6 rows × 2 vectors of C, summing k in [kFrom, kTo). */
    private static void tile6x2(int kFrom, int kTo, float[] a, int aOff, int ars, int acs, float[] b, int bOff,
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
        FloatVector c40 = FloatVector.zero(S);
        FloatVector c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S);
        FloatVector c51 = FloatVector.zero(S);
        int ap = aOff + kFrom * acs;
        int bp = bOff + kFrom * ldb;
        for (int k = kFrom; k < kTo; k++, ap += acs, bp += ldb) {
            // one k step: two B vectors, six broadcast A entries, twelve independent FMAs
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
            av = FloatVector.broadcast(S, a[ap + 4 * ars]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ap + 5 * ars]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        store(c, cOff, c00, alpha, acc);
        store(c, cOff + L, c01, alpha, acc);
        store(c, cOff + ldc, c10, alpha, acc);
        store(c, cOff + ldc + L, c11, alpha, acc);
        store(c, cOff + 2 * ldc, c20, alpha, acc);
        store(c, cOff + 2 * ldc + L, c21, alpha, acc);
        store(c, cOff + 3 * ldc, c30, alpha, acc);
        store(c, cOff + 3 * ldc + L, c31, alpha, acc);
        store(c, cOff + 4 * ldc, c40, alpha, acc);
        store(c, cOff + 4 * ldc + L, c41, alpha, acc);
        store(c, cOff + 5 * ldc, c50, alpha, acc);
        store(c, cOff + 5 * ldc + L, c51, alpha, acc);
    }

    /** One row × one vector of C. */
    private static void tile1x1(int kFrom, int kTo, float[] a, int aOff, int acs, float[] b, int bOff, int ldb,
            float[] c, int cOff, float alpha, boolean acc) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        int k = kFrom;
        // two chains so the FMA latency is not the bound
        for (; k + 1 < kTo; k += 2) {
            c0 = FloatVector.broadcast(S, a[aOff + k * acs]).fma(FloatVector.fromArray(S, b, bOff + k * ldb), c0);
            c1 = FloatVector.broadcast(S, a[aOff + (k + 1) * acs])
                    .fma(FloatVector.fromArray(S, b, bOff + (k + 1) * ldb), c1);
        }
        if (k < kTo) {
            c0 = FloatVector.broadcast(S, a[aOff + k * acs]).fma(FloatVector.fromArray(S, b, bOff + k * ldb), c0);
        }
        store(c, cOff, c0.add(c1), alpha, acc);
    }

    private static void store(float[] c, int off, FloatVector v, float alpha, boolean acc) {
        if (acc) {
            v.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, off)).intoArray(c, off);
        } else {
            v.mul(alpha).intoArray(c, off);
        }
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forwardScalar", B, T, C, NH);
        checkLen("forwardScalar", "out", out, (long) B * T * C);
        checkLen("forwardScalar", "att", att, (long) B * NH * T * T);
        checkLen("forwardScalar", "qkv", qkv, 3L * B * T * C);
        accountForward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        int C3 = 3 * C;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * C3 + h * hs;
                    int row = ((b * NH + h) * T + t) * T;
                    // scores for t2 <= t
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * C3 + C + h * hs;
                        float s = 0f;
                        for (int i = 0; i < hs; i++) {
                            s += qkv[q + i] * qkv[k + i];
                        }
                        att[row + t2] = s * scale;
                    }
                    // masked softmax
                    Softmax.rowForwardScalar(att, att, row, t + 1, T);
                    // weighted sum of values
                    int o = (b * T + t) * C + h * hs;
                    for (int i = 0; i < hs; i++) {
                        float s = 0f;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += att[row + t2] * qkv[(b * T + t2) * C3 + 2 * C + h * hs + i];
                        }
                        out[o + i] = s;
                    }
                }
            }
        }
    }

    /**
     * Backward. ACCUMULATES into {@code dqkv [B, T, 3C]}; {@code datt [B, NH, T, T]} is scratch and is overwritten
     * (on return it holds the gradient of the scaled scores, {@code dpre} below, with exact zeros above the diagonal;
     * the scalar twin leaves the masked entries as they were). {@code att} must be the probabilities saved by
     * {@link #forward}. Vector API, one task per (b, h).
     * <pre>
     *   datt[t,t2] = dout[t]·v[t2]                       dv[t2] += att[t,t2]·dout[t]
     *   dpre[t,t2] = att[t,t2]·(datt[t,t2] - Σ_j att[t,j]·datt[t,j]) / sqrt(hs)
     *   dq[t]     += Σ_t2 dpre[t,t2]·k[t2]               dk[t2] += dpre[t,t2]·q[t]
     * </pre>
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B, int T,
            int C, int NH) {
        int hs = headSize("backward", B, T, C, NH);
        checkBackward("backward", dqkv, datt, dout, qkv, att, B, T, C, NH);
        accountBackward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        Parallel.forRange(B * NH, 1, (from, to) -> {
            float[] vt = new float[hs * T];
            for (int bh = from; bh < to; bh++) {
                backwardHead(dqkv, datt, dout, qkv, att, vt, bh / NH, bh % NH, T, C, NH, hs, scale);
            }
        });
    }

    private static void checkBackward(String what, float[] dqkv, float[] datt, float[] dout, float[] qkv,
            float[] att, int B, int T, int C, int NH) {
        checkLen(what, "dqkv", dqkv, 3L * B * T * C);
        checkLen(what, "qkv", qkv, 3L * B * T * C);
        checkLen(what, "datt", datt, (long) B * NH * T * T);
        checkLen(what, "att", att, (long) B * NH * T * T);
        checkLen(what, "dout", dout, (long) B * T * C);
    }

    private static void backwardHead(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att,
            float[] vt, int b, int h, int T, int C, int NH, int hs, float scale) {
        int C3 = 3 * C;
        int attBase = (b * NH + h) * T * T;
        int q = b * T * C3 + h * hs;
        int k = q + C;
        int v = q + 2 * C;
        int go = b * T * C + h * hs;
        transpose(vt, qkv, v, C3, T, hs);
        // blocks of RB query rows, so each block's score gradients stay in L1 between the three steps
        for (int t0 = 0; t0 < T; t0 += RB) {
            int t1 = Math.min(T, t0 + RB);
            // datt[t, t2] = dout[t]·v[t2] for t2 <= t (diagonal tiles also fill a few masked entries)
            matmul(t0, t1, T, hs, dout, go, C, 1, vt, 0, T, datt, attBase, T, 1f, false, CAUSAL_N);
            // datt[t, :] = scale · att·(datt - Σ att·datt) on the unmasked prefix, exact zeros after it
            for (int t = t0; t < t1; t++) {
                softmaxBackwardRow(datt, att, attBase + t * T, t + 1, T, scale);
            }
            // dq[t] += Σ_{t2 <= t} datt[t, t2] · k[t2]
            matmul(t0, t1, hs, T, datt, attBase, T, 1, qkv, k, C3, dqkv, q, C3, 1f, true, CAUSAL_K_UPTO);
        }
        // dv[t2] += Σ_{t >= t2} att[t, t2] · dout[t]   (Aᵀ by swapped strides)
        matmul(0, T, hs, T, att, attBase, 1, T, dout, go, C, dqkv, v, C3, 1f, true, CAUSAL_K_FROM);
        // dk[t2] += Σ_{t >= t2} datt[t, t2] · q[t]
        matmul(0, T, hs, T, datt, attBase, 1, T, qkv, q, C3, dqkv, k, C3, 1f, true, CAUSAL_K_FROM);
    }

    /** In place: {@code d[j] = scale·p[j]·(d[j] - Σ_{j' < n} p[j']·d[j'])} for j < n, zero for n <= j < cols. */
    private static void softmaxBackwardRow(float[] d, float[] p, int off, int n, int cols, float scale) {
        float s = Reduce.dotBody(p, off, d, off, n);
        FloatVector vs = FloatVector.broadcast(S, s);
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, off + i);
            FloatVector.fromArray(S, d, off + i).sub(vs).mul(pv).mul(scale).intoArray(d, off + i);
        }
        for (; i < n; i++) {
            d[off + i] = (d[off + i] - s) * p[off + i] * scale;
        }
        java.util.Arrays.fill(d, off + n, off + cols, 0f);
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B,
            int T, int C, int NH) {
        int hs = headSize("backwardScalar", B, T, C, NH);
        checkBackward("backwardScalar", dqkv, datt, dout, qkv, att, B, T, C, NH);
        accountBackward(B, T, C, NH);
        float scale = (float) (1.0 / Math.sqrt(hs));
        int C3 = 3 * C;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    int row = ((b * NH + h) * T + t) * T;
                    int go = (b * T + t) * C + h * hs;
                    int q = (b * T + t) * C3 + h * hs;
                    // through the weighted sum of values
                    for (int t2 = 0; t2 <= t; t2++) {
                        int v = (b * T + t2) * C3 + 2 * C + h * hs;
                        float s = 0f;
                        for (int i = 0; i < hs; i++) {
                            s += dout[go + i] * qkv[v + i];
                            dqkv[v + i] += att[row + t2] * dout[go + i];
                        }
                        datt[row + t2] = s;
                    }
                    // through the softmax and the scale
                    float s = 0f;
                    for (int t2 = 0; t2 <= t; t2++) {
                        s += att[row + t2] * datt[row + t2];
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        datt[row + t2] = att[row + t2] * (datt[row + t2] - s) * scale;
                    }
                    // through the scores q·k
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * C3 + C + h * hs;
                        float d = datt[row + t2];
                        for (int i = 0; i < hs; i++) {
                            dqkv[q + i] += d * qkv[k + i];
                            dqkv[k + i] += d * qkv[q + i];
                        }
                    }
                }
            }
        }
    }
}
