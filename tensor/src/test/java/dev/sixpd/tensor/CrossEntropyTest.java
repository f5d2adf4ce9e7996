package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Cross-entropy vs a double log-sum-exp reference: losses 2e-5 absolute + 1e-5 relative (logits of order 1) and
 * 1e-5 relative for logits of 1e4 (where float logits carry ~1e-3 absolute rounding, so the tolerance there is
 * 2e-3 absolute); probabilities 1e-6 + 1e-5 relative; backward vs central differences of the double mean loss
 * (1e-5·(1+max) absolute + 1e-3 relative).
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
}
