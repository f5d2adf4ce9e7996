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
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's FP32 ceilings: a measured FMA peak, a measured streaming bandwidth, and the nominal peak from the
 * data sheet formula {@code cores × clock × FLOPs/cycle}.
 *
 * <h2>Measured FMA peak</h2>
 * {@link #fmaChains} runs {@value #CHAINS} independent vector FMA chains of {@link Vectors#SPECIES} width. Twelve
 * chains hide the FMA latency (4–5 cycles on current x86 cores) behind two FMA pipes: 12 in flight ≥ 2 pipes × 5
 * cycles. Every chain starts from a DISTINCT value (a compiler may merge identical chains from identical starts), and
 * the multipliers and addends are runtime values, so the JIT cannot fold the loop away. Each iteration applies two
 * FMAs per chain, {@code x ← x·m1 + c1} then {@code x ← x·m2 + c2}; the benchmark uses {@code m1 = 2, c1 = 1, m2 =
 * 0.5, c2 = −0.5}, the exact inverse of the first step, so values stay bounded and free of denormals forever, and the
 * test checks the result against the closed form with other constants. FLOPs counted: 2 per lane per FMA.
 *
 * <h2>Measured bandwidth</h2>
 * {@link #triad} is STREAM's triad {@code a[i] = b[i] + s·c[i]} over three arrays far larger than any cache (64 MB
 * each by default). GB/s counts 12 bytes per element (read b and c, write a), as STREAM does. Write-allocate is NOT
 * counted: a write-allocate cache first reads each line of {@code a} before overwriting it, so the memory system
 * really moves 16 bytes per element (Java cannot issue non-temporal stores); the true traffic is 4/3 of the reported
 * figure.
 *
 * <h2>Nominal peak</h2>
 * {@code cores × GHz × FP32 FLOPs/cycle/core}, FLOPs/cycle from the ISA flags in {@code /proc/cpuinfo}:
 * <table>
 * <caption>FP32 FLOPs per cycle per core</caption>
 * <tr><th>flags</th><th>FLOP/cycle</th><th>why</th></tr>
 * <tr><td>avx512f, Intel</td><td>64</td><td>2 FMA units × 16 lanes × 2 (Xeon Gold 6xxx/Platinum; parts with one
 * 512-bit FMA unit, e.g. Xeon Silver, have 32: override)</td></tr>
 * <tr><td>avx512f, AMD family 25 (Zen 4)</td><td>32</td><td>a 512-bit FMA executes as two 256-bit halves:
 * 2 × 8 lanes × 2</td></tr>
 * <tr><td>avx512f, AMD family ≥ 26 (Zen 5)</td><td>64</td><td>full 512-bit datapaths (mobile Zen 5 has 256-bit
 * ones: override to 32)</td></tr>
 * <tr><td>avx2 + fma</td><td>32</td><td>2 FMA units × 8 lanes × 2 (Haswell and later, Zen 2 and later; Zen 1 has
 * 16)</td></tr>
 * <tr><td>avx</td><td>16</td><td>one 8-lane add + one 8-lane multiply per cycle</td></tr>
 * <tr><td>sse / sse2</td><td>8</td><td>one 4-lane add + one 4-lane multiply per cycle</td></tr>
 * <tr><td>asimd (Arm NEON)</td><td>16</td><td>2 × 4 lanes × 2 (Neoverse N1 class)</td></tr>
 * <tr><td>none of these</td><td>2</td><td>one scalar FMA per cycle</td></tr>
 * </table>
 * The clock is the mean {@code cpu MHz} of {@code /proc/cpuinfo} (on virtual machines often the base or TSC clock,
 * not the boost clock the FMAs actually run at, so the measured peak can exceed the nominal one). Cores are the
 * distinct (physical id, core id) pairs (SMT siblings share FMA units), capped at the JVM's available processors.
 * System properties override each input: {@code sixpd.peak.ghz}, {@code sixpd.peak.flopsPerCycle},
 * {@code sixpd.peak.cores}.
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
    /** The benchmark's FMA constants, read at run time so the JIT cannot fold them (m1, c1, m2, c2). */
    private static final float[] CONSTANTS = {2f, 1f, 0.5f, -0.5f};

    private Peak() {
    }

    /** One measurement: every run's rate, its best and median, in {@code unit}. */
    public record Measurement(String what, int threads, double best, double median, double[] runs, String unit) {
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
     * {@code x ← x·m1 + c1; x ← x·m2 + c2} per lane, and stores the final accumulators in {@code out}.
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
            // x ← x·m1 + c1 on every chain: 12 independent FMAs keep both FMA pipes busy
            a0 = a0.fma(vm1, vc1);
            a1 = a1.fma(vm1, vc1);
            a2 = a2.fma(vm1, vc1);
            a3 = a3.fma(vm1, vc1);
            a4 = a4.fma(vm1, vc1);
            a5 = a5.fma(vm1, vc1);
            a6 = a6.fma(vm1, vc1);
            a7 = a7.fma(vm1, vc1);
            a8 = a8.fma(vm1, vc1);
            a9 = a9.fma(vm1, vc1);
            a10 = a10.fma(vm1, vc1);
            a11 = a11.fma(vm1, vc1);
            // x ← x·m2 + c2 (the benchmark's inverse step keeps values bounded)
            a0 = a0.fma(vm2, vc2);
            a1 = a1.fma(vm2, vc2);
            a2 = a2.fma(vm2, vc2);
            a3 = a3.fma(vm2, vc2);
            a4 = a4.fma(vm2, vc2);
            a5 = a5.fma(vm2, vc2);
            a6 = a6.fma(vm2, vc2);
            a7 = a7.fma(vm2, vc2);
            a8 = a8.fma(vm2, vc2);
            a9 = a9.fma(vm2, vc2);
            a10 = a10.fma(vm2, vc2);
            a11 = a11.fma(vm2, vc2);
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

    /** The FMA peak measurement with every run: warm-up, then 5 runs; GFLOP/s = all threads' FLOPs / wall time. */
    public static Measurement measureFma(int threads, double seconds) {
        checkArgs(threads, seconds);
        float[] k = CONSTANTS.clone();
        float[] start = distinctStarts();
        // warm-up: until C2 has compiled fmaChains. On a busy machine that takes over a second (a dozen calls run
        // interpreted or in C1 at 0.05-1 GFLOP/s, then the rate jumps ~100x), so a fixed quarter of the budget is
        // not enough. Warm until: a quarter of the budget has passed, the best rate has reached an eighth of the
        // nominal per-core peak (unreachable without C2; when the nominal peak is unknown, 20 calls instead), and
        // it has not improved by 10% for 3 calls. At most max(10 s, 4 x budget).
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
        int runs = 5;
        long runPairs = Math.max(1000, (long) (seconds * 0.75e9 / runs / nsPerPair));
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
     * The nominal peak {@code cores × GHz × flopsPerCycle} and where each input came from.
     *
     * @param isa the instruction set the FLOPs/cycle were read for, e.g. "avx2+fma"
     * @param basis how the inputs were obtained (detected, overridden), for the report
     */
    public record Nominal(String isa, int flopsPerCycle, double ghz, int cores, String basis) {
        /** Nominal FP32 GFLOP/s. */
        public double gflops() {
            return cores * ghz * flopsPerCycle;
        }

        /** Per core FP32 GFLOP/s. */
        public double gflopsPerCore() {
            return ghz * flopsPerCycle;
        }

        /** The formula with its numbers, e.g. {@code 2 cores × 2.445 GHz × 32 FLOP/cycle = 156.5 GFLOP/s}. */
        public String formula() {
            return String.format(Locale.ROOT, "%d cores × %.3f GHz × %d FLOP/cycle (%s) = %.1f GFLOP/s", cores, ghz,
                    flopsPerCycle, isa, gflops());
        }

        public Nominal withGhz(double g) {
            return new Nominal(isa, flopsPerCycle, g, cores, basis + "; GHz overridden");
        }

        public Nominal withFlopsPerCycle(int f) {
            return new Nominal(isa, f, ghz, cores, basis + "; FLOP/cycle overridden");
        }

        public Nominal withCores(int c) {
            return new Nominal(isa, flopsPerCycle, ghz, c, basis + "; cores overridden");
        }
    }

    /**
     * FP32 FLOPs per cycle per core for a {@code /proc/cpuinfo} flags line (see the class table).
     *
     * @param flags the space-separated flags ({@code flags} on x86, {@code Features} on Arm)
     * @param vendor {@code vendor_id}, e.g. "AuthenticAMD" or "GenuineIntel" (may be empty)
     * @param family {@code cpu family} (AMD: 25 = Zen 3/4, 26 = Zen 5), or -1 if unknown
     */
    public static int flopsPerCycle(String flags, String vendor, int family) {
        return isaRow(flags, vendor, family).flopsPerCycle;
    }

    /** The ISA name {@link #flopsPerCycle} picked, e.g. "avx512f (Zen 4: 2×256-bit)". */
    public static String isaName(String flags, String vendor, int family) {
        return isaRow(flags, vendor, family).name;
    }

    private record IsaRow(String name, int flopsPerCycle) {
    }

    private static IsaRow isaRow(String flags, String vendor, int family) {
        Set<String> f = new HashSet<>(Arrays.asList(flags.toLowerCase(Locale.ROOT).trim().split("\\s+")));
        boolean amd = vendor != null && vendor.contains("AMD");
        if (f.contains("avx512f")) {
            if (amd && family >= 0 && family < 26) {
                return new IsaRow("avx512f (AMD Zen 4: 512-bit FMA as two 256-bit halves)", 32);
            }
            return new IsaRow("avx512f (2 × 512-bit FMA units)", 64);
        }
        if (f.contains("avx2") && f.contains("fma")) {
            return new IsaRow("avx2+fma (2 × 256-bit FMA units)", 32);
        }
        if (f.contains("avx")) {
            return new IsaRow("avx (256-bit add + mul)", 16);
        }
        if (f.contains("sse") || f.contains("sse2")) {
            return new IsaRow("sse (128-bit add + mul)", 8);
        }
        if (f.contains("asimd")) {
            return new IsaRow("asimd (2 × 128-bit FMA units)", 16);
        }
        return new IsaRow("scalar (no SIMD flags found)", 2);
    }

    /**
     * The nominal peak from a {@code /proc/cpuinfo} text: flags of the first processor, mean {@code cpu MHz},
     * distinct (physical id, core id) pairs capped at {@code maxCores}. No overrides applied.
     */
    public static Nominal nominal(String cpuinfo, int maxCores) {
        String flags = "";
        String vendor = "";
        int family = -1;
        double mhzSum = 0;
        int mhzCount = 0;
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
                case "flags", "Features" -> {
                    if (flags.isEmpty()) {
                        flags = value;
                    }
                }
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
                        mhzSum += Double.parseDouble(value);
                        mhzCount++;
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
        double ghz = mhzCount > 0 ? mhzSum / mhzCount / 1000.0 : Double.NaN;
        IsaRow row = isaRow(flags, vendor, family);
        String basis = "from /proc/cpuinfo" + (mhzCount > 0 ? "" : " (no cpu MHz: pass -Dsixpd.peak.ghz)");
        return new Nominal(row.name, row.flopsPerCycle, ghz, n, basis);
    }

    /**
     * This machine's nominal peak: {@link #nominal(String, int)} on {@code /proc/cpuinfo}, then the system-property
     * overrides {@code sixpd.peak.ghz}, {@code sixpd.peak.flopsPerCycle}, {@code sixpd.peak.cores}.
     */
    public static Nominal nominal() {
        int maxCores = Runtime.getRuntime().availableProcessors();
        Nominal n;
        try {
            n = nominal(Files.readString(Path.of("/proc/cpuinfo")), maxCores);
        } catch (IOException | RuntimeException e) {
            n = new Nominal("unknown (no /proc/cpuinfo)", 2, Double.NaN, maxCores,
                    "assumed; set -Dsixpd.peak.ghz and -Dsixpd.peak.flopsPerCycle");
        }
        String ghz = System.getProperty("sixpd.peak.ghz");
        if (ghz != null && !ghz.isBlank()) {
            n = n.withGhz(Double.parseDouble(ghz.trim()));
        }
        String fpc = System.getProperty("sixpd.peak.flopsPerCycle");
        if (fpc != null && !fpc.isBlank()) {
            n = n.withFlopsPerCycle(Integer.parseInt(fpc.trim()));
        }
        String c = System.getProperty("sixpd.peak.cores");
        if (c != null && !c.isBlank()) {
            n = n.withCores(Integer.parseInt(c.trim()));
        }
        return n;
    }

    /** Prints the nominal peak and the measured FMA peak and bandwidth on 1 and all threads. */
    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2.0;
        Nominal n = nominal();
        System.out.println("nominal: " + n.formula() + " [" + n.basis() + "]");
        int all = Runtime.getRuntime().availableProcessors();
        System.out.println(measureFma(1, seconds));
        if (all > 1) {
            System.out.println(measureFma(all, seconds));
        }
        System.out.println(measureBandwidth(1, seconds));
        if (all > 1) {
            System.out.println(measureBandwidth(all, seconds));
        }
    }
}
