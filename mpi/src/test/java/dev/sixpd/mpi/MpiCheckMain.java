package dev.sixpd.mpi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One rank of {@link MpiTest}: checks every collective of {@link Mpi} against the same values computed serially
 * (every rank can generate every rank's seeded input), and the mapping of an MPI error to {@link MpiException}.
 * Float and double sums are compared bit for bit when N = 2 (one addition, order-independent), otherwise to a
 * relative 1e-6 (Open MPI's association for N > 2 is its own). Prints {@code rank R OK: K checks, S bytes sent}
 * and exits 0, or prints {@code FAIL} and aborts every rank with exit code 3.
 *
 * <p>Arguments: {@code --fail-on-rank R} makes rank R report a deliberate failure (the test that a failing rank
 * fails the job).
 */
public final class MpiCheckMain {
    private static int checks;
    private static int size;

    public static void main(String[] args) {
        Mpi mpi = Mpi.init();
        try {
            int failOn = args.length == 2 && args[0].equals("--fail-on-rank") ? Integer.parseInt(args[1]) : -1;
            run(mpi, failOn);
        } catch (Throwable t) {
            System.out.println("rank " + mpi.rank() + " FAIL: " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            mpi.abort(3);
        }
        System.out.println("rank " + mpi.rank() + " OK: " + checks + " checks, " + mpi.bytesSent() + " bytes sent, "
                + mpi.libraryVersion().lines().findFirst().orElse(""));
        mpi.close();
    }

    private static void run(Mpi mpi, int failOn) {
        int n = mpi.size();
        size = n;
        int r = mpi.rank();
        check(n >= 2, "needs at least 2 ranks, has " + n);
        check(r >= 0 && r < n, "rank " + r + " outside [0, " + n + ")");
        if (r == failOn) {
            throw new AssertionError("deliberate failure on rank " + r + " (--fail-on-rank)");
        }
        long expectSent = 0;

        // all-reduce SUM, floats, odd length (not a multiple of any block), at an offset
        int len = 1001;
        float[][] in = new float[n][];
        for (int q = 0; q < n; q++) {
            in[q] = gaussian(len, 100 + q);
        }
        float[] buf = new float[len + 5];
        System.arraycopy(in[r], 0, buf, 3, len);
        mpi.allReduce(buf, 3, len, Mpi.Op.SUM);
        expectSent += 2L * (n - 1) * len * 4 / n;
        float[] want = new float[len];
        for (int i = 0; i < len; i++) {
            float s = in[0][i];
            for (int q = 1; q < n; q++) {
                s += in[q][i];
            }
            want[i] = s;
        }
        checkFloats(want, 0, buf, 3, len, "allReduce SUM float");
        check(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[len + 3] == 0 && buf[len + 4] == 0,
                "allReduce wrote outside [off, off+count)");

        // all-reduce MAX, floats
        float[] mx = in[r].clone();
        mpi.allReduce(mx, 0, len, Mpi.Op.MAX);
        expectSent += 2L * (n - 1) * len * 4 / n;
        for (int i = 0; i < len; i++) {
            float m = in[0][i];
            for (int q = 1; q < n; q++) {
                m = Math.max(m, in[q][i]);
            }
            check(Float.floatToRawIntBits(m) == Float.floatToRawIntBits(mx[i]), "allReduce MAX float [" + i + "]");
        }

        // all-reduce of an overflow flag: MAX over ints, one rank raises it
        int[] flag = {r == n - 1 ? 1 : 0};
        mpi.allReduce(flag, 0, 1, Mpi.Op.MAX);
        expectSent += 2L * (n - 1) * 4 / n;
        check(flag[0] == 1, "allReduce MAX int flag: want 1 got " + flag[0]);

        // all-reduce SUM, doubles and longs
        double[] d = {r + 0.25, -r * 1e300};
        mpi.allReduce(d, 0, 2, Mpi.Op.SUM);
        expectSent += 2L * (n - 1) * 16 / n;
        double sr = 0;
        double sb = 0;
        for (int q = 0; q < n; q++) {
            sr += q + 0.25;
            sb += -q * 1e300;
        }
        check(d[0] == sr && d[1] == sb, "allReduce SUM double: want " + sr + ", " + sb + " got " + Arrays.toString(d));
        long[] l = {1L << 40 | r};
        mpi.allReduce(l, 0, 1, Mpi.Op.SUM);
        expectSent += 2L * (n - 1) * 8 / n;
        check(l[0] == (long) n * (1L << 40) + (long) n * (n - 1) / 2, "allReduce SUM long: got " + l[0]);

        // reduce-scatter: N blocks of 37 elements; rank r receives block r of the sum
        int block = 37;
        float[][] rs = new float[n][];
        for (int q = 0; q < n; q++) {
            rs[q] = gaussian(n * block, 200 + q);
        }
        float[] mine = new float[block + 2];
        mpi.reduceScatterBlock(rs[r], 0, mine, 1, block, Mpi.Op.SUM);
        expectSent += (long) (n - 1) * block * 4;
        float[] wantBlock = new float[block];
        for (int i = 0; i < block; i++) {
            float s = rs[0][r * block + i];
            for (int q = 1; q < n; q++) {
                s += rs[q][r * block + i];
            }
            wantBlock[i] = s;
        }
        checkFloats(wantBlock, 0, mine, 1, block, "reduceScatterBlock SUM float");

        // all-gather: every rank's 29 elements, in rank order; then in place in the same array
        int gb = 29;
        float[] all = new float[n * gb];
        mpi.allGather(rs[r], 5, all, 0, gb);
        expectSent += (long) (n - 1) * gb * 4;
        for (int q = 0; q < n; q++) {
            checkFloats(rs[q], 5, all, q * gb, gb, "allGather float block " + q);
        }
        float[] same = new float[n * gb];
        System.arraycopy(rs[r], 0, same, r * gb, gb);
        mpi.allGather(same, r * gb, same, 0, gb);
        expectSent += (long) (n - 1) * gb * 4;
        for (int q = 0; q < n; q++) {
            checkFloats(rs[q], 0, same, q * gb, gb, "allGather in place block " + q);
        }
        long[] hashes = new long[n];
        mpi.allGather(new long[] {0x5eed0000L + r}, 0, hashes, 0, 1);
        expectSent += (long) (n - 1) * 8;
        for (int q = 0; q < n; q++) {
            check(hashes[q] == 0x5eed0000L + q, "allGather long [" + q + "] = " + hashes[q]);
        }

        // broadcast from the last rank: floats and bytes
        int root = n - 1;
        float[] bc = r == root ? in[root].clone() : new float[len];
        mpi.broadcast(bc, 0, len, root);
        checkFloats(in[root], 0, bc, 0, len, "broadcast float");
        byte[] text = (r == root ? "hello from the root" : "___________________").getBytes(StandardCharsets.UTF_8);
        mpi.broadcast(text, 0, text.length, root);
        check(new String(text, StandardCharsets.UTF_8).equals("hello from the root"), "broadcast bytes");

        // native segments: all-reduce into a separate buffer, reduce-scatter, all-gather in place
        try (Arena a = Arena.ofConfined()) {
            MemorySegment send = a.allocate(4L * len, 64);
            MemorySegment recv = a.allocate(4L * len, 64);
            MemorySegment.copy(in[r], 0, send, ValueLayout.JAVA_FLOAT, 0, len);
            mpi.allReduce(send, recv, len, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            expectSent += 2L * (n - 1) * len * 4 / n;
            checkFloats(want, 0, recv.toArray(ValueLayout.JAVA_FLOAT), 0, len, "allReduce segments");
            MemorySegment rsIn = a.allocate(4L * n * block, 64);
            MemorySegment rsOut = a.allocate(4L * block, 64);
            MemorySegment.copy(rs[r], 0, rsIn, ValueLayout.JAVA_FLOAT, 0, n * block);
            mpi.reduceScatterBlock(rsIn, rsOut, block, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            expectSent += (long) (n - 1) * block * 4;
            checkFloats(wantBlock, 0, rsOut.toArray(ValueLayout.JAVA_FLOAT), 0, block, "reduceScatterBlock segments");
            MemorySegment ag = a.allocate(4L * n * gb, 64);
            MemorySegment.copy(rs[r], 0, ag, ValueLayout.JAVA_FLOAT, 4L * r * gb, gb);
            mpi.allGather(null, ag, gb, Mpi.Datatype.FLOAT);
            expectSent += (long) (n - 1) * gb * 4;
            float[] agOut = ag.toArray(ValueLayout.JAVA_FLOAT);
            for (int q = 0; q < n; q++) {
                checkFloats(rs[q], 0, agOut, q * gb, gb, "allGather segments block " + q);
            }
            // non-blocking: two all-reduces and a reduce-scatter in flight at once, completed by test, await and
            // waitAll; the same bits as the serial sums
            MemorySegment nbA = a.allocate(4L * len, 64);
            MemorySegment nbB = a.allocate(4L * len, 64);
            MemorySegment nbRs = a.allocate(4L * block, 64);
            MemorySegment.copy(in[r], 0, nbA, ValueLayout.JAVA_FLOAT, 0, len);
            MemorySegment.copy(in[r], 0, nbB, ValueLayout.JAVA_FLOAT, 0, len);
            Mpi.Request ra = mpi.iallReduce(null, nbA, len, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            Mpi.Request rb = mpi.iallReduce(send, nbB, len, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            Mpi.Request rc = mpi.ireduceScatterBlock(rsIn, nbRs, block, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
            expectSent += 2 * (2L * (n - 1) * len * 4 / n) + (long) (n - 1) * block * 4;
            int polls = 0;
            while (!ra.test()) {
                polls++;
            }
            check(ra.done() && polls >= 0, "test() returned true but the request is not done");
            rb.await();
            rb.await(); // a completed request waits no more
            mpi.waitAll(java.util.List.of(ra, rb, rc));
            check(rc.done(), "waitAll left a request pending");
            checkFloats(want, 0, nbA.toArray(ValueLayout.JAVA_FLOAT), 0, len, "iallReduce in place");
            checkFloats(want, 0, nbB.toArray(ValueLayout.JAVA_FLOAT), 0, len, "iallReduce send/recv");
            checkFloats(wantBlock, 0, nbRs.toArray(ValueLayout.JAVA_FLOAT), 0, block, "ireduceScatterBlock");
            // waitAll alone, several at once
            MemorySegment.copy(in[r], 0, nbA, ValueLayout.JAVA_FLOAT, 0, len);
            mpi.waitAll(java.util.List.of(mpi.iallReduce(null, nbA, len, Mpi.Datatype.FLOAT, Mpi.Op.SUM),
                    mpi.ireduceScatterBlock(rsIn, nbRs, block, Mpi.Datatype.FLOAT, Mpi.Op.SUM)));
            expectSent += 2L * (n - 1) * len * 4 / n + (long) (n - 1) * block * 4;
            checkFloats(want, 0, nbA.toArray(ValueLayout.JAVA_FLOAT), 0, len, "iallReduce + waitAll");
            checkFloats(wantBlock, 0, nbRs.toArray(ValueLayout.JAVA_FLOAT), 0, block, "ireduceScatterBlock + waitAll");
            // a heap segment is refused before MPI is called: the GC could move it during the operation
            try {
                mpi.iallReduce(null, MemorySegment.ofArray(new float[len]), len, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
                check(false, "a heap segment was accepted by iallReduce");
            } catch (IllegalArgumentException e) {
                check(e.getMessage().contains("off-heap"), "heap-segment message: " + e.getMessage());
            }
            try {
                mpi.ireduceScatterBlock(MemorySegment.ofArray(new float[n * block]), nbRs, block,
                        Mpi.Datatype.FLOAT, Mpi.Op.SUM);
                check(false, "a heap segment was accepted by ireduceScatterBlock");
            } catch (IllegalArgumentException e) {
                check(e.getMessage().contains("off-heap"), "heap-segment message: " + e.getMessage());
            }
            // a segment too small for the count is refused before MPI is called
            try {
                mpi.allReduce(null, rsOut, block + 1, Mpi.Datatype.FLOAT, Mpi.Op.SUM);
                check(false, "a too-small segment was accepted");
            } catch (IllegalArgumentException e) {
                check(e.getMessage().contains("fewer than " + (block + 1)), "too-small message: " + e.getMessage());
            }
        }

        // error mapping: MPI itself rejects a root outside [0, N) with MPI_ERR_ROOT, on every rank
        try {
            mpi.broadcast(new float[4], 0, 4, n);
            check(false, "broadcast with root " + n + " of " + n + " ranks did not fail");
        } catch (MpiException e) {
            check(e.errorClass() == Mpi.ERR_ROOT, "error class: want MPI_ERR_ROOT (8) got " + e.errorClass());
            check(e.getMessage().contains("MPI_ERR_ROOT")
                    && e.getMessage().contains("MPI_Bcast(count=4, type=FLOAT, root=" + n + ")"),
                    "error message: " + e.getMessage());
            check(e.call().startsWith("MPI_Bcast"), "call: " + e.call());
            if (r == 0) {
                System.out.println("error mapped: " + e.getMessage());
            }
        }
        check(mpi.errorString(Mpi.ERR_COUNT).contains("MPI_ERR_COUNT"), "errorString(2): " + mpi.errorString(2));
        // the communicator still works after the error
        mpi.barrier();

        // traffic: the ring model of every call above
        check(mpi.bytesSent() == expectSent, "bytesSent: want " + expectSent + " got " + mpi.bytesSent());
    }

    /** Seeded standard normal floats. */
    private static float[] gaussian(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            // Box–Muller with a fixed pair of uniforms per element
            double u = 1 - rnd.nextDouble();
            double v = rnd.nextDouble();
            a[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return a;
    }

    /** Bit-identical when N = 2; relative 1e-6 otherwise (Open MPI's association of N > 2 terms). */
    private static void checkFloats(float[] want, int wOff, float[] got, int gOff, int count, String what) {
        for (int i = 0; i < count; i++) {
            float w = want[wOff + i];
            float g = got[gOff + i];
            boolean ok = size == 2 ? Float.floatToRawIntBits(w) == Float.floatToRawIntBits(g)
                    : Math.abs(w - g) <= 1e-6 * (Math.abs(w) + 1);
            check(ok, what + " [" + i + "]: want " + w + " got " + g);
        }
    }

    private static void check(boolean ok, String what) {
        checks++;
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
