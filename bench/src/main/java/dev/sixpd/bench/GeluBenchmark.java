package dev.sixpd.bench;

import dev.sixpd.tensor.Gelu;
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
 * What it measures: one call of {@link Gelu#forward} and of {@link Gelu#backward} (GPT-2's tanh GELU, computed as
 * {@code x·sigmoid(2u)} with one exp) over
 * the {@code medium} model's MLP hidden activation, {@code [B·T, 4C] = 2048 × 1536} = 3,145,728 elements, on 1 and
 * all threads.
 *
 * <p>Per call, from the kernel's ledger formulas:
 * <ul>
 * <li>forward: {@link Gelu#flopsForward} {@code 8n} = 25,165,824 FLOPs; bytes {@code 8n} (read inp, write out)
 * = 25,165,824; intensity 1.0 FLOP/B.</li>
 * <li>backward: {@link Gelu#flopsBackward} {@code 17n} = 53,477,376 FLOPs; bytes {@code 16n} (read inp and dout,
 * read and write dinp) = 50,331,648; intensity 1.06 FLOP/B.</li>
 * </ul>
 * Bound: about 1 FLOP/B is below the ridge (about 4 FLOP/B on 1 core, 6 on 2; see AttentionBenchmark), so the
 * roofline calls it memory-bound. The ledger counts exp and the division as 1 FLOP each while a vector exp costs
 * a dozen or more instructions, so on one core GELU may well be limited by that instruction count instead: then
 * its "% of bound" stays well below 100% and the gap is the transcendental's cost. Each array is 12.6 MB.
 *
 * <p>Dead-code elimination: outputs go to arrays held by this {@link State} (escaping heap memory) and an element
 * of each is handed to a {@link Blackhole}; inputs are seeded Gaussians from {@code @Setup}; the ledger is off.
 * Backward accumulates into {@code dinp} (llm.c semantics), zeroed before each iteration.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh GeluBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class GeluBenchmark {
    /** Elements: the MLP hidden activation {@code [B·T, 4C]}. */
    public static final int SIZE = Medium.N * 4 * Medium.C;
    /** FLOPs of one forward call (ledger). */
    public static final long FORWARD_FLOPS = Gelu.flopsForward(SIZE);
    /** Bytes of one forward call (ledger). */
    public static final long FORWARD_BYTES = 8L * SIZE;
    /** FLOPs of one backward call (ledger). */
    public static final long BACKWARD_FLOPS = Gelu.flopsBackward(SIZE);
    /** Bytes of one backward call (ledger). */
    public static final long BACKWARD_BYTES = 16L * SIZE;

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
        inp = new float[SIZE];
        out = new float[SIZE];
        dout = new float[SIZE];
        dinp = new float[SIZE];
        rng.fillNormal(inp, 0, 1.5);
        rng.fillNormal(dout, 0, 1);
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dinp, 0f);
    }

    @Benchmark
    public void forward(Blackhole bh) {
        Gelu.forward(out, inp, SIZE);
        bh.consume(out[SIZE - 1]);
    }

    @Benchmark
    public void backward(Blackhole bh) {
        Gelu.backward(dinp, inp, dout, SIZE);
        bh.consume(dinp[SIZE - 1]);
    }
}
