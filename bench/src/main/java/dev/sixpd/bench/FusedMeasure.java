package dev.sixpd.bench;

import dev.sixpd.tensor.CrossEntropy;
import dev.sixpd.tensor.Peak;
import java.util.Locale;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The fused kernels against the unfused calls they replace, timed in one process and interleaved (as
 * {@link GemmMeasure} does for GEMM): each repetition times a block of fused calls, then a block of unfused ones,
 * so a burst of load from other processes hits both alike; the ratio is taken per repetition and its median
 * reported. The calls are {@link FusedBenchmark}'s methods on its state (medium shapes) and
 * {@link CrossEntropyFusedBenchmark}'s (the LM head's cross-entropy at the medium and GPT-2 vocabularies). Each row
 * also prints the fused call's bandwidth, its bytes over its time, against the triad bandwidth measured at the start
 * ({@link Peak#measureBandwidth}, same thread count): the target is 60 % of it.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp "bench/target/classes:..." dev.sixpd.bench.FusedMeasure
 * [threads] [reps] [millis] [rows]} (defaults 1, 15, 200, all rows; {@code rows}: run only the rows whose name
 * contains it, e.g. {@code CE}), or see {@code bench/NOTES.md}.
 */
final class FusedMeasure {
    private FusedMeasure() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        long millis = args.length > 2 ? Long.parseLong(args[2]) : 200;
        String only = args.length > 3 ? args[3] : "";
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly"
                + " is dangerous.");
        System.out.printf(Locale.ROOT, "FusedMeasure: %d thread(s), %d interleaved repetitions of %d ms; load average"
                + " %s%n", threads, reps, millis, StepCommand.loadAverage());
        double triad = Peak.measureBandwidth(threads, 2).best();
        System.out.printf(Locale.ROOT, "triad bandwidth, %d thread(s): %.1f GB/s%n", threads, triad);
        System.out.println("| kernel | fused ms/call | unfused ms/call | fused / unfused (median of per-rep ratios,"
                + " min–max) | fused GB/s (% of triad) |\n|---|---:|---:|---:|---:|");
        Row r = new Row(only, reps, millis, triad);
        if (r.wants("bias + GELU forward") || r.wants("bias + GELU backward") || r.wants("residual add + LayerNorm")) {
            FusedBenchmark b = new FusedBenchmark();
            b.threads = threads;
            b.setUp();
            r.run("bias + GELU forward", FusedBenchmark.BIAS_GELU_BYTES, () -> b.biasGelu(bh),
                    () -> b.biasGeluUnfused(bh));
            r.run("bias + GELU backward", FusedBenchmark.BIAS_GELU_BACKWARD_BYTES, () -> b.biasGeluBackward(bh),
                    () -> b.biasGeluBackwardUnfused(bh));
            r.run("residual add + LayerNorm", FusedBenchmark.RESIDUAL_NORM_BYTES, () -> b.residualLayerNorm(bh),
                    () -> b.residualLayerNormUnfused(bh));
        }
        for (int vocab : new int[] {65, CrossEntropyFusedBenchmark.GPT2_VOCAB}) {
            int N = CrossEntropyFusedBenchmark.rows(vocab);
            String shape = " [N " + N + ", V " + vocab + "]: in place vs fill + backward";
            String back = "CE backward" + shape;
            String step = "CE forward + backward" + shape;
            if (!r.wants(back) && !r.wants(step)) {
                continue;
            }
            CrossEntropyFusedBenchmark c = new CrossEntropyFusedBenchmark();
            c.threads = threads;
            c.vocab = vocab;
            c.setUp();
            r.run(back, CrossEntropy.bytesBackwardInPlace(N, vocab), () -> c.backwardInPlace(bh),
                    () -> c.backwardUnfused(bh));
            r.run(step, CrossEntropyFusedBenchmark.bytesStep(N, vocab), () -> c.step(bh), () -> c.stepUnfused(bh));
        }
        System.out.println("load average after: " + StepCommand.loadAverage());
    }

    /** The rows to run ({@code only}: a part of their names) and how: repetitions, block length, the triad GB/s. */
    private record Row(String only, int reps, long millis, double triad) {
        boolean wants(String name) {
            return name.contains(only);
        }

        void run(String name, long fusedBytes, Runnable fused, Runnable unfused) {
            if (wants(name)) {
                row(name, fusedBytes, fused, unfused, reps, millis, triad);
            }
        }
    }

    private static void row(String name, long fusedBytes, Runnable fused, Runnable unfused, int reps, long millis,
                            double triad) {
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
        double fusedMs = Stats.medianMinMax(f)[0];
        double gbs = fusedBytes / (fusedMs * 1e6);
        System.out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %.2f× (%.2f–%.2f) | %.1f (%.0f %%) |%n", name, fusedMs,
                Stats.medianMinMax(u)[0], ratio[0], ratio[1], ratio[2], gbs, 100 * gbs / triad);
    }

    /** Repeats {@code call} for at least {@code millis} ms; returns ms per call. */
    private static double block(Runnable call, long millis) {
        return Stats.nanosPerCall(call, millis) / 1e6;
    }
}
