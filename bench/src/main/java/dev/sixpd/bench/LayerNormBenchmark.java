package dev.sixpd.bench;

import dev.sixpd.tensor.LayerNorm;
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
 * What it measures: one call of {@link LayerNorm#forward} and of {@link LayerNorm#backward} at the {@code medium}
 * model's shape {@code [N, C] = [B·T, C] = [2048, 384]}, on 1 and all threads.
 *
 * <p>Per call, from the kernel's ledger formulas:
 * <ul>
 * <li>forward: {@link LayerNorm#flopsForward} {@code N·(8C + 5)} = 6,301,696 FLOPs; bytes
 * {@code 4·(2NC + 2C + 2N)} (read inp, write out, read weight and bias, write mean and rstd) = 6,310,912;
 * intensity 1.0 FLOP/B.</li>
 * <li>backward: {@link LayerNorm#flopsBackward} {@code N·(17C + 2)} = 13,373,440 FLOPs; bytes
 * {@code 4·(3NC + 4C + 2N)} = 9,459,712; intensity 1.4 FLOP/B.</li>
 * </ul>
 * Bound: both lie below the ridge (about 4 FLOP/B on 1 core, 6 on 2; see AttentionBenchmark): memory-bound by the
 * roofline. The activations are 3.1 MB each, so they mostly live in the L3 cache between calls; the report flags a
 * kernel that beats the DRAM bandwidth.
 *
 * <p>Dead-code elimination: outputs go to arrays held by this {@link State} (escaping heap memory) and an element
 * of each is handed to a {@link Blackhole}; inputs are seeded random values from {@code @Setup}; the ledger is off.
 * Backward accumulates into {@code dinp}, {@code dweight}, {@code dbias} (llm.c semantics), zeroed before each
 * iteration.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh LayerNormBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class LayerNormBenchmark {
    /** Rows (tokens). */
    public static final int N = Medium.N;
    /** Channels. */
    public static final int C = Medium.C;
    /** FLOPs of one forward call (ledger). */
    public static final long FORWARD_FLOPS = LayerNorm.flopsForward(N, C);
    /** Bytes of one forward call (ledger). */
    public static final long FORWARD_BYTES = 4L * (2L * N * C + 2L * C + 2L * N);
    /** FLOPs of one backward call (ledger). */
    public static final long BACKWARD_FLOPS = LayerNorm.flopsBackward(N, C);
    /** Bytes of one backward call (ledger). */
    public static final long BACKWARD_BYTES = 4L * (3L * N * C + 4L * C + 2L * N);

    @Param({"1", "2"})
    public int threads;

    private float[] inp;
    private float[] out;
    private float[] weight;
    private float[] bias;
    private float[] mean;
    private float[] rstd;
    private float[] dout;
    private float[] dinp;
    private float[] dweight;
    private float[] dbias;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        inp = new float[N * C];
        out = new float[N * C];
        dout = new float[N * C];
        dinp = new float[N * C];
        weight = new float[C];
        bias = new float[C];
        dweight = new float[C];
        dbias = new float[C];
        mean = new float[N];
        rstd = new float[N];
        rng.fillNormal(inp, 0.1, 1);
        rng.fillNormal(dout, 0, 1);
        rng.fillUniform(weight, 0.5, 1.5);
        rng.fillNormal(bias, 0, 0.1);
        LayerNorm.forward(out, mean, rstd, inp, weight, bias, N, C); // the statistics backward needs
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dinp, 0f);
        Arrays.fill(dweight, 0f);
        Arrays.fill(dbias, 0f);
    }

    @Benchmark
    public void forward(Blackhole bh) {
        LayerNorm.forward(out, mean, rstd, inp, weight, bias, N, C);
        bh.consume(out[out.length - 1]);
        bh.consume(rstd[N - 1]);
    }

    @Benchmark
    public void backward(Blackhole bh) {
        LayerNorm.backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
        bh.consume(dinp[dinp.length - 1]);
        bh.consume(dweight[C - 1]);
    }
}
