package dev.sixpd.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ./sixpd bench ...}: measures sixpd's kernels against the machine's peak and against OpenBLAS.
 * One subcommand per kernel family; each prints a human line or, with {@code --json}, one JSON object.
 */
@Command(name = "sixpd bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks sixpd's kernels against the measured FP32 peak and OpenBLAS, in the same run.",
            "The machine is shared: check `uptime` first, and read medians."},
        subcommands = {GemmCommand.class, PeakCommand.class, JmhCommand.class, CommandLine.HelpCommand.class})
public final class BenchMain implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // the launcher passes its own command word through: `./sixpd bench gemm` arrives as [bench, gemm]
        String[] rest = args.length > 0 && args[0].equals("bench") ? java.util.Arrays.copyOfRange(args, 1, args.length)
                : args;
        if (rest.length > 0 && rest[0].equals("jmh")) {
            // JMH parses its own options (-p, -f, -wi, ...): hand them over untouched
            System.exit(JmhCommand.run(java.util.Arrays.copyOfRange(rest, 1, rest.length)));
        }
        int code = new CommandLine(new BenchMain()).execute(rest);
        System.exit(code);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
