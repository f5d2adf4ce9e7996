package dev.sixpd.mpi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * Times the collectives a data-parallel step uses, on every rank of an {@code mpirun}, and prints rank 0's
 * medians: all-reduce, reduce-scatter and all-gather of a float buffer ({@code --mib}, default 4 MiB), through
 * native segments (the call alone) and through Java arrays (plus the copies into and out of the staging segment).
 * Each figure is the median of {@code --reps} timed calls (default 50) after 10 untimed ones, with a barrier
 * before each call so the ranks start together; the time is rank 0's wall clock around the call.
 *
 * <pre>
 *   mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 java --enable-native-access=ALL-UNNAMED \
 *       -cp mpi/target/classes dev.sixpd.mpi.MpiTiming [--mib 4] [--reps 50]
 * </pre>
 * (with the environment of {@link MpiRun#environment()}). Results are in {@code mpi/NOTES.md}.
 */
public final class MpiTiming {
    private MpiTiming() {
    }

    public static void main(String[] args) {
        double mib = 4;
        int reps = 50;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--mib" -> mib = Double.parseDouble(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--mib X, --reps N)");
            }
        }
        try (Mpi mpi = Mpi.init()) {
            int n = mpi.size();
            int count = (int) (mib * (1 << 20) / 4) / n * n; // floats, a multiple of N
            float[] a = new float[count];
            float[] shard = new float[count / n];
            Arrays.fill(a, 1f);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = arena.allocate(4L * count, 64);
                MemorySegment r = arena.allocate(4L * count, 64);
                String[] names = {"all-reduce, segments", "all-reduce, float[] (+ copies)",
                    "reduce-scatter, segments", "reduce-scatter, float[] (+ copies)", "all-gather, segments",
                    "all-gather, float[] (+ copies)"};
                Runnable[] ops = {
                    () -> mpi.allReduce(s, r, count, Mpi.Datatype.FLOAT, Mpi.Op.SUM),
                    () -> mpi.allReduce(a, 0, count, Mpi.Op.MAX),
                    () -> mpi.reduceScatterBlock(s, r, count / n, Mpi.Datatype.FLOAT, Mpi.Op.SUM),
                    () -> mpi.reduceScatterBlock(a, 0, shard, 0, count / n, Mpi.Op.SUM),
                    () -> mpi.allGather(null, r, count / n, Mpi.Datatype.FLOAT),
                    () -> mpi.allGather(shard, 0, a, 0, count / n),
                };
                if (mpi.rank() == 0) {
                    System.out.printf(Locale.ROOT, "%s%n%d ranks, %,d floats (%.2f MiB), median of %d calls%n",
                            mpi.libraryVersion().lines().findFirst().orElse(""), n, count, 4.0 * count / (1 << 20),
                            reps);
                }
                for (int k = 0; k < ops.length; k++) {
                    double[] t = new double[reps];
                    for (int i = -10; i < reps; i++) {
                        mpi.barrier();
                        long t0 = System.nanoTime();
                        ops[k].run();
                        long t1 = System.nanoTime();
                        if (i >= 0) {
                            t[i] = (t1 - t0) * 1e-6;
                        }
                    }
                    Arrays.sort(t);
                    if (mpi.rank() == 0) {
                        double ms = t[reps / 2];
                        // bus bandwidth as NCCL's tests define it: the bytes each rank must send ÷ time
                        double factor = k < 2 ? 2.0 * (n - 1) / n : (n - 1.0) / n;
                        System.out.printf(Locale.ROOT, "  %-36s %8.3f ms  (min %.3f)  bus %6.2f GB/s%n", names[k], ms,
                                t[0], factor * 4.0 * count / (ms * 1e-3) / 1e9);
                    }
                }
            }
        }
    }
}
