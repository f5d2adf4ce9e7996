package dev.sixpd.tensor;

import static dev.sixpd.tensor.KernelCheck.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Elementwise ops and reductions vs double references. Elementwise results are one float rounding from the exact
 * value (tolerance 1e-7 relative + 1e-30); sums and dots 1e-5·Σ|terms|.
 */
class ElementwiseTest {
    private static final int[] NS = {0, 1, 3, 7, 17, 67, 1001, 100_003};

    @Test
    void elementwiseOpsMatchReference() {
        Rng r = new Rng(60);
        for (int n : NS) {
            int off = 3;
            float[] a = randn(r, n + off), b = randn(r, n + off + 1);
            double[] add = new double[n], mul = new double[n], sc = new double[n], ax = new double[n];
            float[] y0 = randn(r, n + 2);
            for (int i = 0; i < n; i++) {
                add[i] = (double) a[off + i] + b[1 + i];
                mul[i] = (double) a[off + i] * b[1 + i];
                sc[i] = (double) a[off + i] * 0.37f;
                ax[i] = y0[2 + i] + 0.37 * (double) a[off + i];
            }
            for (boolean scalar : new boolean[] {false, true}) {
                String what = (scalar ? "scalar" : "vector") + " n=" + n;
                float[] out = new float[n + 5];
                if (scalar) {
                    Elementwise.addScalar(out, 5, a, off, b, 1, n);
                } else {
                    Elementwise.add(out, 5, a, off, b, 1, n);
                }
                close("add " + what, add, java.util.Arrays.copyOfRange(out, 5, 5 + n), 1e-30, 1e-7);
                if (scalar) {
                    Elementwise.mulScalar(out, 5, a, off, b, 1, n);
                } else {
                    Elementwise.mul(out, 5, a, off, b, 1, n);
                }
                close("mul " + what, mul, java.util.Arrays.copyOfRange(out, 5, 5 + n), 1e-30, 1e-7);
                float[] x = a.clone();
                if (scalar) {
                    Elementwise.scaleScalar(x, off, 0.37f, n);
                } else {
                    Elementwise.scale(x, off, 0.37f, n);
                }
                close("scale " + what, sc, java.util.Arrays.copyOfRange(x, off, off + n), 1e-30, 1e-7);
                float[] y = y0.clone();
                if (scalar) {
                    Elementwise.axpyScalar(y, 2, 0.37f, a, off, n);
                } else {
                    Elementwise.axpy(y, 2, 0.37f, a, off, n);
                }
                close("axpy " + what, ax, java.util.Arrays.copyOfRange(y, 2, 2 + n), 1e-6, 1e-6);
                y = y0.clone();
                if (scalar) {
                    Elementwise.accumulateScalar(y, 2, a, off, n);
                } else {
                    Elementwise.accumulate(y, 2, a, off, n);
                }
                double[] acc = new double[n];
                for (int i = 0; i < n; i++) {
                    acc[i] = (double) y0[2 + i] + a[off + i];
                }
                close("accumulate " + what, acc, java.util.Arrays.copyOfRange(y, 2, 2 + n), 1e-30, 1e-7);
            }
        }
    }

    @Test
    void biasAddAndColumnSums() {
        Rng r = new Rng(61);
        for (int N : new int[] {0, 1, 5, 13, 600}) {
            for (int C : new int[] {1, 3, 7, 17, 67}) {
                float[] x = randn(r, N * C), bias = randn(r, C), o0 = randn(r, C);
                double[] ref = new double[N * C], cs = new double[C];
                for (int c = 0; c < C; c++) {
                    cs[c] = o0[c];
                }
                for (int n = 0; n < N; n++) {
                    for (int c = 0; c < C; c++) {
                        ref[n * C + c] = (double) x[n * C + c] + bias[c];
                        cs[c] += x[n * C + c];
                    }
                }
                for (boolean scalar : new boolean[] {false, true}) {
                    float[] y = x.clone();
                    float[] o = o0.clone();
                    if (scalar) {
                        Elementwise.addBiasScalar(y, bias, N, C);
                        Reduce.sumRowsScalar(o, x, N, C);
                    } else {
                        Elementwise.addBias(y, bias, N, C);
                        Reduce.sumRows(o, x, N, C);
                    }
                    close("addBias " + scalar + " N=" + N + " C=" + C, ref, y, 1e-30, 1e-7);
                    close("sumRows " + scalar + " N=" + N + " C=" + C, cs, o, 1e-5 * (N + 1), 1e-5);
                }
            }
        }
    }

    @Test
    void biasAddAndColumnSumsOnAColumnSlice() {
        // a [N, W] buffer whose columns [off, off + C) are the layer's output (a q/k/v slice of fused qkv rows)
        Rng r = new Rng(63);
        for (int[] s : new int[][] {{1, 1, 0, 1}, {5, 3, 2, 9}, {13, 17, 5, 29}, {7, 67, 1, 70}}) {
            int N = s[0], C = s[1], off = s[2], W = s[3];
            float[] x = randn(r, N * W), bias = randn(r, C), o0 = randn(r, C);
            double[] ref = d(x);
            double[] cs = d(o0);
            for (int n = 0; n < N; n++) {
                for (int c = 0; c < C; c++) {
                    ref[n * W + off + c] = (double) x[n * W + off + c] + bias[c];
                    cs[c] += x[n * W + off + c];
                }
            }
            for (boolean scalar : new boolean[] {false, true}) {
                float[] y = x.clone();
                float[] o = o0.clone();
                if (scalar) {
                    Elementwise.addBiasScalar(y, off, W, bias, N, C);
                    Reduce.sumRowsScalar(o, x, off, W, N, C);
                } else {
                    Elementwise.addBias(y, off, W, bias, N, C);
                    Reduce.sumRows(o, x, off, W, N, C);
                }
                // columns outside the slice are untouched (tolerance 0 there: compared to x itself)
                close("addBias slice " + scalar + " N=" + N + " C=" + C, ref, y, 1e-30, 1e-7);
                close("sumRows slice " + scalar + " N=" + N + " C=" + C, cs, o, 1e-5 * (N + 1), 1e-5);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Elementwise.addBias(new float[10], 2, 5, new float[4], 2, 4));
    }

    @Test
    void reductionsMatchReference() {
        Rng r = new Rng(62);
        for (int n : NS) {
            float[] a = randn(r, n + 2), b = randn(r, n + 1);
            double s = 0, m = Double.NEGATIVE_INFINITY, dt = 0, abs = 0, absd = 0;
            for (int i = 0; i < n; i++) {
                s += a[2 + i];
                abs += Math.abs(a[2 + i]);
                m = Math.max(m, a[2 + i]);
                dt += (double) a[2 + i] * b[1 + i];
                absd += Math.abs((double) a[2 + i] * b[1 + i]);
            }
            assertEquals(s, Reduce.sum(a, 2, n), 1e-6 * abs + 1e-30, "sum n=" + n);
            assertEquals(s, Reduce.sumScalar(a, 2, n), 1e-5 * abs + 1e-30, "sumScalar n=" + n);
            assertEquals((float) m, Reduce.max(a, 2, n), "max n=" + n);
            assertEquals((float) m, Reduce.maxScalar(a, 2, n), "maxScalar n=" + n);
            assertEquals(dt, Reduce.dot(a, 2, b, 1, n), 1e-6 * absd + 1e-30, "dot n=" + n);
            assertEquals(dt, Reduce.dotScalar(a, 2, b, 1, n), 1e-5 * absd + 1e-30, "dotScalar n=" + n);
        }
        assertThrows(IllegalArgumentException.class, () -> Reduce.sum(new float[3], 1, 3));
        assertThrows(IllegalArgumentException.class, () -> Elementwise.add(new float[3], new float[3], new float[2], 3));
    }
}
