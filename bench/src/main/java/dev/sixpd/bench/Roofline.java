package dev.sixpd.bench;

import java.util.List;
import java.util.Locale;

/**
 * The roofline arithmetic: where a measured kernel stands against the machine's ceilings.
 *
 * <p>A kernel doing {@code F} FLOPs and moving {@code Q} bytes per call has arithmetic intensity {@code I = F / Q}
 * (FLOP/byte). With a compute ceiling {@code P} (GFLOP/s) and a memory ceiling {@code W} (GB/s) it can at best reach
 * {@code roof(I) = min(P, I·W)} GFLOP/s. The two meet at the ridge {@code I* = P / W}: a kernel with
 * {@code I >= I*} is <b>compute-bound</b> (its ceiling is P), one with {@code I < I*} is <b>memory-bound</b> (its
 * ceiling is I·W GFLOP/s, i.e. W GB/s). A kernel's "distance from its bound" is {@code achieved / roof(I)}: for a
 * compute-bound kernel its share of the FLOP peak, for a memory-bound one its share of the bandwidth (achieved GB/s
 * ÷ W). A kernel that does no FLOPs (a format conversion) is memory-bound with intensity 0.
 *
 * <p>Bytes are the kernels' own ledger counts: the minimum traffic, each operand read or written once. W is a
 * streaming (DRAM) bandwidth, so a kernel whose working set stays in the caches can exceed 100% of its memory
 * bound; the report flags that rather than hiding it.
 *
 * <p>Stateless records; thread-safe.
 */
public final class Roofline {
    private Roofline() {
    }

    /** What bounds a kernel on the roofline. */
    public enum Bound {
        COMPUTE, MEMORY;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One measured kernel: {@code opsPerSec} calls per second (± {@code opsPerSecError}, JMH's 99.9% confidence
     * half-width, NaN if unknown), each doing {@code flopsPerOp} FLOPs and moving {@code bytesPerOp} bytes.
     */
    public record Result(String name, int threads, double flopsPerOp, double bytesPerOp, double opsPerSec,
            double opsPerSecError) {
        public Result {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a result needs a name");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("result " + name + ": threads must be >= 1, got " + threads);
            }
            if (!(flopsPerOp >= 0) || !(bytesPerOp >= 0) || !(opsPerSec >= 0)) {
                throw new IllegalArgumentException("result " + name + ": flops/op, bytes/op and ops/s must be >= 0,"
                        + " got " + flopsPerOp + ", " + bytesPerOp + ", " + opsPerSec);
            }
        }

        /** A result without a known error. */
        public Result(String name, int threads, double flopsPerOp, double bytesPerOp, double opsPerSec) {
            this(name, threads, flopsPerOp, bytesPerOp, opsPerSec, Double.NaN);
        }

        /** Achieved GFLOP/s. */
        public double gflops() {
            return flopsPerOp * opsPerSec * 1e-9;
        }

        /** Achieved GB/s (ledger bytes). */
        public double gbs() {
            return bytesPerOp * opsPerSec * 1e-9;
        }

        /** Arithmetic intensity, FLOP/byte (0 for a kernel without FLOPs, +Inf for one without bytes). */
        public double intensity() {
            if (flopsPerOp == 0) {
                return 0;
            }
            return bytesPerOp == 0 ? Double.POSITIVE_INFINITY : flopsPerOp / bytesPerOp;
        }
    }

    /**
     * The ceilings for one thread count: the measured FP32 FMA peak and the nominal peak (GFLOP/s) on
     * {@code threads} threads, and the measured streaming bandwidth (GB/s) on as many threads.
     */
    public record Ceiling(int threads, double peakGflops, double nominalGflops, double bandwidthGBs) {
        public Ceiling {
            if (threads < 1 || !(peakGflops > 0) || !(bandwidthGBs > 0)) {
                throw new IllegalArgumentException("a ceiling needs threads >= 1, peak > 0 and bandwidth > 0, got "
                        + threads + " threads, " + peakGflops + " GFLOP/s, " + bandwidthGBs + " GB/s");
            }
        }

        /** The ridge point {@code peak / bandwidth}, FLOP/byte. */
        public double ridge() {
            return peakGflops / bandwidthGBs;
        }

        /** The attainable GFLOP/s at intensity {@code i}: {@code min(peak, i·bandwidth)}. */
        public double roof(double i) {
            return Math.min(peakGflops, i * bandwidthGBs);
        }

        /** Compute if {@code i >= ridge}, else memory. */
        public Bound bound(double i) {
            return i >= ridge() ? Bound.COMPUTE : Bound.MEMORY;
        }
    }

    /**
     * One result placed against its ceiling.
     *
     * @param pctMeasuredPeak achieved GFLOP/s as % of the measured peak (0 for a kernel without FLOPs)
     * @param pctNominalPeak achieved GFLOP/s as % of the nominal peak (NaN if the nominal peak is unknown)
     * @param pctOfBound % of the kernel's own ceiling: of the peak if compute-bound, of the bandwidth if memory-bound
     */
    public record Point(Result result, Ceiling ceiling, Bound bound, double pctMeasuredPeak, double pctNominalPeak,
            double pctOfBound) {
    }

    /** Places {@code r} against {@code c}. */
    public static Point place(Result r, Ceiling c) {
        double i = r.intensity();
        Bound b = c.bound(i);
        double ofBound = b == Bound.COMPUTE ? 100 * r.gflops() / c.peakGflops() : 100 * r.gbs() / c.bandwidthGBs();
        double nominal = c.nominalGflops() > 0 ? 100 * r.gflops() / c.nominalGflops() : Double.NaN;
        return new Point(r, c, b, 100 * r.gflops() / c.peakGflops(), nominal, ofBound);
    }

    /**
     * The ceiling measured with {@code threads} threads; if none was, the one with the nearest thread count below it
     * (or the smallest one).
     */
    public static Ceiling ceilingFor(int threads, List<Ceiling> ceilings) {
        if (ceilings.isEmpty()) {
            throw new IllegalArgumentException("no ceilings measured: measure the peak and bandwidth first");
        }
        Ceiling best = null;
        for (Ceiling c : ceilings) {
            if (c.threads() == threads) {
                return c;
            }
            if (c.threads() < threads && (best == null || c.threads() > best.threads())) {
                best = c;
            }
        }
        if (best != null) {
            return best;
        }
        Ceiling min = ceilings.get(0);
        for (Ceiling c : ceilings) {
            if (c.threads() < min.threads()) {
                min = c;
            }
        }
        return min;
    }
}
