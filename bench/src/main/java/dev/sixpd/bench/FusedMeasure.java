package dev.sixpd.bench;

import java.util.Locale;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The fused kernels against the unfused calls they replace, timed in one process and interleaved (as
 * {@link GemmMeasure} does for GEMM): each repetition times a block of fused calls, then a block of unfused ones,
 * so a burst of load from other processes hits both alike; the ratio is taken per repetition and its median
 * reported. The calls are {@link FusedBenchmark}'s methods on its state (medium shapes).
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp "bench/target/classes:..." dev.sixpd.bench.FusedMeasure
 * [threads] [reps] [millis]} (defaults 1, 15, 200), or see {@code bench/NOTES.md}.
 */
final class FusedMeasure {
    private FusedMeasure() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        long millis = args.length > 2 ? Long.parseLong(args[2]) : 200;
        FusedBenchmark b = new FusedBenchmark();
        b.threads = threads;
        b.setUp();
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly"
                + " is dangerous.");
        System.out.printf(Locale.ROOT, "FusedMeasure: medium shapes, %d thread(s), %d interleaved repetitions of %d ms;"
                + " load average %s%n", threads, reps, millis, StepCommand.loadAverage());
        System.out.println("| kernel | fused ms/call | unfused ms/call | fused / unfused (median of per-rep ratios,"
                + " min–max) |\n|---|---:|---:|---:|");
        row("bias + GELU forward", () -> b.biasGelu(bh), () -> b.biasGeluUnfused(bh), reps, millis);
        row("bias + GELU backward", () -> b.biasGeluBackward(bh), () -> b.biasGeluBackwardUnfused(bh), reps, millis);
        row("residual add + LayerNorm", () -> b.residualLayerNorm(bh), () -> b.residualLayerNormUnfused(bh), reps,
                millis);
        System.out.println("load average after: " + StepCommand.loadAverage());
    }

    private static void row(String name, Runnable fused, Runnable unfused, int reps, long millis) {
        block(fused, millis); // warm-up: C2 compiles both
        block(unfused, millis);
        double[] f = new double[reps];
        double[] u = new double[reps];
        double[] r = new double[reps];
        for (int i = 0; i < reps; i++) {
            f[i] = block(fused, millis);
            u[i] = block(unfused, millis);
            r[i] = f[i] / u[i];
        }
        double[] ratio = Stats.medianMinMax(r);
        System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %.2f× (%.2f–%.2f) |%n", name, Stats.medianMinMax(f)[0],
                Stats.medianMinMax(u)[0], ratio[0], ratio[1], ratio[2]);
    }

    /** Repeats {@code call} for at least {@code millis} ms; returns ms per call. */
    private static double block(Runnable call, long millis) {
        return Stats.nanosPerCall(call, millis) / 1e6;
    }
}
