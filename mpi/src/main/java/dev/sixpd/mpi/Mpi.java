package dev.sixpd.mpi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * MPI's world communicator through Open MPI's C library ({@code libmpi.so.40}), called with the JDK's FFM API
 * ({@code java.lang.foreign}): no JNI, no Java bindings package.
 *
 * <p><b>Lifecycle.</b> {@link #init()} calls {@code MPI_Init_thread} once per process (later calls return the same
 * object) and sets {@code MPI_ERRORS_RETURN} on {@code MPI_COMM_WORLD}, so a failing call returns a code, which is
 * thrown as an {@link MpiException} carrying MPI's error string. {@link #close()} calls {@code MPI_Finalize}, after
 * which MPI cannot be started again in this process. A rank that cannot go on must call {@link #abort} (the others
 * may be blocked in a collective waiting for it), not just return.
 *
 * <p><b>Collectives.</b> Every rank must make the same calls in the same order with matching counts, as MPI
 * requires. Counts are in elements of the array or {@link Datatype}, offsets in elements; buffers are either Java
 * arrays, copied through one reused off-heap staging segment (Java heap arrays cannot be handed to a blocking
 * native call), or native {@link MemorySegment}s, passed as they are. Reductions are elementwise, in the array's
 * type (a float sum is a float addition). With 2 ranks a sum is one addition and does not depend on the order; for
 * more ranks Open MPI chooses the association (it is fixed for a given rank count, message size and library
 * version, but may differ from a serial left-to-right sum).
 *
 * <p><b>Non-blocking.</b> {@link #iallReduce} and {@link #ireduceScatterBlock} start a collective and return a
 * {@link Request}, completed by {@link Request#await}, {@link Request#test} or {@link #waitAll}. They take off-heap
 * segments only (a Java array may move while MPI works on it), and their results are those of the blocking calls.
 *
 * <p><b>Traffic.</b> {@link #bytesSent()} counts what this rank sends under the bandwidth-optimal (ring) algorithm
 * of each collective, the accounting of the ZeRO paper: all-reduce 2·(N−1)/N·bytes, reduce-scatter and all-gather
 * (N−1)/N·bytes of the full buffer. It is the model, not a wire measurement (Open MPI may pick another algorithm,
 * e.g. recursive doubling for small messages); broadcasts and barriers are not counted.
 *
 * <p><b>Thread-safety.</b> MPI is initialised with {@code MPI_THREAD_SERIALIZED} and every method is
 * {@code synchronized}: any thread may call, one at a time. Collectives block until the matching calls of every
 * rank arrive.
 *
 * <p><b>Requirements.</b> Open MPI 4.x or 5.x ({@code apt-get install openmpi-bin libopenmpi-dev} on Debian): the
 * predefined handles ({@code MPI_COMM_WORLD}, {@code MPI_FLOAT}, {@code MPI_SUM}, ...) are Open MPI's exported
 * symbols, whose addresses are the handles ({@code ompi_mpi_comm_world}, {@code ompi_mpi_float},
 * {@code ompi_mpi_op_sum}). MPICH's handles are integer constants, so MPICH would need its own table. The JVM
 * needs {@code --enable-native-access=ALL-UNNAMED}. The library is found by {@code -Dsixpd.mpi.lib=PATH} (or
 * {@code $SIXPD_MPI_LIB}), else the dynamic loader's {@code libmpi.so.40}, else {@code ldconfig -p}, else the usual
 * folders; {@link #MISSING} is the message when none is found.
 */
public final class Mpi implements AutoCloseable {
    /** What to install when libmpi is missing. */
    public static final String PACKAGES = "openmpi-bin libopenmpi-dev";
    /** The message thrown when no Open MPI library is found. */
    public static final String MISSING = "Open MPI's libmpi (libmpi.so.40) was not found: install Open MPI"
            + " (Debian/Ubuntu: apt-get install " + PACKAGES + "), or point -Dsixpd.mpi.lib=PATH (or $SIXPD_MPI_LIB)"
            + " at libmpi.so.40";

    /** MPI error class: invalid buffer pointer. */
    public static final int ERR_BUFFER = 1;
    /** MPI error class: invalid count. */
    public static final int ERR_COUNT = 2;
    /** MPI error class: invalid root. */
    public static final int ERR_ROOT = 8;

    /** The element types of the collectives: the Open MPI symbol of each and its size in bytes. */
    public enum Datatype {
        BYTE("ompi_mpi_byte", ValueLayout.JAVA_BYTE),
        INT("ompi_mpi_int", ValueLayout.JAVA_INT),
        /** C {@code long}: 8 bytes on the 64-bit Linux targets sixpd runs on (checked when loading). */
        LONG("ompi_mpi_long", ValueLayout.JAVA_LONG),
        FLOAT("ompi_mpi_float", ValueLayout.JAVA_FLOAT),
        DOUBLE("ompi_mpi_double", ValueLayout.JAVA_DOUBLE);

        final String symbol;
        final ValueLayout layout;

        Datatype(String symbol, ValueLayout layout) {
            this.symbol = symbol;
            this.layout = layout;
        }

        /** Bytes per element. */
        public int bytes() {
            return (int) layout.byteSize();
        }
    }

    /** Reduction operators (elementwise). */
    public enum Op {
        SUM("ompi_mpi_op_sum"), MAX("ompi_mpi_op_max"), MIN("ompi_mpi_op_min");

        final String symbol;

        Op(String symbol) {
            this.symbol = symbol;
        }
    }

    private static final int MPI_THREAD_SERIALIZED = 2;
    private static final int MAX_ERROR_STRING = 256;
    private static final int MAX_LIBRARY_VERSION_STRING = 256;
    /** Open MPI's {@code MPI_IN_PLACE} is {@code (void *) 1}. */
    private static final MemorySegment IN_PLACE = MemorySegment.ofAddress(1);

    private static Mpi instance; // guarded by Mpi.class

    private final Lib lib;
    private final int rank;
    private final int size;
    private Arena stagingArena;
    private MemorySegment staging = MemorySegment.NULL;
    private long bytesSent;
    private boolean finalized;

    private Mpi(Lib lib, int rank, int size) {
        this.lib = lib;
        this.rank = rank;
        this.size = size;
    }

    /**
     * Initialises MPI once per process ({@code MPI_Init_thread}, level {@code MPI_THREAD_SERIALIZED}) and returns
     * the world communicator; later calls return the same object. Started without {@code mpirun}, the process is
     * a world of one rank (MPI's singleton init).
     *
     * @throws IllegalStateException when libmpi is missing ({@link #MISSING}), is not Open MPI, or was finalized
     * @throws MpiException when {@code MPI_Init_thread} fails
     */
    public static synchronized Mpi init() {
        if (instance != null) {
            if (instance.finalized) {
                throw new IllegalStateException("MPI was finalized in this process and cannot be initialised again");
            }
            return instance;
        }
        Lib lib = Lib.load();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment provided = a.allocate(ValueLayout.JAVA_INT);
            lib.check((int) lib.initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL, MPI_THREAD_SERIALIZED,
                    provided), "MPI_Init_thread(required=MPI_THREAD_SERIALIZED)");
            int level = provided.get(ValueLayout.JAVA_INT, 0);
            if (level < MPI_THREAD_SERIALIZED) {
                lib.abortWorld(1);
                throw new IllegalStateException("this Open MPI provides thread level " + level + " only; sixpd needs "
                        + "MPI_THREAD_SERIALIZED (2): use an Open MPI built with thread support (Debian's is)");
            }
            // errors come back as codes (thrown as MpiException) instead of aborting every rank
            lib.check((int) lib.commSetErrhandler.invokeExact(lib.commWorld, lib.errorsReturn),
                    "MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN)");
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            lib.check((int) lib.commRank.invokeExact(lib.commWorld, out), "MPI_Comm_rank(MPI_COMM_WORLD)");
            int r = out.get(ValueLayout.JAVA_INT, 0);
            lib.check((int) lib.commSize.invokeExact(lib.commWorld, out), "MPI_Comm_size(MPI_COMM_WORLD)");
            int n = out.get(ValueLayout.JAVA_INT, 0);
            instance = new Mpi(lib, r, n);
            return instance;
        } catch (MpiException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("calling libmpi failed: " + t, t);
        }
    }

    /**
     * Whether this process was started by Open MPI's {@code mpirun} (it sets {@code OMPI_COMM_WORLD_SIZE}), i.e.
     * whether {@link #init()} will join a world of several ranks.
     */
    public static boolean launchedByMpirun() {
        return System.getenv("OMPI_COMM_WORLD_SIZE") != null;
    }

    /**
     * This process's rank as {@code mpirun} announced it ({@code OMPI_COMM_WORLD_RANK}), readable before
     * {@link #init}; 0 in a process not started by {@code mpirun}.
     */
    public static int launchedRank() {
        String r = System.getenv("OMPI_COMM_WORLD_RANK");
        return r == null ? 0 : Integer.parseInt(r.trim());
    }

    /** The path of the libmpi this process would load, or empty; does not load or initialise anything. */
    public static Optional<Path> findLibrary() {
        for (String c : Lib.candidates()) {
            if (c.startsWith("/") && Files.isReadable(Path.of(c))) {
                return Optional.of(Path.of(c));
            }
        }
        return Optional.empty();
    }

    /** This process's rank in {@code MPI_COMM_WORLD}, {@code 0 ≤ rank < size}. */
    public int rank() {
        return rank;
    }

    /** The number of ranks N in {@code MPI_COMM_WORLD}. */
    public int size() {
        return size;
    }

    /** The loaded library's file. */
    public String library() {
        return lib.name;
    }

    /** {@code MPI_Get_library_version}: e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...". */
    public synchronized String libraryVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(MAX_LIBRARY_VERSION_STRING);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            lib.check((int) lib.getLibraryVersion.invokeExact(s, len), "MPI_Get_library_version");
            return s.getString(0).strip();
        } catch (MpiException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("MPI_Get_library_version failed: " + t, t);
        }
    }

    /** MPI's text for an error code ({@code MPI_Error_string}), e.g. "MPI_ERR_ROOT: invalid root". */
    public synchronized String errorString(int code) {
        return lib.errorString(code);
    }

    /**
     * Bytes this rank has sent in all-reduce, reduce-scatter and all-gather calls since {@link #init()}, under the
     * bandwidth-optimal ring model (see the class comment).
     */
    public synchronized long bytesSent() {
        return bytesSent;
    }

    // ---------------------------------------------------------------------------------------------------------
    // all-reduce: every rank ends with op over all ranks' buffers, elementwise

    /** In place: {@code buf[off, off+count) = op over all ranks of their buf[off, off+count)}. */
    public void allReduce(float[] buf, int off, int count, Op op) {
        allReduceArray(buf, buf.length, off, count, Datatype.FLOAT, op);
    }

    /** In place, doubles; see {@link #allReduce(float[], int, int, Op)}. */
    public void allReduce(double[] buf, int off, int count, Op op) {
        allReduceArray(buf, buf.length, off, count, Datatype.DOUBLE, op);
    }

    /** In place, ints (e.g. an overflow flag with {@link Op#MAX}). */
    public void allReduce(int[] buf, int off, int count, Op op) {
        allReduceArray(buf, buf.length, off, count, Datatype.INT, op);
    }

    /** In place, longs. */
    public void allReduce(long[] buf, int off, int count, Op op) {
        allReduceArray(buf, buf.length, off, count, Datatype.LONG, op);
    }

    private synchronized void allReduceArray(Object buf, int length, int off, int count, Datatype t, Op op) {
        Objects.checkFromIndexSize(off, count, length);
        MemorySegment s = staging((long) count * t.bytes());
        MemorySegment.copy(buf, off, s, t.layout, 0, count);
        allReduceNative(IN_PLACE, s, count, t, op);
        MemorySegment.copy(s, t.layout, 0, buf, off, count);
    }

    /**
     * {@code MPI_Allreduce} on native segments: {@code recv[0, count) = op over all ranks of send[0, count)}; pass
     * {@code send == null} for in place (the input is read from {@code recv}).
     */
    public synchronized void allReduce(MemorySegment send, MemorySegment recv, long count, Datatype t, Op op) {
        checkSegment(recv, count, t, "recv");
        if (send != null) {
            checkSegment(send, count, t, "send");
        }
        allReduceNative(send == null ? IN_PLACE : send, recv, checkCount(count), t, op);
    }

    private void allReduceNative(MemorySegment send, MemorySegment recv, int count, Datatype t, Op op) {
        ensureOpen();
        try {
            int rc = (int) lib.allreduce.invokeExact(send, recv, count, lib.type(t), lib.op(op), lib.commWorld);
            lib.check(rc, "MPI_Allreduce(count=" + count + ", type=" + t + ", op=" + op + ")");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Allreduce failed: " + e, e);
        }
        bytesSent += 2L * (size - 1) * count * t.bytes() / size;
    }

    // ---------------------------------------------------------------------------------------------------------
    // reduce-scatter: rank r ends with block r of op over all ranks' buffers

    /**
     * {@code MPI_Reduce_scatter_block}: {@code send[sendOff, sendOff + N·blockCount)} holds N blocks of
     * {@code blockCount} elements; this rank receives block {@code rank} of the elementwise op over all ranks into
     * {@code recv[recvOff, recvOff + blockCount)}.
     */
    public void reduceScatterBlock(float[] send, int sendOff, float[] recv, int recvOff, int blockCount, Op op) {
        reduceScatterArray(send, send.length, sendOff, recv, recv.length, recvOff, blockCount, Datatype.FLOAT, op);
    }

    /** Doubles; see {@link #reduceScatterBlock(float[], int, float[], int, int, Op)}. */
    public void reduceScatterBlock(double[] send, int sendOff, double[] recv, int recvOff, int blockCount, Op op) {
        reduceScatterArray(send, send.length, sendOff, recv, recv.length, recvOff, blockCount, Datatype.DOUBLE, op);
    }

    private synchronized void reduceScatterArray(Object send, int sendLength, int sendOff, Object recv,
            int recvLength, int recvOff, int blockCount, Datatype t, Op op) {
        long total = (long) blockCount * size;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("reduce-scatter of " + size + " × " + blockCount
                    + " elements is more than a Java array holds");
        }
        Objects.checkFromIndexSize(sendOff, (int) total, sendLength);
        Objects.checkFromIndexSize(recvOff, blockCount, recvLength);
        // staging layout: [send: N·block][recv: block]
        long sendBytes = total * t.bytes();
        MemorySegment s = staging(sendBytes + (long) blockCount * t.bytes());
        MemorySegment.copy(send, sendOff, s, t.layout, 0, (int) total);
        MemorySegment r = s.asSlice(sendBytes);
        reduceScatterNative(s, r, blockCount, t, op);
        MemorySegment.copy(r, t.layout, 0, recv, recvOff, blockCount);
    }

    /**
     * {@code MPI_Reduce_scatter_block} on native segments: {@code send} holds N·blockCount elements, {@code recv}
     * receives this rank's block of the reduction.
     */
    public synchronized void reduceScatterBlock(MemorySegment send, MemorySegment recv, long blockCount, Datatype t,
            Op op) {
        checkSegment(send, blockCount * size, t, "send");
        checkSegment(recv, blockCount, t, "recv");
        checkCount(blockCount * size);
        reduceScatterNative(send, recv, (int) blockCount, t, op);
    }

    private void reduceScatterNative(MemorySegment send, MemorySegment recv, int blockCount, Datatype t, Op op) {
        ensureOpen();
        try {
            int rc = (int) lib.reduceScatterBlock.invokeExact(send, recv, blockCount, lib.type(t), lib.op(op),
                    lib.commWorld);
            lib.check(rc, "MPI_Reduce_scatter_block(recvcount=" + blockCount + ", type=" + t + ", op=" + op + ")");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Reduce_scatter_block failed: " + e, e);
        }
        bytesSent += (long) (size - 1) * blockCount * t.bytes();
    }

    // ---------------------------------------------------------------------------------------------------------
    // all-gather: every rank ends with every rank's block, in rank order

    /**
     * {@code MPI_Allgather}: every rank contributes {@code send[sendOff, sendOff + blockCount)}; every rank receives
     * all N blocks in rank order into {@code recv[recvOff, recvOff + N·blockCount)}. {@code send} and {@code recv}
     * may be the same array (the own block is then read before the result is written).
     */
    public void allGather(float[] send, int sendOff, float[] recv, int recvOff, int blockCount) {
        allGatherArray(send, send.length, sendOff, recv, recv.length, recvOff, blockCount, Datatype.FLOAT);
    }

    /** Doubles; see {@link #allGather(float[], int, float[], int, int)}. */
    public void allGather(double[] send, int sendOff, double[] recv, int recvOff, int blockCount) {
        allGatherArray(send, send.length, sendOff, recv, recv.length, recvOff, blockCount, Datatype.DOUBLE);
    }

    /** Longs (e.g. every rank's weight hash); see {@link #allGather(float[], int, float[], int, int)}. */
    public void allGather(long[] send, int sendOff, long[] recv, int recvOff, int blockCount) {
        allGatherArray(send, send.length, sendOff, recv, recv.length, recvOff, blockCount, Datatype.LONG);
    }

    private synchronized void allGatherArray(Object send, int sendLength, int sendOff, Object recv, int recvLength,
            int recvOff, int blockCount, Datatype t) {
        long total = (long) blockCount * size;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("all-gather of " + size + " × " + blockCount
                    + " elements is more than a Java array holds");
        }
        Objects.checkFromIndexSize(sendOff, blockCount, sendLength);
        Objects.checkFromIndexSize(recvOff, (int) total, recvLength);
        // in place: this rank's block goes to its slot of the result buffer first
        MemorySegment s = staging(total * t.bytes());
        MemorySegment.copy(send, sendOff, s, t.layout, (long) rank * blockCount * t.bytes(), blockCount);
        allGatherNative(IN_PLACE, s, blockCount, t);
        MemorySegment.copy(s, t.layout, 0, recv, recvOff, (int) total);
    }

    /**
     * {@code MPI_Allgather} on native segments: {@code recv} receives N·blockCount elements, block r from rank r;
     * {@code send == null} means in place (this rank's block is already at {@code recv} block {@code rank}).
     */
    public synchronized void allGather(MemorySegment send, MemorySegment recv, long blockCount, Datatype t) {
        checkSegment(recv, blockCount * size, t, "recv");
        if (send != null) {
            checkSegment(send, blockCount, t, "send");
        }
        checkCount(blockCount * size);
        allGatherNative(send == null ? IN_PLACE : send, recv, (int) blockCount, t);
    }

    private void allGatherNative(MemorySegment send, MemorySegment recv, int blockCount, Datatype t) {
        ensureOpen();
        try {
            MemorySegment type = lib.type(t);
            int rc = (int) lib.allgather.invokeExact(send, blockCount, type, recv, blockCount, type, lib.commWorld);
            lib.check(rc, "MPI_Allgather(count=" + blockCount + ", type=" + t + ")");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Allgather failed: " + e, e);
        }
        bytesSent += (long) (size - 1) * blockCount * t.bytes();
    }

    // ---------------------------------------------------------------------------------------------------------
    // non-blocking collectives: started here, completed by Request.await, Request.test or waitAll

    /**
     * A started non-blocking collective, Open MPI's {@code MPI_Request}. Until it completes ({@link #await},
     * {@link #test} returning true, or {@link Mpi#waitAll}) its buffers belong to MPI: do not read the result, change
     * the input or close the arena of either (the request keeps the segments reachable, not their arena open).
     * Every rank completes its requests before {@link Mpi#close()}.
     *
     * <p><b>Progress.</b> Open MPI's shared-memory transport advances a non-blocking collective only inside MPI
     * calls of this process (there is no progress thread): a started all-reduce of several rounds moves one round
     * per {@link #test} or other MPI call, and the rest in {@link #await}. Callers that want the transfer to
     * overlap computation call {@link #test} now and then.
     */
    public final class Request {
        /** The MPI_Request handle (a pointer), in memory MPI writes: it becomes MPI_REQUEST_NULL when complete. */
        private final MemorySegment handle;
        private final String call;
        private MemorySegment send;
        private MemorySegment recv;
        private boolean done;

        private Request(String call, MemorySegment send, MemorySegment recv) {
            this.handle = Arena.ofAuto().allocate(ValueLayout.ADDRESS);
            this.call = call;
            this.send = send;
            this.recv = recv;
        }

        /** Whether the operation has completed (its result is in the receive buffer). */
        public boolean done() {
            synchronized (Mpi.this) {
                return done;
            }
        }

        /** {@code MPI_Wait}: blocks until the operation completes on this rank. Does nothing when it has. */
        public void await() {
            synchronized (Mpi.this) {
                if (done) {
                    return;
                }
                ensureOpen();
                try {
                    lib.check((int) lib.waitFn.invokeExact(handle, MemorySegment.NULL), "MPI_Wait(" + call + ")");
                } catch (MpiException e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException("MPI_Wait failed: " + e, e);
                }
                complete();
            }
        }

        /**
         * {@code MPI_Test}: whether the operation has completed, without blocking; also lets Open MPI advance it
         * (and every other pending operation of this process).
         */
        public boolean test() {
            synchronized (Mpi.this) {
                if (done) {
                    return true;
                }
                ensureOpen();
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment flag = a.allocate(ValueLayout.JAVA_INT);
                    lib.check((int) lib.testFn.invokeExact(handle, flag, MemorySegment.NULL), "MPI_Test(" + call
                            + ")");
                    if (flag.get(ValueLayout.JAVA_INT, 0) != 0) {
                        complete();
                    }
                    return done;
                } catch (MpiException e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException("MPI_Test failed: " + e, e);
                }
            }
        }

        private Mpi outer() {
            return Mpi.this;
        }

        private void complete() {
            done = true;
            send = null;
            recv = null;
        }

        @Override
        public String toString() {
            return call + (done() ? " (done)" : " (pending)");
        }
    }

    /**
     * {@code MPI_Iallreduce} on native segments: starts {@code recv[0, count) = op over all ranks of send[0, count)}
     * ({@code send == null}: in place, the input is read from {@code recv}) and returns at once. Heap segments are
     * refused: the garbage collector may move a Java array while MPI still reads or writes it. The result is in
     * {@code recv} once the returned request completes. Same rules as the blocking call otherwise: every rank starts
     * the same collectives in the same order.
     *
     * @throws IllegalArgumentException for a heap segment or one smaller than {@code count}
     * @throws MpiException when MPI refuses to start the operation
     */
    public synchronized Request iallReduce(MemorySegment send, MemorySegment recv, long count, Datatype t, Op op) {
        checkOffHeap(recv, "recv");
        checkSegment(recv, count, t, "recv");
        if (send != null) {
            checkOffHeap(send, "send");
            checkSegment(send, count, t, "send");
        }
        int n = checkCount(count);
        ensureOpen();
        String call = "MPI_Iallreduce(count=" + n + ", type=" + t + ", op=" + op + ")";
        Request r = new Request(call, send, recv);
        try {
            MemorySegment from = send == null ? IN_PLACE : send;
            lib.check((int) lib.iallreduce.invokeExact(from, recv, n, lib.type(t),
                    lib.op(op), lib.commWorld, r.handle), call);
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Iallreduce failed: " + e, e);
        }
        bytesSent += 2L * (size - 1) * n * t.bytes() / size;
        return r;
    }

    /**
     * {@code MPI_Ireduce_scatter_block} on native segments: starts the reduce-scatter of
     * {@link #reduceScatterBlock(MemorySegment, MemorySegment, long, Datatype, Op)} ({@code send} holds
     * N·blockCount elements, {@code recv} receives this rank's block) and returns at once. Heap segments are refused,
     * as in {@link #iallReduce}.
     */
    public synchronized Request ireduceScatterBlock(MemorySegment send, MemorySegment recv, long blockCount,
            Datatype t, Op op) {
        checkOffHeap(send, "send");
        checkOffHeap(recv, "recv");
        checkSegment(send, blockCount * size, t, "send");
        checkSegment(recv, blockCount, t, "recv");
        checkCount(blockCount * size);
        int n = (int) blockCount;
        ensureOpen();
        String call = "MPI_Ireduce_scatter_block(recvcount=" + n + ", type=" + t + ", op=" + op + ")";
        Request r = new Request(call, send, recv);
        try {
            lib.check((int) lib.ireduceScatterBlock.invokeExact(send, recv, n, lib.type(t), lib.op(op),
                    lib.commWorld, r.handle), call);
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Ireduce_scatter_block failed: " + e, e);
        }
        bytesSent += (long) (size - 1) * n * t.bytes();
        return r;
    }

    /** {@code MPI_Waitall}: blocks until every request (of this Mpi) has completed; completed ones are skipped. */
    public synchronized void waitAll(List<Request> requests) {
        List<Request> open = new ArrayList<>();
        for (Request r : requests) {
            if (r.outer() != this) {
                throw new IllegalArgumentException("a request of another Mpi object");
            }
            if (!r.done) {
                open.add(r);
            }
        }
        if (open.isEmpty()) {
            return;
        }
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handles = a.allocate(ValueLayout.ADDRESS, open.size());
            for (int i = 0; i < open.size(); i++) {
                handles.setAtIndex(ValueLayout.ADDRESS, i, open.get(i).handle.get(ValueLayout.ADDRESS, 0));
            }
            int rc = (int) lib.waitallFn.invokeExact(open.size(), handles, MemorySegment.NULL);
            // completed requests are MPI_REQUEST_NULL now: copy every handle back, so a later wait is right either way
            for (int i = 0; i < open.size(); i++) {
                open.get(i).handle.set(ValueLayout.ADDRESS, 0, handles.getAtIndex(ValueLayout.ADDRESS, i));
            }
            lib.check(rc, "MPI_Waitall(" + open.size() + " requests, first " + open.get(0).call + ")");
            for (Request r : open) {
                r.complete();
            }
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Waitall failed: " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // broadcast and barrier

    /** {@code MPI_Bcast}: every rank's {@code buf[off, off+count)} becomes rank {@code root}'s. */
    public void broadcast(float[] buf, int off, int count, int root) {
        broadcastArray(buf, buf.length, off, count, Datatype.FLOAT, root);
    }

    /** Bytes (e.g. a UTF-8 string or a serialised header); see {@link #broadcast(float[], int, int, int)}. */
    public void broadcast(byte[] buf, int off, int count, int root) {
        broadcastArray(buf, buf.length, off, count, Datatype.BYTE, root);
    }

    /** Longs; see {@link #broadcast(float[], int, int, int)}. */
    public void broadcast(long[] buf, int off, int count, int root) {
        broadcastArray(buf, buf.length, off, count, Datatype.LONG, root);
    }

    private synchronized void broadcastArray(Object buf, int length, int off, int count, Datatype t, int root) {
        Objects.checkFromIndexSize(off, count, length);
        MemorySegment s = staging((long) count * t.bytes());
        MemorySegment.copy(buf, off, s, t.layout, 0, count);
        broadcastNative(s, count, t, root);
        MemorySegment.copy(s, t.layout, 0, buf, off, count);
    }

    /**
     * {@code MPI_Bcast} on a native segment. The root is checked by MPI: a root outside {@code [0, size)} throws
     * an {@link MpiException} of class {@link #ERR_ROOT}.
     */
    public synchronized void broadcast(MemorySegment buf, long count, Datatype t, int root) {
        checkSegment(buf, count, t, "buf");
        broadcastNative(buf, checkCount(count), t, root);
    }

    private void broadcastNative(MemorySegment buf, int count, Datatype t, int root) {
        ensureOpen();
        try {
            int rc = (int) lib.bcast.invokeExact(buf, count, lib.type(t), root, lib.commWorld);
            lib.check(rc, "MPI_Bcast(count=" + count + ", type=" + t + ", root=" + root + ")");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Bcast failed: " + e, e);
        }
    }

    /** {@code MPI_Barrier}: returns when every rank has entered it. */
    public synchronized void barrier() {
        ensureOpen();
        try {
            lib.check((int) lib.barrier.invokeExact(lib.commWorld), "MPI_Barrier(MPI_COMM_WORLD)");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Barrier failed: " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // ending

    /**
     * {@code MPI_Abort(MPI_COMM_WORLD, code)}: ends every rank of the job with exit code {@code code} (mpirun
     * reports it). Does not return normally.
     */
    public void abort(int code) {
        lib.abortWorld(code);
        throw new IllegalStateException("MPI_Abort returned");
    }

    /**
     * {@code MPI_Finalize}: every rank must call it after its last collective; afterwards no MPI call is allowed
     * (and {@link #init()} throws). Idempotent. Frees the staging segment.
     */
    @Override
    public synchronized void close() {
        if (finalized) {
            return;
        }
        finalized = true;
        if (stagingArena != null) {
            stagingArena.close();
            stagingArena = null;
        }
        try {
            lib.check((int) lib.finalizeMpi.invokeExact(), "MPI_Finalize");
        } catch (MpiException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("MPI_Finalize failed: " + e, e);
        }
    }

    private void ensureOpen() {
        if (finalized) {
            throw new IllegalStateException("MPI was finalized (Mpi.close()); no MPI call is allowed afterwards");
        }
    }

    /** The staging segment, grown to a power of two ≥ {@code bytes} (64-byte aligned); reused across calls. */
    private MemorySegment staging(long bytes) {
        if (staging.byteSize() < bytes) {
            if (stagingArena != null) {
                stagingArena.close();
            }
            stagingArena = Arena.ofShared();
            long cap = Math.max(4096, Long.highestOneBit(Math.max(1, bytes - 1)) << 1);
            staging = stagingArena.allocate(cap, 64);
        }
        return staging;
    }

    private static int checkCount(long count) {
        if (count < 0 || count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("MPI counts are C ints: " + count + " elements is out of range"
                    + " [0, " + Integer.MAX_VALUE + "]; split the buffer");
        }
        return (int) count;
    }

    private static void checkOffHeap(MemorySegment s, String what) {
        Objects.requireNonNull(s, what);
        if (!s.isNative()) {
            throw new IllegalArgumentException(what + " of a non-blocking collective must be a native (off-heap)"
                    + " segment: the garbage collector may move a Java array while MPI reads or writes it; copy it"
                    + " into an Arena's segment");
        }
    }

    private static void checkSegment(MemorySegment s, long count, Datatype t, String what) {
        Objects.requireNonNull(s, what);
        if (!s.isNative()) {
            throw new IllegalArgumentException(what + " must be a native (off-heap) segment; use the array overloads"
                    + " for heap arrays");
        }
        if (count < 0 || s.byteSize() < count * t.bytes()) {
            throw new IllegalArgumentException(what + " segment has " + s.byteSize() + " bytes, fewer than " + count
                    + " " + t + " elements (" + count * t.bytes() + " bytes)");
        }
    }

    /** The loaded library: downcall handles and the predefined handles (symbol addresses). */
    private static final class Lib {
        final String name;
        final MethodHandle initThread;
        final MethodHandle finalizeMpi;
        final MethodHandle commRank;
        final MethodHandle commSize;
        final MethodHandle commSetErrhandler;
        final MethodHandle allreduce;
        final MethodHandle reduceScatterBlock;
        final MethodHandle allgather;
        final MethodHandle iallreduce;
        final MethodHandle ireduceScatterBlock;
        final MethodHandle waitFn;
        final MethodHandle waitallFn;
        final MethodHandle testFn;
        final MethodHandle bcast;
        final MethodHandle barrier;
        final MethodHandle abort;
        final MethodHandle errorStringFn;
        final MethodHandle errorClassFn;
        final MethodHandle getLibraryVersion;
        final MemorySegment commWorld;
        final MemorySegment errorsReturn;
        final MemorySegment[] types = new MemorySegment[Datatype.values().length];
        final MemorySegment[] ops = new MemorySegment[Op.values().length];

        private Lib(String name, SymbolLookup l) {
            this.name = name;
            Linker linker = Linker.nativeLinker();
            ValueLayout i = ValueLayout.JAVA_INT;
            ValueLayout p = ValueLayout.ADDRESS;
            // int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
            initThread = h(linker, l, "MPI_Init_thread", FunctionDescriptor.of(i, p, p, i, p));
            finalizeMpi = h(linker, l, "MPI_Finalize", FunctionDescriptor.of(i));
            // int MPI_Comm_rank(MPI_Comm comm, int *rank), MPI_Comm_size likewise
            commRank = h(linker, l, "MPI_Comm_rank", FunctionDescriptor.of(i, p, p));
            commSize = h(linker, l, "MPI_Comm_size", FunctionDescriptor.of(i, p, p));
            // int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
            commSetErrhandler = h(linker, l, "MPI_Comm_set_errhandler", FunctionDescriptor.of(i, p, p));
            // int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype, MPI_Op, MPI_Comm)
            allreduce = h(linker, l, "MPI_Allreduce", FunctionDescriptor.of(i, p, p, i, p, p, p));
            // int MPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype, MPI_Op,
            //                              MPI_Comm)
            reduceScatterBlock = h(linker, l, "MPI_Reduce_scatter_block", FunctionDescriptor.of(i, p, p, i, p, p, p));
            // the non-blocking forms take one more argument, MPI_Request *request (a pointer in Open MPI)
            iallreduce = h(linker, l, "MPI_Iallreduce", FunctionDescriptor.of(i, p, p, i, p, p, p, p));
            ireduceScatterBlock = h(linker, l, "MPI_Ireduce_scatter_block",
                    FunctionDescriptor.of(i, p, p, i, p, p, p, p));
            // int MPI_Wait(MPI_Request *, MPI_Status *); MPI_Waitall(int, MPI_Request[], MPI_Status[]);
            // MPI_Test(MPI_Request *, int *flag, MPI_Status *)
            waitFn = h(linker, l, "MPI_Wait", FunctionDescriptor.of(i, p, p));
            waitallFn = h(linker, l, "MPI_Waitall", FunctionDescriptor.of(i, i, p, p));
            testFn = h(linker, l, "MPI_Test", FunctionDescriptor.of(i, p, p, p));
            // int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype, void *recvbuf, int recvcount,
            //                   MPI_Datatype, MPI_Comm)
            allgather = h(linker, l, "MPI_Allgather", FunctionDescriptor.of(i, p, i, p, p, i, p, p));
            // int MPI_Bcast(void *buffer, int count, MPI_Datatype, int root, MPI_Comm)
            bcast = h(linker, l, "MPI_Bcast", FunctionDescriptor.of(i, p, i, p, i, p));
            barrier = h(linker, l, "MPI_Barrier", FunctionDescriptor.of(i, p));
            abort = h(linker, l, "MPI_Abort", FunctionDescriptor.of(i, p, i));
            // int MPI_Error_string(int errorcode, char *string, int *resultlen)
            errorStringFn = h(linker, l, "MPI_Error_string", FunctionDescriptor.of(i, i, p, p));
            errorClassFn = h(linker, l, "MPI_Error_class", FunctionDescriptor.of(i, i, p));
            getLibraryVersion = h(linker, l, "MPI_Get_library_version", FunctionDescriptor.of(i, p, p));
            // Open MPI's predefined handles are the addresses of these globals
            commWorld = sym(l, "ompi_mpi_comm_world");
            errorsReturn = sym(l, "ompi_mpi_errors_return");
            for (Datatype t : Datatype.values()) {
                types[t.ordinal()] = sym(l, t.symbol);
            }
            for (Op o : Op.values()) {
                ops[o.ordinal()] = sym(l, o.symbol);
            }
            long cLong = linker.canonicalLayouts().get("long").byteSize();
            if (cLong != 8) {
                throw new IllegalStateException("C long is " + cLong + " bytes on this platform; Mpi.Datatype.LONG"
                        + " assumes 8 (64-bit Linux)");
            }
        }

        MemorySegment type(Datatype t) {
            return types[t.ordinal()];
        }

        MemorySegment op(Op o) {
            return ops[o.ordinal()];
        }

        private MethodHandle h(Linker linker, SymbolLookup l, String fn, FunctionDescriptor d) {
            return linker.downcallHandle(l.find(fn).orElseThrow(() -> new IllegalStateException(
                    name + " has no function " + fn + ": it is not an MPI-3 library. " + MISSING)), d);
        }

        private MemorySegment sym(SymbolLookup l, String s) {
            return l.find(s).orElseThrow(() -> new IllegalStateException(name + " has no symbol " + s
                    + ": it is not Open MPI. sixpd's binding uses Open MPI's ABI (predefined handles are the addresses"
                    + " of ompi_mpi_* globals); MPICH would need its own handles. Install Open MPI: apt-get install "
                    + PACKAGES));
        }

        void check(int rc, String call) {
            if (rc != 0) {
                throw new MpiException(call, rc, errorClass(rc), errorString(rc));
            }
        }

        String errorString(int code) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(MAX_ERROR_STRING);
                MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
                int rc = (int) errorStringFn.invokeExact(code, s, len);
                return rc == 0 ? s.getString(0) : "unknown MPI error code " + code;
            } catch (Throwable t) {
                return "unknown MPI error code " + code + " (MPI_Error_string failed: " + t + ")";
            }
        }

        int errorClass(int code) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment c = a.allocate(ValueLayout.JAVA_INT);
                int rc = (int) errorClassFn.invokeExact(code, c);
                return rc == 0 ? c.get(ValueLayout.JAVA_INT, 0) : -1;
            } catch (Throwable t) {
                return -1;
            }
        }

        void abortWorld(int code) {
            try {
                int ignored = (int) abort.invokeExact(commWorld, code); // does not return when it works
            } catch (Throwable t) {
                throw new IllegalStateException("MPI_Abort failed: " + t, t);
            }
        }

        /** Where to look for libmpi, in order: the property or variable, the loader's soname, ldconfig, folders. */
        static List<String> candidates() {
            LinkedHashSet<String> c = new LinkedHashSet<>();
            String forced = System.getProperty("sixpd.mpi.lib", System.getenv("SIXPD_MPI_LIB"));
            if (forced != null && !forced.isBlank()) {
                c.add(forced);
                return new ArrayList<>(c);
            }
            c.add("libmpi.so.40"); // the dynamic loader's search: LD_LIBRARY_PATH, ld.so.cache, default folders
            c.addAll(ldconfig());
            for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                    "/usr/lib64/openmpi/lib", "/usr/lib/openmpi/lib", "/usr/local/lib", "/opt/openmpi/lib")) {
                c.add(dir + "/libmpi.so.40");
                c.add(dir + "/libmpi.so");
            }
            return new ArrayList<>(c);
        }

        /** The libmpi.so* paths {@code ldconfig -p} lists (empty when ldconfig is absent). */
        private static List<String> ldconfig() {
            List<String> out = new ArrayList<>();
            for (String exe : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig")) {
                try {
                    Process p = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
                    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        continue;
                    }
                    for (String line : text.split("\n")) {
                        // "	libmpi.so.40 (libc6,x86-64) => /lib/x86_64-linux-gnu/libmpi.so.40"
                        String t = line.strip();
                        int arrow = t.indexOf("=> ");
                        if (t.startsWith("libmpi.so") && arrow > 0) {
                            out.add(t.substring(arrow + 3).strip());
                        }
                    }
                    return out;
                } catch (IOException e) {
                    // try the next location
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return out;
                }
            }
            return out;
        }

        /**
         * Opens the first candidate that loads. It is opened with {@code RTLD_GLOBAL} first (through libc's
         * {@code dlopen}), as Open MPI's own Java bindings do: the plugins Open MPI loads at MPI_Init resolve some
         * of their symbols against the already-loaded libmpi; the JDK's lookup alone opens it {@code RTLD_LOCAL}.
         */
        static Lib load() {
            Linker linker = Linker.nativeLinker();
            MethodHandle dlopen = linker.defaultLookup().find("dlopen")
                    .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT)))
                    .orElse(null);
            List<String> tried = new ArrayList<>();
            for (String c : candidates()) {
                if (c.startsWith("/") && !Files.exists(Path.of(c))) {
                    continue;
                }
                tried.add(c);
                try (Arena a = Arena.ofConfined()) {
                    if (dlopen != null) {
                        MemorySegment handle = (MemorySegment) dlopen.invokeExact(a.allocateFrom(c),
                                0x2 | 0x100); // RTLD_NOW | RTLD_GLOBAL
                        if (handle.equals(MemorySegment.NULL)) {
                            continue;
                        }
                    }
                    SymbolLookup l = c.startsWith("/") ? SymbolLookup.libraryLookup(Path.of(c), Arena.global())
                            : SymbolLookup.libraryLookup(c, Arena.global());
                    return new Lib(c, l);
                } catch (IllegalArgumentException e) {
                    // not loadable: try the next candidate
                } catch (IllegalStateException e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IllegalStateException("loading " + c + " failed: " + t, t);
                }
            }
            throw new IllegalStateException(MISSING + " (tried: " + String.join(", ", tried.isEmpty()
                    ? candidates() : tried) + ")");
        }
    }
}
