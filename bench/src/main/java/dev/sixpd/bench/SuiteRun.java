package dev.sixpd.bench;

import dev.sixpd.bench.KernelSuite.Family;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The JMH kernel suite as the command line runs it: one progress line per benchmark, then the Markdown table,
 * optionally the JSON ({@code --json [FILE]}) and the PNG roofline ({@code --chart FILE}). Shared by
 * {@code ./sixpd bench} (every family) and the family subcommands ({@code ./sixpd bench attention}, ...).
 * Not thread-safe (one JMH run at a time).
 */
final class SuiteRun {
    /** Where {@code ./sixpd bench} writes its chart unless told otherwise. */
    static final String DEFAULT_CHART = "out/bench/roofline.png";
    /** The {@code --json} value meaning "standard output". */
    static final String STDOUT = "-";

    private SuiteRun() {
    }

    /**
     * Runs {@code families} quick or full on {@code threads} (null: 1 and all cores); prints the table; writes
     * {@code json} ({@value #STDOUT}: print it, null: no JSON) and {@code chart} (null: no chart). Returns the exit
     * code.
     */
    static int run(boolean full, Set<Family> families, int[] threads, String json, Path chart)
            throws RunnerException, IOException {
        boolean jsonToStdout = STDOUT.equals(json);
        // the JSON alone goes to stdout when asked for there; the human text then goes to stderr
        PrintStream human = jsonToStdout ? System.err : System.out;
        int[] ts = KernelSuite.threadCounts(threads);
        human.printf(Locale.ROOT, "sixpd bench: %s suite, families %s, threads %s; then the ceilings (FMA peak, triad"
                + " bandwidth). Load average now %s: other load skews every figure.%n", full ? "full" : "quick",
                names(families), java.util.Arrays.toString(ts), StepCommand.loadAverage());
        long t0 = System.nanoTime();
        Report r = KernelSuite.run(full, families, VerboseMode.NORMAL, new ProgressFormat(human), ts);
        human.println();
        human.print(r.markdown());
        if (json != null) {
            if (jsonToStdout) {
                System.out.println(r.json());
            } else {
                write(Path.of(json), r.json() + "\n");
                human.println("JSON: " + json);
            }
        }
        if (chart != null) {
            r.writeChart(chart);
            human.println("roofline chart: " + chart);
        }
        human.printf(Locale.ROOT, "took %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    static String names(Set<Family> families) {
        StringBuilder sb = new StringBuilder();
        for (Family f : families) {
            sb.append(sb.length() > 0 ? "," : "").append(f.command());
        }
        return sb.toString();
    }

    static void write(Path file, String text) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, text);
    }
}
