package dev.sixpd.bench;

import dev.sixpd.tensor.KernelProfile;
import dev.sixpd.tensor.Ledger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Where a training step's time goes ({@code ./sixpd bench step --profile}): {@link KernelProfile}'s entries of
 * {@code steps} profiled steps, as a table per kernel and site, slowest first: ms per step, % of the step,
 * GFLOP/s and GB/s from the ledger's FLOPs and bytes, % of the measured FMA peak and of the triad bandwidth.
 *
 * <p>A kernel's time runs from its ledger entry to the next kernel's (glue in between is charged to it), so the
 * kernels sum to at most the step; the remainder (before the first kernel of each step) is the last row.
 * Immutable.
 *
 * @param entries the profile of the {@code steps} steps
 * @param steps how many steps were profiled
 * @param stepMs mean wall time of a profiled step, ms
 * @param unprofiledMs median step time without profiling, ms (to show the profiler's own cost)
 * @param peakGflops measured FMA peak at the row's threads
 * @param bandwidthGBs measured triad bandwidth at the row's threads
 */
record StepProfile(String preset, int threads, List<KernelProfile.Entry> entries, int steps, double stepMs,
        double unprofiledMs, double peakGflops, double bandwidthGBs) {

    /** Sum of the kernels' time per step, ms. */
    double kernelMs() {
        return entries.stream().mapToLong(KernelProfile.Entry::nanos).sum() / 1e6 / steps;
    }

    /** Sum of the kernels' FLOPs over all profiled steps. */
    long flops() {
        return entries.stream().mapToLong(KernelProfile.Entry::flops).sum();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Profile of %s at %d thread%s: %d steps, %.1f ms/step profiled"
                + " (%.1f ms unprofiled median); peak %.1f GFLOP/s, triad bandwidth %.1f GB/s%n%n", preset, threads,
                threads == 1 ? "" : "s", steps, stepMs, unprofiledMs, peakGflops, bandwidthGBs));
        sb.append("| kernel | site | phase | kind | ms/step | % of step | GFLOP/s | GB/s | % of peak"
                + " | % of bandwidth |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        List<KernelProfile.Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(KernelProfile.Entry::nanos).reversed());
        for (KernelProfile.Entry e : sorted) {
            double s = e.nanos() / 1e9;
            double gflops = s > 0 ? e.flops() / s * 1e-9 : Double.NaN;
            double gbs = s > 0 ? e.bytes() / s * 1e-9 : Double.NaN;
            sb.append("| ").append(e.kernel).append(" | ").append(e.site.isEmpty() ? "–" : e.site)
                    .append(" | ").append(e.phase.name().toLowerCase(Locale.ROOT))
                    .append(" | ").append(kinds(e))
                    .append(" | ").append(Report.num(e.nanos() / 1e6 / steps))
                    .append(" | ").append(Report.pct(100 * e.nanos() / 1e6 / steps / stepMs))
                    .append(" | ").append(Report.num(gflops))
                    .append(" | ").append(Report.num(gbs))
                    .append(" | ").append(Report.pct(100 * gflops / peakGflops))
                    .append(" | ").append(Report.pct(100 * gbs / bandwidthGBs)).append(" |\n");
        }
        double rest = stepMs - kernelMs();
        sb.append("| (outside any kernel) | – | – | – | ").append(Report.num(rest)).append(" | ")
                .append(Report.pct(100 * rest / stepMs)).append(" | | | | |\n\n");
        sb.append("A kernel's time runs from its ledger entry to the next kernel's: glue the ledger does not see"
                + " (zeroing a gradient buffer) is charged to the kernel before it.\n");
        return sb.toString();
    }

    private static String kinds(KernelProfile.Entry e) {
        return e.kinds().stream().map(k -> k.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining("+"));
    }

    /** FLOPs of {@code phase} in the profile, for comparison with the ledger's. */
    long flops(Ledger.Phase phase) {
        return entries.stream().filter(e -> e.phase == phase).mapToLong(KernelProfile.Entry::flops).sum();
    }
}
