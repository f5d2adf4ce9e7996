package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.Supplier;

/** Shared helpers for the kernel tests: seeded data, double references, tolerant comparison, finite differences. */
final class KernelCheck {
    /** Central-difference step for gradients of double references. */
    static final double FD_EPS = 1e-5;

    private KernelCheck() {
    }

    static float[] randn(Rng r, int n) {
        float[] a = new float[n];
        r.fillNormal(a, 0, 1);
        return a;
    }

    static float[] randn(Rng r, int n, double mean, double std) {
        float[] a = new float[n];
        r.fillNormal(a, mean, std);
        return a;
    }

    static double[] d(float[] a) {
        double[] x = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            x[i] = a[i];
        }
        return x;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Fails unless {@code |got[i] - ref[i]| <= atol + rtol·|ref[i]|} for all i < n. */
    static void close(String what, double[] ref, float[] got, int n, double atol, double rtol) {
        for (int i = 0; i < n; i++) {
            double err = Math.abs(got[i] - ref[i]);
            if (!(err <= atol + rtol * Math.abs(ref[i]))) {
                fail(what + ": element " + i + " is " + got[i] + ", reference " + ref[i] + " (error " + err
                        + " > atol " + atol + " + rtol " + rtol + "·|ref|)");
            }
        }
    }

    static void close(String what, double[] ref, float[] got, double atol, double rtol) {
        close(what, ref, got, ref.length, atol, rtol);
    }

    /** The change {@code after - before} of an accumulated gradient, in double. */
    static float[] delta(float[] after, float[] before) {
        float[] r = new float[after.length];
        for (int i = 0; i < after.length; i++) {
            r[i] = after[i] - before[i];
        }
        return r;
    }

    /**
     * Gradient of {@code L = w · f()} with respect to each element of {@code x} by central differences, where
     * {@code f} is a double-precision reference reading {@code x} (which it is given by reference).
     */
    static double[] numGrad(Supplier<double[]> f, double[] x, double[] w) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double old = x[i];
            x[i] = old + FD_EPS;
            double lp = dot(w, f.get());
            x[i] = old - FD_EPS;
            double lm = dot(w, f.get());
            x[i] = old;
            g[i] = (lp - lm) / (2 * FD_EPS);
        }
        return g;
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
