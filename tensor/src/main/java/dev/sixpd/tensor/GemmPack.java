package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packing for {@link GemmKernel}: copies blocks of op(A) and op(B) into the k-major panels the micro-kernel streams.
 *
 * <pre>
 * A panel (MR rows):    ap[k·MR + r]  = op(A)[i0 + r, k]     rows past the edge are 0
 * B panel (NR columns): bp[k·NR + j]  = op(B)[k, j0 + j]     columns past the edge are 0
 * </pre>
 *
 * Two of the four cases are plain copies (A stored transposed: MR contiguous floats per k; B not transposed: NR
 * contiguous floats per k). The other two are transposes: A stored [M,K] (the Linear forward's X and backward's dY)
 * and B stored [N,K] (the forward's W). Those use 8-float vectors and two-input lane shuffles, a 4×8 or 8×8
 * transpose per step, measured 1.3× faster than scalar copies here; they need 256-bit hardware vectors and fall back
 * to scalar loops otherwise (the Vector API would emulate wider vectors in Java, far slower).
 */
final class GemmPack {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int L = Vectors.LANES;
    private static final int MR = GemmKernel.MR;
    private static final int NR = GemmKernel.NR;
    /** 8-float vectors for the transposes, whatever width the kernels use. */
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
    /** MR-float vectors for the transposed-A copies. */
    private static final VectorSpecies<Float> S4 = FloatVector.SPECIES_128;
    /** Whether the hardware has 256-bit float vectors (so S8 and S4 run as instructions, not emulation). */
    private static final boolean HW256 = FloatVector.SPECIES_PREFERRED.length() >= 8 && MR == 4;
    // interleave the low / high halves of two vectors: [x0 y0 x1 y1 ...]
    private static final VectorShuffle<Float> LO = VectorShuffle.fromValues(S8, 0, 8, 1, 9, 2, 10, 3, 11);
    private static final VectorShuffle<Float> HI = VectorShuffle.fromValues(S8, 4, 12, 5, 13, 6, 14, 7, 15);
    // interleave pairs: [x0 x1 y0 y1 x2 x3 y2 y3] and the upper pairs
    private static final VectorShuffle<Float> P0 = VectorShuffle.fromValues(S8, 0, 1, 8, 9, 2, 3, 10, 11);
    private static final VectorShuffle<Float> P1 = VectorShuffle.fromValues(S8, 4, 5, 12, 13, 6, 7, 14, 15);
    // join halves: [x0..x3 y0..y3] and [x4..x7 y4..y7]
    private static final VectorShuffle<Float> H0 = VectorShuffle.fromValues(S8, 0, 1, 2, 3, 8, 9, 10, 11);
    private static final VectorShuffle<Float> H1 = VectorShuffle.fromValues(S8, 4, 5, 6, 7, 12, 13, 14, 15);

    /** 8-row panels with 16-lane vectors (AVX-512): A's transposes in the kernels' own species. Mixing 256- and
     * 512-bit FloatVectors in one JVM pollutes the Vector API's shared type profiles, and C2 then leaves the
     * micro-kernel's loads and stores as calls (bench/NOTES.md, step 18): so no S8 here. */
    private static final boolean VECTOR_A8 = MR == 8 && L == 16;
    /** Lanes 0-7 and lanes 8-15 of a 16-lane vector (null on other widths, where nothing uses them). */
    private static final VectorMask<Float> LOW8 = L == 16 ? VectorMask.fromLong(S, 0x00FFL) : null;
    private static final VectorMask<Float> HIGH8 = L == 16 ? VectorMask.fromLong(S, 0xFF00L) : null;
    // two-input shuffles of 16 lanes (indexes 16..31 take from the second vector): interleave single lanes (I1),
    // pairs (I2) and quads (I4) of the low (L) or high (H) halves:
    // [x0 y0 x1 y1 ..], [x0 x1 y0 y1 ..], [x0..x3 y0..y3 ..]
    private static final VectorShuffle<Float> I1L = interleave(1, 0), I1H = interleave(1, 8);
    private static final VectorShuffle<Float> I2L = interleave(2, 0), I2H = interleave(2, 8);
    private static final VectorShuffle<Float> I4L = interleave(4, 0), I4H = interleave(4, 8);

    private static VectorShuffle<Float> interleave(int w, int from) {
        if (L != 16) {
            return null;
        }
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) {
            int block = i / (2 * w), inBlock = i % (2 * w);
            int src = from + block * w + inBlock % w;
            idx[i] = inBlock < w ? src : 16 + src;
        }
        return VectorShuffle.fromArray(S, idx, 0);
    }

    private GemmPack() {
    }

    /** Packs op(A)[mc, kc] starting at a[src] into ⌈mc/MR⌉ panels of MR·kc floats at ap[PANEL_OFFSET..]. */
    static void packA(boolean transA, int mc, int kc, float[] a, int src, int lda, float[] ap) {
        if (transA && VECTOR_A8) {
            packAColumnsOfK(mc, kc, a, src, lda, ap);
            return;
        }
        for (int i0 = 0; i0 < mc; i0 += MR) {
            int mr = Math.min(MR, mc - i0);
            int dst = GemmKernel.PANEL_OFFSET + i0 * kc;
            if (transA) {
                packARowsOfK(mr, kc, a, src + i0, lda, ap, dst);
            } else {
                packARowsOfM(mr, kc, a, src + i0 * lda, lda, ap, dst);
            }
        }
    }

    /**
     * A stored [K, M] into 8-row panels with 16 lanes, the whole block at once: row k of A holds the block's mc values
     * contiguously, so one pass over k reads them in order (16 per load, a stream the prefetchers follow) and each
     * load's two halves go to two panels with masked 8-lane stores. The panel-by-panel copy read the same values 8 at
     * a time, lda floats apart: `bench gemm --m 1536 --n 384 --k 2048` ran 1.00× OpenBLAS with A stored [M, K] and
     * 0.90× with `--ta`, while OpenBLAS ran both at the same speed (bench/NOTES.md, step 22).
     */
    private static void packAColumnsOfK(int mc, int kc, float[] a, int src, int lda, float[] ap) {
        int pairs = mc / 16 * 16;
        int padded = (mc + MR - 1) / MR * MR;
        int base = GemmKernel.PANEL_OFFSET;
        for (int k = 0; k < kc; k++) {
            int s = src + k * lda;
            int i = 0;
            for (; i < pairs; i += 16) {
                // ap[panel p, k, r] = A[k, i + r]: lanes 0-7 to panel i/8, lanes 8-15 to panel i/8 + 1
                FloatVector v = FloatVector.fromArray(S, a, s + i);
                int d = base + i * kc + k * 8;
                v.intoArray(ap, d, LOW8);
                v.intoArray(ap, d + 8 * kc - 8, HIGH8);
            }
            for (; i < padded; i++) {
                ap[base + i / 8 * 8 * kc + k * 8 + i % 8] = i < mc ? a[s + i] : 0f;
            }
        }
    }

    /** A stored [K, M]: the MR values of one k are contiguous, a straight copy per k (16-lane hosts use
     * {@link #packAColumnsOfK} instead). */
    private static void packARowsOfK(int mr, int kc, float[] a, int s, int lda, float[] ap, int d) {
        if (mr == MR && HW256) {
            for (int k = 0; k < kc; k++) {
                FloatVector.fromArray(S4, a, s + k * lda).intoArray(ap, d + k * MR);
            }
            return;
        }
        for (int k = 0; k < kc; k++) {
            for (int r = 0; r < MR; r++) {
                ap[d + k * MR + r] = r < mr ? a[s + k * lda + r] : 0f;
            }
        }
    }

    /** A stored [M, K]: MR rows, each contiguous in k, interleaved k-major (a 4×8 transpose per 8 k). */
    private static void packARowsOfM(int mr, int kc, float[] a, int s, int lda, float[] ap, int d) {
        int k = 0;
        if (mr == MR && HW256) {
            for (; k + 8 <= kc; k += 8) {
                FloatVector r0 = FloatVector.fromArray(S8, a, s + k);
                FloatVector r1 = FloatVector.fromArray(S8, a, s + lda + k);
                FloatVector r2 = FloatVector.fromArray(S8, a, s + 2 * lda + k);
                FloatVector r3 = FloatVector.fromArray(S8, a, s + 3 * lda + k);
                // [r0k r1k ...] pairs, then [r0k r1k r2k r3k r0k+1 ...] quads
                FloatVector lo01 = r0.rearrange(LO, r1);
                FloatVector hi01 = r0.rearrange(HI, r1);
                FloatVector lo23 = r2.rearrange(LO, r3);
                FloatVector hi23 = r2.rearrange(HI, r3);
                int o = d + k * MR;
                lo01.rearrange(P0, lo23).intoArray(ap, o);
                lo01.rearrange(P1, lo23).intoArray(ap, o + 8);
                hi01.rearrange(P0, hi23).intoArray(ap, o + 16);
                hi01.rearrange(P1, hi23).intoArray(ap, o + 24);
            }
        }
        if (mr == MR && VECTOR_A8) {
            for (; k + 16 <= kc; k += 16) {
                transpose8x16(a, s + k, lda, ap, d + k * 8);
            }
        }
        for (; k < kc; k++) {
            for (int r = 0; r < MR; r++) {
                ap[d + k * MR + r] = r < mr ? a[s + r * lda + k] : 0f;
            }
        }
    }

    /** out[k·8 + r] = x[r·ldx + k] for r in [0, 8), k in [0, 16): three rounds of two-input 16-lane shuffles. */
    private static void transpose8x16(float[] x, int xo, int ldx, float[] out, int oo) {
        FloatVector r0 = FloatVector.fromArray(S, x, xo);
        FloatVector r1 = FloatVector.fromArray(S, x, xo + ldx);
        FloatVector r2 = FloatVector.fromArray(S, x, xo + 2 * ldx);
        FloatVector r3 = FloatVector.fromArray(S, x, xo + 3 * ldx);
        FloatVector r4 = FloatVector.fromArray(S, x, xo + 4 * ldx);
        FloatVector r5 = FloatVector.fromArray(S, x, xo + 5 * ldx);
        FloatVector r6 = FloatVector.fromArray(S, x, xo + 6 * ldx);
        FloatVector r7 = FloatVector.fromArray(S, x, xo + 7 * ldx);
        // pairs of rows: [r0k r1k r0k+1 r1k+1 ...], k 0..7 (a0) and 8..15 (a1)
        FloatVector a0 = r0.rearrange(I1L, r1), a1 = r0.rearrange(I1H, r1);
        FloatVector a2 = r2.rearrange(I1L, r3), a3 = r2.rearrange(I1H, r3);
        FloatVector a4 = r4.rearrange(I1L, r5), a5 = r4.rearrange(I1H, r5);
        FloatVector a6 = r6.rearrange(I1L, r7), a7 = r6.rearrange(I1H, r7);
        // quads of rows: [r0k r1k r2k r3k r0k+1 ...], k 0..3, 4..7, 8..11, 12..15
        FloatVector q0 = a0.rearrange(I2L, a2), q1 = a0.rearrange(I2H, a2);
        FloatVector q2 = a1.rearrange(I2L, a3), q3 = a1.rearrange(I2H, a3);
        FloatVector q4 = a4.rearrange(I2L, a6), q5 = a4.rearrange(I2H, a6);
        FloatVector q6 = a5.rearrange(I2L, a7), q7 = a5.rearrange(I2H, a7);
        // rows 0-3 beside rows 4-7: [r0..r7 at k, r0..r7 at k+1], two k per vector
        q0.rearrange(I4L, q4).intoArray(out, oo);
        q0.rearrange(I4H, q4).intoArray(out, oo + 16);
        q1.rearrange(I4L, q5).intoArray(out, oo + 32);
        q1.rearrange(I4H, q5).intoArray(out, oo + 48);
        q2.rearrange(I4L, q6).intoArray(out, oo + 64);
        q2.rearrange(I4H, q6).intoArray(out, oo + 80);
        q3.rearrange(I4L, q7).intoArray(out, oo + 96);
        q3.rearrange(I4H, q7).intoArray(out, oo + 112);
    }

    /** Packs op(B)[kc, nc] starting at b[src] into ⌈nc/NR⌉ panels of NR·kc floats at bp[PANEL_OFFSET..]. */
    static void packB(boolean transB, int kc, int nc, float[] b, int src, int ldb, float[] bp) {
        // 16 lanes: the gather's offsets of 16 rows of b, ldb apart, built once for all the panels
        int[] rowsApart = transB && L == 16 ? new int[16] : null;
        for (int j = 0; rowsApart != null && j < 16; j++) {
            rowsApart[j] = j * ldb;
        }
        for (int j0 = 0; j0 < nc; j0 += NR) {
            int nr = Math.min(NR, nc - j0);
            int dst = GemmKernel.PANEL_OFFSET + j0 * kc;
            if (transB) {
                packBColsOfK(nr, kc, b, src + j0 * ldb, ldb, bp, dst, rowsApart);
            } else {
                packBRowsOfK(nr, kc, b, src + j0, ldb, bp, dst);
            }
        }
    }

    /** B stored [K, N]: the NR values of one k are contiguous, a vector copy per k. */
    private static void packBRowsOfK(int nr, int kc, float[] b, int s, int ldb, float[] bp, int d) {
        if (nr == NR) {
            for (int k = 0; k < kc; k++) {
                for (int j = 0; j < NR; j += L) {
                    FloatVector.fromArray(S, b, s + k * ldb + j).intoArray(bp, d + k * NR + j);
                }
            }
            return;
        }
        for (int k = 0; k < kc; k++) {
            for (int j = 0; j < NR; j++) {
                bp[d + k * NR + j] = j < nr ? b[s + k * ldb + j] : 0f;
            }
        }
    }

    /** B stored [N, K]: NR rows of b, each contiguous in k, transposed 8 rows × 8 k at a time. */
    private static void packBColsOfK(int nr, int kc, float[] b, int s, int ldb, float[] bp, int d, int[] rowsApart) {
        int k = 0;
        if (nr == NR && HW256 && NR % 8 == 0) {
            for (; k + 8 <= kc; k += 8) {
                for (int g = 0; g < NR; g += 8) {
                    transpose8x8(b, s + g * ldb + k, ldb, bp, d + k * NR + g, NR);
                }
            }
        } else if (nr == NR && L == 16) {
            // 16 lanes: gather each k's 16 columns (rows of b, ldb apart) in one instruction
            for (; k < kc; k++) {
                for (int g = 0; g < NR; g += 16) {
                    FloatVector.fromArray(S, b, s + g * ldb + k, rowsApart, 0).intoArray(bp, d + k * NR + g);
                }
            }
        }
        for (; k < kc; k++) {
            for (int j = 0; j < NR; j++) {
                bp[d + k * NR + j] = j < nr ? b[s + j * ldb + k] : 0f;
            }
        }
    }

    /** out[c·ldo + r] = x[r·ldx + c] for r, c in [0, 8): three rounds of two-input shuffles. */
    private static void transpose8x8(float[] x, int xo, int ldx, float[] out, int oo, int ldo) {
        FloatVector r0 = FloatVector.fromArray(S8, x, xo);
        FloatVector r1 = FloatVector.fromArray(S8, x, xo + ldx);
        FloatVector r2 = FloatVector.fromArray(S8, x, xo + 2 * ldx);
        FloatVector r3 = FloatVector.fromArray(S8, x, xo + 3 * ldx);
        FloatVector r4 = FloatVector.fromArray(S8, x, xo + 4 * ldx);
        FloatVector r5 = FloatVector.fromArray(S8, x, xo + 5 * ldx);
        FloatVector r6 = FloatVector.fromArray(S8, x, xo + 6 * ldx);
        FloatVector r7 = FloatVector.fromArray(S8, x, xo + 7 * ldx);
        // pairs of rows: [r0c r1c r0c+1 r1c+1 ...]
        FloatVector a0 = r0.rearrange(LO, r1);
        FloatVector a1 = r0.rearrange(HI, r1);
        FloatVector a2 = r2.rearrange(LO, r3);
        FloatVector a3 = r2.rearrange(HI, r3);
        FloatVector a4 = r4.rearrange(LO, r5);
        FloatVector a5 = r4.rearrange(HI, r5);
        FloatVector a6 = r6.rearrange(LO, r7);
        FloatVector a7 = r6.rearrange(HI, r7);
        // quads of rows: [r0c r1c r2c r3c r0c+1 r1c+1 r2c+1 r3c+1]
        FloatVector q0 = a0.rearrange(P0, a2); // columns 0,1 of rows 0-3
        FloatVector q1 = a0.rearrange(P1, a2); // columns 2,3
        FloatVector q2 = a1.rearrange(P0, a3); // columns 4,5
        FloatVector q3 = a1.rearrange(P1, a3); // columns 6,7
        FloatVector q4 = a4.rearrange(P0, a6); // the same for rows 4-7
        FloatVector q5 = a4.rearrange(P1, a6);
        FloatVector q6 = a5.rearrange(P0, a7);
        FloatVector q7 = a5.rearrange(P1, a7);
        // join rows 0-3 with rows 4-7: one column per vector
        q0.rearrange(H0, q4).intoArray(out, oo);
        q0.rearrange(H1, q4).intoArray(out, oo + ldo);
        q1.rearrange(H0, q5).intoArray(out, oo + 2 * ldo);
        q1.rearrange(H1, q5).intoArray(out, oo + 3 * ldo);
        q2.rearrange(H0, q6).intoArray(out, oo + 4 * ldo);
        q2.rearrange(H1, q6).intoArray(out, oo + 5 * ldo);
        q3.rearrange(H0, q7).intoArray(out, oo + 6 * ldo);
        q3.rearrange(H1, q7).intoArray(out, oo + 7 * ldo);
    }
}
