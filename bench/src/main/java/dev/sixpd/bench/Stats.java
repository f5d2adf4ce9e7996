package dev.sixpd.bench;

import java.util.Arrays;

/** Small statistics over repeated measurements (medians resist the noise of a shared 2-core machine). */
final class Stats {
    private Stats() {
    }

    /** {median, min, max} of {@code x} (not modified). */
    static double[] medianMinMax(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
        return new double[] {median, s[0], s[n - 1]};
    }

    /** Repeats {@code call} for at least {@code millis} ms; returns nanoseconds per call. */
    static double nanosPerCall(Runnable call, long millis) {
        long t0 = System.nanoTime();
        long end = t0 + millis * 1_000_000L;
        long calls = 0;
        long t;
        do {
            call.run();
            calls++;
            t = System.nanoTime();
        } while (t < end);
        return (double) (t - t0) / calls;
    }
}
