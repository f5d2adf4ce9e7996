package dev.sixpd.bench;

import dev.sixpd.bench.Roofline.Ceiling;
import dev.sixpd.bench.Roofline.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the JMH kernel benchmarks through JMH's {@link Runner} API, measures the ceilings (FP32 FMA peak, nominal
 * peak, streaming bandwidth) and returns everything as a {@link Report}.
 *
 * <p>Call: {@code Report r = KernelSuite.run(false, 1, 2);} (quick: all families, 1 and 2 threads), then
 * {@code r.markdown()}, {@code r.json()}, {@code r.writeChart(Path.of("roofline.png"))}. A subset:
 * {@code KernelSuite.run(true, EnumSet.of(Family.ATTENTION), VerboseMode.NORMAL, 1, 2)}. Standalone:
 * {@code java ... dev.sixpd.bench.KernelSuite [--full] [--threads 1,2] [--only attention,gelu] [--out DIR]}.
 *
 * <p>Modes, chosen for a shared 2-core machine (every run is one forked JVM, about 0.7 s of start-up and setup):
 * <ul>
 * <li>quick ({@code full=false}): GEMM only at {@value #QUICK_GEMM_SQUARE} and the model's {@code fc.fwd} shape;
 * 2 warm-up iterations and 3 measured ones of {@value #QUICK_MILLIS} ms, 1 fork; the plain-Java GEMM baselines
 * ({@link GemmBaselines}) on one thread, {@code blocked} at n = 1024 and {@code naive} at n = 512; the ceilings in
 * 1 s each. 35 runs of ~3.2 s: measured 120 s for everything at load ~3 ({@code ./sixpd bench} leaves the
 * training step out of the quick run; {@code --only step} runs it on the tiny preset).</li>
 * <li>full: every {@code @Param} value of every benchmark (GEMM: square 128–2048 and all 15 Linear shapes of the
 * model, forward and backward), 3 warm-up and 5 measured iterations of 1 s, 1 fork; baselines on squares 128–1024
 * and the forward shapes; the training step (tiny and medium) on its own 3 × 3 s + 5 × 4 s iterations; ceilings in
 * 3 s each.</li>
 * </ul>
 * JMH's error (99.9% confidence half-width) is kept with each result; with 3 iterations it is wide, which is honest.
 *
 * <p>FLOPs and bytes per call come from each benchmark's constants (the kernels' ledger formulas), for GEMM from
 * its shape parameter ({@code name:M:N:K:opA:opB}: {@code 2·M·N·K} FLOPs, {@code 4·(MK + KN + MN)} bytes).
 * OpenBLAS's row is left out, with a message, when the library is not installed.
 *
 * <p>Plain JMH, for people who know it (after {@code ./sixpd build}, which writes the classpath file):
 * <pre>
 * java --add-modules jdk.incubator.vector \
 *   -cp "bench/target/classes:$(cat bench/target/sixpd.classpath)" \
 *   org.openjdk.jmh.Main AttentionBenchmark -p threads=1,2 -wi 3 -i 5 -f 1
 * </pre>
 * or {@code ./sixpd bench jmh AttentionBenchmark -p threads=1} (every JMH option works; {@code -l} lists them).
 *
 * <p>Not thread-safe: it sets system-wide state (JMH forks, the ceilings' threads); run one suite at a time.
 */
public final class KernelSuite {
    /** Quick-mode GEMM shapes ({@code GemmBenchmark}'s {@code shape} parameter). */
    static final String QUICK_GEMM_SQUARE = "square1024:1024:1024:1024:N:N";
    static final String QUICK_GEMM_MODEL = "fc.fwd:2048:1536:384:N:T";
    /** Quick-mode iteration length, ms. */
    static final int QUICK_MILLIS = 500;

    /** JVM flags of every forked benchmark JVM (native access: OpenBLAS via FFM; Unsafe: JMH's own use, quietly). */
    static final String[] FORK_FLAGS = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-XX:+UseParallelGC", "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"};

    private KernelSuite() {
    }

    /** The benchmark families; {@link #benchmark} is the JMH class's simple name. */
    public enum Family {
        GEMM("GemmBenchmark"), ATTENTION("AttentionBenchmark"), SOFTMAX("SoftmaxBenchmark"),
        LAYERNORM("LayerNormBenchmark"), GELU("GeluBenchmark"), CROSSENTROPY("CrossEntropyBenchmark"),
        ADAMW("AdamWBenchmark"), HALF("HalfConversionBenchmark"), FUSED("FusedBenchmark"),
        STEP("TrainingStepBenchmark");

        final String benchmark;

        Family(String benchmark) {
            this.benchmark = benchmark;
        }

        /**
         * JMH include regex for the family's benchmark class; attention also runs flash attention's forward and
         * backward ({@link FlashAttentionBenchmark}: the same medium shapes, so the two kernels sit side by side).
         */
        String includeRegex() {
            String own = "dev\\.sixpd\\.bench\\." + benchmark + "\\.";
            return this == ATTENTION ? "(" + own + "|dev\\.sixpd\\.bench\\.FlashAttentionBenchmark\\.flash)" : own;
        }

        /** The name on the command line: the lower-case enum name, except HALF, which is {@code convert}. */
        public String command() {
            return this == HALF ? "convert" : name().toLowerCase(Locale.ROOT);
        }

        /** The family by its lower-case name, e.g. "attention" ("convert" and "half" both name HALF). */
        public static Family parse(String name) {
            String n = name.trim().toUpperCase(Locale.ROOT);
            try {
                return n.equals("CONVERT") ? HALF : valueOf(n);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown benchmark family '" + name + "'; known: "
                        + Arrays.toString(values()).toLowerCase(Locale.ROOT));
            }
        }
    }

    /** Quick or full run of every family on the given thread counts (default: 1 and all cores). */
    public static Report run(boolean full, int... threads) throws RunnerException {
        return run(full, EnumSet.allOf(Family.class), VerboseMode.NORMAL, threads);
    }

    /** Quick or full run of the chosen families; JMH prints its progress at {@code verbose}. */
    public static Report run(boolean full, Set<Family> families, VerboseMode verbose, int... threads)
            throws RunnerException {
        return run(full, families, verbose, null, threads);
    }

    /**
     * As {@link #run(boolean, Set, VerboseMode, int...)}, with JMH's output going to {@code format} (null: JMH's
     * own text output at {@code verbose}), e.g. a {@link ProgressFormat} that prints one line per benchmark.
     */
    public static Report run(boolean full, Set<Family> families, VerboseMode verbose, OutputFormat format,
            int... threads) throws RunnerException {
        int[] ts = threadCounts(threads);
        List<Result> results = measure(full, families, verbose, format, ts);
        // the ceilings after the benchmarks: the forks are gone, so nothing of ours competes with them
        List<Ceiling> ceilings = ceilings(full ? 3.0 : 1.0, ts);
        return new Report(results, ceilings);
    }

    /** The JMH part only: runs the benchmarks and converts each JMH result. */
    public static List<Result> measure(boolean full, Set<Family> families, VerboseMode verbose, int... threads)
            throws RunnerException {
        return measure(full, families, verbose, null, threads);
    }

    /** The JMH part only, JMH's output going to {@code format} (null: JMH's own at {@code verbose}). */
    public static List<Result> measure(boolean full, Set<Family> families, VerboseMode verbose, OutputFormat format,
            int... threads) throws RunnerException {
        int[] ts = threadCounts(threads);
        Set<Family> kernels = EnumSet.noneOf(Family.class);
        kernels.addAll(families);
        kernels.remove(Family.STEP);
        List<Options> runsOf = new ArrayList<>();
        if (!kernels.isEmpty()) {
            runsOf.add(options(full, kernels, verbose, ts));
        }
        if (families.contains(Family.GEMM)) {
            runsOf.addAll(baselineOptionsList(full, verbose)); // single-threaded, slow: their own shapes
        }
        if (families.contains(Family.STEP)) {
            runsOf.add(stepOptions(full, verbose, ts)); // seconds per call: its own iteration times
        }
        if (runsOf.isEmpty()) {
            options(full, families, verbose, ts); // throws: no family chosen
        }
        Collection<RunResult> runs = new ArrayList<>();
        for (Options opts : runsOf) {
            try {
                runs.addAll((format == null ? new Runner(opts) : new Runner(opts, format)).run());
            } catch (RunnerException e) {
                throw new RunnerException("JMH failed for " + families + ": " + e.getMessage()
                        + " (are the benchmark classes compiled with JMH's annotation processor? run ./sixpd build)",
                        e);
            }
        }
        List<Result> out = new ArrayList<>();
        for (RunResult r : runs) {
            Result res = toResult(r);
            if (res != null) {
                out.add(res);
            }
        }
        return out;
    }

    /**
     * The ceilings for each thread count: measured FMA peak and triad bandwidth (best of 5 runs within
     * {@code seconds} each, {@link dev.sixpd.tensor.Peak}) and the nominal peak for that many cores.
     */
    public static List<Ceiling> ceilings(double seconds, int... threads) {
        dev.sixpd.tensor.Peak.Nominal nominal = dev.sixpd.tensor.Peak.nominal();
        List<Ceiling> cs = new ArrayList<>();
        for (int t : threadCounts(threads)) {
            double peak = dev.sixpd.tensor.Peak.measureFma(t, seconds).best();
            double bw = dev.sixpd.tensor.Peak.measureBandwidth(t, seconds).best();
            double nom = nominal.gflops(t);
            cs.add(new Ceiling(t, peak, Double.isFinite(nom) ? nom : Double.NaN, bw));
        }
        return cs;
    }

    /** The JMH options of a run (package-private for tests). */
    static Options options(boolean full, Set<Family> families, VerboseMode verbose, int[] threads) {
        if (families.isEmpty()) {
            throw new IllegalArgumentException("no benchmark family chosen; known: "
                    + Arrays.toString(Family.values()).toLowerCase(Locale.ROOT));
        }
        ChainedOptionsBuilder b = new OptionsBuilder()
                .mode(Mode.Throughput).timeUnit(TimeUnit.SECONDS)
                .forks(1)
                .jvmArgsAppend(forkFlags())
                .shouldFailOnError(true)
                .verbosity(verbose);
        for (Family f : families) {
            b.include(f.includeRegex());
        }
        if (families.contains(Family.GEMM)) {
            b.exclude(BASELINES); // run by baselineOptions, one thread, on shapes they finish in time
        }
        if (families.contains(Family.GEMM) && OpenBlas.load().isEmpty()) {
            System.err.println("sixpd bench: " + OpenBlas.MISSING + "; the OpenBLAS rows are skipped");
            b.exclude("GemmBenchmark\\.openblas");
        }
        if (families.contains(Family.HALF) && !HalfConversionBenchmark.available()) {
            System.err.println("sixpd bench: Half's bulk BF16/FP16 conversions are not in this build (branch"
                    + " 'precision' not merged); the conversion rows are skipped");
            b.exclude("HalfConversionBenchmark\\.");
        }
        String[] ts = Arrays.stream(threads).mapToObj(Integer::toString).toArray(String[]::new);
        b.param("threads", ts);
        if (full) {
            b.warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        } else {
            b.param("shape", QUICK_GEMM_SQUARE, QUICK_GEMM_MODEL)
                    .warmupIterations(2).warmupTime(TimeValue.milliseconds(QUICK_MILLIS))
                    .measurementIterations(3).measurementTime(TimeValue.milliseconds(QUICK_MILLIS));
        }
        return b.build();
    }

    /** The JMH regex of GEMM's plain-Java baselines. */
    static final String BASELINES = "GemmBenchmark\\.(naive|blocked)$";
    /** Baseline shapes, quick: the blocked loop at the quick square, the naive one (seconds per call) at 512. */
    static final String QUICK_BASELINE_NAIVE = "square512:512:512:512:N:N";

    /**
     * The JMH options of GEMM's baselines ({@link GemmBaselines}): one thread (they are single-threaded). Quick:
     * {@code blocked} at {@value #QUICK_GEMM_SQUARE} and {@code naive} (seconds per call at n = 1024) at
     * {@value #QUICK_BASELINE_NAIVE}, 1 + 3 iterations; full: both at square 128–1024 and the model's forward
     * shapes, 2 + 3 iterations of 1 s (each lasts at least one call).
     */
    static List<Options> baselineOptionsList(boolean full, VerboseMode verbose) {
        List<Options> out = new ArrayList<>();
        if (!full) {
            out.add(baseline(verbose, "blocked", 1, 3, TimeValue.milliseconds(QUICK_MILLIS), QUICK_GEMM_SQUARE));
            out.add(baseline(verbose, "naive", 1, 3, TimeValue.milliseconds(QUICK_MILLIS), QUICK_BASELINE_NAIVE));
        } else {
            List<String> shapes = new ArrayList<>(List.of("square128:128:128:128:N:N", "square256:256:256:256:N:N",
                    "square512:512:512:512:N:N", QUICK_GEMM_SQUARE));
            for (GemmShapes.Shape s : GemmShapes.model()) {
                if (s.name().endsWith(".fwd")) {
                    shapes.add(s.param());
                }
            }
            out.add(baseline(verbose, "(naive|blocked)", 2, 3, TimeValue.seconds(1), shapes.toArray(new String[0])));
        }
        return out;
    }

    private static Options baseline(VerboseMode verbose, String methods, int warmups, int iterations, TimeValue t,
            String... shapes) {
        return new OptionsBuilder()
                .mode(Mode.Throughput).timeUnit(TimeUnit.SECONDS)
                .forks(1)
                .jvmArgsAppend(forkFlags())
                .shouldFailOnError(true)
                .verbosity(verbose)
                .include("dev\\.sixpd\\.bench\\.GemmBenchmark\\." + methods + "$")
                .param("threads", "1")
                .param("shape", shapes)
                .warmupIterations(warmups).warmupTime(t)
                .measurementIterations(iterations).measurementTime(t)
                .build();
    }

    /**
     * The JMH options of the training-step benchmark: a medium step takes seconds, so it keeps the benchmark's own
     * iteration times (3 × 3 s warm-up, 5 × 4 s measured) in full mode; quick mode runs the tiny preset only, 3 + 3
     * iterations of 1 s.
     */
    static Options stepOptions(boolean full, VerboseMode verbose, int[] threads) {
        ChainedOptionsBuilder b = new OptionsBuilder()
                .mode(Mode.Throughput).timeUnit(TimeUnit.SECONDS)
                .forks(1)
                .jvmArgsAppend(forkFlags())
                .shouldFailOnError(true)
                .verbosity(verbose)
                .include(Family.STEP.includeRegex())
                .param("threads", Arrays.stream(threads).mapToObj(Integer::toString).toArray(String[]::new));
        if (!full) {
            b.param("preset", "tiny")
                    .warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(3).measurementTime(TimeValue.seconds(1));
        }
        return b.build();
    }

    /** The fork flags plus the sixpd system properties the host was started with (vector width, peak overrides). */
    static String[] forkFlags() {
        List<String> flags = new ArrayList<>(List.of(FORK_FLAGS));
        for (String p : List.of("sixpd.vector.bits", "sixpd.peak.ghz", "sixpd.peak.flopsPerCycle",
                "sixpd.peak.cores", "sixpd.openblas")) {
            String v = System.getProperty(p);
            if (v != null) {
                flags.add("-D" + p + "=" + v);
            }
        }
        return flags.toArray(new String[0]);
    }

    /** 1 and all cores when none are given; otherwise the given counts, each checked. */
    static int[] threadCounts(int[] threads) {
        if (threads == null || threads.length == 0) {
            int all = Runtime.getRuntime().availableProcessors();
            return all > 1 ? new int[] {1, all} : new int[] {1};
        }
        for (int t : threads) {
            if (t < 1) {
                throw new IllegalArgumentException("thread counts must be >= 1, got " + Arrays.toString(threads));
            }
        }
        return threads.clone();
    }

    /** A JMH result in the report's form, or null (with a message) for a benchmark whose costs are unknown. */
    static Result toResult(RunResult r) {
        BenchmarkParams p = r.getParams();
        String full = p.getBenchmark(); // dev.sixpd.bench.AttentionBenchmark.forward
        int dot = full.lastIndexOf('.');
        String method = full.substring(dot + 1);
        String cls = full.substring(full.lastIndexOf('.', dot - 1) + 1, dot);
        String threadsParam = p.getParam("threads");
        int threads = threadsParam == null ? 1 : Integer.parseInt(threadsParam);
        double[] cost = cls.equals("TrainingStepBenchmark") ? stepCost(r) : cost(cls, method, p.getParam("shape"));
        if (cost == null) {
            System.err.println("sixpd bench: no FLOP/byte counts known for " + full + "; left out of the report");
            return null;
        }
        String name = cls.replace("Benchmark", "").toLowerCase(Locale.ROOT) + "." + method;
        if (p.getParam("shape") != null) {
            name += " " + p.getParam("shape").split(":")[0];
        }
        if (p.getParam("preset") != null) {
            name += " " + p.getParam("preset");
        }
        double score = r.getPrimaryResult().getScore();
        double err = r.getPrimaryResult().getScoreError();
        return new Result(name, threads, cost[0], cost[1], score, err);
    }

    /**
     * {@code {flops, bytes}} per call of benchmark {@code method} of class {@code cls} (simple name), or null if not
     * known. {@code shape} is GEMM's {@code name:M:N:K:opA:opB} parameter (null for the others).
     */
    static double[] cost(String cls, String method, String shape) {
        return switch (cls + "." + method) {
            case "GemmBenchmark.sixpd", "GemmBenchmark.openblas", "GemmBenchmark.naive", "GemmBenchmark.blocked" ->
                    gemmCost(shape);
            case "AttentionBenchmark.forward" -> c(AttentionBenchmark.FORWARD_FLOPS, AttentionBenchmark.FORWARD_BYTES);
            case "AttentionBenchmark.backward" ->
                    c(AttentionBenchmark.BACKWARD_FLOPS, AttentionBenchmark.BACKWARD_BYTES);
            case "FlashAttentionBenchmark.flashForward" ->
                    c(FlashAttentionBenchmark.FORWARD_FLOPS, FlashAttentionBenchmark.FORWARD_BYTES);
            case "FlashAttentionBenchmark.flashBackward" ->
                    c(FlashAttentionBenchmark.BACKWARD_FLOPS, FlashAttentionBenchmark.BACKWARD_BYTES);
            case "SoftmaxBenchmark.forward" -> c(SoftmaxBenchmark.FORWARD_FLOPS, SoftmaxBenchmark.FORWARD_BYTES);
            case "SoftmaxBenchmark.backward" -> c(SoftmaxBenchmark.BACKWARD_FLOPS, SoftmaxBenchmark.BACKWARD_BYTES);
            case "LayerNormBenchmark.forward" -> c(LayerNormBenchmark.FORWARD_FLOPS, LayerNormBenchmark.FORWARD_BYTES);
            case "LayerNormBenchmark.backward" ->
                    c(LayerNormBenchmark.BACKWARD_FLOPS, LayerNormBenchmark.BACKWARD_BYTES);
            case "GeluBenchmark.forward" -> c(GeluBenchmark.FORWARD_FLOPS, GeluBenchmark.FORWARD_BYTES);
            case "GeluBenchmark.backward" -> c(GeluBenchmark.BACKWARD_FLOPS, GeluBenchmark.BACKWARD_BYTES);
            case "CrossEntropyBenchmark.forwardBackward" -> c(CrossEntropyBenchmark.FLOPS, CrossEntropyBenchmark.BYTES);
            case "AdamWBenchmark.step" -> c(AdamWBenchmark.FLOPS, AdamWBenchmark.BYTES);
            case "FusedBenchmark.biasGelu" -> c(FusedBenchmark.BIAS_GELU_FLOPS, FusedBenchmark.BIAS_GELU_BYTES);
            case "FusedBenchmark.biasGeluUnfused" ->
                    c(FusedBenchmark.BIAS_GELU_FLOPS, FusedBenchmark.BIAS_GELU_UNFUSED_BYTES);
            case "FusedBenchmark.biasGeluBackward" ->
                    c(FusedBenchmark.BIAS_GELU_BACKWARD_FLOPS, FusedBenchmark.BIAS_GELU_BACKWARD_BYTES);
            case "FusedBenchmark.biasGeluBackwardUnfused" ->
                    c(FusedBenchmark.BIAS_GELU_BACKWARD_FLOPS, FusedBenchmark.BIAS_GELU_BACKWARD_UNFUSED_BYTES);
            case "FusedBenchmark.residualLayerNorm" ->
                    c(FusedBenchmark.RESIDUAL_NORM_FLOPS, FusedBenchmark.RESIDUAL_NORM_BYTES);
            case "FusedBenchmark.residualLayerNormUnfused" ->
                    c(FusedBenchmark.RESIDUAL_NORM_FLOPS, FusedBenchmark.RESIDUAL_NORM_UNFUSED_BYTES);
            case "HalfConversionBenchmark.toBf16", "HalfConversionBenchmark.fromBf16", "HalfConversionBenchmark.toFp16",
                    "HalfConversionBenchmark.fromFp16" -> c(0, HalfConversionBenchmark.CONVERT_BYTES);
            case "HalfConversionBenchmark.roundToBf16" -> c(0, HalfConversionBenchmark.ROUND_BYTES);
            default -> null;
        };
    }

    /**
     * {@code {flops, bytes}} per training step from the benchmark's ledger counters ({@code modelGflop},
     * {@code modelGbyte}: rates, so divided by the steps/s), or null if they are missing.
     */
    static double[] stepCost(RunResult r) {
        var sec = r.getSecondaryResults();
        double steps = r.getPrimaryResult().getScore();
        if (!sec.containsKey("modelGflop") || !sec.containsKey("modelGbyte") || !(steps > 0)) {
            return null;
        }
        return new double[] {sec.get("modelGflop").getScore() * 1e9 / steps,
            sec.get("modelGbyte").getScore() * 1e9 / steps};
    }

    private static double[] c(long flops, long bytes) {
        return new double[] {flops, bytes};
    }

    /** GEMM {@code name:M:N:K:opA:opB}: {@code 2·M·N·K} FLOPs; A, B read and C written once (beta 0). */
    static double[] gemmCost(String shape) {
        if (shape == null) {
            return null;
        }
        String[] f = shape.split(":");
        if (f.length < 4) {
            throw new IllegalArgumentException("GEMM shape parameter '" + shape + "' is not name:M:N:K:opA:opB");
        }
        double m = Double.parseDouble(f[1]);
        double n = Double.parseDouble(f[2]);
        double k = Double.parseDouble(f[3]);
        return new double[] {2 * m * n * k, 4 * (m * k + k * n + m * n)};
    }

    /**
     * Standalone run: {@code [--full] [--threads 1,2] [--only gemm,attention,...] [--out DIR]}; prints the Markdown
     * table and writes {@code DIR/kernels.md}, {@code DIR/kernels.json} and {@code DIR/roofline.png} (DIR defaults
     * to {@code bench-results}).
     */
    public static void main(String[] args) throws Exception {
        boolean full = false;
        int[] threads = null;
        Set<Family> families = EnumSet.allOf(Family.class);
        Path out = Path.of("bench-results");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--full" -> full = true;
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--only" -> {
                    families = EnumSet.noneOf(Family.class);
                    for (String s : args[++i].split(",")) {
                        families.add(Family.parse(s));
                    }
                }
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: KernelSuite [--full] [--threads 1,2] [--only gemm,attention,...] [--out DIR]");
            }
        }
        Report r = run(full, families, VerboseMode.NORMAL, threads);
        String md = r.markdown();
        System.out.println();
        System.out.print(md);
        write(out, r, md);
    }

    private static void write(Path dir, Report r, String md) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("kernels.md"), md);
        Files.writeString(dir.resolve("kernels.json"), r.json() + "\n");
        r.writeChart(dir.resolve("roofline.png"));
        System.out.println("wrote " + dir.resolve("kernels.md") + ", kernels.json, roofline.png");
    }
}
