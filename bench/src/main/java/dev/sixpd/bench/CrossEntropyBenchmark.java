package dev.sixpd.bench;

import dev.sixpd.tensor.CrossEntropy;
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
 * What it measures: one {@link CrossEntropy#forward} (softmax over the vocabulary, per-row losses, mean loss)
 * followed by one {@link CrossEntropy#backward} ({@code dlogits += (probs - onehot)/N}), at the {@code medium}
 * model's logits {@code [N, V] = [B·T, 65] = [2048, 65]}, on 1 and all threads.
 *
 * <p>Per call (forward + backward), from the kernel's ledger formulas: FLOPs {@link CrossEntropy#flopsForward}
 * {@code N·(5V + 5) + 1} + {@link CrossEntropy#flopsBackward} {@code N·(2V + 1)} = 944,129; bytes
 * {@code 4·(2NV + 2N)} + {@code 4·(3NV + N)} = 2,686,976; intensity 0.35 FLOP/B.
 *
 * <p>Bound: 0.35 FLOP/B is far below the ridge (about 4 FLOP/B on 1 core, 6 on 2; see AttentionBenchmark):
 * memory-bound by the roofline. The arrays are about 0.5 MB each and stay in the caches, so it can beat the DRAM
 * bandwidth; with rows of only 65 logits (8 vectors of 8 lanes plus a tail of 1) and one exp per logit, per-row
 * overhead and exp cost are the likelier limits. Threads split 2048 short rows: expect little gain from a second.
 *
 * <p>Dead-code elimination: the mean loss is handed to a {@link Blackhole}, and the outputs go to arrays held by
 * this {@link State} (escaping heap memory); logits are seeded Gaussians and targets seeded uniform classes from
 * {@code @Setup}; the ledger is off. Backward accumulates into {@code dlogits} (llm.c semantics), zeroed before each
 * iteration.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh CrossEntropyBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class CrossEntropyBenchmark {
    /** Rows (tokens). */
    public static final int N = Medium.N;
    /** Vocabulary. */
    public static final int V = Medium.V;
    /** FLOPs of one forward + backward (ledger). */
    public static final long FLOPS = CrossEntropy.flopsForward(N, V) + CrossEntropy.flopsBackward(N, V);
    /** Bytes of one forward + backward (ledger). */
    public static final long BYTES = 4L * (2L * N * V + 2L * N) + 4L * (3L * N * V + N);

    @Param({"1", "2"})
    public int threads;

    private float[] logits;
    private float[] probs;
    private float[] losses;
    private float[] dlogits;
    private int[] targets;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        logits = new float[N * V];
        probs = new float[N * V];
        dlogits = new float[N * V];
        losses = new float[N];
        targets = new int[N];
        rng.fillNormal(logits, 0, 2);
        for (int i = 0; i < N; i++) {
            targets[i] = rng.nextInt(V);
        }
    }

    @Setup(Level.Iteration)
    public void zeroGradients() {
        Arrays.fill(dlogits, 0f);
    }

    @Benchmark
    public void forwardBackward(Blackhole bh) {
        double loss = CrossEntropy.forward(losses, probs, logits, targets, N, V);
        CrossEntropy.backward(dlogits, probs, targets, 1f / N, N, V);
        bh.consume(loss);
        bh.consume(dlogits[dlogits.length - 1]);
    }
}
