package dev.sixpd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.mpi.Mpi;
import dev.sixpd.mpi.MpiRun;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.LayerHook;
import dev.sixpd.nn.train.OverlapLayers;
import dev.sixpd.nn.train.ZeroLayers;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Grads;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.ShardedAdamW;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./sixpd bench dp}: the training step of {@link TrainingStep} on N ranks × 1 thread (data parallelism,
 * {@link ShardedAdamW}) against 1 process × N threads, same preset and global batch: tokens/s of each and the
 * share of the ranks' step spent in the gradient reduction.
 *
 * <p>Method: the single process is {@link StepCommand}'s (warm-up until the step time stops improving, then
 * {@code --steps} timed steps, median). Each rank ({@link #rankMain}) builds the preset with batch B/N on its own
 * seeded random tokens, warms up the same way for at least {@code --warmup} steps and {@code --warmup-seconds}, then
 * times {@code --steps} steps — zero, forward, backward, {@link ShardedAdamW#reduceGradients}, step — and the
 * reduction inside each (ZeRO-2 and 3: the layers' reduce-scatters inside backward, and ZeRO-3's weight all-gathers
 * inside forward and backward, through {@link ZeroLayers}); rank 0 prints the medians as one JSON line. The reduction's time includes waiting for
 * the slower rank (imbalance), which on a loaded machine is most of it.
 *
 * <p>{@code --overlap} (ZeRO-0) times both ways in the same ranks, step by step alternately, so both see the same
 * load: the blocking all-reduce after backward, and {@link OverlapLayers}' non-blocking all-reduce of each layer
 * started when its backward ends (its reduction time is the starts and tests inside backward plus the wait after).
 */
@Command(name = "dp", mixinStandardHelpOptions = true,
        description = {"Data parallelism: N ranks x 1 thread vs 1 process x N threads, one training step.",
            "Examples:",
            "  ./sixpd bench dp                          medium, 2 ranks, ZeRO-0",
            "  ./sixpd bench dp --preset small --zero 1",
            "  ./sixpd bench dp --preset small --overlap   ZeRO-0 with and without overlap, alternating steps"})
final class DataParallelCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--preset", defaultValue = "medium", description = "tiny, small or medium (default"
            + " ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--ranks", defaultValue = "2", description = "ranks N; the single process runs N threads"
            + " (default ${DEFAULT-VALUE})")
    int ranks;

    @Option(names = "--zero", defaultValue = "0", description = "ZeRO stage 0, 1, 2 or 3 (default ${DEFAULT-VALUE})")
    int zero;

    @Option(names = "--overlap", description = "ZeRO-0: also time each layer's all-reduce overlapped with the"
            + " backward of the earlier layers (steps alternate with the blocking all-reduce; one more row)")
    boolean overlap;

    @Option(names = "--steps", defaultValue = "10", description = "timed steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "warm-up steps, at least (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--warmup-seconds", defaultValue = "3", description = "warm-up time, at least, s (default"
            + " ${DEFAULT-VALUE})")
    double warmupSeconds;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        int batch = TrainingStep.defaultBatch(preset);
        if (ranks < 1 || batch % ranks != 0) {
            throw new IllegalArgumentException("--ranks " + ranks + " must divide the " + preset + " batch " + batch);
        }
        if (overlap && zero != 0) {
            throw new IllegalArgumentException("--overlap is for --zero 0 (the all-reduce), got --zero " + zero);
        }
        if (MpiRun.mpirun().isEmpty() || Mpi.findLibrary().isEmpty()) {
            throw new IllegalArgumentException("bench dp needs Open MPI: apt-get install " + Mpi.PACKAGES);
        }
        out.printf(Locale.ROOT, "%s, global batch %d, FP32; load average %.2f%n", preset, batch,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());

        // 1 process × N threads
        Parallel.setThreads(ranks);
        TrainingStep one = new TrainingStep(preset, batch);
        StepCommand.warmUp(one, warmup, warmupSeconds);
        double[] ms = new double[steps];
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            one.step();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        double oneMs = Stats.medianMinMax(ms)[0];

        // N ranks × 1 thread
        List<String> args = List.of(preset, Integer.toString(ranks), Integer.toString(zero), Integer.toString(steps),
                Integer.toString(warmup), Double.toString(warmupSeconds), overlap ? "1" : "0");
        List<String> flags = new ArrayList<>();
        for (String f : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (f.startsWith("-X") || f.startsWith("--sun-misc")) {
                flags.add(f);
            }
        }
        MpiRun.Result r = MpiRun.run(ranks, flags, DataParallelCommand.class.getName(), args, Duration.ofMinutes(10));
        JsonNode res = null;
        for (String line : r.output().lines().toList()) {
            if (line.startsWith("{\"dp\"")) {
                res = JSON.readTree(line);
            }
        }
        if (r.exitCode() != 0 || res == null) {
            throw new IllegalStateException("the ranks failed (exit " + r.exitCode() + "):\n" + r.output());
        }
        double dpMs = res.get("step_ms").asDouble();
        double redMs = res.get("reduce_ms").asDouble();
        int tokens = one.tokens();
        out.printf(Locale.ROOT, "  %-26s %12s %16s %24s%n", "setup", "tokens/s", "step ms (median)",
                "gradient reduction");
        out.printf(Locale.ROOT, "  %-26s %,12.0f %16.1f %24s%n", "1 process × " + ranks + " threads",
                tokens / (oneMs / 1e3), oneMs, "–");
        out.printf(Locale.ROOT, "  %-26s %,12.0f %16.1f %15.1f ms (%.1f%%)%n", ranks + " ranks × 1 thread, ZeRO-" + zero,
                tokens / (dpMs / 1e3), dpMs, redMs, 100 * redMs / dpMs);
        if (overlap) {
            double ovMs = res.get("step_ms_overlap").asDouble();
            double ovRed = res.get("reduce_ms_overlap").asDouble();
            out.printf(Locale.ROOT, "  %-26s %,12.0f %16.1f %15.1f ms (%.1f%%)%n", ranks + " ranks × 1 thread, overlap",
                    tokens / (ovMs / 1e3), ovMs, ovRed, 100 * ovRed / ovMs);
            out.printf(Locale.ROOT, "  overlap: step %.1f → %.1f ms (%+.1f%%), steps alternating in the same ranks;"
                    + " of the overlapped reduction %.1f ms waiting after backward%n", dpMs, ovMs,
                    100 * (ovMs - dpMs) / dpMs, res.get("wait_ms_overlap").asDouble());
        }
        return 0;
    }

    /**
     * One rank: args preset, ranks, zero, steps, warmup, warmupSeconds, overlap (0/1). Rank 0 prints {"dp": ...} on
     * stdout.
     */
    public static void main(String[] a) {
        try (Mpi mpi = Mpi.init()) {
            String preset = a[0];
            int zero = Integer.parseInt(a[2]);
            int steps = Integer.parseInt(a[3]);
            int warmup = Integer.parseInt(a[4]);
            double warmupSeconds = Double.parseDouble(a[5]);
            boolean overlap = a.length > 6 && a[6].equals("1");
            Parallel.setThreads(1);
            GptConfig cfg = GptConfig.preset(preset, TrainingStep.VOCAB);
            int b = TrainingStep.defaultBatch(preset) / mpi.size();
            int T = cfg.context();
            Gpt model = new Gpt(cfg, b, 0L);
            List<Param> params = model.params();
            int[] x = new int[b * T];
            int[] y = new int[b * T];
            Rng rng = new Rng(1234 + mpi.rank());
            for (int i = 0; i < x.length; i++) {
                x[i] = rng.nextInt(TrainingStep.VOCAB);
                y[i] = rng.nextInt(TrainingStep.VOCAB);
            }
            AdamW hyper = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
            try (ShardedAdamW opt = zero <= 1 ? new ShardedAdamW(mpi, zero, hyper, params)
                    : ShardedAdamW.grouped(mpi, zero, hyper, model.paramGroups())) {
                // ZeRO-2/3: the gradients reduce-scattered (and ZeRO-3's weights gathered) layer by layer
                ZeroLayers layers = zero >= 2 ? new ZeroLayers(opt, model, g -> { }) : null;
                if (layers != null) {
                    model.setLayerHook(layers);
                }
                // ZeRO-0 --overlap: odd steps overlapped, even steps blocking (the hook is switched per step)
                OverlapLayers ov = null;
                if (overlap) {
                    opt.overlapLayers(model.paramGroups());
                    ov = new OverlapLayers(opt, model, g -> { }, 1);
                }
                // warm-up as StepCommand.warmUp: at least `warmup` steps and `warmupSeconds`, and until the best
                // step time has not improved by 5 % for 3 steps (cap 60 s); every rank goes on while any wants to
                long start = System.nanoTime();
                long end = start + (long) (warmupSeconds * 1e9);
                long cap = start + (long) (Math.max(warmupSeconds, StepCommand.WARMUP_CAP_SECONDS) * 1e9);
                double best = Double.MAX_VALUE;
                int flat = 0;
                int[] more = {1};
                for (int i = 0; more[0] == 1; i++) {
                    long t0 = System.nanoTime();
                    step(model, params, opt, x, y, b, T, i % 2 == 1 ? ov : null);
                    long t = System.nanoTime();
                    double ms = (t - t0) / 1e6;
                    flat = ms < best * 0.95 ? 0 : flat + 1;
                    best = Math.min(best, ms);
                    more[0] = t < cap && (i + 1 < warmup || t < end || flat < 3) ? 1 : 0;
                    mpi.allReduce(more, 0, 1, Mpi.Op.MAX);
                }
                double[] stepMs = new double[steps];
                double[] redMs = new double[steps];
                double[] ovStepMs = new double[steps];
                double[] ovRedMs = new double[steps];
                double[] ovWaitMs = new double[steps];
                for (int i = 0; i < steps; i++) {
                    for (int mode = 0; mode < (overlap ? 2 : 1); mode++) {
                        OverlapLayers hook = mode == 1 ? ov : null;
                        long t0 = System.nanoTime();
                        long inLayers = layers != null ? layers.reduceNanos() + layers.gatherNanos()
                                : hook != null ? hook.startNanos() : 0;
                        long red = step(model, params, opt, x, y, b, T, hook);
                        inLayers = (layers != null ? layers.reduceNanos() + layers.gatherNanos()
                                : hook != null ? hook.startNanos() : 0) - inLayers;
                        (mode == 1 ? ovRedMs : redMs)[i] = (red + inLayers) / 1e6;
                        ovWaitMs[i] = mode == 1 ? red / 1e6 : ovWaitMs[i];
                        (mode == 1 ? ovStepMs : stepMs)[i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                if (mpi.rank() == 0) {
                    System.out.printf(Locale.ROOT, "{\"dp\": true, \"step_ms\": %.4f, \"reduce_ms\": %.4f%s}%n",
                            Stats.medianMinMax(stepMs)[0], Stats.medianMinMax(redMs)[0], overlap
                                    ? String.format(Locale.ROOT, ", \"step_ms_overlap\": %.4f,"
                                    + " \"reduce_ms_overlap\": %.4f, \"wait_ms_overlap\": %.4f",
                                    Stats.medianMinMax(ovStepMs)[0], Stats.medianMinMax(ovRedMs)[0],
                                    Stats.medianMinMax(ovWaitMs)[0]) : "");
                    System.out.flush();
                }
            }
        }
    }

    /**
     * One data-parallel step; returns the nanoseconds spent in the gradient reduction after backward. With
     * {@code overlap} (ZeRO-0) the layers' all-reduces start inside backward and this is the wait for them.
     */
    private static long step(Gpt model, List<Param> params, ShardedAdamW opt, int[] x, int[] y, int b, int T,
            OverlapLayers overlap) {
        Grads.zero(params);
        opt.beginStep();
        if (opt.overlapped()) {
            model.setLayerHook(overlap != null ? overlap : LayerHook.NONE);
            if (overlap != null) {
                overlap.beginStep();
            }
        }
        model.forward(x, y, b, T);
        model.backward(1f);
        long t0 = System.nanoTime();
        opt.reduceGradients();
        long red = System.nanoTime() - t0;
        opt.step(TrainingStep.LR);
        return red;
    }
}
