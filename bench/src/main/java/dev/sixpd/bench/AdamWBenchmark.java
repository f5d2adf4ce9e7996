package dev.sixpd.bench;

import dev.sixpd.optim.AdamW;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What it measures: one {@link AdamW#step} (GPT-2 defaults: β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1 on the
 * Linear weight matrices) over the {@code medium} model's 38 parameter tensors, 10,770,816 FP32 values in all
 * ({@link Medium#parameterShapes()}), with FP32 master weights, gradients and moments; on 1 and all threads.
 *
 * <p>Per step, from the optimizer's ledger formula: {@link AdamW#FLOPS_PER_ELEMENT} = 14 FLOPs per element plus
 * {@link AdamW#DECAY_FLOPS_PER_ELEMENT} = 2 for the 10,616,832 decayed ones = 172,025,088 FLOPs; bytes 28 per
 * element (read p, g, m, v; write p, m, v) = 301,582,848; intensity 0.57 FLOP/B.
 *
 * <p>Bound: 0.57 FLOP/B is far below the ridge (about 4 FLOP/B on 1 core, 6 on 2; see AttentionBenchmark) and the
 * 172 MB of state is far larger than any cache: memory-bound, compare its GB/s with the triad bandwidth. It can
 * beat the triad: every array AdamW writes (p, m, v) it has read first, so its real traffic is the 28 bytes the
 * ledger counts, whereas the triad's 12 counted bytes per element are 16 real ones (the cache reads each line of
 * the written array before overwriting it). A first smoke run here saw about 40 GB/s of ledger bytes on one
 * thread against a triad of about 23 GB/s (noisy, shared machine).
 *
 * <p>Dead-code elimination: the step updates weights and moments in place in arrays held by this {@link State}
 * (escaping heap memory) and an updated weight is handed to a {@link Blackhole}; weights and gradients are seeded
 * Gaussians from {@code @Setup}, the gradients stay fixed (m and v converge, the weights drift slowly, no
 * overflow or denormals); the ledger is off.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh AdamWBenchmark -p threads=1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class AdamWBenchmark {
    /** Parameters of the medium model. */
    public static final long PARAMS = Medium.parameterCount();
    /** FLOPs of one step (ledger). */
    public static final long FLOPS = PARAMS * AdamW.FLOPS_PER_ELEMENT
            + Medium.decayedParameterCount() * AdamW.DECAY_FLOPS_PER_ELEMENT;
    /** Bytes of one step (ledger). */
    public static final long BYTES = 28L * PARAMS;

    @org.openjdk.jmh.annotations.Param({"1", "2"})
    public int threads;

    private List<dev.sixpd.optim.Param> params;
    private AdamW adamw;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        Ledger.setEnabled(false);
        Rng rng = new Rng(42);
        params = new ArrayList<>();
        for (Medium.Shape s : Medium.parameterShapes()) {
            dev.sixpd.optim.Param p = new dev.sixpd.optim.Param(s.name(), s.dims());
            rng.fillNormal(p.data, 0, 0.02);
            rng.fillNormal(p.grad, 0, 0.01);
            params.add(p);
        }
        adamw = AdamW.gptDefaults();
        adamw.init(params);
    }

    @Benchmark
    public void step(Blackhole bh) {
        adamw.step(params, 3e-4f);
        bh.consume(params.get(2).data[0]);
    }
}
