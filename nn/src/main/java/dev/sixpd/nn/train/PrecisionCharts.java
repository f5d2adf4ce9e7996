package dev.sixpd.nn.train;

import dev.sixpd.tensor.GradStats;
import dev.sixpd.tensor.Formats;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The two PNG charts of {@link PrecisionExperiment} (XChart): the four loss curves, and the histogram of the
 * gradients' binary exponents with the FP16 and BF16 limits drawn as vertical lines. Stateless.
 */
final class PrecisionCharts {
    static {
        // drawn off-screen; also works on machines without a display
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** One colour per setting, in {@link PrecisionExperiment#settings} order. */
    private static final Color[] COLORS = {new Color(0x33, 0x33, 0x33), new Color(0x1f, 0x77, 0xb4),
        new Color(0xd6, 0x27, 0x28), new Color(0x2c, 0xa0, 0x2c), new Color(0x94, 0x67, 0xbd),
        new Color(0xff, 0x7f, 0x0e)};
    private static final Color FP16_COLOR = new Color(0xd6, 0x27, 0x28);
    private static final Color BF16_COLOR = new Color(0x1f, 0x77, 0xb4);

    private PrecisionCharts() {
    }

    /**
     * Train loss against step (running mean over {@code steps/25} steps, at least 1, so four noisy curves stay
     * readable) as lines, validation losses as markers in the same colour.
     */
    static XYChart lossChart(PrecisionExperiment.Result r) {
        TrainSettings b = r.base();
        XYChart chart = new XYChartBuilder().width(1100).height(650)
                .title(String.format(Locale.ROOT, "sixpd precision: %s preset, %d steps, gradient scale k = %s",
                        b.preset(), b.steps(), PrecisionExperiment.pow2(r.gradScale())))
                .xAxisTitle("step").yAxisTitle("loss (nats/token)").build();
        style(chart);
        int w = 1;
        for (PrecisionExperiment.Curve c : r.curves()) {
            w = Math.max(w, c.train().length / 25);
        }
        for (int k = 0; k < r.curves().size(); k++) {
            PrecisionExperiment.Curve c = r.curves().get(k);
            Color color = COLORS[k % COLORS.length];
            int n = c.train().length;
            if (n > 0) {
                double[] x = new double[n];
                double[] y = new double[n];
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    // running mean of the last w steps' train losses
                    sum += c.train()[i];
                    if (i >= w) {
                        sum -= c.train()[i - w];
                    }
                    x[i] = i + 1;
                    y[i] = sum / Math.min(i + 1, w);
                }
                XYSeries s = chart.addSeries(c.setting().name() + " train" + (w > 1 ? " (mean of " + w + " steps)"
                        : ""), x, y);
                s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                s.setMarker(SeriesMarkers.NONE);
                s.setLineColor(color);
                s.setLineStyle(new BasicStroke(1.5f));
            }
            if (c.valSteps().length > 0) {
                double[] vx = new double[c.valSteps().length];
                for (int i = 0; i < vx.length; i++) {
                    vx[i] = c.valSteps()[i];
                }
                XYSeries v = chart.addSeries(c.setting().name() + " val", vx, c.val());
                v.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                v.setMarker(SeriesMarkers.CIRCLE);
                v.setMarkerColor(color);
            }
        }
        return chart;
    }

    /**
     * Percentage of the nonzero gradient values per binary exponent floor(log2|g|), plotted at the bin's middle:
     * the FP32 run's gradients times k (what FP16 without scaling stores) and the dynamic run's gradients times k
     * times the loss scale; vertical lines at FP16's and BF16's smallest subnormal, smallest normal and largest
     * finite value.
     */
    static XYChart histogramChart(PrecisionExperiment.Result r) {
        XYChart chart = new XYChartBuilder().width(1100).height(650)
                .title("gradient values by binary exponent, all steps, against the FP16 and BF16 ranges")
                .xAxisTitle("log2 |g|").yAxisTitle("% of nonzero gradient values").build();
        style(chart);
        XYStyler st = chart.getStyler();
        st.setXAxisMin(-140.0);
        st.setXAxisMax(132.0);
        String k = PrecisionExperiment.pow2(r.gradScale());
        double ymax = addHistogram(chart, r.unscaled(), "fp32 run: g·k (k = " + k
                + ", what FP16 without scaling stores)", COLORS[0]);
        ymax = Math.max(ymax, addHistogram(chart, r.scaled(), "fp16-dynamic run: g·k·loss scale", COLORS[3]));
        double top = ymax > 0 ? ymax * 1.05 : 1;
        st.setYAxisMin(0.0);
        st.setYAxisMax(top);
        limits(chart, Formats.FP16, FP16_COLOR, top);
        limits(chart, Formats.BF16, BF16_COLOR, top);
        return chart;
    }

    /** Adds the histogram of {@code g} as a line series; returns its highest percentage. */
    private static double addHistogram(XYChart chart, GradStats g, String name, Color color) {
        long[] h = g.histogram();
        long nz = g.nonzero();
        double[] x = new double[h.length];
        double[] y = new double[h.length];
        double max = 0;
        for (int i = 0; i < h.length; i++) {
            x[i] = GradStats.MIN_LOG2 + i + 0.5;
            y[i] = nz == 0 ? 0 : 100.0 * h[i] / nz;
            max = Math.max(max, y[i]);
        }
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Area);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 70));
        return max;
    }

    /** Three vertical lines: smallest subnormal (dotted), smallest normal (dashed), largest finite (solid). */
    private static void limits(XYChart chart, Formats.Format f, Color color, double top) {
        vline(chart, String.format(Locale.ROOT, "%s smallest subnormal 2^%d", f.name(),
                Math.getExponent(f.smallestSubnormal())), log2(f.smallestSubnormal()), color, top,
                new float[]{2f, 3f});
        vline(chart, String.format(Locale.ROOT, "%s smallest normal 2^%d", f.name(),
                Math.getExponent(f.smallestNormal())), log2(f.smallestNormal()), color, top, new float[]{8f, 4f});
        vline(chart, String.format(Locale.ROOT, "%s largest finite %.5g = 2^%.4f", f.name(), f.largestFinite(),
                log2(f.largestFinite())), log2(f.largestFinite()), color, top, null);
    }

    private static void vline(XYChart chart, String name, double x, Color color, double top, float[] dash) {
        XYSeries s = chart.addSeries(name, new double[]{x, x}, new double[]{0, top});
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(dash == null ? new BasicStroke(1.5f)
                : new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dash, 0f));
    }

    private static void style(XYChart chart) {
        XYStyler st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setMarkerSize(7);
    }

    private static double log2(double v) {
        return Math.log(v) / Math.log(2);
    }

    static void writeLossChart(PrecisionExperiment.Result r, Path png) throws IOException {
        write(lossChart(r), png);
    }

    static void writeHistogramChart(PrecisionExperiment.Result r, Path png) throws IOException {
        write(histogramChart(r), png);
    }

    private static void write(XYChart chart, Path png) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
