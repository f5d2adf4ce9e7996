package dev.sixpd.bench;

import dev.sixpd.bench.KernelSuite.Family;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./sixpd bench ...}: measures sixpd's kernels against the machine's peak and against OpenBLAS.
 * Without a subcommand it runs the quick JMH kernel suite (every family, 1 and all threads) and prints the table;
 * one subcommand per kernel family runs just that family.
 */
@Command(name = "sixpd bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks sixpd's kernels against the measured FP32 peak and OpenBLAS, in the same run.",
            "Without a subcommand: the quick JMH kernel suite (about 2-3 minutes on 2 cores), a Markdown table",
            "(GFLOP/s or GB/s, %% of measured and nominal peak, the bound and the distance to it, JMH's error)",
            "and a PNG roofline chart. The machine may be shared: check `uptime` first.",
            "",
            "Examples:",
            "  ./sixpd bench                                  quick suite, table, out/bench/roofline.png",
            "  ./sixpd bench --full --json out/bench/k.json   whole suite (every GEMM shape), JSON too",
            "  ./sixpd bench attention --threads 1            one family",
            "  ./sixpd bench gemm --size 1024 --threads 1 --json",
            "  ./sixpd bench step --preset medium --threads 1 sixpd vs PyTorch, one training step",
            "  ./sixpd bench jmh GemmBenchmark -p threads=1   JMH's own command line (`jmh -h`: its options)",
            ""},
        subcommands = {GemmCommand.class, StepCommand.class, PeakCommand.class, JmhCommand.class,
            DataParallelCommand.class,
            CommandLine.HelpCommand.class})
public final class BenchMain implements Callable<Integer> {
    @Option(names = "--full", description = "the whole suite: every GEMM shape, 3 warm-up + 5 measured iterations"
            + " of 1 s (quick: 2 GEMM shapes, 2 + 3 iterations of 0.5 s)")
    boolean full;

    @Option(names = "--threads", split = ",", paramLabel = "N[,N...]",
            description = "thread counts (default: 1 and all cores)")
    int[] threads;

    @Option(names = "--only", split = ",", paramLabel = "FAMILY[,...]",
            description = "only these families: gemm, attention, softmax, layernorm, gelu, crossentropy, adamw, fused,"
                    + " convert, step (the JMH training step; quick: tiny only; in the default set only with --full)")
    String[] only;

    @Option(names = "--json", arity = "0..1", fallbackValue = SuiteRun.STDOUT, paramLabel = "FILE",
            description = "write the results as JSON to FILE (no FILE: print only the JSON on stdout)")
    String json;

    @Option(names = "--chart", paramLabel = "FILE", defaultValue = SuiteRun.DEFAULT_CHART,
            description = "the PNG roofline chart (default ${DEFAULT-VALUE})")
    Path chart;

    @Option(names = "--no-chart", description = "do not write the chart")
    boolean noChart;

    public static void main(String[] args) {
        // the launcher passes its own command word through: `./sixpd bench gemm` arrives as [bench, gemm]
        String[] rest = args.length > 0 && args[0].equals("bench") ? java.util.Arrays.copyOfRange(args, 1, args.length)
                : args;
        if (rest.length > 0 && rest[0].equals("jmh")) {
            // JMH parses its own options (-p, -f, -wi, ...): hand them over untouched
            System.exit(JmhCommand.run(java.util.Arrays.copyOfRange(rest, 1, rest.length)));
        }
        System.exit(commandLine().execute(rest));
    }

    /** The command line with every subcommand, the kernel families' included. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new BenchMain());
        cl.setAllowSubcommandsAsOptionParameters(true); // `--only gemm,step` names families, not subcommands
        cl.setUsageHelpWidth(120); // the descriptions hold command lines; wrapping them at 80 breaks them up
        // a wrong argument value (unknown preset, family, baseline) is the user's to fix: its message, no trace
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof dev.sixpd.nn.UserException) {
                line.getErr().println("sixpd bench: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        for (Family f : Family.values()) {
            // `gemm` and `step` are the direct side-by-side commands; `--only gemm,step` runs their JMH benchmarks
            if (f != Family.GEMM && f != Family.STEP) {
                cl.addSubcommand(f.command(), FamilyCommand.commandLine(f));
            }
        }
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        Set<Family> families = EnumSet.allOf(Family.class);
        if (!full) {
            families.remove(Family.STEP); // a training step is seconds per call: --full or --only step
        }
        if (only != null) {
            families = EnumSet.noneOf(Family.class);
            for (String s : only) {
                families.add(Family.parse(s));
            }
        }
        return SuiteRun.run(full, families, threads, json, noChart ? null : chart);
    }
}
