package dev.sixpd.bench;

import dev.sixpd.bench.KernelSuite.Family;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./sixpd bench <family>}: one kernel family's JMH benchmarks (quick by default), as a table against the
 * measured peak and bandwidth. One instance per family, registered by {@link BenchMain#commandLine()}.
 */
@Command(mixinStandardHelpOptions = true)
final class FamilyCommand implements Callable<Integer> {
    private final Family family;

    @Option(names = "--threads", split = ",", paramLabel = "N[,N...]",
            description = "thread counts (default: 1 and all cores), e.g. --threads 1 or --threads 1,2")
    int[] threads;

    @Option(names = "--full", description = "3 warm-up and 5 measured iterations of 1 s (quick: 2 + 3 of 0.5 s)")
    boolean full;

    @Option(names = "--json", arity = "0..1", fallbackValue = SuiteRun.STDOUT, paramLabel = "FILE",
            description = "write the results as JSON to FILE (no FILE: print only the JSON on stdout)")
    String json;

    @Option(names = "--chart", paramLabel = "FILE", description = "write the PNG roofline chart to FILE")
    Path chart;

    FamilyCommand(Family family) {
        this.family = family;
    }

    /** The subcommand for {@code family}, with its name and a description of what it measures. */
    static CommandLine commandLine(Family family) {
        CommandLine cl = new CommandLine(new FamilyCommand(family));
        cl.getCommandSpec().usageMessage().description(description(family));
        return cl;
    }

    static String[] description(Family f) {
        String shapes = "At the medium model's shapes (B 8, T 256, C 384, NH 6, V 65); JMH, 1 fork, quick by default.";
        String what = switch (f) {
            case GEMM -> "sixpd's GEMM and OpenBLAS in JMH (the direct side-by-side is `bench gemm`).";
            case ATTENTION -> "Causal multi-head attention forward and backward (compute-bound).";
            case SOFTMAX -> "Row softmax with causal mask, forward and backward (memory-bound).";
            case LAYERNORM -> "LayerNorm forward and backward (memory-bound).";
            case GELU -> "GELU (tanh form) forward and backward (memory-bound).";
            case CROSSENTROPY -> "Log-softmax + cross-entropy forward and backward over the logits (memory-bound).";
            case ADAMW -> "One AdamW update over the medium model's 10.8 M parameters (memory-bound).";
            case FUSED -> "Fused bias + GELU (forward, backward) and residual add + LayerNorm beside the unfused"
                    + " calls they replace (memory-bound).";
            case HALF -> "FP32 <-> BF16/FP16 bulk conversion of 10.8 M values (memory-bound, single-threaded).";
            case STEP -> "One training step of the tiny and medium presets (JMH).";
        };
        return new String[] {what, shapes, "Prints calls/s ± JMH's error, GFLOP/s, GB/s, %% of the measured and"
            + " nominal peak, the bound and the distance to it.",
            "Plain JMH: ./sixpd bench jmh " + f.benchmark + " -p threads=1"};
    }

    @Override
    public Integer call() throws Exception {
        return SuiteRun.run(full, EnumSet.of(family), threads, json, chart);
    }
}
