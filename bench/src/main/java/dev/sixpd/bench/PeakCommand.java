package dev.sixpd.bench;

import dev.sixpd.nn.Limits;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./sixpd bench peak}: measured FMA peak (1 thread and all threads) beside the nominal peak. */
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

    @Option(names = "--ghz", description = "clock for the nominal peak, GHz (default: cpu MHz of /proc/cpuinfo)")
    Double ghz;

    @Option(names = "--flops-per-cycle", description = "FP32 FLOPs per cycle per core for the nominal peak "
            + "(default: 2 FMA pipes x lanes x 2)")
    Integer flopsPerCycle;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        int[] ts = threads != null ? threads : (cores > 1 ? new int[] {1, cores} : new int[] {1});
        Limits.atLeast("--reps", reps, 1);
        Limits.atLeast("--millis", millis, 1);
        for (int t : ts) {
            Limits.atLeast("--threads", t, 1);
        }
        Peak.Cpu cpu = Peak.cpu(ghz, flopsPerCycle);
        StringBuilder js = new StringBuilder("{\"cpu\":\"" + Json.esc(cpu.model()) + "\",\"isa\":\""
                + Json.esc(cpu.isa()) + "\",\"ghz\":" + Json.num(cpu.ghz()) + ",\"flops_per_cycle\":"
                + cpu.flopsPerCycle() + ",\"lanes\":" + dev.sixpd.tensor.Vectors.LANES + ",\"results\":[");
        if (!json) {
            System.out.println("CPU: " + Peak.describe(cpu) + "; Vector API species: "
                    + dev.sixpd.tensor.Vectors.SPECIES);
        }
        for (int i = 0; i < ts.length; i++) {
            double[] g = Peak.measure(ts[i], reps, millis);
            double nominal = cpu.nominalGflops(ts[i]);
            if (json) {
                js.append(i > 0 ? "," : "").append("{\"threads\":").append(ts[i]).append(",\"gflops\":")
                        .append(Json.num(g[0])).append(",\"gflops_min\":").append(Json.num(g[1]))
                        .append(",\"gflops_max\":").append(Json.num(g[2])).append(",\"nominal_gflops\":")
                        .append(Json.num(nominal)).append('}');
            } else {
                System.out.printf(Locale.ROOT,
                        "peak  threads=%d  measured %.1f GFLOP/s (median of %d; min %.1f, max %.1f)  nominal %.1f"
                                + " GFLOP/s (%d x %.2f GHz x %d)  measured/nominal %.0f%%%n",
                        ts[i], g[0], reps, g[1], g[2], nominal, ts[i], cpu.ghz(), cpu.flopsPerCycle(),
                        100 * g[0] / nominal);
            }
        }
        if (json) {
            System.out.println(js.append("]}"));
        }
        return 0;
    }
}
