package dev.sixpd.bench;

import static dev.sixpd.bench.Medium.B;
import static dev.sixpd.bench.Medium.C;
import static dev.sixpd.bench.Medium.NH;
import static dev.sixpd.bench.Medium.T;

import dev.sixpd.tensor.Attention;
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
 * What it measures: one call of {@link Attention#forward} and, separately, of {@link Attention#backward} (causal
 * multi-head self-attention on the fused QKV activation) at the {@code medium} model's shapes: B=8, NH=6, T=256,
 * hs=64, C=384, i.e. {@code qkv [8, 256, 1152]}, {@code att [8, 6, 256, 256]}, {@code out [8, 256, 384]}; on 1 and
 * all threads ({@code threads} param, set with {@link Parallel#setThreads}).
 *
 * <p>Per call, from the kernel's ledger formulas (only the T(T+1)/2 unmasked pairs per head are computed and
 * counted):
 * <ul>
 * <li>forward: {@link Attention#matmulFlopsForward} {@code 2·B·C·T·(T+1)} + {@link Attention#softmaxFlopsForward}
 * {@code 6·pairs + B·NH·T} = 413,712,384 FLOPs; bytes {@code 4·B·T·4C} (read qkv, write out) {@code + 4·B·NH·T²}
 * (write att) = 25,165,824; intensity 16.4 FLOP/B.</li>
 * <li>backward: {@link Attention#matmulFlopsBackward} {@code 4·B·C·T·(T+1)} + {@link Attention#softmaxFlopsBackward}
 * {@code 5·pairs} = 816,347,136 FLOPs; bytes {@code 4·B·T·10C + 12·B·NH·T²} = 69,206,016; intensity 11.8 FLOP/B.
 * </li>
 * </ul>
 * Bound: both intensities lie above the ridge of this machine, so both are compute-bound: compare with the
 * measured peak. (Ridge = measured FMA peak ÷ triad bandwidth; measured here, noisy, on a shared machine: about
 * 95 GFLOP/s ÷ 24 GB/s ≈ 4 FLOP/B on one core and 190 ÷ 32 ≈ 6 on two; the other kernel benchmarks refer to these
 * figures.)
 *
 * <p>Dead-code elimination: the kernels write into arrays held by this {@link State} object (heap memory that
 * escapes, which the JIT must keep), and each call hands an element of its output to a {@link Blackhole}.
 * Inputs are seeded Gaussians built in {@code @Setup} (no constant folding); the ledger is switched off so only the
 * kernel is timed. Backward accumulates into {@code dqkv} (llm.c semantics): it is zeroed before each iteration so
 * values stay bounded; {@code datt} is scratch the kernel overwrites.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh AttentionBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class AttentionBenchmark {
    /** FLOPs of one forward call (ledger). */
    public static final long FORWARD_FLOPS = Attention.matmulFlopsForward(B, T, C, NH)
            + Attention.softmaxFlopsForward(B, T, C, NH);
    /** Bytes of one forward call (ledger). */
    public static final long FORWARD_BYTES = 4L * B * T * 4 * C + 4L * B * NH * T * T;
    /** FLOPs of one backward call (ledger). */
    public static final long BACKWARD_FLOPS = Attention.matmulFlopsBackward(B, T, C, NH)
            + Attention.softmaxFlopsBackward(B, T, C, NH);
    /** Bytes of one backward call (ledger). */
    public static final long BACKWARD_BYTES = 4L * B * T * 10 * C + 12L * B * NH * T * T;

    @Param({"1", "2"})
    public int threads;

    private float[] qkv;
    private float[] att;
    private float[] out;
    private float[] dout;
    private float[] dqkv;
    private float[] datt;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        qkv = new float[B * T * 3 * C];
        att = new float[B * NH * T * T];
        out = new float[B * T * C];
        dout = new float[B * T * C];
        dqkv = new float[B * T * 3 * C];
        datt = new float[B * NH * T * T];
        rng.fillNormal(qkv, 0, 1);
        rng.fillNormal(dout, 0, 1);
        Attention.forward(out, att, qkv, B, T, C, NH); // the probabilities backward needs
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dqkv, 0f);
    }

    @Benchmark
    public void forward(Blackhole bh) {
        Attention.forward(out, att, qkv, B, T, C, NH);
        bh.consume(out[out.length - 1]);
    }

    @Benchmark
    public void backward(Blackhole bh) {
        Attention.backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
        bh.consume(dqkv[0]);
    }
}
