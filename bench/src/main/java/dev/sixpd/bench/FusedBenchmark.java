package dev.sixpd.bench;

import dev.sixpd.tensor.BiasGelu;
import dev.sixpd.tensor.Elementwise;
import dev.sixpd.tensor.Gelu;
import dev.sixpd.tensor.LayerNorm;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Reduce;
import dev.sixpd.tensor.Rng;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * What it measures: the fused memory-bound kernels beside the unfused calls they replace, in one JVM, at the
 * {@code medium} model's shapes ({@code N = B·T = 2048}, {@code C = 384}, {@code H = 4C = 1536}), 1 and all
 * threads:
 * <ul>
 * <li>{@code biasGelu} / {@code biasGeluUnfused}: {@link BiasGelu#forward} vs {@link Elementwise#addBias} then
 * {@link Gelu#forward}. FLOPs {@code 9NH} = 28,311,552 both; bytes fused {@code 4·(3NH + H)} = 37,754,880,
 * unfused {@code 4·(4NH + H)} = 50,337,792.</li>
 * <li>{@code biasGeluBackward} / {@code biasGeluBackwardUnfused}: {@link BiasGelu#backward} vs a zero fill,
 * {@link Gelu#backward} and {@link Reduce#sumRows}. FLOPs {@code 18NH} = 56,623,104 both; bytes fused
 * {@code 4·(3NH + 2H)} = 37,761,024, unfused {@code 4·(6NH + 2H)} = 75,509,760 (the fill's write counted: it is
 * what the fusion removes, though the ledger does not see it).</li>
 * <li>{@code residualLayerNorm} / {@code residualLayerNormUnfused}: {@link LayerNorm#forwardResidual} vs
 * {@link Elementwise#accumulate} then {@link LayerNorm#forward}. FLOPs {@code N·(9C + 5)} = 7,088,128 both; bytes
 * fused {@code 4·(4NC + 2C + 2N)} = 12,602,368, unfused {@code 4·(5NC + 2C + 2N)} = 15,748,096.</li>
 * </ul>
 * The report's GB/s use each method's own bytes; calls/s compare the two directly. The MLP arrays are 12.6 MB (past
 * L2, partly in L3), the LayerNorm's 3.1 MB (in L3).
 *
 * <p>Dead-code elimination: outputs go to arrays held by this {@link State} and an element of each is handed to a
 * {@link Blackhole}; inputs are seeded random values; the ledger is off. The forwards add their bias or residual
 * into their input on every call: the bias is zero and the residual 1e-3 in size so the values stay in range (the
 * kernels' cost does not depend on the values). The backwards overwrite dh and accumulate db (no reset needed).
 *
 * <p>Plain JMH: {@code ./sixpd bench jmh FusedBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class FusedBenchmark {
    static final int N = Medium.N;
    static final int C = Medium.C;
    static final int H = 4 * Medium.C;
    /** FLOPs of a bias + GELU forward, fused or not (ledger). */
    public static final long BIAS_GELU_FLOPS = BiasGelu.flopsForward(N, H);
    public static final long BIAS_GELU_BYTES = BiasGelu.bytesForward(N, H);
    public static final long BIAS_GELU_UNFUSED_BYTES = 4L * (4L * N * H + H);
    public static final long BIAS_GELU_BACKWARD_FLOPS = BiasGelu.flopsBackward(N, H);
    public static final long BIAS_GELU_BACKWARD_BYTES = BiasGelu.bytesBackward(N, H);
    public static final long BIAS_GELU_BACKWARD_UNFUSED_BYTES = 4L * (6L * N * H + 2L * H);
    public static final long RESIDUAL_NORM_FLOPS = (long) N * C + LayerNorm.flopsForward(N, C);
    public static final long RESIDUAL_NORM_BYTES = 4L * (4L * N * C + 2L * C + 2L * N);
    public static final long RESIDUAL_NORM_UNFUSED_BYTES = 4L * (5L * N * C + 2L * C + 2L * N);

    @Param({"1", "2"})
    public int threads;

    private float[] h;
    private float[] hGelu;
    private float[] bias;
    private float[] dout;
    private float[] dh;
    private float[] dbias;
    private float[] res;
    private float[] x;
    private float[] out;
    private float[] gain;
    private float[] shift;
    private float[] mean;
    private float[] rstd;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        h = new float[N * H];
        hGelu = new float[N * H];
        bias = new float[H];
        dout = new float[N * H];
        dh = new float[N * H];
        dbias = new float[H];
        rng.fillNormal(h, 0, 1.5);
        rng.fillNormal(dout, 0, 1);
        res = new float[N * C];
        x = new float[N * C];
        out = new float[N * C];
        gain = new float[C];
        shift = new float[C];
        mean = new float[N];
        rstd = new float[N];
        rng.fillNormal(res, 0, 1);
        rng.fillNormal(x, 0, 1e-3);
        rng.fillNormal(gain, 1, 0.1);
        rng.fillNormal(shift, 0, 0.1);
    }

    @Benchmark
    public void biasGelu(Blackhole bh) {
        BiasGelu.forward(h, hGelu, bias, N, H);
        bh.consume(hGelu[N * H - 1]);
    }

    @Benchmark
    public void biasGeluUnfused(Blackhole bh) {
        Elementwise.addBias(h, bias, N, H);
        Gelu.forward(hGelu, h, N * H);
        bh.consume(hGelu[N * H - 1]);
    }

    @Benchmark
    public void biasGeluBackward(Blackhole bh) {
        BiasGelu.backward(dh, dbias, h, dout, N, H);
        bh.consume(dh[N * H - 1]);
        bh.consume(dbias[H - 1]);
    }

    @Benchmark
    public void biasGeluBackwardUnfused(Blackhole bh) {
        Arrays.fill(dh, 0f);
        Gelu.backward(dh, h, dout, N * H);
        Reduce.sumRows(dbias, dh, N, H);
        bh.consume(dh[N * H - 1]);
        bh.consume(dbias[H - 1]);
    }

    @Benchmark
    public void residualLayerNorm(Blackhole bh) {
        LayerNorm.forwardResidual(out, mean, rstd, res, x, gain, shift, N, C);
        bh.consume(out[N * C - 1]);
    }

    @Benchmark
    public void residualLayerNormUnfused(Blackhole bh) {
        Elementwise.accumulate(res, x, N * C);
        LayerNorm.forward(out, mean, rstd, res, gain, shift, N, C);
        bh.consume(out[N * C - 1]);
    }
}
