package dev.sixpd.bench;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.Locale;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.format.OutputFormat;

/**
 * A quiet JMH output: one line per finished benchmark ({@code [3] attention.forward threads=1: 10.2 ± 0.3 ops/s,
 * 3.4 s}) instead of JMH's page per iteration, so {@code ./sixpd bench} shows progress without burying the table.
 *
 * <p>JMH's other text (headers, the forked JVM's output) is kept in a ring of the last {@value #KEEP} lines and
 * printed only when a line looks like a failure, so an error in a fork is still seen with its context.
 * Used by one JMH run at a time (JMH calls it from its runner thread); not thread-safe.
 */
final class ProgressFormat implements OutputFormat {
    /** Lines of JMH's own output kept for an error report. */
    static final int KEEP = 40;

    private final PrintStream out;
    private final Deque<String> recent = new ArrayDeque<>();
    private final StringBuilder partial = new StringBuilder();
    private int started;
    private long t0;

    ProgressFormat(PrintStream out) {
        this.out = out;
    }

    /** The short name a result row uses: {@code attention.forward}, plus the non-thread parameters. */
    static String label(BenchmarkParams p) {
        String full = p.getBenchmark();
        int dot = full.lastIndexOf('.');
        String cls = full.substring(full.lastIndexOf('.', dot - 1) + 1, dot).replace("Benchmark", "");
        StringBuilder sb = new StringBuilder(cls.toLowerCase(Locale.ROOT)).append('.').append(full.substring(dot + 1));
        for (String k : p.getParamsKeys()) {
            String v = p.getParam(k);
            sb.append(' ').append(k).append('=').append(k.equals("shape") ? v.split(":")[0] : v);
        }
        return sb.toString();
    }

    @Override
    public void startBenchmark(BenchmarkParams p) {
        started++;
        t0 = System.nanoTime();
        out.printf(Locale.ROOT, "[%d] %s ...", started, label(p));
        out.flush();
    }

    @Override
    public void endBenchmark(BenchmarkResult r) {
        if (r == null) {
            out.println(" no result");
            return;
        }
        Result<?> pr = r.getPrimaryResult();
        out.printf(Locale.ROOT, " %s ± %s %s  (%.1f s)%n", Report.num(pr.getScore()), Report.num(pr.getScoreError()),
                pr.getScoreUnit(), (System.nanoTime() - t0) / 1e9);
    }

    @Override
    public void iteration(BenchmarkParams benchParams, IterationParams params, int iteration) {
    }

    @Override
    public void iterationResult(BenchmarkParams benchParams, IterationParams params, int iteration,
            IterationResult data) {
    }

    @Override
    public void startRun() {
    }

    @Override
    public void endRun(Collection<RunResult> result) {
    }

    @Override
    public void print(String s) {
        partial.append(s);
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            keep(partial.substring(0, nl));
            partial.delete(0, nl + 1);
        }
    }

    @Override
    public void println(String s) {
        print(s + "\n");
    }

    @Override
    public void verbosePrintln(String s) {
    }

    @Override
    public void flush() {
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }

    @Override
    public void write(int b) {
        print(String.valueOf((char) b));
    }

    @Override
    public void write(byte[] b) {
        print(new String(b, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Remembers a line; a failure line prints the remembered context. */
    private void keep(String line) {
        recent.addLast(line);
        if (recent.size() > KEEP) {
            recent.removeFirst();
        }
        if (looksLikeFailure(line)) {
            out.println();
            out.println("---- JMH output (last " + recent.size() + " lines) ----");
            for (String l : recent) {
                out.println(l);
            }
            recent.clear();
        }
    }

    /** JMH marks failed benchmarks with {@code <failure>}; forks print exceptions and fatal errors. */
    static boolean looksLikeFailure(String line) {
        return line.contains("<failure>") || line.contains("Exception") || line.contains("ERROR")
                || line.contains("Error:") || line.contains("not found");
    }
}
