package dev.sixpd.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's FP32 ceilings, defined once for every command ({@code bench peak}, {@code bench}, {@code bench
 * step}, {@code plan --hardware this-cpu}): a measured FMA peak, a measured streaming bandwidth, and the nominal peak
 * from the data sheet formula {@code cores × clock × FLOPs/cycle}.
 *
 * <h2>Measured FMA peak</h2>
 * {@link #fmaChains} runs {@value #CHAINS} independent vector FMA chains of {@link Vectors#SPECIES} width. Twelve
 * chains hide the FMA latency (4–5 cycles on current x86 cores) behind two FMA pipes: 12 in flight ≥ 2 pipes × 5
 * cycles. Every chain starts from a DISTINCT value (a compiler may merge identical chains from identical starts), and
 * the multipliers are runtime values, so the JIT cannot fold the loop away. Each iteration applies two FMAs per chain,
 * {@code x ← m1·c1 + x} then {@code x ← m2·c2 + x}; the benchmark uses {@code m1·c1 = 2 · 0.5 = 1} and
 * {@code m2·c2 = −0.5 · 2 = −1}, so every value returns exactly to its start after each iteration and stays bounded
 * and free of denormals forever; the test checks the result against the closed form with other constants.
 * The chain is the ADDEND on purpose ({@code m.fma(c, x)}, not {@code x.fma(m, c)}): C2 emits
 * {@code vfmadd231ps x, m, c}, which overwrites its addend in place, while {@code x·m + c} needs a register copy of
 * {@code c} per FMA (with 256-bit vectors on a Zen 4: 104 vs 117 GFLOP/s; bench/NOTES.md measured 84 vs 102 on Zen 3).
 * FLOPs counted: 2 per lane per FMA.
 *
 * <h2>Measured bandwidth</h2>
 * {@link #triad} is STREAM's triad {@code a[i] = b[i] + s·c[i]} over three arrays far larger than any cache (64 MB
 * each by default). GB/s counts 12 bytes per element (read b and c, write a), as STREAM does. Write-allocate is NOT
 * counted: a write-allocate cache first reads each line of {@code a} before overwriting it, so the memory system
 * really moves 16 bytes per element (Java cannot issue non-temporal stores); the true traffic is 4/3 of the reported
 * figure.
 *
 * <h2>Nominal peak</h2>
 * {@code cores × GHz × FP32 FLOPs/cycle/core}, with FLOPs/cycle = {@code pipes × lanes × 2}: a pipe is an FMA unit (a
 * multiply-add, 2 FLOPs per lane) or, on ISAs without FMA, an add unit beside a multiply unit (1 + 1 FLOPs per lane);
 * lanes are the FP32 lanes each pipe executes per cycle, read from the ISA flags in {@code /proc/cpuinfo}:
 * <table>
 * <caption>FP32 FLOPs per cycle per core</caption>
 * <tr><th>flags</th><th>pipes × lanes × 2</th><th>why</th></tr>
 * <tr><td>avx512f, Intel</td><td>2 × 16 × 2 = 64</td><td>2 512-bit FMA units (Xeon Gold 6xxx/Platinum; parts with
 * one 512-bit FMA unit, e.g. Xeon Silver, have 32: override)</td></tr>
 * <tr><td>avx512f, AMD family 25 (Zen 4)</td><td>2 × 8 × 2 = 32</td><td>a 512-bit FMA executes as two 256-bit
 * halves</td></tr>
 * <tr><td>avx512f, AMD family ≥ 26 (Zen 5)</td><td>2 × 16 × 2 = 64</td><td>full 512-bit datapaths (mobile Zen 5 has
 * 256-bit ones: override to 32)</td></tr>
 * <tr><td>avx2 + fma</td><td>2 × 8 × 2 = 32</td><td>2 256-bit FMA units (Haswell and later, Zen 2 and later; Zen 1
 * has 16)</td></tr>
 * <tr><td>avx</td><td>1 × 8 × 2 = 16</td><td>one 8-lane add + one 8-lane multiply per cycle</td></tr>
 * <tr><td>sse / sse2</td><td>1 × 4 × 2 = 8</td><td>one 4-lane add + one 4-lane multiply per cycle</td></tr>
 * <tr><td>asimd (Arm NEON)</td><td>2 × 4 × 2 = 16</td><td>2 128-bit FMA units (Neoverse N1 class)</td></tr>
 * <tr><td>none of these</td><td>1 × 1 × 2 = 2</td><td>one scalar FMA per cycle</td></tr>
 * </table>
 * The clock is the HIGHEST {@code cpu MHz} of {@code /proc/cpuinfo}: it is each CPU's current clock, and idle cores
 * report a low one, so the busiest core is the best guess at the clock under load (on virtual machines every line
 * often shows the base or TSC clock, not the boost clock the FMAs actually run at, so the measured peak can exceed the
 * nominal one). Cores are the distinct (physical id, core id) pairs, because SMT siblings share FMA units, capped at
 * the JVM's available processors; {@link Nominal#gflops(int)} counts at most that many cores for any thread count.
 * Every input can be overridden, in one place ({@link Nominal#withOverrides}): by the system properties
 * {@code sixpd.peak.ghz}, {@code sixpd.peak.flopsPerCycle}, {@code sixpd.peak.cores} (read by {@link #nominal()}, e.g.
 * {@code SIXPD_JAVA_OPTS=-Dsixpd.peak.ghz=3.5}), and by {@code ./sixpd bench peak --ghz --flops-per-cycle}.
 *
 * <p>Thread-safety: all methods are safe to call from any thread; the measurements start their own threads and should
 * not run beside other heavy work.
 */
public final class Peak {
    /** Independent FMA chains (vector accumulators) in {@link #fmaChains}. */
    public static final int CHAINS = 12;

    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int L = S.length();

    /** Elements per triad array in {@link #measureBandwidth(int, double)}: 16 Mi floats = 64 MB per array. */
    public static final int TRIAD_ELEMENTS = 16 << 20;

    /** Sink for results so the JIT must compute them. */
    @SuppressWarnings("unused")
    private static volatile float sink;
    /** The benchmark's FMA constants m1, c1, m2, c2 (+1 then −1), read at run time so the JIT cannot fold them. */
    private static final float[] CONSTANTS = {2f, 0.5f, -0.5f, 2f};

    private Peak() {
    }

    /** One measurement: every run's rate, its best (highest) and median, in {@code unit}. */
    public record Measurement(String what, int threads, double best, double median, double[] runs, String unit) {
        /** The slowest run's rate. */
        public double worst() {
            return Arrays.stream(runs).min().orElse(Double.NaN);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s, %d thread%s: best %.1f %s, median %.1f %s over %d runs", what,
                    threads, threads == 1 ? "" : "s", best, unit, median, unit, runs.length);
        }
    }

    // ---------------------------------------------------------------- FMA kernel

    /** FP32 FLOPs of one call of {@link #fmaChains} with {@code pairs} iterations: CHAINS × 2 FMAs × lanes × 2. */
    public static long fmaFlops(long pairs) {
        return pairs * CHAINS * 2L * L * 2L;
    }

    /** Floats in the start and result arrays of {@link #fmaChains}: {@code CHAINS × lanes}. */
    public static int fmaStateLength() {
        return CHAINS * L;
    }

    /**
     * Runs {@value #CHAINS} independent vector FMA chains for {@code pairs} iterations, each iteration
     * {@code x ← m1·c1 + x; x ← m2·c2 + x} per lane (each a fused multiply-add, one rounding), and stores the final
     * accumulators in {@code out}.
     *
     * @param start {@code [CHAINS × lanes]} start values, chain k in {@code [k·lanes, (k+1)·lanes)}
     * @param out {@code [CHAINS × lanes]} final values, same layout
     */
    public static void fmaChains(float[] start, float m1, float c1, float m2, float c2, long pairs, float[] out) {
        int n = fmaStateLength();
        if (start.length < n || out.length < n) {
            throw new IllegalArgumentException("start and out need " + n + " floats (" + CHAINS + " chains × " + L
                    + " lanes), got " + start.length + " and " + out.length);
        }
        FloatVector vm1 = FloatVector.broadcast(S, m1);
        FloatVector vc1 = FloatVector.broadcast(S, c1);
        FloatVector vm2 = FloatVector.broadcast(S, m2);
        FloatVector vc2 = FloatVector.broadcast(S, c2);
        // twelve explicit locals: arrays of vectors would not stay in registers
        FloatVector a0 = FloatVector.fromArray(S, start, 0);
        FloatVector a1 = FloatVector.fromArray(S, start, L);
        FloatVector a2 = FloatVector.fromArray(S, start, 2 * L);
        FloatVector a3 = FloatVector.fromArray(S, start, 3 * L);
        FloatVector a4 = FloatVector.fromArray(S, start, 4 * L);
        FloatVector a5 = FloatVector.fromArray(S, start, 5 * L);
        FloatVector a6 = FloatVector.fromArray(S, start, 6 * L);
        FloatVector a7 = FloatVector.fromArray(S, start, 7 * L);
        FloatVector a8 = FloatVector.fromArray(S, start, 8 * L);
        FloatVector a9 = FloatVector.fromArray(S, start, 9 * L);
        FloatVector a10 = FloatVector.fromArray(S, start, 10 * L);
        FloatVector a11 = FloatVector.fromArray(S, start, 11 * L);
        for (long i = 0; i < pairs; i++) {
            // x ← m1·c1 + x on every chain, the chain as the addend (vfmadd231ps in place): 12 independent FMAs
            // keep both FMA pipes busy
            a0 = vm1.fma(vc1, a0);
            a1 = vm1.fma(vc1, a1);
            a2 = vm1.fma(vc1, a2);
            a3 = vm1.fma(vc1, a3);
            a4 = vm1.fma(vc1, a4);
            a5 = vm1.fma(vc1, a5);
            a6 = vm1.fma(vc1, a6);
            a7 = vm1.fma(vc1, a7);
            a8 = vm1.fma(vc1, a8);
            a9 = vm1.fma(vc1, a9);
            a10 = vm1.fma(vc1, a10);
            a11 = vm1.fma(vc1, a11);
            // x ← m2·c2 + x (the benchmark's −1 undoes the +1: values stay bounded)
            a0 = vm2.fma(vc2, a0);
            a1 = vm2.fma(vc2, a1);
            a2 = vm2.fma(vc2, a2);
            a3 = vm2.fma(vc2, a3);
            a4 = vm2.fma(vc2, a4);
            a5 = vm2.fma(vc2, a5);
            a6 = vm2.fma(vc2, a6);
            a7 = vm2.fma(vc2, a7);
            a8 = vm2.fma(vc2, a8);
            a9 = vm2.fma(vc2, a9);
            a10 = vm2.fma(vc2, a10);
            a11 = vm2.fma(vc2, a11);
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, L);
        a2.intoArray(out, 2 * L);
        a3.intoArray(out, 3 * L);
        a4.intoArray(out, 4 * L);
        a5.intoArray(out, 5 * L);
        a6.intoArray(out, 6 * L);
        a7.intoArray(out, 7 * L);
        a8.intoArray(out, 8 * L);
        a9.intoArray(out, 9 * L);
        a10.intoArray(out, 10 * L);
        a11.intoArray(out, 11 * L);
    }

    /** Distinct start values for the chains: chain k, lane j starts at {@code 1 + k + j/64}. */
    public static float[] distinctStarts() {
        float[] s = new float[fmaStateLength()];
        for (int k = 0; k < CHAINS; k++) {
            for (int j = 0; j < L; j++) {
                s[k * L + j] = 1f + k + j / 64f;
            }
        }
        return s;
    }

    // ---------------------------------------------------------------- triad kernel

    /** {@code a[i] = b[i] + s·c[i]} for {@code i} in {@code [from, to)}: vector body, scalar tail. */
    public static void triad(float[] a, float[] b, float[] c, float s, int from, int to) {
        FloatVector vs = FloatVector.broadcast(S, s);
        int i = from;
        int upper = from + S.loopBound(to - from);
        for (; i < upper; i += L) {
            // a = c·s + b, one FMA per lane
            FloatVector vc = FloatVector.fromArray(S, c, i);
            FloatVector vb = FloatVector.fromArray(S, b, i);
            vc.fma(vs, vb).intoArray(a, i);
        }
        for (; i < to; i++) {
            a[i] = Math.fma(c[i], s, b[i]);
        }
    }

    /** Scalar twin of {@link #triad}. */
    public static void triadScalar(float[] a, float[] b, float[] c, float s, int from, int to) {
        for (int i = from; i < to; i++) {
            a[i] = Math.fma(c[i], s, b[i]);
        }
    }

    // ---------------------------------------------------------------- measurements

    /**
     * Best FP32 GFLOP/s of the FMA kernel on {@code threads} threads running simultaneously, within about
     * {@code seconds} (at least a quarter of it warm-up: longer, up to 10 s, until C2 has compiled the kernel).
     */
    public static double measureGflops(int threads, double seconds) {
        return measureFma(threads, seconds).best();
    }

    /** The FMA peak measurement within about {@code seconds}: a quarter warm-up, then 5 runs share the rest. */
    public static Measurement measureFma(int threads, double seconds) {
        checkArgs(threads, seconds);
        return measureFma(threads, 5, seconds * 0.75 / 5);
    }

    /**
     * The FMA peak measurement: warm-up, then {@code runs} runs of about {@code secondsPerRun} each, all threads
     * released together; a run's GFLOP/s = all threads' FLOPs / wall time from the first start to the last end.
     */
    public static Measurement measureFma(int threads, int runs, double secondsPerRun) {
        checkArgs(threads, secondsPerRun);
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1, got " + runs);
        }
        float[] k = CONSTANTS.clone();
        float[] start = distinctStarts();
        // warm-up: until C2 has compiled fmaChains. On a busy machine that takes over a second (a dozen calls run
        // interpreted or in C1 at 0.05-1 GFLOP/s, then the rate jumps ~100x), so a fixed quarter of the budget is
        // not enough. Warm until: a quarter of the whole budget has passed, the best rate has reached an eighth of
        // the nominal per-core peak (unreachable without C2; when the nominal peak is unknown, 20 calls instead),
        // and it has not improved by 10% for 3 calls. At most max(10 s, 4 x budget).
        double seconds = runs * secondsPerRun / 0.75;
        long pairs = 20_000;
        long t00 = System.nanoTime();
        long warmEnd = t00 + (long) (seconds * 0.25e9);
        long warmCap = t00 + (long) (Math.max(10.0, 4 * seconds) * 1e9);
        double floor = compiledFloorGflops();
        double nsPerPair = Double.MAX_VALUE;
        float[] out = new float[fmaStateLength()];
        for (int i = 0, flat = 0; ; i++) {
            long t0 = System.nanoTime();
            fmaChains(start, k[0], k[1], k[2], k[3], pairs, out);
            double ns = (double) (System.nanoTime() - t0) / pairs;
            flat = ns < nsPerPair / 1.1 ? 0 : flat + 1;
            nsPerPair = Math.min(nsPerPair, ns);
            sink += out[i % out.length];
            long now = System.nanoTime();
            boolean compiled = Double.isNaN(floor) ? i >= 19 : fmaFlops(pairs) / nsPerPair / pairs >= floor;
            if (now >= warmCap || (now >= warmEnd && compiled && flat >= 3)) {
                break;
            }
        }
        long runPairs = Math.max(1000, (long) (secondsPerRun * 1e9 / nsPerPair));
        long flopsPerThread = fmaFlops(runPairs);
        double[] rates = runParallel(threads, runs, t -> {
            float[] o = new float[fmaStateLength()];
            fmaChains(start, k[0], k[1], k[2], k[3], runPairs, o);
            sink += o[t % o.length];
        });
        for (int i = 0; i < runs; i++) {
            rates[i] = threads * (double) flopsPerThread / rates[i]; // FLOPs per ns = GFLOP/s
        }
        return summarize("FP32 FMA peak (" + CHAINS + " chains of " + L + " lanes)", threads, rates, "GFLOP/s");
    }

    /**
     * An eighth of the nominal per-core peak in GFLOP/s (NaN if unknown): 12 independent FMA chains compiled by C2
     * reach far more on any real CPU, interpreted or C1 code far less, so the warm-up uses it to see that C2 is done.
     */
    static double compiledFloorGflops() {
        try {
            double perCore = nominal().gflopsPerCore();
            return Double.isFinite(perCore) && perCore > 0 ? perCore / 8 : Double.NaN;
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * Best triad bandwidth in GB/s (12 bytes/element, write-allocate not counted) on {@code threads} threads over
     * 3 × 64 MB arrays, within about {@code seconds}.
     */
    public static double measureBandwidthGBs(int threads, double seconds) {
        return measureBandwidth(threads, seconds).best();
    }

    /** The triad measurement with every run, over 3 arrays of {@link #TRIAD_ELEMENTS} floats. */
    public static Measurement measureBandwidth(int threads, double seconds) {
        return measureBandwidth(threads, seconds, TRIAD_ELEMENTS);
    }

    /** The triad measurement over 3 arrays of {@code elements} floats (make them far larger than the caches). */
    public static Measurement measureBandwidth(int threads, double seconds, int elements) {
        checkArgs(threads, seconds);
        if (elements < threads) {
            throw new IllegalArgumentException("triad needs at least one element per thread, got " + elements
                    + " elements for " + threads + " threads");
        }
        float[] a = new float[elements];
        float[] b = new float[elements];
        float[] c = new float[elements];
        Arrays.fill(b, 1f);
        Arrays.fill(c, 2f);
        float s = 0.5f;
        // warm-up: one full sweep per thread slice, repeated for a quarter of the budget (also faults the pages in)
        long warmEnd = System.nanoTime() + (long) (seconds * 0.25e9);
        double sweepNs = Double.MAX_VALUE;
        for (int i = 0; i < 2 || System.nanoTime() < warmEnd; i++) {
            long t0 = System.nanoTime();
            triad(a, b, c, s, 0, elements);
            sweepNs = Math.min(sweepNs, System.nanoTime() - t0);
        }
        int runs = 5;
        int sweeps = (int) Math.max(1, Math.min(1000, seconds * 0.75e9 / runs / sweepNs));
        double[] ns = runParallel(threads, runs, t -> {
            int from = (int) ((long) elements * t / threads);
            int to = (int) ((long) elements * (t + 1) / threads);
            for (int r = 0; r < sweeps; r++) {
                triad(a, b, c, s, from, to);
            }
        });
        double bytes = 12.0 * elements * sweeps;
        for (int i = 0; i < runs; i++) {
            ns[i] = bytes / ns[i]; // bytes per ns = GB/s
        }
        sink += a[elements / 2];
        return summarize("triad a=b+s·c over 3 × " + (4L * elements >> 20) + " MB, 12 B/element", threads, ns,
                "GB/s");
    }

    /** A per-thread body; {@code t} is the thread index. */
    @FunctionalInterface
    private interface ThreadBody {
        void run(int t);
    }

    /**
     * Runs {@code body} on {@code threads} threads released together by a barrier, {@code runs} times; returns each
     * run's wall time in ns from the earliest start to the latest end.
     */
    private static double[] runParallel(int threads, int runs, ThreadBody body) {
        double[] wall = new double[runs];
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "sixpd-peak");
            th.setDaemon(true);
            return th;
        });
        try {
            for (int run = 0; run < runs; run++) {
                CyclicBarrier barrier = new CyclicBarrier(threads);
                long[] starts = new long[threads];
                long[] ends = new long[threads];
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int tt = t;
                    fs.add(pool.submit(() -> {
                        barrier.await();
                        starts[tt] = System.nanoTime();
                        body.run(tt);
                        ends[tt] = System.nanoTime();
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
                wall[run] = Arrays.stream(ends).max().getAsLong() - Arrays.stream(starts).min().getAsLong();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring the peak", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a peak-measurement thread failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return wall;
    }

    private static Measurement summarize(String what, int threads, double[] rates, String unit) {
        double[] sorted = rates.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : 0.5 * (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]);
        return new Measurement(what, threads, sorted[sorted.length - 1], median, rates, unit);
    }

    private static void checkArgs(int threads, double seconds) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("seconds must be a positive finite number, got " + seconds);
        }
    }

    // ---------------------------------------------------------------- nominal peak

    /**
     * The nominal peak {@code cores × GHz × flopsPerCycle} and where each input came from. Detected inputs satisfy
     * {@code flopsPerCycle = pipes × lanes × 2}; an override of the FLOPs/cycle replaces the product.
     *
     * @param model the CPU's {@code model name}, e.g. "AMD EPYC" ("?" if unknown)
     * @param isa the instruction set the FLOPs/cycle were read for, e.g. "avx2+fma"
     * @param pipes FMA pipes per core (or add + multiply unit pairs on ISAs without FMA)
     * @param lanes FP32 lanes each pipe executes per cycle
     * @param flopsPerCycle FP32 FLOPs per cycle per core
     * @param ghz clock in GHz (NaN if unknown)
     * @param cores physical cores counted in the peak
     * @param basis how the inputs were obtained (detected, overridden), for the report
     */
    public record Nominal(String model, String isa, int pipes, int lanes, int flopsPerCycle, double ghz, int cores,
            String basis) {
        /** Nominal FP32 GFLOP/s of all {@link #cores}. */
        public double gflops() {
            return cores * gflopsPerCore();
        }

        /**
         * Nominal FP32 GFLOP/s of {@code threads} threads: one core each, at most {@link #cores} (threads beyond the
         * physical cores share their FMA units).
         */
        public double gflops(int threads) {
            return Math.min(threads, cores) * gflopsPerCore();
        }

        /** Per core FP32 GFLOP/s: {@code GHz × flopsPerCycle}. */
        public double gflopsPerCore() {
            return ghz * flopsPerCycle;
        }

        /** How the FLOPs/cycle arise, e.g. {@code avx2+fma: 2 pipes × 8 lanes × 2}, or {@code avx2+fma, overridden}. */
        public String perCycle() {
            return flopsPerCycle == pipes * lanes * 2
                    ? String.format(Locale.ROOT, "%s: %d pipe%s × %d lanes × 2", isa, pipes, pipes == 1 ? "" : "s",
                            lanes)
                    : isa + ", overridden";
        }

        /**
         * The formula with its numbers, e.g.
         * {@code 2 cores × 2.445 GHz × 32 FLOP/cycle (avx2+fma: 2 pipes × 8 lanes × 2) = 156.5 GFLOP/s}.
         */
        public String formula() {
            return String.format(Locale.ROOT, "%d cores × %.3f GHz × %d FLOP/cycle (%s) = %.1f GFLOP/s", cores, ghz,
                    flopsPerCycle, perCycle(), gflops());
        }

        public Nominal withGhz(double g) {
            if (!(g > 0) || Double.isInfinite(g)) {
                throw new IllegalArgumentException("the clock must be a positive number of GHz, got " + g);
            }
            return new Nominal(model, isa, pipes, lanes, flopsPerCycle, g, cores, basis + "; GHz overridden");
        }

        public Nominal withFlopsPerCycle(int f) {
            if (f < 1) {
                throw new IllegalArgumentException("FLOPs per cycle must be >= 1, got " + f);
            }
            return new Nominal(model, isa, pipes, lanes, f, ghz, cores, basis + "; FLOP/cycle overridden");
        }

        public Nominal withCores(int c) {
            if (c < 1) {
                throw new IllegalArgumentException("cores must be >= 1, got " + c);
            }
            return new Nominal(model, isa, pipes, lanes, flopsPerCycle, ghz, c, basis + "; cores overridden");
        }

        /** This nominal peak with each non-null override applied (the one place overrides are applied). */
        public Nominal withOverrides(Double ghzOverride, Integer flopsPerCycleOverride, Integer coresOverride) {
            Nominal n = this;
            if (ghzOverride != null) {
                n = n.withGhz(ghzOverride);
            }
            if (flopsPerCycleOverride != null) {
                n = n.withFlopsPerCycle(flopsPerCycleOverride);
            }
            if (coresOverride != null) {
                n = n.withCores(coresOverride);
            }
            return n;
        }
    }

    /**
     * FP32 FLOPs per cycle per core, {@code pipes × lanes × 2}, for a {@code /proc/cpuinfo} flags line (see the class
     * table).
     *
     * @param flags the space-separated flags ({@code flags} on x86, {@code Features} on Arm)
     * @param vendor {@code vendor_id}, e.g. "AuthenticAMD" or "GenuineIntel" (may be empty)
     * @param family {@code cpu family} (AMD: 25 = Zen 3/4, 26 = Zen 5), or -1 if unknown
     */
    public static int flopsPerCycle(String flags, String vendor, int family) {
        return isaRow(flags, vendor, family).flopsPerCycle();
    }

    /** A row of the class table: the ISA, its pipes per core and FP32 lanes per pipe. */
    private record IsaRow(String name, int pipes, int lanes) {
        int flopsPerCycle() {
            return pipes * lanes * 2;
        }
    }

    private static IsaRow isaRow(String flags, String vendor, int family) {
        Set<String> f = new HashSet<>(Arrays.asList(flags.toLowerCase(Locale.ROOT).trim().split("\\s+")));
        boolean amd = vendor != null && vendor.contains("AMD");
        if (f.contains("avx512f")) {
            if (amd && family >= 0 && family < 26) {
                return new IsaRow("avx512f, AMD Zen 4 (512-bit FMA as two 256-bit halves)", 2, 8);
            }
            return new IsaRow("avx512f", 2, 16);
        }
        if (f.contains("avx2") && f.contains("fma")) {
            return new IsaRow("avx2+fma", 2, 8);
        }
        if (f.contains("avx")) {
            return new IsaRow("avx (no FMA: an add and a multiply unit)", 1, 8);
        }
        if (f.contains("sse") || f.contains("sse2")) {
            return new IsaRow("sse (an add and a multiply unit)", 1, 4);
        }
        if (f.contains("asimd")) {
            return new IsaRow("asimd", 2, 4);
        }
        return new IsaRow("scalar (no SIMD flags found)", 1, 1);
    }

    /**
     * The nominal peak from a {@code /proc/cpuinfo} text: model and flags of the first processor, the highest
     * {@code cpu MHz}, distinct (physical id, core id) pairs capped at {@code maxCores}. No overrides applied.
     */
    public static Nominal nominal(String cpuinfo, int maxCores) {
        String model = "";
        String flags = "";
        String vendor = "";
        int family = -1;
        double mhzMax = Double.NaN;
        int processors = 0;
        Set<String> cores = new HashSet<>();
        String physical = "0";
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "processor" -> processors++;
                case "model name" -> model = model.isEmpty() ? value : model;
                case "flags", "Features" -> flags = flags.isEmpty() ? value : flags;
                case "vendor_id" -> vendor = vendor.isEmpty() ? value : vendor;
                case "cpu family" -> {
                    if (family < 0) {
                        try {
                            family = Integer.parseInt(value);
                        } catch (NumberFormatException e) {
                            family = -1;
                        }
                    }
                }
                case "cpu MHz" -> {
                    try {
                        double mhz = Double.parseDouble(value);
                        mhzMax = Double.isNaN(mhzMax) ? mhz : Math.max(mhzMax, mhz);
                    } catch (NumberFormatException e) {
                        // ignore a malformed line
                    }
                }
                case "physical id" -> physical = value;
                case "core id" -> cores.add(physical + "/" + value);
                default -> {
                }
            }
        }
        int n = cores.isEmpty() ? Math.max(1, processors) : cores.size();
        n = Math.max(1, Math.min(n, maxCores));
        IsaRow row = isaRow(flags, vendor, family);
        String basis = "from /proc/cpuinfo" + (Double.isNaN(mhzMax) ? " (no cpu MHz: pass -Dsixpd.peak.ghz)" : "");
        return new Nominal(model.isEmpty() ? "?" : model, row.name(), row.pipes(), row.lanes(), row.flopsPerCycle(),
                mhzMax / 1000.0, n, basis);
    }

    /**
     * This machine's nominal peak: {@link #nominal(String, int)} on {@code /proc/cpuinfo} with the available
     * processors, then the system-property overrides {@code sixpd.peak.ghz}, {@code sixpd.peak.flopsPerCycle},
     * {@code sixpd.peak.cores}.
     */
    public static Nominal nominal() {
        int maxCores = Runtime.getRuntime().availableProcessors();
        Nominal n;
        try {
            n = nominal(Files.readString(Path.of("/proc/cpuinfo")), maxCores);
        } catch (IOException | RuntimeException e) {
            n = new Nominal("?", "unknown (no /proc/cpuinfo)", 1, 1, 2, Double.NaN, maxCores,
                    "assumed; set -Dsixpd.peak.ghz and -Dsixpd.peak.flopsPerCycle");
        }
        return n.withOverrides(property("sixpd.peak.ghz", Double::valueOf),
                property("sixpd.peak.flopsPerCycle", Integer::valueOf),
                property("sixpd.peak.cores", Integer::valueOf));
    }

    /** System property {@code key} parsed, null when unset or blank; a clear error when it does not parse. */
    private static <T> T property(String key, Function<String, T> parse) {
        String v = System.getProperty(key);
        if (v == null || v.isBlank()) {
            return null;
        }
        try {
            return parse.apply(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + key + "=" + v + " is not a number: give e.g. -D" + key
                    + (key.endsWith("ghz") ? "=3.5" : "=32") + ", or leave it unset to read /proc/cpuinfo");
        }
    }
}
