package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Cross-entropy vs a double log-sum-exp reference: losses 2e-5 absolute + 1e-5 relative (logits of order 1) and
 * 1e-5 relative for logits of 1e4 (where float logits carry ~1e-3 absolute rounding, so the tolerance there is
 * 2e-3 absolute); probabilities 1e-6 + 1e-5 relative; backward vs central differences of the double mean loss
 * (1e-5·(1+max) absolute + 1e-3 relative). The in-place backward: the same bits as a zero fill then the
 * accumulating backward (vector and scalar twin each against its own unfused path, 1 and 2 threads, through C2), and
 * within one rounding of the product and one of the target's subtraction of a double reference:
 * {@code |g - ref| <= 2^-23·(|p·s| + |ref|) + 2^-149}.
 */
class CrossEntropyTest {
    private static double[] refLosses(double[] x, int[] tgt, int N, int V) {
        double[] l = new double[N];
        for (int n = 0; n < N; n++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                max = Math.max(max, x[n * V + v]);
            }
            double s = 0;
            for (int v = 0; v < V; v++) {
                s += Math.exp(x[n * V + v] - max);
            }
            l[n] = Math.log(s) + max - x[n * V + tgt[n]];
        }
        return l;
    }

    private static double[] refMean(double[] x, int[] tgt, int N, int V) {
        double s = 0;
        for (double l : refLosses(x, tgt, N, V)) {
            s += l;
        }
        return new double[] {s / N};
    }

    private static int[] targets(Rng r, int N, int V) {
        int[] t = new int[N];
        for (int i = 0; i < N; i++) {
            t[i] = r.nextInt(V);
        }
        return t;
    }

    @Test
    void forwardAndBackwardMatchReference() {
        Rng r = new Rng(40);
        for (int V : new int[] {1, 3, 7, 17, 67, 65}) {
            for (int N : new int[] {1, 5, 13}) {
                float[] x = randn(r, N * V, 0, 2);
                int[] tgt = targets(r, N, V);
                double[] dx = d(x);
                double[] ref = refLosses(dx, tgt, N, V);
                double mean = refMean(dx, tgt, N, V)[0];
                double[] g = numGrad(() -> refMean(dx, tgt, N, V), dx, new double[] {1.0});
                for (boolean scalar : new boolean[] {false, true}) {
                    String what = "CrossEntropy " + (scalar ? "scalar" : "vector") + " N=" + N + " V=" + V;
                    float[] losses = new float[N], probs = new float[N * V];
                    double m = scalar ? CrossEntropy.forwardScalar(losses, probs, x, tgt, N, V)
                            : CrossEntropy.forward(losses, probs, x, tgt, N, V);
                    close(what + " losses", ref, losses, 2e-5, 1e-5);
                    assertEquals(mean, m, 2e-5 + 1e-5 * Math.abs(mean), what + " mean");
                    float[] d0 = randn(r, N * V);
                    float[] dl = d0.clone();
                    if (scalar) {
                        CrossEntropy.backwardScalar(dl, probs, tgt, 1f / N, N, V);
                    } else {
                        CrossEntropy.backward(dl, probs, tgt, 1f / N, N, V);
                    }
                    close(what + " dlogits", g, delta(dl, d0), 1e-5 * (1 + maxAbs(g)), 1e-3);
                }
            }
        }
    }

    @Test
    void stableForHugeLogits() {
        Rng r = new Rng(41);
        int N = 4, V = 37;
        float[] x = randn(r, N * V, 0, 1e4);
        x[5] = 1e4f;
        x[V + 2] = -1e4f;
        int[] tgt = {0, 2, 9, 36};
        double[] ref = refLosses(d(x), tgt, N, V);
        for (boolean scalar : new boolean[] {false, true}) {
            float[] losses = new float[N], probs = new float[N * V];
            double m = scalar ? CrossEntropy.forwardScalar(losses, probs, x, tgt, N, V)
                    : CrossEntropy.forward(losses, probs, x, tgt, N, V);
            assertTrue(Double.isFinite(m), "mean loss finite");
            close("CrossEntropy huge logits " + scalar, ref, losses, 2e-3, 1e-5);
            for (float p : probs) {
                assertTrue(Float.isFinite(p) && p >= 0 && p <= 1);
            }
        }
    }

    @Test
    void ledgerAndErrors() {
        Ledger.Snapshot s0 = Ledger.snapshot();
        CrossEntropy.forward(new float[2], new float[6], new float[6], new int[] {0, 2}, 2, 3);
        assertEquals(CrossEntropy.flopsForward(2, 3), Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.LOSS));
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.forward(new float[2], new float[6], new float[6], new int[] {0, 3}, 2, 3));
    }

    private static final int[] IN_PLACE_V = {1, 7, 65, 1003};
    private static final float[] SCALES = {1f / 13, -1f / 13, 0x1p-20f, -0x1p-20f, 65536f, -65536f, 3.7f};

    /**
     * Probabilities as forward leaves them (logits of spread 30, so many underflow to 0 or to subnormals), or, every
     * other call, a synthetic row mix of +0, subnormals, tiny and ordinary values (the kernel only multiplies).
     */
    private static float[] probs(Rng r, int N, int V, boolean synthetic) {
        float[] p = new float[N * V];
        if (!synthetic) {
            int[] tgt = targets(r, N, V);
            CrossEntropy.forwardScalar(new float[N], p, randn(r, N * V, 0, 30), tgt, N, V);
            return p;
        }
        float[] pick = {0f, Float.MIN_VALUE, 3 * Float.MIN_VALUE, 0x1p-130f, 0x1p-100f, 1e-30f, 0.25f, 1f};
        for (int i = 0; i < p.length; i++) {
            p[i] = i % 3 == 0 ? (float) r.nextDouble() : pick[r.nextInt(pick.length)];
        }
        return p;
    }

    /** Fails unless a and b hold the same bits (so +0 and -0 differ). */
    private static void sameBits(String what, float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                fail(what + ": element " + i + " is " + b[i] + ", the unfused path gives " + a[i]);
            }
        }
    }

    @Test
    void backwardInPlaceSameBitsAsFillThenBackward() {
        Rng r = new Rng(42);
        int saved = Parallel.threads();
        int negativeZeros = 0;   // where a plain p·s would give -0: the case the +0 in the kernel is there for
        try {
            for (int V : IN_PLACE_V) {
                for (int N : new int[] {1, 5, 13}) {
                    for (float s : SCALES) {
                        for (boolean synthetic : new boolean[] {false, true}) {
                            float[] p = probs(r, N, V, synthetic);
                            int[] tgt = targets(r, N, V);
                            for (float x : p) {
                                negativeZeros += Float.floatToRawIntBits(x * s) == 0x80000000 ? 1 : 0;
                            }
                            String what = "N=" + N + " V=" + V + " scale=" + s + (synthetic ? " synthetic" : "");
                            // unfused: zero fill, accumulate
                            float[] vecRef = new float[N * V];
                            CrossEntropy.backward(vecRef, p, tgt, s, N, V);
                            float[] scalarRef = new float[N * V];
                            CrossEntropy.backwardScalar(scalarRef, p, tgt, s, N, V);
                            for (int threads = 1; threads <= 2; threads++) {
                                Parallel.setThreads(threads);
                                float[] g = p.clone();
                                CrossEntropy.backwardInPlace(g, tgt, s, N, V);
                                sameBits("backwardInPlace threads=" + threads + " " + what, vecRef, g);
                            }
                            float[] g = p.clone();
                            CrossEntropy.backwardInPlaceScalar(g, tgt, s, N, V);
                            sameBits("backwardInPlaceScalar " + what, scalarRef, g);
                            inPlaceMatchesReference(what, p, g, tgt, s, N, V);
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
        assertTrue(negativeZeros > 0, "the inputs reach no -0 product: the sign-of-zero case is untested");
    }

    /** g within one rounding of p·s and one of the target's subtraction of ((double) p - onehot)·s. */
    private static void inPlaceMatchesReference(String what, float[] p, float[] g, int[] tgt, float s, int N, int V) {
        for (int n = 0; n < N; n++) {
            for (int v = 0; v < V; v++) {
                int i = n * V + v;
                double ps = (double) p[i] * s;
                double ref = ps - (v == tgt[n] ? s : 0);
                double tol = 0x1p-23 * (Math.abs(ps) + Math.abs(ref)) + 0x1p-149;
                if (!(Math.abs(g[i] - ref) <= tol)) {
                    fail("backwardInPlace vs double " + what + ": element " + i + " is " + g[i] + ", reference "
                            + ref + " (tolerance " + tol + ")");
                }
            }
        }
    }

    /** The same bits after C2 compiles both paths (a JIT that folded {@code 0f + x} to x would flip zeros' signs). */
    @Test
    void backwardInPlaceSameBitsThroughTheJit() {
        Rng r = new Rng(43);
        int saved = Parallel.threads();
        Parallel.setThreads(1);
        try {
            int N = 3;
            int V = 19;
            float[] p = probs(r, N, V, true);
            int[] tgt = targets(r, N, V);
            float[] ref = new float[N * V];
            float[] g = new float[N * V];
            for (int trial = 0; trial < 40_000; trial++) {
                float s = trial % 2 == 0 ? -0x1p-20f : 1f / 3;
                boolean scalar = trial % 4 >= 2;
                Arrays.fill(ref, 0f);
                System.arraycopy(p, 0, g, 0, p.length);
                if (scalar) {
                    CrossEntropy.backwardScalar(ref, p, tgt, s, N, V);
                    CrossEntropy.backwardInPlaceScalar(g, tgt, s, N, V);
                } else {
                    CrossEntropy.backward(ref, p, tgt, s, N, V);
                    CrossEntropy.backwardInPlace(g, tgt, s, N, V);
                }
                sameBits("trial " + trial + (scalar ? " scalar" : " vector"), ref, g);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void backwardInPlaceLedgerAndErrors() {
        Ledger.Snapshot s0 = Ledger.snapshot();
        CrossEntropy.backwardInPlace(new float[6], new int[] {0, 2}, 0.5f, 2, 3);
        Ledger.Snapshot d = Ledger.snapshot().minus(s0);
        assertEquals(CrossEntropy.flopsBackward(2, 3), d.flops(Ledger.phase(), Ledger.Kind.LOSS));
        assertEquals(CrossEntropy.bytesBackwardInPlace(2, 3), d.bytes(Ledger.phase(), Ledger.Kind.LOSS));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.backwardInPlace(new float[6], new int[] {0, 3}, 1f, 2, 3));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.backwardInPlaceScalar(new float[5], new int[] {0, 1}, 1f, 2, 3));
    }
}
