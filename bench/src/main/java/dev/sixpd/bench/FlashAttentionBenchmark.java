package dev.sixpd.bench;

import static dev.sixpd.bench.Medium.B;
import static dev.sixpd.bench.Medium.C;
import static dev.sixpd.bench.Medium.HS;
import static dev.sixpd.bench.Medium.NH;
import static dev.sixpd.bench.Medium.T;

import dev.sixpd.tensor.Attention;
import dev.sixpd.tensor.FlashAttention;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What it measures: one call of {@link FlashAttention#forward} and of {@link FlashAttention#backward} beside the
 * naive {@link Attention#forward} and {@link Attention#backward}, in the same fork, at the {@code medium} model's
 * shapes (B=8, T=256, NH=KVH=6, HS=64: {@code qkv [8, 256, 1152]}, {@code out [8, 256, 384]}; flash keeps
 * {@code lse [8, 6, 256]}, the naive kernel {@code att [8, 6, 256, 256]}), on 1 and all threads ({@code threads}).
 *
 * <p>Per call, from the kernels' ledger formulas (only the T(T+1)/2 unmasked pairs per head are counted):
 * <ul>
 * <li>flash forward: {@link FlashAttention#matmulFlopsForward} {@code 4·HS·pairs} = 404,226,048 +
 * {@link FlashAttention#softmaxFlopsForward} = 12,804,096 → 417,030,144 FLOPs; bytes
 * {@link FlashAttention#bytesForward} = 12,632,064 (no T² term); intensity 33.0 FLOP/B.</li>
 * <li>flash backward: {@link FlashAttention#matmulFlopsBackward} {@code 8·HS·pairs} = 808,452,096 +
 * {@link FlashAttention#recomputeFlopsBackward} {@code 2·HS·pairs} = 202,113,024 +
 * {@link FlashAttention#softmaxFlopsBackward} = 11,046,912 → 1,021,612,032 FLOPs, a quarter more than the naive
 * backward's 816,347,136: the recomputed scores; bytes {@link FlashAttention#bytesBackward} = 34,652,160;
 * intensity 29.5 FLOP/B.</li>
 * <li>naive: {@link AttentionBenchmark#FORWARD_FLOPS} and {@link AttentionBenchmark#BACKWARD_FLOPS}.</li>
 * </ul>
 * All lie far above this machine's ridge (~4 FLOP/B on one core): compute-bound, compare with the measured peak.
 *
 * <p>Dead-code elimination: the kernels write into arrays held by this {@link State} object, and each call hands
 * an element of its output to a {@link Blackhole}. Inputs are seeded Gaussians built in {@code @Setup} (no constant
 * folding); the ledger is off so only the kernels are timed. The backward kernels accumulate into their gradient
 * arrays (llm.c semantics): those are zeroed before each iteration so values stay bounded.
 *
 * <p>Not part of {@link KernelSuite}'s families yet; run it as plain JMH:
 * {@code ./sixpd bench jmh FlashAttentionBenchmark -p threads=1 -wi 3 -i 5 -f 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class FlashAttentionBenchmark {
    /** FLOPs of one flash forward call (ledger). */
    public static final long FORWARD_FLOPS = FlashAttention.matmulFlopsForward(B, T, NH, HS)
            + FlashAttention.softmaxFlopsForward(B, T, NH, HS);
    /** Bytes of one flash forward call (ledger). */
    public static final long FORWARD_BYTES = FlashAttention.bytesForward(B, T, NH, NH, HS);
    /** FLOPs of one flash backward call (ledger), the recomputed scores included. */
    public static final long BACKWARD_FLOPS = FlashAttention.matmulFlopsBackward(B, T, NH, HS)
            + FlashAttention.recomputeFlopsBackward(B, T, NH, HS) + FlashAttention.softmaxFlopsBackward(B, T, NH, HS);
    /** Bytes of one flash backward call (ledger). */
    public static final long BACKWARD_BYTES = FlashAttention.bytesBackward(B, T, NH, NH, HS);

    @Param({"1", "2"})
    public int threads;

    private float[] qkv;
    private float[] dout;
    private float[] out;
    private float[] lse;
    private float[] dqkv;
    private float[] outNaive;
    private float[] att;
    private float[] datt;
    private float[] dqkvNaive;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        qkv = new float[B * T * 3 * C];
        dout = new float[B * T * C];
        out = new float[B * T * C];
        lse = new float[B * NH * T];
        dqkv = new float[B * T * 3 * C];
        outNaive = new float[B * T * C];
        att = new float[B * NH * T * T];
        datt = new float[B * NH * T * T];
        dqkvNaive = new float[B * T * 3 * C];
        rng.fillNormal(qkv, 0, 1);
        rng.fillNormal(dout, 0, 1);
        // what each backward reads: flash the output and log-sum-exp, the naive kernel the probabilities
        FlashAttention.forward(out, lse, qkv, B, T, NH, NH, HS);
        Attention.forward(outNaive, att, qkv, B, T, C, NH);
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dqkv, 0f);
        Arrays.fill(dqkvNaive, 0f);
    }

    @Benchmark
    public void flashForward(Blackhole bh) {
        FlashAttention.forward(out, lse, qkv, B, T, NH, NH, HS);
        bh.consume(out[out.length - 1]);
    }

    @Benchmark
    public void flashBackward(Blackhole bh) {
        FlashAttention.backward(dqkv, dout, out, lse, qkv, B, T, NH, NH, HS);
        bh.consume(dqkv[0]);
    }

    @Benchmark
    public void naiveForward(Blackhole bh) {
        Attention.forward(outNaive, att, qkv, B, T, C, NH);
        bh.consume(outNaive[outNaive.length - 1]);
    }

    @Benchmark
    public void naiveBackward(Blackhole bh) {
        Attention.backward(dqkvNaive, datt, dout, qkv, att, B, T, C, NH);
        bh.consume(dqkvNaive[0]);
    }
}
