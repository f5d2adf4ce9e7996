package dev.sixpd.bench;

import dev.sixpd.tensor.Gemm;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * Times sixpd's {@link Gemm} and OpenBLAS's sgemm on the same shape in one process, interleaved: each repetition
 * times a block of sixpd calls and then a block of OpenBLAS calls, so a burst of load from other processes hits
 * both sides alike. A block repeats the call until at least {@code millis} ms have passed and counts
 * {@code 2·M·N·K} FLOPs per call. Results are the median (and min, max) GFLOP/s over the repetitions.
 *
 * <p>OpenBLAS's pthread workers spin for a while after a call; a sleep after each OpenBLAS block keeps them from
 * stealing cycles from sixpd's threads: 100 ms on one thread, 1 s with several (with 100 ms, sixpd on 2 threads
 * measured 83 GFLOP/s at n=1024, alone 158; with 1 s, 157).
 */
final class GemmMeasure {
    /**
     * GFLOP/s of each side: {median, min, max}; openblas is null when not measured, naive and blocked (the
     * single-threaded {@link GemmBaselines}) when not asked for.
     */
    record Result(GemmShapes.Shape shape, int threads, double[] sixpd, double[] openblas, String openblasConfig,
            double[] naive, double[] blocked) {
        Result(GemmShapes.Shape shape, int threads, double[] sixpd, double[] openblas, String openblasConfig) {
            this(shape, threads, sixpd, openblas, openblasConfig, null, null);
        }

        Result withBaselines(double[] naive, double[] blocked) {
            return new Result(shape, threads, sixpd, openblas, openblasConfig, naive, blocked);
        }
    }

    /** Repetitions of a baseline measurement (the naive loop takes seconds per call at n = 1024). */
    static final int BASELINE_REPS = 3;

    /**
     * The plain-Java baselines on the same shape, one thread, after sixpd and OpenBLAS: {@code naive} and/or
     * {@code blocked}, each warmed up by one block of 200 ms (at least one call), then {@value #BASELINE_REPS}
     * blocks of at least {@code millis} ms. Returns {naive, blocked}, each {median, min, max} or null.
     */
    static double[][] baselines(GemmShapes.Shape s, boolean naive, boolean blocked, long millis) {
        int aCols = s.transA() ? s.m() : s.k();
        int bCols = s.transB() ? s.k() : s.n();
        Rng rng = new Rng(42);
        float[] a = new float[s.m() * s.k()];
        float[] b = new float[s.k() * s.n()];
        float[] c = new float[s.m() * s.n()];
        rng.fillNormal(a, 0, 1);
        rng.fillNormal(b, 0, 1);
        double[][] out = new double[2][];
        Runnable[] calls = {
            naive ? () -> GemmBaselines.naive(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, aCols, b, bCols, 0f,
                    c, s.n()) : null,
            blocked ? () -> GemmBaselines.blocked(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, aCols, b, bCols,
                    0f, c, s.n()) : null};
        for (int i = 0; i < 2; i++) {
            if (calls[i] == null) {
                continue;
            }
            block(calls[i], s.flops(), 200);
            double[] g = new double[BASELINE_REPS];
            for (int r = 0; r < g.length; r++) {
                g[r] = block(calls[i], s.flops(), millis);
            }
            out[i] = Stats.medianMinMax(g);
        }
        return out;
    }

    private GemmMeasure() {
    }

    /** Bytes of C arrays a cold-C run cycles through per side: more than the 480 MiB L3 of the largest host seen,
     * so each call finds its C in memory, as a training step's outputs and gradients are. */
    static final long COLD_C_BYTES = 1L << 30;
    /** At most this many copies: a C small enough to need more stays in cache anyway (the LM head's 0.5 MB C: 2,018). */
    static final int MAX_COLD_COPIES = 4096;

    /**
     * Times sixpd and OpenBLAS on {@code s}, interleaved. {@code coldC}: each call writes the next of as many copies
     * of C as fill {@link #COLD_C_BYTES} (each side its own), so C comes from memory as in a training step, where
     * the product's output was last touched a whole step ago; otherwise one C, which stays in cache.
     */
    static Result run(GemmShapes.Shape s, int threads, float beta, int reps, long millis, Optional<OpenBlas> blas,
            boolean coldC) throws InterruptedException {
        int aRows = s.transA() ? s.k() : s.m(), aCols = s.transA() ? s.m() : s.k();
        int bRows = s.transB() ? s.n() : s.k(), bCols = s.transB() ? s.k() : s.n();
        Rng rng = new Rng(42);
        float[] a = new float[aRows * aCols];
        float[] b = new float[bRows * bCols];
        float[] c = new float[s.m() * s.n()];
        rng.fillNormal(a, 0, 1);
        rng.fillNormal(b, 0, 1);
        rng.fillNormal(c, 0, 1);
        Parallel.setThreads(threads);
        boolean ledger = Ledger.enabled();
        Ledger.setEnabled(false);
        int copies = coldC ? (int) Math.max(2, Math.min(MAX_COLD_COPIES, COLD_C_BYTES / (4L * c.length))) : 1;
        float[][] cs = new float[copies][];
        for (int i = 0; i < copies; i++) {
            cs[i] = c.clone();
        }
        int[] next = {0};
        Runnable mine = () -> {
            float[] ci = cs[next[0]++ % copies];
            Gemm.gemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, 0, aCols, b, 0, bCols, beta, ci, 0, s.n());
        };
        try (Arena arena = Arena.ofConfined()) {
            Runnable theirs = null;
            if (blas.isPresent()) {
                OpenBlas ob = blas.get();
                ob.setThreads(threads);
                MemorySegment na = OpenBlas.copyOf(arena, a);
                MemorySegment nb = OpenBlas.copyOf(arena, b);
                MemorySegment[] ncs = new MemorySegment[copies];
                for (int i = 0; i < copies; i++) {
                    ncs[i] = OpenBlas.copyOf(arena, c);
                }
                int[] theirNext = {0};
                theirs = () -> ob.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, na, aCols, nb, bCols, beta,
                        ncs[theirNext[0]++ % copies], s.n());
            }
            // warm-up: let the JIT compile sixpd's kernels (and OpenBLAS fault in its buffers)
            block(mine, s.flops(), 1500);
            if (theirs != null) {
                block(theirs, s.flops(), 300);
                Thread.sleep(100);
            }
            double[] g1 = new double[reps];
            double[] g2 = new double[reps];
            for (int r = 0; r < reps; r++) {
                g1[r] = block(mine, s.flops(), millis);
                if (theirs != null) {
                    g2[r] = block(theirs, s.flops(), millis);
                    Thread.sleep(threads > 1 ? 1000 : 100);
                }
            }
            return new Result(s, threads, Stats.medianMinMax(g1), theirs == null ? null : Stats.medianMinMax(g2),
                    blas.map(OpenBlas::config).orElse(null));
        } finally {
            Ledger.setEnabled(ledger);
        }
    }

    /** Repeats {@code call} for at least {@code millis} ms; returns GFLOP/s (FLOPs per nanosecond). */
    private static double block(Runnable call, double flopsPerCall, long millis) {
        return flopsPerCall / Stats.nanosPerCall(call, millis);
    }
}
