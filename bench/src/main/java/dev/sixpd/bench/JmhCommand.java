package dev.sixpd.bench;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Hands its arguments to JMH's own command line ({@code org.openjdk.jmh.Main}), for people who know JMH. */
@Command(name = "jmh", mixinStandardHelpOptions = false,
        description = {"JMH's own command line (all JMH options).",
            "Runs JMH's own runner with the given arguments, e.g.",
            "  ./sixpd bench jmh GemmBenchmark -p shape=square1024:1024:1024:1024:N:N -p threads=1",
            "  ./sixpd bench jmh -l      (list benchmarks)      ./sixpd bench jmh -h   (JMH's options)"})
final class JmhCommand implements java.util.concurrent.Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "JMH_ARGS", description = "arguments for org.openjdk.jmh.Main")
    List<String> args = List.of();

    @Override
    public Integer call() throws Exception {
        return run(args.toArray(new String[0]));
    }

    /** Runs JMH's command line; BenchMain calls this directly so that picocli never sees JMH's options. */
    static int run(String[] jmhArgs) {
        try {
            org.openjdk.jmh.Main.main(jmhArgs);
            return 0;
        } catch (Exception e) {
            System.err.println("sixpd bench jmh: " + e);
            return 1;
        }
    }
}
