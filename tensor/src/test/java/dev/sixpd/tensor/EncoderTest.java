package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Encoder vs a double reference; backward by finite differences. Tolerance: 1e-6 relative (a single add). */
class EncoderTest {
    private static double[] ref(int[] tok, double[] wte, double[] wpe, int B, int T, int C) {
        double[] out = new double[B * T * C];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int c = 0; c < C; c++) {
                    out[(b * T + t) * C + c] = wte[tok[b * T + t] * C + c] + wpe[t * C + c];
                }
            }
        }
        return out;
    }

    @Test
    void forwardAndBackwardMatchReferenceAtOddSizes() {
        Rng r = new Rng(1);
        int V = 4;
        for (int[] s : new int[][] {{1, 1, 1}, {2, 5, 3}, {3, 13, 7}, {1, 5, 17}, {2, 3, 67}, {0, 3, 5}, {2, 0, 5}}) {
            int B = s[0], T = s[1], C = s[2];
            int[] tok = new int[B * T];
            for (int i = 0; i < tok.length; i++) {
                tok[i] = r.nextInt(V);
            }
            float[] wte = randn(r, V * C);
            float[] wpe = randn(r, (T + 2) * C);
            double[] dwte = d(wte), dwpe = d(wpe);
            double[] w = d(randn(r, B * T * C));
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "Encoder " + (scalar ? "scalar" : "vector") + " B=" + B + " T=" + T + " C=" + C;
                float[] out = new float[B * T * C];
                if (scalar) {
                    Encoder.forwardScalar(out, tok, wte, wpe, B, T, C);
                } else {
                    Encoder.forward(out, tok, wte, wpe, B, T, C);
                }
                close(what + " out", ref(tok, dwte, dwpe, B, T, C), out, 0, 1e-6);
                // backward accumulates onto existing values
                float[] gte0 = randn(r, wte.length), gpe0 = randn(r, wpe.length);
                float[] gte = gte0.clone(), gpe = gpe0.clone();
                float[] dout = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    dout[i] = (float) w[i];
                }
                if (scalar) {
                    Encoder.backwardScalar(gte, gpe, dout, tok, B, T, C);
                } else {
                    Encoder.backward(gte, gpe, dout, tok, B, T, C);
                }
                double[] nte = numGrad(() -> ref(tok, dwte, dwpe, B, T, C), dwte, w);
                double[] npe = numGrad(() -> ref(tok, dwte, dwpe, B, T, C), dwpe, w);
                close(what + " dwte", nte, delta(gte, gte0), 1e-5, 1e-5);
                close(what + " dwpe", npe, delta(gpe, gpe0), 1e-5, 1e-5);
            }
        }
    }

    @Test
    void backwardIsBitIdenticalForAnyThreadCount() {
        Rng r = new Rng(2);
        int B = 4, T = 64, C = 67, V = 5;
        int[] tok = new int[B * T];
        for (int i = 0; i < tok.length; i++) {
            tok[i] = r.nextInt(V);
        }
        float[] dout = randn(r, B * T * C);
        int saved = Parallel.threads();
        try {
            float[] ref = null;
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                float[] gte = new float[V * C], gpe = new float[T * C];
                Encoder.backward(gte, gpe, dout, tok, B, T, C);
                if (ref == null) {
                    ref = gte;
                } else {
                    assertArrayEquals(ref, gte, "threads=" + th);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void ledgerAndErrors() {
        Ledger.Snapshot before = Ledger.snapshot();
        Encoder.forward(new float[2 * 3 * 5], new int[6], new float[5], new float[3 * 5], 2, 3, 5);
        Ledger.Snapshot diff = Ledger.snapshot().minus(before);
        assertEquals(Encoder.flopsForward(2, 3, 5), diff.flops(Ledger.phase(), Ledger.Kind.ELEMENTWISE));
        assertThrows(IllegalArgumentException.class,
                () -> Encoder.forward(new float[5], new int[] {3}, new float[5], new float[5], 1, 1, 5));
        assertThrows(IllegalArgumentException.class,
                () -> Encoder.forward(new float[10], new int[] {0, 0}, new float[5], new float[5], 1, 2, 5));
    }
    @Test
    void lookupAndItsBackwardMatchReferenceAtOddSizes() {
        Rng r = new Rng(3);
        int V = 6;
        for (int[] s : new int[][] {{1, 1}, {7, 3}, {13, 17}, {5, 67}, {0, 5}}) {
            int N = s[0], C = s[1];
            int[] tok = new int[N];
            for (int i = 0; i < N; i++) {
                tok[i] = r.nextInt(V);
            }
            float[] wte = randn(r, V * C);
            double[] dwte = d(wte);
            double[] w = d(randn(r, N * C));
            java.util.function.Supplier<double[]> ref = () -> {
                double[] o = new double[N * C];
                for (int n = 0; n < N; n++) {
                    for (int c = 0; c < C; c++) {
                        o[n * C + c] = dwte[tok[n] * C + c];
                    }
                }
                return o;
            };
            for (boolean scalar : new boolean[] {false, true}) {
                String what = "lookup " + (scalar ? "scalar" : "vector") + " N=" + N + " C=" + C;
                float[] out = new float[N * C];
                float[] g0 = randn(r, wte.length);
                float[] g = g0.clone();
                float[] dout = new float[N * C];
                for (int i = 0; i < dout.length; i++) {
                    dout[i] = (float) w[i];
                }
                if (scalar) {
                    Encoder.lookupScalar(out, tok, wte, N, C);
                    Encoder.lookupBackwardScalar(g, dout, tok, N, C);
                } else {
                    Encoder.lookup(out, tok, wte, N, C);
                    Encoder.lookupBackward(g, dout, tok, N, C);
                }
                close(what + " out", ref.get(), out, 0, 0);
                close(what + " dwte", numGrad(ref, dwte, w), delta(g, g0), 1e-5, 1e-5);
            }
        }
        assertThrows(IllegalArgumentException.class,
                () -> Encoder.lookup(new float[5], new int[] {6}, new float[6 * 5], 1, 5));
    }
}
