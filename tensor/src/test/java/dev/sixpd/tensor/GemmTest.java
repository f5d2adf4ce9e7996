package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Gemm and its scalar twin against a double-precision reference.
 *
 * <p>Tolerance: each element of op(A)·op(B) is a sum of K float products; float accumulation (any order, with or
 * without FMA) errs by at most about K·eps·Σ|a||b| ≤ K·eps·K·max|a|·max|b|. We allow
 * {@code |got - ref| <= 2·K·eps·(|alpha|·Σ_k|a_ik||b_kj| + |beta·c|) + tiny}, i.e. the standard a-priori bound on the
 * actual terms (tighter than K²·eps·max|a|max|b|), with eps = 2^-24.
 */
class GemmTest {
    private static final float EPS = 0x1p-24f;
    private int savedThreads;

    @BeforeEach
    void saveThreads() {
        savedThreads = Parallel.threads();
    }

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** One GEMM problem with its own storage: padded leading dims and offsets. */
    private record Problem(boolean tA, boolean tB, int M, int N, int K, float alpha, float beta, float[] a, int aOff,
            int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
    }

    private static Problem problem(long seed, boolean tA, boolean tB, int M, int N, int K, float alpha, float beta,
            int pad, int off) {
        Rng rng = new Rng(seed);
        int aRows = tA ? K : M, aCols = tA ? M : K;
        int bRows = tB ? N : K, bCols = tB ? K : N;
        int lda = aCols + pad, ldb = bCols + pad, ldc = N + pad;
        float[] a = randomArray(rng, off + aRows * lda + 3);
        float[] b = randomArray(rng, off + bRows * ldb + 3);
        float[] c = randomArray(rng, off + M * ldc + 3);
        if (beta == 0f) {
            Arrays.fill(c, Float.NaN);
        }
        return new Problem(tA, tB, M, N, K, alpha, beta, a, off, lda, b, off, ldb, c, off, ldc);
    }

    private static float[] randomArray(Rng rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    /** Checks p's result array {@code got} against the double reference computed from p's (original) inputs. */
    private static void checkAgainstDouble(Problem p, float[] got, String what) {
        for (int i = 0; i < p.M; i++) {
            for (int j = 0; j < p.N; j++) {
                double sum = 0, abs = 0;
                for (int k = 0; k < p.K; k++) {
                    double av = p.tA ? p.a[p.aOff + k * p.lda + i] : p.a[p.aOff + i * p.lda + k];
                    double bv = p.tB ? p.b[p.bOff + j * p.ldb + k] : p.b[p.bOff + k * p.ldb + j];
                    sum += av * bv;
                    abs += Math.abs(av * bv);
                }
                int ci = p.cOff + i * p.ldc + j;
                double cOld = p.beta == 0f ? 0 : p.c[ci];
                double ref = p.alpha * sum + p.beta * cOld;
                double tol = 2.0 * (p.K + 2) * EPS * (Math.abs(p.alpha) * abs + Math.abs(p.beta * cOld)) + 1e-30;
                double g = got[ci];
                if (!(Math.abs(g - ref) <= tol)) {
                    fail(what + ": C[" + i + "," + j + "] = " + g + ", reference " + ref + ", |diff| "
                            + Math.abs(g - ref) + " > tol " + tol);
                }
            }
        }
        // Everything outside the M×N window of C is untouched.
        for (int idx = 0; idx < got.length; idx++) {
            int rel = idx - p.cOff;
            boolean inside = rel >= 0 && rel / p.ldc < p.M && rel % p.ldc < p.N;
            if (!inside && Float.floatToRawIntBits(got[idx]) != Float.floatToRawIntBits(p.c[idx])) {
                fail(what + ": element " + idx + " outside C's window changed");
            }
        }
    }

    private static float[] runGemm(Problem p) {
        float[] c = p.c.clone();
        Gemm.gemm(p.tA, p.tB, p.M, p.N, p.K, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, p.beta, c, p.cOff,
                p.ldc);
        return c;
    }

    private static float[] runScalar(Problem p) {
        float[] c = p.c.clone();
        Gemm.gemmScalar(p.tA, p.tB, p.M, p.N, p.K, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb, p.beta, c,
                p.cOff, p.ldc);
        return c;
    }

    private static final boolean[][] TRANS = {{false, false}, {false, true}, {true, false}, {true, true}};

    @Test
    void allTransposeCombosOddSizesMatchDoubleReference() {
        int[] sizes = {1, 3, 7, 17, 33, 65};
        long seed = 1;
        for (boolean[] t : TRANS) {
            for (int M : sizes) {
                for (int N : sizes) {
                    for (int K : new int[] {1, 7, 33, 65}) {
                        Problem p = problem(seed++, t[0], t[1], M, N, K, 1f, 0f, 0, 0);
                        String what = "tA=" + t[0] + " tB=" + t[1] + " M=" + M + " N=" + N + " K=" + K;
                        checkAgainstDouble(p, runGemm(p), "gemm " + what);
                        checkAgainstDouble(p, runScalar(p), "gemmScalar " + what);
                    }
                }
            }
        }
    }

    @Test
    void bothMicroKernelsMatchTheDoubleReferenceAndEachOther() {
        // one tile on packed panels, kc odd: micro (4 rows) and micro8 (8 rows) on every host, whichever GEMM uses
        int kc = 37, nr = GemmKernel.NR;
        Rng rng = new Rng(11);
        float[] a8 = new float[8 * kc], b = new float[nr * kc];
        for (int i = 0; i < a8.length; i++) {
            a8[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rng.nextGaussian();
        }
        float[] a4 = new float[4 * kc]; // rows 0..3 of the 8-row panel, as a 4-row panel
        for (int k = 0; k < kc; k++) {
            System.arraycopy(a8, k * 8, a4, k * 4, 4);
        }
        for (boolean add : new boolean[] {false, true}) {
            float[] c8 = new float[8 * nr], c4 = new float[4 * nr];
            for (int i = 0; i < c4.length; i++) {
                c4[i] = add ? 0.25f * i : 0f;
            }
            for (int i = 0; i < c8.length; i++) {
                c8[i] = add ? 0.25f * i : 0f;
            }
            GemmKernel.micro8(kc, a8, 0, b, 0, c8, 0, nr, add);
            GemmKernel.micro(kc, a4, 0, 4, b, 0, c4, 0, nr, add);
            for (int r = 0; r < 8; r++) {
                for (int j = 0; j < nr; j++) {
                    // c[r, j] = Σ_k a[r, k]·b[k, j] (+ the old c)
                    double want = add ? 0.25 * (r * nr + j) : 0;
                    double mag = Math.abs(want);
                    for (int k = 0; k < kc; k++) {
                        want += (double) a8[k * 8 + r] * b[k * nr + j];
                        mag += Math.abs((double) a8[k * 8 + r] * b[k * nr + j]);
                    }
                    float got = c8[r * nr + j];
                    assertTrue(Math.abs(got - want) <= 1e-6 * mag + 1e-30, "micro8 r=" + r + " j=" + j + " add=" + add
                            + ": " + got + " vs " + want);
                    if (r < 4) {
                        // the same chain of FMAs per element: the same bits
                        assertEquals(Float.floatToRawIntBits(c4[r * nr + j]), Float.floatToRawIntBits(got),
                                "micro and micro8 differ at r=" + r + " j=" + j);
                    }
                }
            }
        }
    }

    @Test
    void narrowEdgeKernelsGiveTheFullTilesBits() {
        // microCols (vectors along the rows) and the 4-row kernel on an 8-row panel compute each element with the
        // same chain of FMAs as the full tile: the same bits, for every edge width they are used for
        int kc = 37, nr = GemmKernel.NR, mr = GemmKernel.MR, lanes = Vectors.LANES;
        Rng rng = new Rng(12);
        float[] a = new float[mr * kc + lanes], b = new float[nr * kc];
        for (int i = 0; i < mr * kc; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rng.nextGaussian();
        }
        float[] full = new float[mr * nr];
        if (mr == 8) {
            GemmKernel.micro8(kc, a, 0, b, 0, full, 0, nr, false);
        } else {
            GemmKernel.micro(kc, a, 0, 4, b, 0, full, 0, nr, false);
        }
        for (int cols = 1; cols <= GemmKernel.NARROW_N; cols++) {
            float[] tile = new float[mr * nr];
            Arrays.fill(tile, Float.NaN);
            GemmKernel.microCols(kc, a, 0, b, 0, cols, tile, new float[4 * lanes]);
            for (int r = 0; r < mr; r++) {
                for (int j = 0; j < nr; j++) {
                    int bits = Float.floatToRawIntBits(tile[r * nr + j]);
                    if (j < cols) {
                        assertEquals(Float.floatToRawIntBits(full[r * nr + j]), bits,
                                "microCols(" + cols + ") r=" + r + " j=" + j);
                    } else {
                        assertEquals(Float.floatToRawIntBits(Float.NaN), bits, "microCols wrote column " + j);
                    }
                }
            }
        }
        if (mr == 8) {
            float[] four = new float[4 * nr];
            GemmKernel.micro(kc, a, 0, 8, b, 0, four, 0, nr, false);
            for (int i = 0; i < four.length; i++) {
                assertEquals(Float.floatToRawIntBits(full[i]), Float.floatToRawIntBits(four[i]), "4 rows, i=" + i);
            }
        }
    }

    @Test
    void raggedEdgesGiveTheBitsOfFullTiles() {
        // C's columns (rows) do not depend on each other: a product with a ragged edge must equal, bit for bit,
        // the same product widened to whole tiles, so the edge kernels change no result. K crosses a K block.
        int nr = GemmKernel.NR, mr = GemmKernel.MR;
        int[][] shapes = {{2 * mr + 3, 2 * nr + 1, GemmKernel.KC + 19}, {3 * mr + 1, nr + GemmKernel.NARROW_N, 65},
            {mr + 2, 3 * nr + 2, 2 * GemmKernel.KC + 5}, {2048 / 16 + 1, 65, 384}, {65, 384, 300}};
        long seed = 900;
        for (boolean[] t : TRANS) {
            for (int[] s : shapes) {
                for (float beta : new float[] {0f, 1f, 0.5f}) {
                    int M = s[0], N = s[1], K = s[2];
                    int Mw = (M + mr - 1) / mr * mr, Nw = (N + nr - 1) / nr * nr;
                    Problem wide = problem(seed++, t[0], t[1], Mw, Nw, K, 1f, beta, 0, 0);
                    // the ragged problem reads the wide one's arrays through its leading dimensions
                    Problem p = new Problem(t[0], t[1], M, N, K, 1f, beta, wide.a, 0, wide.lda, wide.b, 0, wide.ldb,
                            wide.c, 0, wide.ldc);
                    for (int threads : new int[] {1, 2}) {
                        Parallel.setThreads(threads);
                        float[] got = runGemm(p), want = runGemm(wide);
                        checkAgainstDouble(p, got, "ragged M=" + M + " N=" + N + " K=" + K);
                        for (int i = 0; i < M; i++) {
                            for (int j = 0; j < N; j++) {
                                int x = i * wide.ldc + j;
                                assertEquals(Float.floatToRawIntBits(want[x]), Float.floatToRawIntBits(got[x]),
                                        "tA=" + t[0] + " tB=" + t[1] + " M=" + M + " N=" + N + " K=" + K + " beta="
                                                + beta + " threads=" + threads + ": C[" + i + "," + j + "]");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void largerSizesCrossBlockBoundaries() {
        int[][] shapes = {{127, 130, 129}, {130, 127, 257}, {64, 300, 520}, {257, 33, 300}, {6, 1000, 17},
            {1000, 6, 31}, {200, 64, 64}, {37, 45, GemmKernel.KC + 3}, {21, 50, 2 * GemmKernel.KC + 1}};
        long seed = 100;
        for (boolean[] t : TRANS) {
            for (int[] s : shapes) {
                Problem p = problem(seed++, t[0], t[1], s[0], s[1], s[2], 0.75f, 0.5f, 3, 5);
                String what = "tA=" + t[0] + " tB=" + t[1] + " " + Arrays.toString(s);
                checkAgainstDouble(p, runGemm(p), "gemm " + what);
            }
        }
        // the scalar twin on one big case too
        Problem p = problem(7, true, false, 127, 130, 129, 0.75f, 0.5f, 3, 5);
        checkAgainstDouble(p, runScalar(p), "gemmScalar big");
    }

    @Test
    void alphaBetaVariants() {
        float[][] ab = {{1f, 0f}, {1f, 1f}, {1f, 0.5f}, {-2f, 0.5f}, {0.5f, 1f}, {0f, 0.5f}, {0f, 0f}};
        long seed = 200;
        for (boolean[] t : TRANS) {
            for (float[] x : ab) {
                for (int[] s : new int[][] {{17, 33, 7}, {65, 20, 130}}) {
                    Problem p = problem(seed++, t[0], t[1], s[0], s[1], s[2], x[0], x[1], 2, 1);
                    String what = "alpha=" + x[0] + " beta=" + x[1] + " tA=" + t[0] + " tB=" + t[1];
                    checkAgainstDouble(p, runGemm(p), "gemm " + what);
                    checkAgainstDouble(p, runScalar(p), "gemmScalar " + what);
                }
            }
        }
    }

    /** The packed, tiled path and the small path called directly, so odd tiny shapes exercise both. */
    @Test
    void packedAndSmallPathsOnOddShapes() {
        int[] sizes = {1, 2, 3, 5, 7, 9, 17, 31};
        long seed = 500;
        for (boolean[] t : TRANS) {
            for (int M : sizes) {
                for (int N : sizes) {
                    for (int K : new int[] {1, 3, 8, 9, 31}) {
                        for (float[] ab : new float[][] {{1f, 0f}, {1f, 1f}, {0.5f, -0.5f}}) {
                            Problem p = problem(seed++, t[0], t[1], M, N, K, ab[0], ab[1], 1, 2);
                            String what = "tA=" + t[0] + " tB=" + t[1] + " M=" + M + " N=" + N + " K=" + K
                                    + " alpha=" + ab[0] + " beta=" + ab[1];
                            float[] c1 = p.c.clone();
                            GemmKernel.sequential(p.tA, p.tB, M, N, K, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff,
                                    p.ldb, p.beta, c1, p.cOff, p.ldc);
                            checkAgainstDouble(p, c1, "packed " + what);
                            float[] c2 = p.c.clone();
                            GemmKernel.small(p.tA, p.tB, M, N, K, p.alpha, p.a, p.aOff, p.lda, p.b, p.bOff, p.ldb,
                                    p.beta, c2, p.cOff, p.ldc);
                            checkAgainstDouble(p, c2, "small " + what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void betaZeroIgnoresNaNsInC() {
        Problem p = problem(3, false, true, 33, 17, 9, 1f, 0f, 1, 2);
        float[] got = runGemm(p);
        for (int i = 0; i < p.M; i++) {
            for (int j = 0; j < p.N; j++) {
                assertTrue(Float.isFinite(got[p.cOff + i * p.ldc + j]), "NaN leaked at " + i + "," + j);
            }
        }
        checkAgainstDouble(p, got, "beta=0 over NaNs");
    }

    @Test
    void emptyDimensions() {
        for (boolean[] t : TRANS) {
            // M or N = 0: nothing happens
            for (int[] s : new int[][] {{0, 5, 3}, {5, 0, 3}, {0, 0, 0}}) {
                Problem p = problem(9, t[0], t[1], s[0], s[1], s[2], 1f, 0.5f, 0, 0);
                assertArrayEquals(p.c, runGemm(p));
                assertArrayEquals(p.c, runScalar(p));
            }
            // K = 0: C = beta·C (and 0 when beta = 0)
            Problem p = problem(10, t[0], t[1], 4, 5, 0, 1f, 0.5f, 1, 1);
            checkAgainstDouble(p, runGemm(p), "K=0 beta=0.5");
            checkAgainstDouble(p, runScalar(p), "scalar K=0 beta=0.5");
            Problem z = problem(11, t[0], t[1], 4, 5, 0, 1f, 0f, 1, 1);
            float[] got = runGemm(z);
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 5; j++) {
                    assertEquals(0f, got[z.cOff + i * z.ldc + j]);
                }
            }
        }
    }

    @Test
    void batchedMatchesOneByOne() {
        for (boolean[] t : TRANS) {
            int batch = 5, M = 19, N = 23, K = 37;
            Problem one = problem(300, t[0], t[1], M, N, K, 0.5f, 1f, 2, 0);
            int sa = one.a.length, sb = one.b.length, sc = one.c.length;
            Rng rng = new Rng(301);
            float[] a = randomArray(rng, sa * batch + 4);
            float[] b = randomArray(rng, sb * batch + 4);
            float[] c = randomArray(rng, sc * batch + 4);
            float[] c0 = c.clone();
            Gemm.gemmBatched(Ledger.Kind.ATTENTION_MATMUL, batch, t[0], t[1], M, N, K, 0.5f, a, 3, one.lda, sa, b, 2,
                    one.ldb, sb, 1f, c, 1, one.ldc, sc);
            for (int p = 0; p < batch; p++) {
                Problem pi = new Problem(t[0], t[1], M, N, K, 0.5f, 1f, a, 3 + p * sa, one.lda, b, 2 + p * sb, one.ldb,
                        c0, 1 + p * sc, one.ldc);
                float[] single = runGemm(pi);
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < N; j++) {
                        int ci = 1 + p * sc + i * one.ldc + j;
                        assertEquals(single[ci], c[ci], "batch " + p + " C[" + i + "," + j + "]");
                    }
                }
                // and against the double reference
                float[] got = c0.clone();
                for (int i = 0; i < M; i++) {
                    System.arraycopy(c, 1 + p * sc + i * one.ldc, got, 1 + p * sc + i * one.ldc, N);
                }
                checkAgainstDouble(pi, got, "batched " + p);
            }
        }
    }

    @Test
    void deterministicForEachThreadCount() {
        // row split, row split with K > KC, column split (more column panels than row panels)
        int[][] shapes = {{130, 127, GemmKernel.KC + 37}, {300, 520, 64}, {2048 / 8, 1152 / 4, 384}, {65, 384, 600}};
        long seed = 400;
        for (boolean[] t : TRANS) {
            for (int[] s : shapes) {
                Problem p = problem(seed++, t[0], t[1], s[0], s[1], s[2], 1f, 0.5f, 1, 3);
                float[] first = null;
                for (int threads : new int[] {1, 2, 3}) {
                    Parallel.setThreads(threads);
                    float[] x = runGemm(p);
                    float[] y = runGemm(p);
                    assertArrayEquals(x, y, "threads=" + threads + " run twice differs");
                    checkAgainstDouble(p, x, "threads=" + threads);
                    if (first == null) {
                        first = x;
                    } else {
                        // the K-reduction order does not depend on the thread count: same bits
                        assertArrayEquals(first, x, "threads=" + threads + " differs from 1 thread");
                    }
                }
            }
        }
    }

    @Test
    void recordsFlopsToTheLedger() {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OTHER);
        try {
            Ledger.Snapshot before = Ledger.snapshot();
            Problem p = problem(5, false, true, 7, 9, 11, 1f, 0f, 0, 0);
            runGemm(p);
            Gemm.gemmBatched(Ledger.Kind.ATTENTION_MATMUL, 3, false, false, 2, 3, 4, 1f, new float[24], 0, 4, 8,
                    new float[36], 0, 3, 12, 0f, new float[18], 0, 3, 6);
            Ledger.Snapshot d = Ledger.snapshot().minus(before);
            assertEquals(2L * 7 * 9 * 11, d.flops(Ledger.Phase.OTHER, Ledger.Kind.MATMUL));
            assertEquals(3 * 2L * 2 * 3 * 4, d.flops(Ledger.Phase.OTHER, Ledger.Kind.ATTENTION_MATMUL));
        } finally {
            Ledger.setPhase(old);
        }
    }

    @Test
    void badArgumentsNameTheProblem() {
        float[] x = new float[12];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, false, 3, 4, 5, 1f, x, 0, 5, x, 0, 4, 0f, x, 0, 4));
        assertTrue(e.getMessage().contains("A [3,5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, true, 2, 2, 2, 1f, x, 0, 1, x, 0, 2, 0f, x, 0, 2));
        assertTrue(e.getMessage().contains("leading dimension"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(false, false, -1, 2, 2, 1f, x, 0, 2, x, 0, 2, 0f, x, 0, 2));
    }
}
