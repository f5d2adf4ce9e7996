package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * DecodeAttention: the vector kernels give exactly the bits of the last row of {@link FlashAttention#forward} on
 * the same sequence (the guarantee its class comment states), the paged kernel exactly the bits of the contiguous
 * one for shuffled pages of several sizes, and vector and scalar kernels agree with the double reference of
 * {@link FlashAttentionTest} within 1e-5 absolute + 1e-4 relative; the ledger and the error messages.
 */
class DecodeAttentionTest {
    private static final int BL = FlashAttention.BLOCK;
    private static final int[][] HEADS = {{1, 1}, {4, 4}, {4, 2}, {4, 1}, {6, 3}};
    private static final int[] LENS = {1, 2, 33, BL - 1, BL, BL + 1, 100, 2 * BL + 1};
    private static final int[] HSS = {5, 12, 64};

    /** kCache or vCache [maxT, KVH, HS] filled from the K (which = 0) or V (which = 1) columns of qkv rows. */
    static float[] cache(float[] qkv, int len, int maxT, int NH, int KVH, int HS, int which) {
        int W = (NH + 2 * KVH) * HS;
        float[] c = new float[maxT * KVH * HS];
        java.util.Arrays.fill(c, Float.NaN); // positions past len must not be read
        for (int t = 0; t < len; t++) {
            System.arraycopy(qkv, t * W + (NH + which * KVH) * HS, c, t * KVH * HS, KVH * HS);
        }
        return c;
    }

    /** The same cache in pages of {@code pageSize} positions, placed in the pool by {@code table}. */
    static float[] paged(float[] cache, int len, int pageSize, int[] table, int pool, int KVH, int HS) {
        int row = KVH * HS;
        float[] p = new float[pool * pageSize * row];
        java.util.Arrays.fill(p, Float.NaN);
        for (int t = 0; t < len; t++) {
            System.arraycopy(cache, t * row, p, (table[t / pageSize] * pageSize + t % pageSize) * row, row);
        }
        return p;
    }

    /** A block table for {@code len} positions: distinct pages of a pool twice as large, shuffled. */
    static int[] table(Rng r, int len, int pageSize) {
        int used = (len + pageSize - 1) / pageSize;
        int pool = 2 * used + 1;
        int[] perm = new int[pool];
        for (int i = 0; i < pool; i++) {
            perm[i] = i;
        }
        for (int i = pool - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return java.util.Arrays.copyOf(perm, used);
    }

    @Test
    void lastRowOfFlashToTheBitAndPagedEqualsContiguous() {
        Rng r = new Rng(70);
        int i = 0;
        for (int len : LENS) {
            for (int[] h : HEADS) {
                int NH = h[0], KVH = h[1], HS = HSS[i++ % HSS.length], W = (NH + 2 * KVH) * HS, C = NH * HS;
                // the sequence runs 3 positions past len: flash's row len-1 must not depend on them
                int T = len + 3;
                float[] qkv = randn(r, T * W);
                float[] out = new float[T * C], lse = new float[NH * T];
                FlashAttention.forward(out, lse, qkv, 1, T, NH, KVH, HS);
                float[] row = java.util.Arrays.copyOfRange(out, (len - 1) * C, len * C);
                float[] q = java.util.Arrays.copyOfRange(qkv, (len - 1) * W, (len - 1) * W + C);
                float[] kc = cache(qkv, len, T + 5, NH, KVH, HS, 0), vc = cache(qkv, len, T + 5, NH, KVH, HS, 1);
                String what = "len=" + len + " NH=" + NH + " KVH=" + KVH + " HS=" + HS;
                float[] got = new float[C];
                Ledger.Snapshot s0 = Ledger.snapshot();
                DecodeAttention.forward(got, q, kc, vc, len, NH, KVH, HS);
                Ledger.Snapshot diff = Ledger.snapshot().minus(s0);
                assertEquals(DecodeAttention.matmulFlops(len, NH, HS),
                        diff.flops(Ledger.phase(), Ledger.Kind.ATTENTION_MATMUL), what);
                assertEquals(DecodeAttention.softmaxFlops(len, NH, HS), diff.flops(Ledger.phase(), Ledger.Kind.SOFTMAX),
                        what);
                assertArrayEquals(row, got, "decode vs flash's last row, " + what);
                for (int ps : new int[] {1, 3, 16}) {
                    int[] tab = table(r, len, ps);
                    int pool = 2 * tab.length + 1;
                    float[] kp = paged(kc, len, ps, tab, pool, KVH, HS), vp = paged(vc, len, ps, tab, pool, KVH, HS);
                    float[] pg = new float[C];
                    DecodeAttention.forwardPaged(pg, q, kp, vp, tab, ps, len, NH, KVH, HS);
                    assertArrayEquals(got, pg, "paged (" + ps + " positions a page) vs contiguous, " + what);
                    float[] pgs = new float[C];
                    DecodeAttention.forwardPagedScalar(pgs, q, kp, vp, tab, ps, len, NH, KVH, HS);
                    close("paged scalar vs vector, " + what, d(got), pgs, 1e-5, 1e-4);
                }
            }
        }
    }

    @Test
    void matchesDoubleReference() {
        Rng r = new Rng(71);
        int i = 0;
        for (int len : LENS) {
            for (int[] h : HEADS) {
                int NH = h[0], KVH = h[1], HS = HSS[i++ % HSS.length], W = (NH + 2 * KVH) * HS, C = NH * HS;
                float[] qkv = randn(r, len * W);
                double[] ref = FlashAttentionTest.ref(d(qkv), 1, len, NH, KVH, HS, null);
                double[] last = java.util.Arrays.copyOfRange(ref, (len - 1) * C, len * C);
                float[] q = java.util.Arrays.copyOfRange(qkv, (len - 1) * W, (len - 1) * W + C);
                float[] kc = cache(qkv, len, len, NH, KVH, HS, 0), vc = cache(qkv, len, len, NH, KVH, HS, 1);
                for (boolean scalar : new boolean[] {false, true}) {
                    float[] got = new float[C];
                    if (scalar) {
                        DecodeAttention.forwardScalar(got, q, kc, vc, len, NH, KVH, HS);
                    } else {
                        DecodeAttention.forward(got, q, kc, vc, len, NH, KVH, HS);
                    }
                    close("decode " + (scalar ? "scalar" : "vector") + " len=" + len + " NH=" + NH + " KVH=" + KVH
                            + " HS=" + HS, last, got, 1e-5, 1e-4);
                }
            }
        }
    }

    @Test
    void ledgerFormulasAndErrors() {
        // 2·2·HS·len per query head
        assertEquals(2L * 2 * 64 * 300 * 6, DecodeAttention.matmulFlops(300, 6, 64));
        // one step at position len-1 costs the flash forward's last row: the differences of the forward counts
        assertEquals(FlashAttention.matmulFlopsForward(1, 130, 6, 64) - FlashAttention.matmulFlopsForward(1, 129, 6, 64),
                DecodeAttention.matmulFlops(130, 6, 64));
        float[] q = new float[8], o = new float[8], c = new float[64];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.forward(o, q, c, c, 0, 2, 1, 4));
        assertTrue(e.getMessage().contains("len=0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.forward(o, q, c, c, 20, 2, 1, 4));
        assertTrue(e.getMessage().contains("kCache"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.forwardPaged(o, q, c, c, new int[] {0}, 4, 5, 2, 1, 4));
        assertTrue(e.getMessage().contains("blockTable has 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DecodeAttention.forwardPaged(o, q, c, c, new int[] {0, 4}, 4, 5, 2, 1, 4));
        assertTrue(e.getMessage().contains("blockTable[1] = 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DecodeAttention.forward(o, q, c, c, 2, 3, 2, 4));
    }
}
