package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * RoPE vs a double reference written from Hugging Face's {@code apply_rotary_pos_emb}
 * ({@code x·cos + rotate_half(x)·sin}, angles in double; tolerance 1e-6 absolute + 1e-5 relative, the float
 * rounding of the tables and of one rotation), backward as the adjoint of forward (⟨Rx, y⟩ = ⟨x, Rᵀy⟩ in double,
 * relative 1e-5) and vs central differences of the reference (1e-5·(1 + max|grad|) absolute + 1e-4 relative).
 * Vector and scalar kernels must give the same bits; columns outside the rotated heads must not change.
 */
class RopeTest {
    /** {B, T, rowStride, colOffset, heads, hs, pos0}: q-like, k-like (offset) slices of wider rows, odd T. */
    private static final int[][] SHAPES = {
        {1, 1, 2, 0, 1, 2, 0}, {2, 7, 12, 0, 2, 6, 0}, {1, 5, 40, 12, 2, 10, 3}, {2, 33, 3 * 24, 24, 2, 12, 0},
        {1, 9, 70, 1, 3, 22, 17}, {1, 3, 64, 0, 1, 64, 100}, {3, 1, 37, 5, 2, 16, 40}
    };

    /**
     * Hugging Face: {@code cos = cat(cos(f), cos(f))}, {@code rotate_half(x) = cat(-x[h/2:], x[:h/2])},
     * {@code x' = x·cos + rotate_half(x)·sin}, with {@code f[i] = pos·theta^(-2i/hs)}; other columns copied.
     */
    static double[] ref(double[] x, int B, int T, int rowStride, int colOffset, int heads, int hs, int pos0,
            double theta) {
        double[] y = x.clone();
        int half = hs / 2;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int h = 0; h < heads; h++) {
                    int base = (b * T + t) * rowStride + colOffset + h * hs;
                    for (int j = 0; j < hs; j++) {
                        int i = j % half;
                        double a = (pos0 + t) * Math.pow(theta, -2.0 * i / hs);
                        double rot = j < half ? -x[base + j + half] : x[base + j - half];
                        y[base + j] = x[base + j] * Math.cos(a) + rot * Math.sin(a);
                    }
                }
            }
        }
        return y;
    }

    private static int len(int[] s) {
        return s[0] * s[1] * s[2];
    }

    @Test
    void tableIsCosAndSinOfTheAngles() {
        float[][] cs = Rope.table(5, 6, Rope.THETA);
        assertEquals(5 * 3, cs[0].length);
        for (int p = 0; p < 5; p++) {
            for (int i = 0; i < 3; i++) {
                double a = p * Math.pow(10000.0, -2.0 * i / 6);
                assertEquals(Math.cos(a), cs[0][p * 3 + i], 1e-7, "cos p=" + p + " i=" + i);
                assertEquals(Math.sin(a), cs[1][p * 3 + i], 1e-7, "sin p=" + p + " i=" + i);
            }
        }
        // position 0 is the identity; channel 0 turns by exactly pos radians
        assertEquals(1f, cs[0][1]);
        assertEquals(0f, cs[1][2]);
        assertEquals((float) Math.cos(4.0), cs[0][4 * 3]);
        assertThrows(IllegalArgumentException.class, () -> Rope.table(5, 7, Rope.THETA));
        assertThrows(IllegalArgumentException.class, () -> Rope.table(5, 0, Rope.THETA));
        assertThrows(IllegalArgumentException.class, () -> Rope.table(-1, 4, Rope.THETA));
        assertThrows(IllegalArgumentException.class, () -> Rope.table(5, 4, 0.5));
    }

    @Test
    void forwardMatchesReference() {
        Rng r = new Rng(130);
        for (double theta : new double[] {Rope.THETA, 500000.0}) {
            for (int[] s : SHAPES) {
                int B = s[0], T = s[1], rs = s[2], co = s[3], heads = s[4], hs = s[5], pos0 = s[6];
                float[][] cs = Rope.table(pos0 + T, hs, theta);
                float[] x = randn(r, len(s), 0, 2);
                double[] ref = ref(d(x), B, T, rs, co, heads, hs, pos0, theta);
                float[] scalar = x.clone();
                Rope.forwardScalar(scalar, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
                for (boolean vector : new boolean[] {true, false}) {
                    String what = "Rope " + (vector ? "vector" : "scalar") + " " + java.util.Arrays.toString(s)
                            + " theta=" + theta;
                    float[] got = x.clone();
                    Ledger.Snapshot s0 = Ledger.snapshot();
                    if (vector) {
                        Rope.forward(got, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
                    } else {
                        Rope.forwardScalar(got, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
                    }
                    assertEquals(Rope.flopsForward(B, T, heads, hs),
                            Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.ELEMENTWISE), what);
                    close(what, ref, got, 1e-6, 1e-5);
                    assertArrayEquals(scalar, got, what + ": vector and scalar bits");
                    // columns outside the rotated heads keep their exact values
                    for (int row = 0; row < B * T; row++) {
                        for (int c = 0; c < rs; c++) {
                            if (c < co || c >= co + heads * hs) {
                                assertEquals(x[row * rs + c], got[row * rs + c], what + " untouched column " + c);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void pos0ContinuesALongerSequence() {
        // rotating rows 5..8 alone with pos0 = 5 gives the same bits as rows 5..8 of a 9-row call from 0
        Rng r = new Rng(131);
        int T = 9, hs = 12, heads = 2, W = heads * hs;
        float[][] cs = Rope.table(T, hs, Rope.THETA);
        float[] x = randn(r, T * W);
        float[] all = x.clone();
        Rope.forward(all, 1, T, W, 0, heads, hs, 0, cs[0], cs[1]);
        float[] tail = java.util.Arrays.copyOfRange(x, 5 * W, T * W);
        Rope.forward(tail, 1, T - 5, W, 0, heads, hs, 5, cs[0], cs[1]);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 5 * W, T * W), tail);
    }

    @Test
    void backwardIsTheAdjointAndMatchesFiniteDifferences() {
        Rng r = new Rng(132);
        for (int[] s : SHAPES) {
            int B = s[0], T = s[1], rs = s[2], co = s[3], heads = s[4], hs = s[5], pos0 = s[6];
            float[][] cs = Rope.table(pos0 + T, hs, Rope.THETA);
            float[] x = randn(r, len(s)), y = randn(r, len(s));
            String what = "Rope backward " + java.util.Arrays.toString(s);
            // <R x, y> = <x, Rᵀ y>
            float[] rx = x.clone(), rty = y.clone(), rtyScalar = y.clone();
            Rope.forward(rx, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
            Ledger.Snapshot s0 = Ledger.snapshot();
            Rope.backward(rty, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
            assertEquals(Rope.flopsBackward(B, T, heads, hs),
                    Ledger.snapshot().minus(s0).flops(Ledger.phase(), Ledger.Kind.ELEMENTWISE), what);
            Rope.backwardScalar(rtyScalar, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
            assertArrayEquals(rtyScalar, rty, what + ": vector and scalar bits");
            double lhs = dot(d(rx), d(y)), rhs = dot(d(x), d(rty));
            assertTrue(Math.abs(lhs - rhs) <= 1e-5 * (1 + Math.abs(lhs)), what + ": <Rx,y>=" + lhs
                    + " <x,Rᵀy>=" + rhs);
            // Rᵀ R x = x (a rotation is orthogonal)
            Rope.backward(rx, B, T, rs, co, heads, hs, pos0, cs[0], cs[1]);
            close(what + " RᵀR", d(x), rx, 1e-6, 1e-5);
            // d(Σ y·rope(x))/dx by central differences of the double reference
            double[] xd = d(x);
            double[] g = numGrad(() -> ref(xd, B, T, rs, co, heads, hs, pos0, Rope.THETA), xd, d(y));
            close(what + " vs finite differences", g, rty, 1e-5 * (1 + maxAbs(g)), 1e-4);
        }
    }

    @Test
    void bitIdenticalForAnyThreadCount() {
        Rng r = new Rng(133);
        int B = 4, T = 301, W = 3 * 64, hs = 16;
        float[][] cs = Rope.table(T, hs, Rope.THETA);
        float[] x = randn(r, B * T * W);
        int saved = Parallel.threads();
        try {
            float[] ref = null;
            for (int th : new int[] {1, 2, 3}) {
                Parallel.setThreads(th);
                float[] got = x.clone();
                Rope.forward(got, B, T, W, 0, 4, hs, 0, cs[0], cs[1]);
                Rope.backward(got, B, T, W, 64, 2, hs, 0, cs[0], cs[1]);
                if (ref == null) {
                    ref = got;
                } else {
                    assertArrayEquals(ref, got, "threads=" + th);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void badInputIsRejected() {
        float[][] cs = Rope.table(4, 4, Rope.THETA);
        float[] x = new float[2 * 4 * 8];
        // odd head size
        assertThrows(IllegalArgumentException.class, () -> Rope.forward(x, 2, 4, 8, 0, 1, 5, 0, cs[0], cs[1]));
        // heads past the row
        assertThrows(IllegalArgumentException.class, () -> Rope.forward(x, 2, 4, 8, 4, 2, 4, 0, cs[0], cs[1]));
        // table too short for pos0 + T
        assertThrows(IllegalArgumentException.class, () -> Rope.forward(x, 2, 4, 8, 0, 2, 4, 1, cs[0], cs[1]));
        // x too short
        assertThrows(IllegalArgumentException.class,
                () -> Rope.backward(new float[20], 2, 4, 8, 0, 2, 4, 0, cs[0], cs[1]));
    }
}
