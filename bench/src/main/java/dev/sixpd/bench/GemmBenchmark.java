package dev.sixpd.bench;

import dev.sixpd.tensor.Gemm;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What it measures: one {@code C = op(A)·op(B)} call (beta 0, packing included) of sixpd's {@link Gemm} and, in the
 * same JMH run, of OpenBLAS's {@code cblas_sgemm} through FFM, for square sizes 128–2048 and the default model's Linear
 * shapes forward and backward ({@link GemmShapes#model()}), on 1 and 2 threads. JMH reports calls per second and, as
 * the secondary result {@code gflop} (an {@link AuxCounters} rate), GFLOP/s = {@code 2·M·N·K} per call / time.
 *
 * <p>Pitfalls avoided: dead-code elimination — C is a field of the state object and the benchmark hands it (and a
 * value read from it) to a {@link Blackhole}, so the JIT cannot drop the call; constant folding — inputs are seeded
 * random arrays built in {@code @Setup}; warm-up — 3 warm-up iterations of 1 s before 5 measured ones, 2 forks, so
 * the C2-compiled micro-kernel is what is timed. The ledger is switched off so only the kernel is timed. OpenBLAS
 * works on native copies of the same inputs; when it is not installed its benchmark reports the skip and does nothing.
 *
 * <p>Baselines ({@link GemmBaselines}, single-threaded whatever {@code threads} says): {@code naive}, the textbook
 * triple loop, and {@code blocked}, a cache-blocked scalar loop; what the Vector API buys is sixpd's rate over
 * theirs. The naive loop needs seconds per call from n = 1024 on: run it on small shapes, e.g.
 * {@code -p shape=square512:512:512:512:N:N -p threads=1} ({@link KernelSuite} does).
 *
 * <p>Run: {@code ./sixpd bench jmh GemmBenchmark -p shape=square1024:1024:1024:1024:N:N -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-XX:+UseParallelGC", "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class GemmBenchmark {
    /** {@code name:M:N:K:opA:opB}, see {@link GemmShapes.Shape#param()}. */
    @Param({"square128:128:128:128:N:N", "square256:256:256:256:N:N", "square512:512:512:512:N:N",
        "square1024:1024:1024:1024:N:N", "square2048:2048:2048:2048:N:N",
        "qkv.fwd:2048:1152:384:N:T", "qkv.dx:2048:384:1152:N:N", "qkv.dw:1152:384:2048:T:N",
        "attn_proj.fwd:2048:384:384:N:T", "attn_proj.dx:2048:384:384:N:N", "attn_proj.dw:384:384:2048:T:N",
        "fc.fwd:2048:1536:384:N:T", "fc.dx:2048:384:1536:N:N", "fc.dw:1536:384:2048:T:N",
        "mlp_proj.fwd:2048:384:1536:N:T", "mlp_proj.dx:2048:1536:384:N:N", "mlp_proj.dw:384:1536:2048:T:N",
        "lm_head.fwd:2048:65:384:N:T", "lm_head.dx:2048:384:65:N:N", "lm_head.dw:65:384:2048:T:N"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private GemmShapes.Shape s;
    private float[] a;
    private float[] b;
    private float[] c;
    private int lda;
    private int ldb;
    private Arena arena;
    private OpenBlas blas;
    private MemorySegment na;
    private MemorySegment nb;
    private MemorySegment nc;

    @Setup(Level.Trial)
    public void setUp() {
        s = GemmShapes.Shape.parse(shape);
        lda = s.transA() ? s.m() : s.k();
        ldb = s.transB() ? s.k() : s.n();
        Rng rng = new Rng(42);
        a = new float[s.m() * s.k()];
        b = new float[s.k() * s.n()];
        c = new float[s.m() * s.n()];
        rng.fillNormal(a, 0, 1);
        rng.fillNormal(b, 0, 1);
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Optional<OpenBlas> ob = OpenBlas.load();
        if (ob.isPresent()) {
            blas = ob.get();
            blas.setThreads(threads);
            arena = Arena.ofShared();
            na = OpenBlas.copyOf(arena, a);
            nb = OpenBlas.copyOf(arena, b);
            nc = OpenBlas.copyOf(arena, c);
        } else {
            System.err.println("GemmBenchmark: " + OpenBlas.MISSING);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (arena != null) {
            arena.close();
        }
    }

    /** Counts GFLOPs done; JMH divides by the measured time, so its "gflop" row reads in GFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }

    /** sixpd's Gemm, packing included. */
    @Benchmark
    public void sixpd(Flops f, Blackhole bh) {
        f.gflop += s.flops() * 1e-9;
        Gemm.gemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, s.n());
        bh.consume(c[c.length - 1]);
        bh.consume(c);
    }

    /** Baseline: the textbook triple loop ({@link GemmBaselines#naive}), one thread. */
    @Benchmark
    public void naive(Flops f, Blackhole bh) {
        f.gflop += s.flops() * 1e-9;
        GemmBaselines.naive(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, lda, b, ldb, 0f, c, s.n());
        bh.consume(c[c.length - 1]);
        bh.consume(c);
    }

    /** Baseline: cache-blocked scalar Java ({@link GemmBaselines#blocked}), one thread. */
    @Benchmark
    public void blocked(Flops f, Blackhole bh) {
        f.gflop += s.flops() * 1e-9;
        GemmBaselines.blocked(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, lda, b, ldb, 0f, c, s.n());
        bh.consume(c[c.length - 1]);
        bh.consume(c);
    }

    /** OpenBLAS cblas_sgemm on native copies of the same inputs (nothing when OpenBLAS is missing). */
    @Benchmark
    public void openblas(Flops f, Blackhole bh) {
        if (blas == null) {
            return;
        }
        f.gflop += s.flops() * 1e-9;
        blas.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, na, lda, nb, ldb, 0f, nc, s.n());
        bh.consume(nc);
    }
}
