package dev.sixpd.bench;

import dev.sixpd.tensor.Vectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's FP32 ceiling: a measured FMA-throughput peak and the nominal peak from the CPU's description.
 *
 * <p>Measured: 12 independent FMA chains {@code acc = x·y + acc} over {@link Vectors#SPECIES} vectors. Twelve chains
 * cover an FMA latency of 4–6 cycles on 2 FMA pipes; each chain starts from a distinct value so the JIT cannot merge
 * them, and their sum is returned so none is dead code. The increment x·y = 0.000999 stops changing a chain once it
 * passes about 2^15 (the increment rounds away), so values stay finite and normal. FLOPs = 2 per lane per FMA.
 * The chain is written {@code x.fma(y, acc)} on purpose: C2 emits {@code vfmadd231ps acc, x, y} in place, whereas
 * {@code acc.fma(x, y)} (acc·x + y) needs a register copy of y per FMA and spills (measured 84 vs 102 GFLOP/s).
 *
 * <p>Nominal: cores × clock × FP32 FLOPs per cycle per core. FLOPs per cycle = FMA pipes × lanes per pipe × 2, with
 * 2 FMA pipes assumed (Zen 2/3/4, Skylake-class and later Intel cores) and the lane count of the widest FMA the CPU's
 * flags show, except that AMD family 0x19 (Zen 3/4) runs 512-bit FMAs as two 256-bit halves, so it is counted as 8
 * lanes either way. Clock: "cpu MHz" of /proc/cpuinfo (in a VM that is often the base, not the boost clock). Both are
 * overridable ({@code --ghz}, {@code --flops-per-cycle}).
 */
public final class Peak {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Peak() {
    }

    /** Runs {@code iters} rounds of 12 FMAs per chain set on one thread; returns the sum of all chains. */
    static float fmaChains(int iters, float seed) {
        FloatVector x = FloatVector.broadcast(S, 0.999f);
        FloatVector y = FloatVector.broadcast(S, 0.001f);
        // distinct start values: the JIT cannot prove two chains equal
        FloatVector a0 = FloatVector.broadcast(S, seed + 0.01f), a1 = FloatVector.broadcast(S, seed + 0.02f);
        FloatVector a2 = FloatVector.broadcast(S, seed + 0.03f), a3 = FloatVector.broadcast(S, seed + 0.04f);
        FloatVector a4 = FloatVector.broadcast(S, seed + 0.05f), a5 = FloatVector.broadcast(S, seed + 0.06f);
        FloatVector a6 = FloatVector.broadcast(S, seed + 0.07f), a7 = FloatVector.broadcast(S, seed + 0.08f);
        FloatVector a8 = FloatVector.broadcast(S, seed + 0.09f), a9 = FloatVector.broadcast(S, seed + 0.10f);
        FloatVector a10 = FloatVector.broadcast(S, seed + 0.11f), a11 = FloatVector.broadcast(S, seed + 0.12f);
        for (int i = 0; i < iters; i++) {
            a0 = x.fma(y, a0);
            a1 = x.fma(y, a1);
            a2 = x.fma(y, a2);
            a3 = x.fma(y, a3);
            a4 = x.fma(y, a4);
            a5 = x.fma(y, a5);
            a6 = x.fma(y, a6);
            a7 = x.fma(y, a7);
            a8 = x.fma(y, a8);
            a9 = x.fma(y, a9);
            a10 = x.fma(y, a10);
            a11 = x.fma(y, a11);
        }
        FloatVector s = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11);
        return s.reduceLanes(VectorOperators.ADD);
    }

    /** FLOPs performed by {@link #fmaChains} for {@code iters}. */
    static double flops(int iters) {
        return 2.0 * 12 * S.length() * iters;
    }

    /**
     * Measured FMA peak in GFLOP/s on {@code threads} threads running at once (the median of {@code reps} runs of
     * about {@code millis} ms each, after a warm-up). Returns {median, min, max}.
     */
    static double[] measure(int threads, int reps, long millis) throws Exception {
        // warm up and size one run to about millis ms on one thread
        int iters = 1 << 20;
        fmaChains(iters, 1f);
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            fmaChains(iters, 1f);
            long dt = System.nanoTime() - t0;
            iters = (int) Math.min(1 << 30, Math.max(1 << 16, (long) (iters * (millis * 1e6 / Math.max(1, dt)))));
        }
        double[] g = new double[reps];
        for (int r = 0; r < reps; r++) {
            g[r] = runOnThreads(threads, iters);
        }
        return Stats.medianMinMax(g);
    }

    private static double runOnThreads(int threads, int iters) throws Exception {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        CyclicBarrier end = new CyclicBarrier(threads + 1);
        float[] sink = new float[threads];
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                try {
                    start.await();
                    sink[id] = fmaChains(iters, 1f + id);
                    end.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ts[t].start();
        }
        start.await();
        long t0 = System.nanoTime();
        end.await();
        long dt = System.nanoTime() - t0;
        for (Thread t : ts) {
            t.join();
        }
        float s = 0;
        for (float v : sink) {
            s += v;
        }
        if (Float.isNaN(s)) {
            throw new IllegalStateException("FMA chains produced NaN");
        }
        return threads * flops(iters) / dt;
    }

    /** What the CPU says about itself, for the nominal peak. */
    record Cpu(String model, int cores, double ghz, int fmaLanes, int flopsPerCycle, String isa) {
        double nominalGflops(int threads) {
            return threads * ghz * flopsPerCycle;
        }
    }

    static Cpu cpu(Double ghzOverride, Integer flopsPerCycleOverride) {
        String model = "?";
        String flags = "";
        String family = "";
        double mhz = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String k = line.substring(0, colon).trim();
                String v = line.substring(colon + 1).trim();
                switch (k) {
                    case "model name" -> model = v;
                    case "flags" -> flags = " " + v + " ";
                    case "cpu family" -> family = v;
                    case "cpu MHz" -> mhz = Math.max(mhz, Double.parseDouble(v));
                    default -> {
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux or unreadable: rely on the overrides
        }
        boolean amdZen34 = model.contains("AMD") && family.equals("25");
        String isa;
        int lanes;
        if (flags.contains(" avx512f ")) {
            isa = amdZen34 ? "AVX-512 (executed as 2x256-bit)" : "AVX-512";
            lanes = amdZen34 ? 8 : 16;
        } else if (flags.contains(" fma ") && flags.contains(" avx2 ")) {
            isa = "AVX2+FMA";
            lanes = 8;
        } else if (flags.contains(" avx ")) {
            isa = "AVX (no FMA: add+mul)";
            lanes = 4; // one 8-lane add and one 8-lane mul per cycle = 16 FLOPs = "2 pipes x 4 lanes x 2"
        } else {
            isa = "SSE";
            lanes = 2;
        }
        int fpc = flopsPerCycleOverride != null ? flopsPerCycleOverride : 2 * lanes * 2;
        double ghz = ghzOverride != null ? ghzOverride : mhz / 1000.0;
        return new Cpu(model, Runtime.getRuntime().availableProcessors(), ghz, lanes, fpc, isa);
    }

    static String describe(Cpu c) {
        return String.format(Locale.ROOT, "%s, %d cores, %.2f GHz, %s: %d FP32 FLOPs/cycle/core", c.model(), c.cores(),
                c.ghz(), c.isa(), c.flopsPerCycle());
    }
}
