package dev.sixpd.tensor;

import java.util.Locale;

/**
 * The FLOP/byte ledger: every kernel adds the work it performed, keyed by {@link Phase} and {@link Kind}.
 *
 * <p>Convention (one for all of sixpd): a multiply-add counts 2 FLOPs; an add, multiply, compare-and-select
 * (max), division, square root, exp, log or tanh counts 1 FLOP each. Bytes are the bytes a kernel must read
 * and write at the least (each input and output touched once), not what the caches actually move.
 *
 * <p>Kernels account once per call, from the calling thread, before they fan out to worker threads, so the
 * counters need no synchronisation. Not thread-safe: call kernels that account from one thread at a time.
 * When off ({@link #enabled()} false) a kernel pays one static boolean check per call; when on and not profiling
 * ({@link KernelProfile}), one more.
 */
public final class Ledger {
    /** Which part of a training step the work belongs to. */
    public enum Phase { FORWARD, BACKWARD, OPTIMIZER, RECOMPUTE, OTHER }

    /**
     * What kind of work it is. {@code ATTENTION_RECOMPUTE} is the score matmul {@code Q·Kᵀ} that
     * {@link FlashAttention#backward} recomputes instead of storing the {@code T × T} probabilities: what flash
     * attention costs in FLOPs, kept apart from {@code ATTENTION_MATMUL} so the analytic matmul counts stay exact.
     */
    public enum Kind { MATMUL, ATTENTION_MATMUL, ATTENTION_RECOMPUTE, SOFTMAX, NORM, ELEMENTWISE, LOSS, OTHER }

    private static final int P = Phase.values().length;
    private static final int K = Kind.values().length;
    private static final long[] FLOPS = new long[P * K];
    private static final long[] BYTES = new long[P * K];
    private static boolean enabled = true;
    private static Phase phase = Phase.OTHER;

    private Ledger() {
    }

    /** Whether kernels record their work. */
    public static boolean enabled() {
        return enabled;
    }

    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** The phase that subsequent kernel calls are charged to. */
    public static Phase phase() {
        return phase;
    }

    /** Sets the phase that subsequent kernel calls are charged to and returns the previous one. */
    public static Phase setPhase(Phase p) {
        Phase old = phase;
        phase = p;
        return old;
    }

    /** Records {@code flops} FLOPs and {@code bytes} bytes of {@code kind} work in the current phase. */
    public static void add(Kind kind, long flops, long bytes) {
        if (!enabled) {
            return;
        }
        int i = phase.ordinal() * K + kind.ordinal();
        FLOPS[i] += flops;
        BYTES[i] += bytes;
        if (KernelProfile.on) {
            KernelProfile.charge(phase, kind, flops, bytes);
        }
    }

    public static long flops(Phase p, Kind k) {
        return FLOPS[p.ordinal() * K + k.ordinal()];
    }

    public static long bytes(Phase p, Kind k) {
        return BYTES[p.ordinal() * K + k.ordinal()];
    }

    /** Total FLOPs recorded in phase {@code p}, all kinds. */
    public static long flops(Phase p) {
        long s = 0;
        for (Kind k : Kind.values()) {
            s += flops(p, k);
        }
        return s;
    }

    /** Total FLOPs recorded, all phases and kinds. */
    public static long totalFlops() {
        long s = 0;
        for (long f : FLOPS) {
            s += f;
        }
        return s;
    }

    /** Zeroes every counter (the phase is kept). */
    public static void reset() {
        java.util.Arrays.fill(FLOPS, 0);
        java.util.Arrays.fill(BYTES, 0);
    }

    /** A copy of all counters, to subtract later ({@link Snapshot#minus}). */
    public static Snapshot snapshot() {
        return new Snapshot(FLOPS.clone(), BYTES.clone());
    }

    /** An immutable copy of the counters. */
    public record Snapshot(long[] flops, long[] bytes) {
        public long flops(Phase p, Kind k) {
            return flops[p.ordinal() * K + k.ordinal()];
        }

        public long bytes(Phase p, Kind k) {
            return bytes[p.ordinal() * K + k.ordinal()];
        }

        public long flops(Phase p) {
            long s = 0;
            for (Kind k : Kind.values()) {
                s += flops(p, k);
            }
            return s;
        }

        public long totalFlops() {
            long s = 0;
            for (long f : flops) {
                s += f;
            }
            return s;
        }

        /** This snapshot minus an earlier one: the work done in between. */
        public Snapshot minus(Snapshot earlier) {
            long[] f = flops.clone();
            long[] b = bytes.clone();
            for (int i = 0; i < f.length; i++) {
                f[i] -= earlier.flops[i];
                b[i] -= earlier.bytes[i];
            }
            return new Snapshot(f, b);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (Phase p : Phase.values()) {
                for (Kind k : Kind.values()) {
                    long fl = flops(p, k);
                    if (fl != 0) {
                        sb.append(String.format(Locale.ROOT, "%-9s %-19s %,d FLOPs%n", p, k, fl));
                    }
                }
            }
            return sb.toString();
        }
    }
}
