package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention of ONE new position against a KV cache, for generation: the last row of causal attention, computed
 * from the cached keys and values of the positions before it instead of re-running the whole sequence.
 *
 * <p>Shapes: {@code q [NH·HS]}, the new token's query heads side by side (already rotated if the model uses RoPE);
 * {@code out [NH·HS]}. Query head {@code h} reads K/V head {@code g = h / (NH/KVH)} (grouped-query attention;
 * {@code KVH = NH} is multi-head attention). Two cache layouts:
 * <ul>
 * <li>contiguous ({@link #forward}): {@code kCache, vCache [maxT, KVH, HS]}, position {@code p} of head {@code g}
 * at {@code (p·KVH + g)·HS}; the first {@code len} positions are valid, the new token's k and v included.</li>
 * <li>paged ({@link #forwardPaged}, as PagedAttention): {@code kPages, vPages [pages, pageSize, KVH, HS]};
 * position {@code p} lives in page {@code blockTable[p / pageSize]} at slot {@code p % pageSize}, so at
 * {@code ((blockTable[p / pageSize]·pageSize + p % pageSize)·KVH + g)·HS}.</li>
 * </ul>
 * <pre>
 *   s[t2]  = q·k[t2] / sqrt(HS)                       t2 < len
 *   out    = Σ_t2 softmax(s)[t2] · v[t2]
 * </pre>
 *
 * <p>Bits: the vector kernels run {@link FlashAttention}'s online softmax on the same key blocks of
 * {@link FlashAttention#BLOCK} positions, with every score and output element computed as the same fma chain in
 * the same order, and the same row helpers; so {@link #forward} and {@link #forwardPaged} give exactly the bits
 * of row {@code len - 1} of {@link FlashAttention#forward} on the same sequence (with any T >= len), and the
 * paged kernel exactly the bits of the contiguous one. The scalar twins agree with them within rounding (the
 * tests allow 1e-5 absolute + 1e-4 relative). Against the naive {@link Attention} the result agrees within
 * rounding, not to the bit (it normalises before P·V).
 *
 * <p>Single-threaded (a decode step is {@code O(len·NH·HS)} work, about one GEMV); thread-safe except for the
 * {@link Ledger} accounting; allocates {@code O(BLOCK + NH·HS)} floats of scratch per call.
 */
public final class DecodeAttention {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int BLOCK = FlashAttention.BLOCK;

    private DecodeAttention() {
    }

    /**
     * Matmul FLOPs of one call (kind ATTENTION_MATMUL): {@code q·k} and {@code p·v} for each of the {@code len}
     * cached positions, {@code 2·HS} each, per query head: {@code 4·HS·len·NH}.
     */
    public static long matmulFlops(int len, int NH, int HS) {
        return 4L * HS * len * NH;
    }

    /**
     * Softmax FLOPs of one call (kind SOFTMAX), counted as in {@link FlashAttention#softmaxFlopsForward}: per
     * position scale, max, subtract, exp, sum (5); per key block of {@link FlashAttention#BLOCK} the new max, the
     * rescale factor, {@code l·a + sum}, the rescale of o and the add of the block's P·V ({@code 5 + 2·HS}); per
     * head {@code 1/l} and {@code o·(1/l)} ({@code HS + 1}); times NH.
     */
    public static long softmaxFlops(int len, int NH, int HS) {
        long blocks = (len + BLOCK - 1) / BLOCK;
        return NH * (5L * len + (5L + 2L * HS) * blocks + HS + 1L);
    }

    /** Bytes one call must move at the least: read q, the {@code len} cached k and v rows, write out; 4 each. */
    public static long bytes(int len, int NH, int KVH, int HS) {
        return 4L * (2L * NH * HS + 2L * len * KVH * HS);
    }

    private static void account(int len, int NH, int KVH, int HS) {
        Ledger.add(Ledger.Kind.ATTENTION_MATMUL, matmulFlops(len, NH, HS), bytes(len, NH, KVH, HS));
        Ledger.add(Ledger.Kind.SOFTMAX, softmaxFlops(len, NH, HS), 0);
    }

    private static void check(String what, float[] out, float[] q, int len, int NH, int KVH, int HS) {
        FlashAttention.checkHeads("DecodeAttention." + what, NH, KVH, HS);
        if (len < 1) {
            throw new IllegalArgumentException("DecodeAttention." + what + ": len=" + len
                    + " but the cache must hold at least the new position (write its k and v first, then call with"
                    + " len = position + 1)");
        }
        FlashAttention.checkLen("DecodeAttention." + what, "q", q, (long) NH * HS);
        FlashAttention.checkLen("DecodeAttention." + what, "out", out, (long) NH * HS);
    }

    private static void checkContiguous(String what, float[] out, float[] q, float[] kCache, float[] vCache, int len,
            int NH, int KVH, int HS) {
        check(what, out, q, len, NH, KVH, HS);
        FlashAttention.checkLen("DecodeAttention." + what, "kCache", kCache, (long) len * KVH * HS);
        FlashAttention.checkLen("DecodeAttention." + what, "vCache", vCache, (long) len * KVH * HS);
    }

    private static void checkPaged(String what, float[] out, float[] q, float[] kPages, float[] vPages,
            int[] blockTable, int pageSize, int len, int NH, int KVH, int HS) {
        check(what, out, q, len, NH, KVH, HS);
        if (pageSize < 1) {
            throw new IllegalArgumentException("DecodeAttention." + what + ": pageSize=" + pageSize
                    + " (need at least 1 position per page)");
        }
        int used = (len + pageSize - 1) / pageSize;
        if (blockTable.length < used) {
            throw new IllegalArgumentException("DecodeAttention." + what + ": blockTable has " + blockTable.length
                    + " entries but len=" + len + " positions in pages of " + pageSize + " need " + used
                    + "; allocate a page before writing a position past the last one");
        }
        long pageFloats = (long) pageSize * KVH * HS;
        long pages = Math.min(kPages.length, vPages.length) / pageFloats;
        for (int i = 0; i < used; i++) {
            if (blockTable[i] < 0 || blockTable[i] >= pages) {
                throw new IllegalArgumentException("DecodeAttention." + what + ": blockTable[" + i + "] = "
                        + blockTable[i] + " is not a page of the pool (" + pages + " pages of " + pageSize
                        + " positions × " + KVH + " heads × " + HS + " floats)");
            }
        }
    }

    /**
     * Overwrites {@code out [NH·HS]} with the attention of {@code q [NH·HS]} over the first {@code len} positions
     * of the contiguous cache {@code kCache, vCache [maxT, KVH, HS]}. Vector API.
     */
    public static void forward(float[] out, float[] q, float[] kCache, float[] vCache, int len, int NH, int KVH,
            int HS) {
        checkContiguous("forward", out, q, kCache, vCache, len, NH, KVH, HS);
        account(len, NH, KVH, HS);
        run(out, q, kCache, vCache, null, 1, len, NH, KVH, HS);
    }

    /**
     * Overwrites {@code out [NH·HS]} with the attention of {@code q [NH·HS]} over the first {@code len} positions
     * of the paged cache {@code kPages, vPages [pages, pageSize, KVH, HS]} through {@code blockTable} (entry
     * {@code i}: the page holding positions {@code [i·pageSize, (i+1)·pageSize)}). Vector API; bit-identical to
     * {@link #forward} on the same positions.
     */
    public static void forwardPaged(float[] out, float[] q, float[] kPages, float[] vPages, int[] blockTable,
            int pageSize, int len, int NH, int KVH, int HS) {
        checkPaged("forwardPaged", out, q, kPages, vPages, blockTable, pageSize, len, NH, KVH, HS);
        account(len, NH, KVH, HS);
        run(out, q, kPages, vPages, blockTable, pageSize, len, NH, KVH, HS);
    }

    /** Float offset of position {@code p}, head {@code g}: contiguous when {@code blockTable == null}. */
    private static int offset(int[] blockTable, int pageSize, int p, int g, int KVH, int HS) {
        int slot = blockTable == null ? p : blockTable[p / pageSize] * pageSize + p % pageSize;
        return (slot * KVH + g) * HS;
    }

    private static void run(float[] out, float[] q, float[] kc, float[] vc, int[] blockTable, int pageSize, int len,
            int NH, int KVH, int HS) {
        int L = S.length();
        int G = NH / KVH;
        float scale = (float) (1.0 / Math.sqrt(HS));
        float[] s = new float[BLOCK];
        int[] off = new int[BLOCK];
        float[] m = new float[NH];
        float[] l = new float[NH * L];
        float[] a = new float[1];
        float[] o = new float[NH * HS];
        java.util.Arrays.fill(m, Float.NEGATIVE_INFINITY);
        for (int g = 0; g < KVH; g++) {
            for (int j0 = 0; j0 < len; j0 += BLOCK) {
                int n = Math.min(BLOCK, len - j0);
                // offsets of this block's cached rows; lanes past n repeat the first row (their scores are unused)
                for (int j = 0; j < BLOCK; j++) {
                    off[j] = offset(blockTable, pageSize, j0 + (j < n ? j : 0), g, KVH, HS);
                }
                for (int h = g * G; h < (g + 1) * G; h++) {
                    int qh = h * HS;
                    // s[j] = scale · q·k[j0+j]: lanes over positions (gathered), one fma chain over d per score
                    for (int j = 0; j < n; j += L) {
                        FloatVector acc = FloatVector.zero(S);
                        for (int d = 0; d < HS; d++) {
                            acc = FloatVector.broadcast(S, q[qh + d]).fma(FloatVector.fromArray(S, kc, d, off, j), acc);
                        }
                        acc.mul(scale).intoArray(s, j);
                    }
                    // online softmax, exactly as FlashAttention's rows
                    FlashAttention.onlineBlock(s, 1, n, false, n, m, l, h, a);
                    FlashAttention.scaleRow(o, qh, HS, a[0]);
                    // o += Σ_j p[j]·v[j0+j]: lanes over d, one fma chain over j per element
                    int d = 0;
                    for (; d + L <= HS; d += L) {
                        FloatVector acc = FloatVector.zero(S);
                        for (int j = 0; j < n; j++) {
                            acc = FloatVector.broadcast(S, s[j]).fma(FloatVector.fromArray(S, vc, off[j] + d), acc);
                        }
                        acc.add(FloatVector.fromArray(S, o, qh + d)).intoArray(o, qh + d);
                    }
                    for (; d < HS; d++) {
                        float acc = 0f;
                        for (int j = 0; j < n; j++) {
                            acc = Math.fma(s[j], vc[off[j] + d], acc);
                        }
                        o[qh + d] = acc + o[qh + d];
                    }
                }
            }
        }
        // out = o / l
        for (int h = 0; h < NH; h++) {
            FlashAttention.finishRow(out, h * HS, o, h * HS, HS, FlashAttention.rowSum(l, h));
        }
    }

    /** Scalar twin of {@link #forward}: the same online softmax over blocks, plain loops. */
    public static void forwardScalar(float[] out, float[] q, float[] kCache, float[] vCache, int len, int NH,
            int KVH, int HS) {
        checkContiguous("forwardScalar", out, q, kCache, vCache, len, NH, KVH, HS);
        account(len, NH, KVH, HS);
        runScalar(out, q, kCache, vCache, null, 1, len, NH, KVH, HS);
    }

    /** Scalar twin of {@link #forwardPaged}. */
    public static void forwardPagedScalar(float[] out, float[] q, float[] kPages, float[] vPages, int[] blockTable,
            int pageSize, int len, int NH, int KVH, int HS) {
        checkPaged("forwardPagedScalar", out, q, kPages, vPages, blockTable, pageSize, len, NH, KVH, HS);
        account(len, NH, KVH, HS);
        runScalar(out, q, kPages, vPages, blockTable, pageSize, len, NH, KVH, HS);
    }

    private static void runScalar(float[] out, float[] q, float[] kc, float[] vc, int[] blockTable, int pageSize,
            int len, int NH, int KVH, int HS) {
        float scale = (float) (1.0 / Math.sqrt(HS));
        float[] p = new float[BLOCK];
        float[] o = new float[HS];
        for (int h = 0; h < NH; h++) {
            int g = h / (NH / KVH);
            float m = Float.NEGATIVE_INFINITY;
            float l = 0f;
            java.util.Arrays.fill(o, 0f);
            for (int j0 = 0; j0 < len; j0 += BLOCK) {
                int n = Math.min(BLOCK, len - j0);
                // scores of this block and the new max
                float mNew = m;
                for (int j = 0; j < n; j++) {
                    int k = offset(blockTable, pageSize, j0 + j, g, KVH, HS);
                    float s = 0f;
                    for (int d = 0; d < HS; d++) {
                        s = Math.fma(q[h * HS + d], kc[k + d], s);
                    }
                    p[j] = s * scale;
                    mNew = Math.max(mNew, p[j]);
                }
                // p = exp(s - m_new); l and o rescaled by exp(m_old - m_new)
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
                        acc = Math.fma(p[j], vc[offset(blockTable, pageSize, j0 + j, g, KVH, HS) + d], acc);
                    }
                    o[d] = o[d] * a + acc;
                }
            }
            // out = o / l
            float inv = 1f / l;
            for (int d = 0; d < HS; d++) {
                out[h * HS + d] = o[d] * inv;
            }
        }
    }
}
