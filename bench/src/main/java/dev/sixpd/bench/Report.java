package dev.sixpd.bench;

import dev.sixpd.bench.Roofline.Bound;
import dev.sixpd.bench.Roofline.Ceiling;
import dev.sixpd.bench.Roofline.Point;
import dev.sixpd.bench.Roofline.Result;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A benchmark report: measured kernels ({@link Result}) against the machine's ceilings ({@link Ceiling}, one per
 * thread count), as a Markdown table ({@link #markdown()}), JSON ({@link #json()}) and a PNG roofline chart
 * ({@link #writeChart(Path)}).
 *
 * <p>Each row: calls/s with JMH's error, achieved GFLOP/s and GB/s (FLOPs and bytes per call from the kernel's
 * ledger formulas), arithmetic intensity, % of the measured and of the nominal FP32 peak for the row's thread count,
 * what bounds it (compute or memory, {@link Roofline}) and how close it gets to that bound.
 *
 * <p>Typical use: {@code Report r = KernelSuite.run(false, 1, 2); System.out.print(r.markdown());
 * r.writeChart(Path.of("roofline.png"));}. Immutable; thread-safe.
 */
public final class Report {
    static {
        // the chart is drawn off-screen; also works on machines without a display
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private final List<Result> results;
    private final List<Ceiling> ceilings;

    /** A report of {@code results} against {@code ceilings} (at least one ceiling). */
    public Report(List<Result> results, List<Ceiling> ceilings) {
        if (ceilings.isEmpty()) {
            throw new IllegalArgumentException("a report needs at least one ceiling (measured peak and bandwidth)");
        }
        this.results = List.copyOf(results);
        this.ceilings = List.copyOf(ceilings);
    }

    public List<Result> results() {
        return results;
    }

    public List<Ceiling> ceilings() {
        return ceilings;
    }

    /** Every result placed against the ceiling of its thread count, in the order given. */
    public List<Point> points() {
        List<Point> ps = new ArrayList<>(results.size());
        for (Result r : results) {
            ps.add(Roofline.place(r, Roofline.ceilingFor(r.threads(), ceilings)));
        }
        return ps;
    }

    // ---------------------------------------------------------------------------------------------- Markdown

    /** The ceilings as a bullet list, then one table row per result. */
    public String markdown() {
        StringBuilder sb = new StringBuilder();
        for (Ceiling c : ceilings) {
            sb.append(String.format(Locale.ROOT, "- %d thread%s: measured peak %s GFLOP/s, nominal peak %s GFLOP/s,"
                    + " bandwidth %s GB/s, ridge %s FLOP/B%n", c.threads(), c.threads() == 1 ? "" : "s",
                    num(c.peakGflops()), num(c.nominalGflops()), num(c.bandwidthGBs()), num(c.ridge())));
        }
        sb.append('\n');
        sb.append("| kernel | threads | calls/s | GFLOP/s | GB/s | FLOP/B | % peak | % nominal | bound"
                + " | % of bound |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
        boolean aboveRoof = false;
        boolean abovePeak = false;
        for (Point p : points()) {
            abovePeak |= p.result().flopsPerOp() > 0 && p.pctMeasuredPeak() > 105;
            Result r = p.result();
            String calls = num(r.opsPerSec()) + (Double.isFinite(r.opsPerSecError())
                    ? " ± " + num(r.opsPerSecError()) : "");
            String bound = p.bound() + (p.bound() == Bound.MEMORY && p.pctOfBound() > 100 ? "*" : "");
            aboveRoof |= p.bound() == Bound.MEMORY && p.pctOfBound() > 100;
            sb.append("| ").append(r.name()).append(" | ").append(r.threads()).append(" | ").append(calls)
                    .append(" | ").append(r.flopsPerOp() > 0 ? num(r.gflops()) : "–")
                    .append(" | ").append(num(r.gbs()))
                    .append(" | ").append(r.flopsPerOp() > 0 ? num(r.intensity()) : "0")
                    .append(" | ").append(r.flopsPerOp() > 0 ? pct(p.pctMeasuredPeak()) : "–")
                    .append(" | ").append(r.flopsPerOp() > 0 ? pct(p.pctNominalPeak()) : "–")
                    .append(" | ").append(bound)
                    .append(" | ").append(pct(p.pctOfBound())).append(" |\n");
        }
        sb.append('\n').append("GFLOP/s and GB/s from the kernels' ledger FLOPs and minimum bytes per call; % peak and "
                + "% nominal against the FP32 peak of the row's thread count; % of bound = share of the peak "
                + "(compute-bound) or of the streaming bandwidth (memory-bound); calls/s ± JMH's 99.9% error.\n");
        if (aboveRoof) {
            sb.append("* above the DRAM bandwidth: the working set stays (partly) in the caches.\n");
        }
        if (abovePeak) {
            sb.append("Some kernel ran above the measured FMA peak of its thread count: other load disturbed the peak"
                    + " measurement (it runs after the benchmarks, for seconds). Check `uptime` and rerun on a quiet"
                    + " machine, or compare with `./sixpd bench peak`.\n");
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------------- JSON

    /** One JSON object: {@code {"ceilings":[...],"results":[...]}} with every derived figure. */
    public String json() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        ArrayNode cs = o.putArray("ceilings");
        for (Ceiling c : ceilings) {
            cs.addObject().put("threads", c.threads())
                    .put("peak_gflops", jsonNumber(c.peakGflops()))
                    .put("nominal_gflops", jsonNumber(c.nominalGflops()))
                    .put("bandwidth_gbs", jsonNumber(c.bandwidthGBs()))
                    .put("ridge_flop_per_byte", jsonNumber(c.ridge()));
        }
        ArrayNode rs = o.putArray("results");
        for (Point p : points()) {
            Result r = p.result();
            rs.addObject().put("name", r.name())
                    .put("threads", r.threads())
                    .put("flops_per_op", jsonNumber(r.flopsPerOp()))
                    .put("bytes_per_op", jsonNumber(r.bytesPerOp()))
                    .put("ops_per_s", jsonNumber(r.opsPerSec()))
                    .put("ops_per_s_error", jsonNumber(r.opsPerSecError()))
                    .put("gflops", jsonNumber(r.gflops()))
                    .put("gbs", jsonNumber(r.gbs()))
                    .put("intensity", jsonNumber(r.intensity()))
                    .put("pct_measured_peak", jsonNumber(p.pctMeasuredPeak()))
                    .put("pct_nominal_peak", jsonNumber(p.pctNominalPeak()))
                    .put("bound", p.bound().toString())
                    .put("pct_of_bound", jsonNumber(p.pctOfBound()));
        }
        return o.toString();
    }

    /**
     * {@code x} for a JSON field, or null when it is NaN or infinite (JSON has no such numbers; Jackson would write
     * them as strings): {@code node.put(key, jsonNumber(x))} writes {@code null} then.
     */
    static Double jsonNumber(double x) {
        return Double.isFinite(x) ? x : null;
    }

    // ---------------------------------------------------------------------------------------------- chart

    /**
     * Writes a log-log roofline chart as PNG to {@code png}: achieved GFLOP/s against FLOP/byte, one roof
     * ({@code min(peak, I·bandwidth)}) per measured thread count, each kernel a point. Kernels without FLOPs (format
     * conversions) have no place on these axes and are left out (they are in the table).
     */
    public void writeChart(Path png) throws IOException {
        XYChart chart = chart();
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /** The roofline chart (package-private for tests and for callers that want another format). */
    XYChart chart() {
        XYChart chart = new XYChartBuilder().width(1100).height(700)
                .title("sixpd roofline (FP32, measured peak and streaming bandwidth)")
                .xAxisTitle("arithmetic intensity, FLOP/byte (ledger bytes)").yAxisTitle("GFLOP/s").build();
        XYStyler st = chart.getStyler();
        st.setXAxisLogarithmic(true);
        st.setYAxisLogarithmic(true);
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setMarkerSize(10);

        List<Point> ps = new ArrayList<>();
        for (Point p : points()) {
            double i = p.result().intensity();
            if (i > 0 && Double.isFinite(i) && p.result().gflops() > 0) {
                ps.add(p);
            }
        }
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (Point p : ps) {
            lo = Math.min(lo, p.result().intensity());
            hi = Math.max(hi, p.result().intensity());
        }
        for (Ceiling c : ceilings) {
            lo = Math.min(lo, c.ridge());
            hi = Math.max(hi, c.ridge());
        }
        lo /= 4;
        hi *= 4;
        Color[] roofColors = {new Color(0x33, 0x33, 0x33), new Color(0x99, 0x33, 0x33), new Color(0x33, 0x33, 0x99),
            new Color(0x33, 0x88, 0x33)};
        for (int k = 0; k < ceilings.size(); k++) {
            Ceiling c = ceilings.get(k);
            double[] x = {lo, c.ridge(), hi};
            double[] y = {c.roof(lo), c.roof(c.ridge()), c.roof(hi)};
            XYSeries s = chart.addSeries(String.format(Locale.ROOT, "roof, %d thread%s: %s GFLOP/s, %s GB/s",
                    c.threads(), c.threads() == 1 ? "" : "s", num(c.peakGflops()), num(c.bandwidthGBs())), x, y);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(roofColors[k % roofColors.length]);
            s.setLineStyle(new BasicStroke(2f));
        }
        // one colour per kernel, one marker shape per thread count
        List<String> kernels = new ArrayList<>();
        List<Integer> threadCounts = new ArrayList<>();
        for (Point p : ps) {
            if (!kernels.contains(p.result().name())) {
                kernels.add(p.result().name());
            }
            if (!threadCounts.contains(p.result().threads())) {
                threadCounts.add(p.result().threads());
            }
        }
        threadCounts.sort(null);
        org.knowm.xchart.style.markers.Marker[] markers = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND,
            SeriesMarkers.TRIANGLE_UP, SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_DOWN};
        Set<String> names = new HashSet<>();
        for (Point p : ps) {
            Result r = p.result();
            String name = r.name() + " ×" + r.threads();
            for (int dup = 2; !names.add(name); dup++) {
                name = r.name() + " ×" + r.threads() + " (" + dup + ")";
            }
            XYSeries s = chart.addSeries(name, new double[] {r.intensity()}, new double[] {r.gflops()});
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            s.setMarker(markers[threadCounts.indexOf(r.threads()) % markers.length]);
            s.setMarkerColor(PALETTE[kernels.indexOf(r.name()) % PALETTE.length]);
        }
        return chart;
    }

    /** Twenty distinguishable colours (Tableau 20), one per kernel. */
    private static final Color[] PALETTE = palette(0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b,
            0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94,
            0xf7b6d2, 0xc7c7c7, 0xdbdb8d, 0x9edae5);

    private static Color[] palette(int... rgb) {
        Color[] c = new Color[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            c[i] = new Color(rgb[i]);
        }
        return c;
    }

    // ---------------------------------------------------------------------------------------------- formatting

    /** A number with 3-4 significant digits and no exponent for the usual ranges. */
    static String num(double x) {
        if (!Double.isFinite(x)) {
            return Double.isNaN(x) ? "?" : "inf";
        }
        double a = Math.abs(x);
        if (a >= 1000) {
            return String.format(Locale.ROOT, "%.0f", x);
        }
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.1f", x);
        }
        if (a >= 10 || a == 0) {
            return String.format(Locale.ROOT, a == 0 ? "%.0f" : "%.2f", x);
        }
        if (a >= 0.01) {
            return String.format(Locale.ROOT, "%.3f", x);
        }
        return String.format(Locale.ROOT, "%.2e", x);
    }

    /** A percentage with one decimal below 10%, none above. */
    static String pct(double x) {
        if (!Double.isFinite(x)) {
            return "?";
        }
        return String.format(Locale.ROOT, x < 10 ? "%.1f%%" : "%.0f%%", x);
    }
}
