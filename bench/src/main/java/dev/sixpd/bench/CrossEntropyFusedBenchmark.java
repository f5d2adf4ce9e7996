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
 * What it measures: the LM head's cross-entropy backward in place ({@link CrossEntropy#backwardInPlace}: the saved
 * probabilities become dlogits in the same array) beside the unfused zero fill + {@link CrossEntropy#backward}
 * into a second array, alone and after the forward that writes the probabilities, at two shapes:
 * {@code medium} ({@code [N, V] = [2048, 65]}, 0.53 MB per array: in L2) and GPT-2's vocabulary
 * ({@code [512, 50257]}, 103 MB per array: past every cache but this host's L3).
 * <ul>
 * <li>{@code backwardInPlace} / {@code backwardUnfused}: FLOPs {@code N·(2V + 1)} both; bytes
 * {@code 4·(2NV + N)} / {@code 4·(4NV + N)} (the fill's write counted: it is what the fusion removes, though the
 * ledger does not see it).</li>
 * <li>{@code step} / {@code stepUnfused}: forward then that backward; bytes {@code 4·(4NV + 3N)} /
 * {@code 4·(6NV + 3N)}.</li>
 * </ul>
 *
 * <p>Values: the lone backwards run with scale 1, so the in-place one, converting its own output again on every
 * call, keeps the non-target values (p·1 + 0 = p) and moves only the targets by -1 per call: no drift into
 * subnormals, which would slow the multiply and not the real kernel. The cost does not depend on the values
 * otherwise. The steps use the training scale 1/N (the forward rewrites the probabilities on every call).
 *
 * <p>Dead-code elimination: outputs go to arrays held by this {@link State} and an element of each (and the mean
 * loss) is handed to a {@link Blackhole}; logits are seeded Gaussians, targets seeded classes; the ledger is off.
 *
 * <p>Plain JMH: {@code ./sixpd bench jmh CrossEntropyFusedBenchmark -p threads=1 -p vocab=50257}; interleaved with
 * the unfused calls: {@link FusedMeasure}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class CrossEntropyFusedBenchmark {
    /** GPT-2's vocabulary. */
    static final int GPT2_VOCAB = 50257;
    /** Rows at GPT-2's vocabulary (e.g. 4 sequences of 128 tokens). */
    static final int GPT2_ROWS = 512;

    @Param({"1", "2"})
    public int threads;

    /** 65: the medium model's characters, N = 2048; 50257: GPT-2's, N = 512. */
    @Param({"65", "50257"})
    public int vocab;

    int n;
    private float[] logits;
    private float[] losses;
    private int[] targets;
    private float[] buf;       // fused: probabilities, then dlogits in place
    private float[] probs;     // unfused: probabilities
    private float[] dlogits;   // unfused: the gradient, zero-filled then accumulated

    /** Rows for {@code vocab}. */
    static int rows(int vocab) {
        return vocab == GPT2_VOCAB ? GPT2_ROWS : Medium.N;
    }

    /** Bytes of {@link #backwardUnfused}: the fill's write, then {@link CrossEntropy#bytesBackward}. */
    static long bytesBackwardUnfused(int N, int V) {
        return 4L * N * V + CrossEntropy.bytesBackward(N, V);
    }

    /** Bytes of {@link #step}: the forward, then the in-place backward. */
    static long bytesStep(int N, int V) {
        return CrossEntropy.bytesForward(N, V) + CrossEntropy.bytesBackwardInPlace(N, V);
    }

    /** Bytes of {@link #stepUnfused}: the forward, then the fill and the accumulating backward. */
    static long bytesStepUnfused(int N, int V) {
        return CrossEntropy.bytesForward(N, V) + bytesBackwardUnfused(N, V);
    }

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        n = rows(vocab);
        int N = n;
        int V = vocab;
        Rng rng = new Rng(42);
        logits = new float[N * V];
        losses = new float[N];
        targets = new int[N];
        buf = new float[N * V];
        probs = new float[N * V];
        dlogits = new float[N * V];
        rng.fillNormal(logits, 0, 2);
        for (int i = 0; i < N; i++) {
            targets[i] = rng.nextInt(V);
        }
        CrossEntropy.forward(losses, buf, logits, targets, N, V);
        CrossEntropy.forward(losses, probs, logits, targets, N, V);
    }

    @Benchmark
    public void backwardInPlace(Blackhole bh) {
        CrossEntropy.backwardInPlace(buf, targets, 1f, n, vocab);
        bh.consume(buf[buf.length - 1]);
    }

    @Benchmark
    public void backwardUnfused(Blackhole bh) {
        Arrays.fill(dlogits, 0f);
        CrossEntropy.backward(dlogits, probs, targets, 1f, n, vocab);
        bh.consume(dlogits[dlogits.length - 1]);
    }

    @Benchmark
    public void step(Blackhole bh) {
        bh.consume(CrossEntropy.forward(losses, buf, logits, targets, n, vocab));
        CrossEntropy.backwardInPlace(buf, targets, 1f / n, n, vocab);
        bh.consume(buf[buf.length - 1]);
    }

    @Benchmark
    public void stepUnfused(Blackhole bh) {
        bh.consume(CrossEntropy.forward(losses, probs, logits, targets, n, vocab));
        Arrays.fill(dlogits, 0f);
        CrossEntropy.backward(dlogits, probs, targets, 1f / n, n, vocab);
        bh.consume(dlogits[dlogits.length - 1]);
    }
}
