package dev.sixpd.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.tensor.Peak;
import dev.sixpd.tensor.Vectors;
import dev.sixpd.nn.Limits;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./sixpd bench peak}: the measured FMA peak (1 thread and all threads) beside the nominal peak, both from
 * {@link Peak} (see there for the kernel, the FLOPs/cycle table and the overrides).
 */
@Command(name = "peak", mixinStandardHelpOptions = true,
        description = {"Measured FP32 FMA peak vs nominal peak, GFLOP/s.",
            "Measures the FP32 FMA peak with the Vector API (12 independent FMA chains with distinct start",
            "values per thread) on 1 thread and on all threads, and prints it beside the nominal peak",
            "cores x GHz x FLOPs/cycle read from /proc/cpuinfo (overridable)."})
final class PeakCommand implements Callable<Integer> {
    @Option(names = "--threads", description = "thread counts to measure (default: 1 and all cores)", split = ",")
    int[] threads;

    @Option(names = "--reps", defaultValue = "7", description = "repetitions; the median is reported (default 7)")
    int reps;

    @Option(names = "--millis", defaultValue = "300", description = "ms per repetition (default 300)")
    long millis;

    @Option(names = "--ghz", description = "clock for the nominal peak, GHz (default: the highest cpu MHz of "
            + "/proc/cpuinfo)")
    Double ghz;

    @Option(names = "--flops-per-cycle", description = "FP32 FLOPs per cycle per core for the nominal peak "
            + "(default: FMA pipes x lanes x 2)")
    Integer flopsPerCycle;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() {
        int cores = Runtime.getRuntime().availableProcessors();
        int[] ts = threads != null ? threads : (cores > 1 ? new int[] {1, cores} : new int[] {1});
        Limits.atLeast("--reps", reps, 1);
        Limits.atLeast("--millis", millis, 1);
        for (int t : ts) {
            Limits.atLeast("--threads", t, 1);
        }
        Peak.Nominal cpu = Peak.nominal().withOverrides(ghz, flopsPerCycle, null);
        ObjectNode js = JsonNodeFactory.instance.objectNode().put("cpu", cpu.model()).put("isa", cpu.isa())
                .put("ghz", Report.jsonNumber(cpu.ghz())).put("flops_per_cycle", cpu.flopsPerCycle())
                .put("lanes", Vectors.LANES);
        ArrayNode results = js.putArray("results");
        if (!json) {
            System.out.println("CPU: " + describe(cpu) + "; Vector API species: " + Vectors.SPECIES);
        }
        for (int i = 0; i < ts.length; i++) {
            Peak.Measurement m = Peak.measureFma(ts[i], reps, millis / 1e3);
            double nominal = cpu.gflops(ts[i]);
            if (json) {
                results.addObject().put("threads", ts[i]).put("gflops", Report.jsonNumber(m.median()))
                        .put("gflops_min", Report.jsonNumber(m.worst())).put("gflops_max", Report.jsonNumber(m.best()))
                        .put("nominal_gflops", Report.jsonNumber(nominal));
            } else {
                System.out.printf(Locale.ROOT,
                        "peak  threads=%d  measured %.1f GFLOP/s (median of %d; min %.1f, max %.1f)  nominal %.1f"
                                + " GFLOP/s (%d x %.2f GHz x %d)  measured/nominal %.0f%%%n",
                        ts[i], m.median(), reps, m.worst(), m.best(), nominal, Math.min(ts[i], cpu.cores()),
                        cpu.ghz(), cpu.flopsPerCycle(), 100 * m.median() / nominal);
            }
        }
        if (json) {
            System.out.println(js);
        }
        return 0;
    }

    /** E.g. {@code AMD EPYC, 2 cores, 2.60 GHz, avx2+fma: 2 pipes × 8 lanes × 2 = 32 FP32 FLOPs/cycle/core}. */
    static String describe(Peak.Nominal c) {
        return String.format(Locale.ROOT, "%s, %d cores, %.2f GHz, %s = %d FP32 FLOPs/cycle/core", c.model(),
                c.cores(), c.ghz(), c.perCycle(), c.flopsPerCycle());
    }
}
