package dev.sixpd.bench;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import dev.sixpd.tensor.Softmax;
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
 * What it measures: one call of the standalone row softmax {@link Softmax#forward} (causal) and of
 * {@link Softmax#backward}, at the shape of the {@code medium} model's attention scores: {@code [B·NH·T, T] =
 * [12288, 256]} with the causal mask (row r keeps its first {@code r mod T + 1} entries), on 1 and all threads.
 *
 * <p>Per call, from the kernel's ledger formulas:
 * <ul>
 * <li>forward: {@link Softmax#flopsForward} {@code 5·active + rows} = 7,907,328 FLOPs (active = the 1,579,008
 * unmasked entries); bytes {@code 8·rows·cols} (read the scores, write the probabilities) = 25,165,824; intensity
 * 0.31 FLOP/B.</li>
 * <li>backward: {@link Softmax#flopsBackward} {@code 5·rows·cols} = 15,728,640 FLOPs; bytes {@code 16·rows·cols}
 * (read out and dout, read and write dinp) = 50,331,648; intensity 0.31 FLOP/B.</li>
 * </ul>
 * Bound: 0.31 FLOP/B is far below the ridge (about 4 FLOP/B on 1 core, 6 on 2; see AttentionBenchmark), so both
 * are memory-bound: compare the GB/s with the measured streaming bandwidth. (The ledger counts exp as one FLOP;
 * its real cost is a dozen vector instructions, so the forward may be limited by exp throughput on one core
 * before the bandwidth: the report's "% of bound" shows how far it is.) Each array is 12.6 MB, larger than the L2
 * caches, around the size of an L3.
 *
 * <p>Dead-code elimination: outputs go to arrays held by this {@link State} (escaping heap memory) and an element
 * of each is handed to a {@link Blackhole}; inputs are seeded Gaussians from {@code @Setup}; the ledger is off.
 * Backward accumulates into {@code dinp} (llm.c semantics), zeroed before each iteration.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh SoftmaxBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class SoftmaxBenchmark {
    /** Rows: one per (batch, head, query position). */
    public static final int ROWS = Medium.B * Medium.NH * Medium.T;
    /** Columns: key positions. */
    public static final int COLS = Medium.T;
    /** FLOPs of one forward call (ledger). */
    public static final long FORWARD_FLOPS = Softmax.flopsForward(ROWS, COLS, true);
    /** Bytes of one forward call (ledger). */
    public static final long FORWARD_BYTES = 8L * ROWS * COLS;
    /** FLOPs of one backward call (ledger). */
    public static final long BACKWARD_FLOPS = Softmax.flopsBackward(ROWS, COLS);
    /** Bytes of one backward call (ledger). */
    public static final long BACKWARD_BYTES = 16L * ROWS * COLS;

    @Param({"1", "2"})
    public int threads;

    private float[] inp;
    private float[] out;
    private float[] dout;
    private float[] dinp;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        inp = new float[ROWS * COLS];
        out = new float[ROWS * COLS];
        dout = new float[ROWS * COLS];
        dinp = new float[ROWS * COLS];
        rng.fillNormal(inp, 0, 1);
        rng.fillNormal(dout, 0, 1);
        Softmax.forward(out, inp, ROWS, COLS, true); // the probabilities backward needs
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dinp, 0f);
    }

    @Benchmark
    public void forward(Blackhole bh) {
        Softmax.forward(out, inp, ROWS, COLS, true);
        bh.consume(out[out.length - 1]);
    }

    @Benchmark
    public void backward(Blackhole bh) {
        Softmax.backward(dinp, out, dout, ROWS, COLS);
        bh.consume(dinp[dinp.length - 1]);
    }
}
