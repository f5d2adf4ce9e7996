package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal self-attention on a fused QKV activation: multi-head (GPT-2 / llm.c layout) and grouped-query (LLaMA 2/3
 * style, {@code KVH} K/V heads shared by groups of {@code NH/KVH} query heads; {@code KVH = 1} is multi-query).
 *
 * <p>Shapes, grouped-query form ({@code NH} query heads, {@code KVH} K/V heads of size {@code HS}, {@code NH} a
 * multiple of {@code KVH}): {@code qkv [B, T, W]} with {@code W = (NH + 2·KVH)·HS} holds q, k, v side by side:
 * query head {@code h} at columns {@code [h·HS, (h+1)·HS)}, K head {@code g} at {@code NH·HS + g·HS}, V head
 * {@code g} at {@code (NH + KVH)·HS + g·HS}. Query head {@code h} attends with K/V head {@code g = h / (NH/KVH)}
 * (consecutive query heads share a K/V head, as Hugging Face's {@code repeat_kv}). {@code att [B, NH, T, T]}
 * receives the softmax probabilities (saved for backward; the masked upper triangle is written as zeros).
 * {@code out [B, T, NH·HS]} receives the heads' outputs side by side.
 * <pre>
 *   att[b,h,t,t2] = softmax_{t2 <= t}( q[b,t,h]·k[b,t2,g(h)] / sqrt(HS) )
 *   out[b,t,h]    = Σ_{t2 <= t} att[b,h,t,t2] · v[b,t2,g(h)]
 * </pre>
 * The multi-head methods taking {@code (C, NH)} are the case {@code KVH = NH}, {@code HS = C/NH}, {@code W = 3C}
 * ({@code qkv[b,t, 0:C]} = q, {@code C:2C} = k, {@code 2C:3C} = v) and delegate to the grouped-query ones.
 *
 * <p>Causal skipping: the kernels compute only the unmasked pairs {@code t2 <= t}, i.e. {@code T(T+1)/2} per
 * (b, h), and the ledger records exactly that: see {@link #matmulFlopsForward} and {@link #matmulFlopsBackward}
 * (kind {@link Ledger.Kind#ATTENTION_MATMUL}) and {@link #softmaxFlopsForward}/{@link #softmaxFlopsBackward}
 * (kind {@link Ledger.Kind#SOFTMAX}, which includes the 1/sqrt(hs) scaling). The textbook full-context count
 * {@code 4·B·T²·C} forward is, for large T, about twice the {@code 2·B·C·T·(T+1)} executed here. Sharing K/V
 * heads saves memory and K/V projection work but no attention FLOPs: every query head still takes its scores
 * against T keys and its weighted sum of T values.
 *
 * <p>What the vector kernels execute beyond that count: they work in register tiles of 6 rows × 2 vectors, and the
 * tiles that straddle the diagonal are computed whole. For the score-shaped products (QKᵀ, dO·Vᵀ) that is about
 * 7% more multiply-adds than the unmasked pairs at T = 256 with 8-float vectors, for the others (A·V, Aᵀ·dO,
 * dS·K, dSᵀ·Q) about 2%. Those extra products are masked away (their results are overwritten, or multiply exact
 * zeros) and are not part of the function, so the ledger does not count them; it records the useful work, which
 * is also what the scalar twins execute.
 *
 * <p>The vector forward runs one task per (b, h) pair; the vector backward one task per (b, g) pair, which
 * processes its {@code NH/KVH} query heads in order, because they all accumulate into the same dK and dV. Every
 * output element belongs to one task and is computed in a fixed order, so results are bit-identical for any thread
 * count. Thread-safe except for the {@link Ledger} accounting.
 */
public final class Attention {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Attention() {
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
     * Grouped-query form of {@link #matmulFlopsForward(int, int, int, int)}: {@code 2·B·(NH·HS)·T·(T+1)}, the same
     * as multi-head attention with {@code C = NH·HS}; it does not depend on {@code KVH} (shared K/V heads save no
     * attention FLOPs), which is taken so the call reads like the kernel's.
     */
    public static long matmulFlopsForward(int B, int T, int NH, int KVH, int HS) {
        return 2L * B * ((long) NH * HS) * T * (T + 1);
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
     * Grouped-query form of {@link #matmulFlopsBackward(int, int, int, int)}: {@code 4·B·(NH·HS)·T·(T+1)},
     * independent of {@code KVH} (a shared K/V head's dK and dV sum one product per query head).
     */
    public static long matmulFlopsBackward(int B, int T, int NH, int KVH, int HS) {
        return 4L * B * ((long) NH * HS) * T * (T + 1);
    }

    /**
     * Softmax FLOPs one forward call records (kind SOFTMAX): per pair the 1/sqrt(hs) scale (1) and the softmax's
     * max, subtract, exp, sum, normalise (5); per row one reciprocal: {@code 6·pairs + B·NH·T}.
     */
    public static long softmaxFlopsForward(int B, int T, int C, int NH) {
        return 6L * pairs(B, T, NH) + (long) B * NH * T;
    }

    /** Grouped-query form of {@link #softmaxFlopsForward(int, int, int, int)}: the same count, per query head. */
    public static long softmaxFlopsForward(int B, int T, int NH, int KVH, int HS) {
        return 6L * pairs(B, T, NH) + (long) B * NH * T;
    }

    /**
     * Softmax FLOPs one backward call records (kind SOFTMAX): per pair the row dot Σ att·datt (2), att·(datt - s)
     * (2) and the 1/sqrt(hs) scale (1): {@code 5·pairs}.
     */
    public static long softmaxFlopsBackward(int B, int T, int C, int NH) {
        return 5L * pairs(B, T, NH);
    }

    /** Grouped-query form of {@link #softmaxFlopsBackward(int, int, int, int)}: the same count, per query head. */
    public static long softmaxFlopsBackward(int B, int T, int NH, int KVH, int HS) {
        return 5L * pairs(B, T, NH);
    }

    private static int headSize(String what, int B, int T, int C, int NH) {
        if (B < 0 || T < 0 || C < 0 || NH <= 0) {
            throw new IllegalArgumentException("Attention." + what + ": bad sizes B=" + B + " T=" + T + " C=" + C
                    + " NH=" + NH + " (need B, T, C >= 0 and NH >= 1)");
        }
        if (C % NH != 0) {
            throw new IllegalArgumentException("Attention." + what + ": NH=" + NH + " heads do not divide C=" + C
                    + "; choose a head count that divides the model width");
        }
        return C / NH;
    }

    /** Checks the grouped-query sizes; returns the qkv row width {@code W = (NH + 2·KVH)·HS}. */
    private static int rowWidth(String what, int B, int T, int NH, int KVH, int HS) {
        if (B < 0 || T < 0 || HS < 0 || NH <= 0 || KVH <= 0) {
            throw new IllegalArgumentException("Attention." + what + ": bad sizes B=" + B + " T=" + T + " NH=" + NH
                    + " KVH=" + KVH + " HS=" + HS + " (need B, T, HS >= 0 and NH, KVH >= 1)");
        }
        if (NH % KVH != 0) {
            throw new IllegalArgumentException("Attention." + what + ": NH=" + NH + " query heads are not a multiple"
                    + " of KVH=" + KVH + " K/V heads; each K/V head must serve the same number of query heads");
        }
        long w = ((long) NH + 2L * KVH) * HS;
        if (w > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Attention." + what + ": row width (NH + 2·KVH)·HS = " + w
                    + " does not fit an int");
        }
        return (int) w;
    }

    private static void checkLen(String what, String name, float[] a, long need) {
        if (a.length < need) {
            throw new IllegalArgumentException("Attention." + what + ": " + name + " has length " + a.length
                    + " but the shapes need " + need);
        }
    }

    private static void accountForward(int B, int T, int NH, int KVH, int HS) {
        long W = ((long) NH + 2L * KVH) * HS;
        // read qkv, write out
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsForward(B, T, NH, KVH, HS),
                4L * B * T * (W + (long) NH * HS));
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsForward(B, T, NH, KVH, HS), 4L * B * NH * T * T);
    }

    private static void accountBackward(int B, int T, int NH, int KVH, int HS) {
        long W = ((long) NH + 2L * KVH) * HS;
        // read qkv and dout, read and write dqkv
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlopsBackward(B, T, NH, KVH, HS),
                4L * B * T * (3 * W + (long) NH * HS));
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlopsBackward(B, T, NH, KVH, HS), 4L * B * NH * T * T * 3);
    }

    /**
     * Multi-head forward: overwrites {@code out [B, T, C]} and {@code att [B, NH, T, T]} from
     * {@code qkv [B, T, 3C]}. The grouped-query {@link #forward(float[], float[], float[], int, int, int, int, int)}
     * with {@code KVH = NH}, {@code HS = C/NH}.
     */
    public static void forward(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forward", B, T, C, NH);
        forward(out, att, qkv, B, T, NH, NH, hs);
    }

    /**
     * Grouped-query forward: overwrites {@code out [B, T, NH·HS]} and {@code att [B, NH, T, T]} from
     * {@code qkv [B, T, (NH + 2·KVH)·HS]} (layout in the class comment). Vector API, one task per (b, h).
     */
    public static void forward(float[] out, float[] att, float[] qkv, int B, int T, int NH, int KVH, int HS) {
        int W = rowWidth("forward", B, T, NH, KVH, HS);
        checkLen("forward", "out", out, (long) B * T * NH * HS);
        checkLen("forward", "att", att, (long) B * NH * T * T);
        checkLen("forward", "qkv", qkv, (long) B * T * W);
        accountForward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        Parallel.forRange(B * NH, 1, (from, to) -> {
            float[] kt = new float[HS * T];
            for (int bh = from; bh < to; bh++) {
                forwardHead(out, att, qkv, kt, bh / NH, bh % NH, T, NH, KVH, HS, scale);
            }
        });
    }

    private static void forwardHead(float[] out, float[] att, float[] qkv, float[] kt, int b, int h, int T, int NH,
            int KVH, int hs, float scale) {
        int W = (NH + 2 * KVH) * hs;
        int C = NH * hs;
        int g = h / (NH / KVH);
        int attBase = (b * NH + h) * T * T;
        int q = b * T * W + h * hs;
        int k = b * T * W + C + g * hs;
        int v = b * T * W + C + KVH * hs + g * hs;
        // kt[d, t] = k[t, d]: Kᵀ packed so the score rows come out of vector FMAs without horizontal sums
        transpose(kt, qkv, k, W, T, hs);
        // blocks of RB query rows, so each block's scores stay in L1 between the three steps
        for (int t0 = 0; t0 < T; t0 += RB) {
            int t1 = Math.min(T, t0 + RB);
            // att[t, t2] = scale · q[t]·k[t2] for t2 <= t (diagonal tiles also fill a few masked entries)
            matmul(t0, t1, T, hs, qkv, q, W, 1, kt, 0, T, att, attBase, T, scale, false, CAUSAL_N);
            // softmax over each row's unmasked prefix; exact zeros after it
            for (int t = t0; t < t1; t++) {
                Softmax.rowForward(att, att, attBase + t * T, t + 1, T);
            }
            // out[t] = Σ_{t2 <= t} att[t, t2] · v[t2]
            matmul(t0, t1, hs, T, att, attBase, T, 1, qkv, v, W, out, b * T * C + h * hs, C, 1f, false,
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


    /** Scalar twin of {@link #forward(float[], float[], float[], int, int, int, int)}. */
    public static void forwardScalar(float[] out, float[] att, float[] qkv, int B, int T, int C, int NH) {
        int hs = headSize("forwardScalar", B, T, C, NH);
        forwardScalar(out, att, qkv, B, T, NH, NH, hs);
    }

    /** Scalar twin of {@link #forward(float[], float[], float[], int, int, int, int, int)}. */
    public static void forwardScalar(float[] out, float[] att, float[] qkv, int B, int T, int NH, int KVH,
            int HS) {
        int W = rowWidth("forwardScalar", B, T, NH, KVH, HS);
        checkLen("forwardScalar", "out", out, (long) B * T * NH * HS);
        checkLen("forwardScalar", "att", att, (long) B * NH * T * T);
        checkLen("forwardScalar", "qkv", qkv, (long) B * T * W);
        accountForward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int C = NH * HS;
        int group = NH / KVH;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                // column offsets of this query head and of its K/V head
                int kc = C + (h / group) * HS;
                int vc = C + KVH * HS + (h / group) * HS;
                for (int t = 0; t < T; t++) {
                    int q = (b * T + t) * W + h * HS;
                    int row = ((b * NH + h) * T + t) * T;
                    // scores for t2 <= t
                    for (int t2 = 0; t2 <= t; t2++) {
                        int k = (b * T + t2) * W + kc;
                        float s = 0f;
                        for (int i = 0; i < HS; i++) {
                            s += qkv[q + i] * qkv[k + i];
                        }
                        att[row + t2] = s * scale;
                    }
                    // masked softmax
                    Softmax.rowForwardScalar(att, att, row, t + 1, T);
                    // weighted sum of values
                    int o = (b * T + t) * C + h * HS;
                    for (int i = 0; i < HS; i++) {
                        float s = 0f;
                        for (int t2 = 0; t2 <= t; t2++) {
                            s += att[row + t2] * qkv[(b * T + t2) * W + vc + i];
                        }
                        out[o + i] = s;
                    }
                }
            }
        }
    }

    /**
     * Multi-head backward: the grouped-query
     * {@link #backward(float[], float[], float[], float[], float[], int, int, int, int, int)} with {@code KVH = NH},
     * {@code HS = C/NH}; {@code dqkv [B, T, 3C]}, {@code dout [B, T, C]}.
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B, int T,
            int C, int NH) {
        int hs = headSize("backward", B, T, C, NH);
        backward(dqkv, datt, dout, qkv, att, B, T, NH, NH, hs);
    }

    /**
     * Grouped-query backward. ACCUMULATES into {@code dqkv [B, T, (NH + 2·KVH)·HS]}; {@code datt [B, NH, T, T]} is
     * scratch and is overwritten (on return it holds the gradient of the scaled scores, {@code dpre} below, with
     * exact zeros above the diagonal; the scalar twin leaves the masked entries as they were). {@code att} must be
     * the probabilities saved by {@link #forward}; {@code dout [B, T, NH·HS]}. Vector API, one task per (b, g) that
     * runs the group's query heads in order, so a shared head's dK and dV sum their contributions in a fixed order.
     * <pre>
     *   datt[t,t2] = dout[t]·v[t2]                       dv[t2] += att[t,t2]·dout[t]
     *   dpre[t,t2] = att[t,t2]·(datt[t,t2] - Σ_j att[t,j]·datt[t,j]) / sqrt(hs)
     *   dq[t]     += Σ_t2 dpre[t,t2]·k[t2]               dk[t2] += dpre[t,t2]·q[t]
     * </pre>
     * (k, v, dk, dv those of K/V head {@code g(h)}, summed over the query heads h of the group.)
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B, int T,
            int NH, int KVH, int HS) {
        int W = rowWidth("backward", B, T, NH, KVH, HS);
        checkBackward("backward", dqkv, datt, dout, qkv, att, B, T, NH, W, (long) NH * HS);
        accountBackward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int group = NH / KVH;
        Parallel.forRange(B * KVH, 1, (from, to) -> {
            float[] vt = new float[HS * T];
            for (int bg = from; bg < to; bg++) {
                int b = bg / KVH;
                int g = bg % KVH;
                // vt[d, t] = v[t, d] for the group's shared V head
                transpose(vt, qkv, b * T * W + NH * HS + KVH * HS + g * HS, W, T, HS);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    backwardHead(dqkv, datt, dout, qkv, att, vt, b, h, T, NH, KVH, HS, scale);
                }
            }
        });
    }

    private static void checkBackward(String what, float[] dqkv, float[] datt, float[] dout, float[] qkv,
            float[] att, int B, int T, int NH, int W, long C) {
        checkLen(what, "dqkv", dqkv, (long) B * T * W);
        checkLen(what, "qkv", qkv, (long) B * T * W);
        checkLen(what, "datt", datt, (long) B * NH * T * T);
        checkLen(what, "att", att, (long) B * NH * T * T);
        checkLen(what, "dout", dout, (long) B * T * C);
    }

    /** Query head h's share of the backward; {@code vt} holds its V head transposed. */
    private static void backwardHead(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att,
            float[] vt, int b, int h, int T, int NH, int KVH, int hs, float scale) {
        int W = (NH + 2 * KVH) * hs;
        int C = NH * hs;
        int g = h / (NH / KVH);
        int attBase = (b * NH + h) * T * T;
        int q = b * T * W + h * hs;
        int k = b * T * W + C + g * hs;
        int v = b * T * W + C + KVH * hs + g * hs;
        int go = b * T * C + h * hs;
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
            matmul(t0, t1, hs, T, datt, attBase, T, 1, qkv, k, W, dqkv, q, W, 1f, true, CAUSAL_K_UPTO);
        }
        // dv[t2] += Σ_{t >= t2} att[t, t2] · dout[t]   (Aᵀ by swapped strides)
        matmul(0, T, hs, T, att, attBase, 1, T, dout, go, C, dqkv, v, W, 1f, true, CAUSAL_K_FROM);
        // dk[t2] += Σ_{t >= t2} datt[t, t2] · q[t]
        matmul(0, T, hs, T, datt, attBase, 1, T, qkv, q, W, dqkv, k, W, 1f, true, CAUSAL_K_FROM);
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


    /** Scalar twin of {@link #backward(float[], float[], float[], float[], float[], int, int, int, int)}. */
    public static void backwardScalar(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B,
            int T, int C, int NH) {
        int hs = headSize("backwardScalar", B, T, C, NH);
        backwardScalar(dqkv, datt, dout, qkv, att, B, T, NH, NH, hs);
    }

    /** Scalar twin of {@link #backward(float[], float[], float[], float[], float[], int, int, int, int, int)}. */
    public static void backwardScalar(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B,
            int T, int NH, int KVH, int HS) {
        int W = rowWidth("backwardScalar", B, T, NH, KVH, HS);
        checkBackward("backwardScalar", dqkv, datt, dout, qkv, att, B, T, NH, W, (long) NH * HS);
        accountBackward(B, T, NH, KVH, HS);
        float scale = (float) (1.0 / Math.sqrt(HS));
        int C = NH * HS;
        int group = NH / KVH;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                // column offsets of this query head's K/V head
                int kc = C + (h / group) * HS;
                int vc = C + KVH * HS + (h / group) * HS;
                for (int t = 0; t < T; t++) {
                    int row = ((b * NH + h) * T + t) * T;
                    int go = (b * T + t) * C + h * HS;
                    int q = (b * T + t) * W + h * HS;
                    // through the weighted sum of values
                    for (int t2 = 0; t2 <= t; t2++) {
                        int v = (b * T + t2) * W + vc;
                        float s = 0f;
                        for (int i = 0; i < HS; i++) {
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
                        int k = (b * T + t2) * W + kc;
                        float d = datt[row + t2];
                        for (int i = 0; i < HS; i++) {
                            dqkv[q + i] += d * qkv[k + i];
                            dqkv[k + i] += d * qkv[q + i];
                        }
                    }
                }
            }
        }
    }
}
