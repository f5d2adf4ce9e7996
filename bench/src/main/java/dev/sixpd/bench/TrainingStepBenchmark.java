package dev.sixpd.bench;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What it measures: one full FP32 training step ({@link TrainingStep}: zero gradients, forward + cross-entropy,
 * backward, AdamW) of the {@code tiny} preset (batch 16 × 64 tokens) and of the default {@code medium} model (batch
 * 8 × 256 tokens), on 1 and 2 threads. The primary result is steps/s; the secondary ones ({@link AuxCounters} rates)
 * read as tokens/s ({@code tokens}), model GFLOP/s ({@code modelGflop}, the ledger's forward + backward FLOPs of one
 * step, counted once in setup) and ledger GB/s ({@code modelGbyte}). MFU = modelGflop ÷ the measured peak
 * ({@code ./sixpd bench peak}); {@code ./sixpd bench step} prints it directly, beside PyTorch.
 *
 * <p>Pitfalls avoided: dead-code elimination — the step updates the weights held by the {@link State} object (heap
 * that escapes) and returns the loss, which JMH consumes; constant folding — the tokens are seeded random arrays from
 * setup; warm-up — a medium step takes seconds on one core, so iterations are several seconds long and 3 warm-up
 * iterations precede the 5 measured ones. The ledger is switched off while timing (one step in setup counts it).
 * Repeating the step on one batch keeps training the model on it; the work per step does not depend on the values.
 *
 * <p>Run: {@code ./sixpd bench jmh TrainingStepBenchmark -p preset=tiny -p threads=1}, or
 * {@code ./sixpd bench --only step} for the table.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class TrainingStepBenchmark {
    @Param({"tiny", "medium"})
    public String preset;

    @Param({"1", "2"})
    public int threads;

    TrainingStep step;
    /** Ledger counts of one step: {model FLOPs, optimizer FLOPs, model bytes}. */
    long[] ledger;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        step = new TrainingStep(preset);
        ledger = step.ledgerFlopsOfOneStep();
        Ledger.setEnabled(false);
    }

    /** Counts tokens, model GFLOPs and GB per step; JMH divides by the time, so they read as rates. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counts {
        public double tokens;
        public double modelGflop;
        public double modelGbyte;

        @Setup(Level.Iteration)
        public void reset() {
            tokens = 0;
            modelGflop = 0;
            modelGbyte = 0;
        }
    }

    @Benchmark
    public double step(Counts c) {
        c.tokens += step.tokens();
        c.modelGflop += ledger[0] * 1e-9;
        c.modelGbyte += ledger[2] * 1e-9;
        return step.step();
    }
}
