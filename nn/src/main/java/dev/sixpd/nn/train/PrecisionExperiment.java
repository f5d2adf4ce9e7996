package dev.sixpd.nn.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.UserException;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.GradStats;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The precision experiment: the same model, data, seed and schedule trained four times, in FP32, in BF16, in FP16
 * without loss scaling and in FP16 with dynamic loss scaling, to compare what each ends with and how many gradient
 * values each loses to underflow.
 *
 * <p>Every run multiplies the loss by the same gradient scale {@code k} before backward and divides the FP32
 * gradients by {@code k} before the optimizer ({@link Trainer#gradScale}): the updates are those of the plain loss,
 * but the 16-bit gradients are {@code k} times smaller, like those of a larger model. With {@code k = 1} the small
 * model's gradients are mostly above FP16's underflow and FP16 without scaling barely suffers; the default
 * {@code k} (set by the command) makes the effect visible in a few minutes.
 *
 * <p>What is counted: each step, the parameter gradients as backward leaves them (accumulated in FP32 from 16-bit
 * activations and activation gradients, times loss scale × k), classified by {@link GradStats} as storing them in the
 * run's dtype would: <em>flushed</em> = nonzero in FP32, zero in the dtype; <em>subnormal</em> = lands as a
 * subnormal. This is the cheap measure (no second FP32 backward): activation gradients that already underflowed
 * inside backward show up as smaller or zero parameter gradients, not as flushed ones, so it understates FP16's
 * loss. With the FP32 reference ({@link Trainer#fp32Reference}, a second forward and backward per step) the rows
 * also carry the fraction of values nonzero in an FP32 backward of the same step but zero in the run's gradients,
 * which counts underflow anywhere in backward. The fractions are over all steps (sum of counts / sum of nonzero
 * values). Optionally two more runs round the weight matmuls' accumulator to 16 bits ({@link #settings(int)}).
 * The histogram of log2|g| is that of the FP32 run's gradients times k (what FP16 without scaling has to store),
 * summed over all steps, beside that of the dynamic run's gradients times its loss scale.
 *
 * <p>Not thread-safe; the runs go one after another on the calling thread (kernels use {@link
 * dev.sixpd.tensor.Parallel} with the settings' thread count).
 */
public final class PrecisionExperiment {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One setting: a file-friendly name, the working dtype, the loss scaling, and the products between roundings of
     * the weight matmuls' accumulator to the working dtype (0: FP32 accumulator).
     */
    public record Setting(String name, DType dtype, String lossScale, int accumulatorBlock) {
    }

    /** The four settings, in table order. */
    public static final List<Setting> SETTINGS = List.of(new Setting("fp32", DType.FP32, "none", 0),
            new Setting("bf16", DType.BF16, "none", 0), new Setting("fp16", DType.FP16, "none", 0),
            new Setting("fp16-dynamic", DType.FP16, "dynamic", 0));

    /** The four settings, and with {@code accumulatorBlock > 0} bf16 and fp16-dynamic with a 16-bit accumulator. */
    public static List<Setting> settings(int accumulatorBlock) {
        if (accumulatorBlock <= 0) {
            return SETTINGS;
        }
        List<Setting> s = new ArrayList<>(SETTINGS);
        s.add(new Setting("bf16-acc", DType.BF16, "none", accumulatorBlock));
        s.add(new Setting("fp16-dynamic-acc", DType.FP16, "dynamic", accumulatorBlock));
        return List.copyOf(s);
    }

    /**
     * What one run ended with.
     *
     * @param trainLoss         mean train loss of the last {@code lastSteps} steps (one batch is noisy)
     * @param valLoss           validation loss at the end (fixed windows, the same for every run)
     * @param skipped           steps skipped because a gradient overflowed
     * @param flushedFraction   flushed / nonzero gradient values, over all steps
     * @param subnormalFraction subnormal / nonzero gradient values, over all steps
     * @param refFlushedFraction with the FP32 reference: of the values nonzero in the FP32 reference backward, the
     *                          fraction zero in the run's gradients, over all steps; NaN without it (or in FP32)
     * @param lossScale         the loss scale at the end (1 without scaling)
     * @param seconds           wall time of the run, setup and evaluation included
     * @param error             null, or why the run stopped early (e.g. a non-finite loss)
     */
    public record Row(Setting setting, double trainLoss, int lastSteps, double valLoss, long steps, long skipped,
                      double flushedFraction, double subnormalFraction, double refFlushedFraction, long overflow,
                      double lossScale, double seconds, String error) {
    }

    /** Train loss of every step ({@code train[i]} is step i + 1) and the validation losses of one run. */
    public record Curve(Setting setting, double[] train, long[] valSteps, double[] val) {
    }

    /**
     * The experiment's outcome.
     *
     * @param rows           one per setting, in {@link #settings} order
     * @param curves         one per setting
     * @param unscaled       FP32 run: histogram of g·k over all steps (classified for FP16)
     * @param scaled         FP16 dynamic run: histogram of g·k·scale over all steps (classified for FP16)
     * @param gradScale      k
     */
    public record Result(List<Row> rows, List<Curve> curves, GradStats unscaled, GradStats scaled, float gradScale,
                         TrainSettings base) {
    }

    private final TrainSettings base;
    private final float gradScale;
    private final Path out;
    private final PrintStream report;
    private final List<Setting> settings;
    private final boolean fp32Reference;

    /**
     * @param base      the run settings shared by all four (precision, loss scale, output and log are replaced)
     * @param gradScale k, the gradient scale of every run (a power of two keeps FP32 exact)
     * @param out       directory for the per-run checkpoints and JSONL logs
     * @param report    where one line per finished run goes
     */
    public PrecisionExperiment(TrainSettings base, float gradScale, Path out, PrintStream report) {
        this(base, gradScale, 0, false, out, report);
    }

    /**
     * The experiment with two more runs when {@code accumulatorBlock > 0}: bf16 and fp16-dynamic with the weight
     * matmuls' running sum rounded to the working dtype after every {@code accumulatorBlock} products; with
     * {@code fp32Reference} every 16-bit step also runs an FP32 reference backward ({@link Trainer#fp32Reference})
     * and the rows carry {@link Row#refFlushedFraction()}.
     */
    public PrecisionExperiment(TrainSettings base, float gradScale, int accumulatorBlock, boolean fp32Reference,
                               Path out, PrintStream report) {
        base.validate();
        if (!(gradScale > 0) || !Float.isFinite(gradScale)) {
            throw new IllegalArgumentException("--grad-scale must be a positive finite number, got " + gradScale);
        }
        this.base = base;
        this.gradScale = gradScale;
        this.out = out;
        this.report = report;
        this.settings = settings(accumulatorBlock);
        this.fp32Reference = fp32Reference;
    }

    /** Runs the four settings one after another and returns what they ended with. */
    public Result run() throws IOException {
        List<Row> rows = new ArrayList<>();
        List<Curve> curves = new ArrayList<>();
        GradStats unscaled = new GradStats(DType.FP16);
        GradStats scaled = new GradStats(DType.FP16);
        for (Setting st : settings) {
            GradStats hist = st.accumulatorBlock() > 0 ? null : st.dtype() == DType.FP32 ? unscaled
                    : st.lossScale().equals("dynamic") ? scaled : null;
            runOne(st, hist, rows, curves);
        }
        return new Result(List.copyOf(rows), List.copyOf(curves), unscaled, scaled, gradScale, base);
    }

    private void runOne(Setting st, GradStats hist, List<Row> rows, List<Curve> curves) throws IOException {
        TrainSettings s = variant(base, st.dtype(), st.lossScale(), out.resolve("checkpoint-" + st.name()),
                out.resolve(st.name() + ".jsonl"));
        GradStats counts = new GradStats(st.dtype());
        List<Double> train = new ArrayList<>();
        List<Long> valSteps = new ArrayList<>();
        List<Double> val = new ArrayList<>();
        long[] skipped = {0};
        float[] lastScale = {1f};
        Trainer t = new Trainer(s, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        t.gradScale(gradScale);
        t.roundAccumulator(st.accumulatorBlock());
        t.fp32Reference(fp32Reference);
        long[] ref = {0, 0};
        t.observe(new Trainer.Observer() {
            @Override
            public void gradients(long step, List<Param> params, float multiplier) {
                for (Param p : params) {
                    counts.add(p.grad, 0, p.size());
                    if (hist != null) {
                        hist.add(p.grad, 0, p.size());
                    }
                }
            }

            @Override
            public void step(long step, double loss, double valLoss, boolean skip, float lossScale) {
                train.add(loss);
                if (!Double.isNaN(valLoss)) {
                    valSteps.add(step);
                    val.add(valLoss);
                }
                if (skip) {
                    skipped[0]++;
                }
                lastScale[0] = lossScale;
            }

            @Override
            public void reference(long step, long nonzero, long flushed) {
                ref[0] += nonzero;
                ref[1] += flushed;
            }
        });
        long t0 = System.nanoTime();
        String error = null;
        try {
            t.run();
        } catch (UserException e) {
            // a diverged run (Inf/NaN loss) is a result of the experiment, not a failure of it
            error = e.getMessage();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int last = Math.max(1, train.size() / 10);
        double sum = 0;
        for (int i = train.size() - last; i < train.size(); i++) {
            sum += train.get(i);
        }
        double trainLoss = train.isEmpty() ? Double.NaN : sum / last;
        double valLoss = val.isEmpty() || error != null ? Double.NaN : val.get(val.size() - 1);
        Row row = new Row(st, trainLoss, last, valLoss, train.size(), skipped[0], counts.flushedFraction(),
                counts.subnormalFraction(), ref[0] > 0 ? (double) ref[1] / ref[0] : Double.NaN, counts.overflow(),
                lastScale[0], secs, error);
        rows.add(row);
        double[] tr = new double[train.size()];
        for (int i = 0; i < tr.length; i++) {
            tr[i] = train.get(i);
        }
        long[] vs = new long[valSteps.size()];
        double[] vv = new double[val.size()];
        for (int i = 0; i < vs.length; i++) {
            vs[i] = valSteps.get(i);
            vv[i] = val.get(i);
        }
        curves.add(new Curve(st, tr, vs, vv));
        report.printf(Locale.ROOT, "%-16s done in %5.1f s: train loss %.4f, val loss %.4f, flushed %s, skipped %d%s%n",
                st.name(), secs, trainLoss, valLoss, percent(row.flushedFraction()), row.skipped(),
                error != null ? " (stopped: " + error + ")" : "");
        report.flush();
    }

    /** {@code b} with another precision, loss scale, output directory and log, checkpointing only at the end. */
    static TrainSettings variant(TrainSettings b, DType dtype, String lossScale, Path dir, Path log) {
        return b.toBuilder().stopAfter(0).out(dir).log(log).checkpointEvery(0).sampleTokens(0).ledger(false)
                .ledgerJson(null).precision(dtype).lossScale(lossScale).build();
    }

    // ------------------------------------------------------------------------------------------------------------
    // the table and the JSON summary

    /**
     * The results as a text table: one row per setting, the val loss also relative to FP32's.
     */
    public static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        int last = rows.isEmpty() ? 0 : rows.get(0).lastSteps();
        boolean ref = rows.stream().anyMatch(r -> !Double.isNaN(r.refFlushedFraction()));
        String refHeader = ref ? String.format(Locale.ROOT, " %11s", "vs FP32 ref") : "";
        b.append(String.format(Locale.ROOT, "%-16s %10s %9s %8s %8s %10s %10s%s %9s %8s%n", "run", "train loss",
                "val loss", "vs fp32", "skipped", "flushed", "subnormal", refHeader, "scale", "time"));
        double fp32 = Double.NaN;
        for (Row r : rows) {
            if (r.setting().dtype() == DType.FP32) {
                fp32 = r.valLoss();
            }
        }
        for (Row r : rows) {
            double rel = 100 * (r.valLoss() / fp32 - 1);
            b.append(String.format(Locale.ROOT, "%-16s %10.4f %9.4f %8s %8d %10s %10s%s %9s %7.1fs%n",
                    r.setting().name(), r.trainLoss(), r.valLoss(),
                    Double.isFinite(rel) ? String.format(Locale.ROOT, "%+.1f%%", rel) : "-", r.skipped(),
                    percent(r.flushedFraction()), percent(r.subnormalFraction()),
                    ref ? String.format(Locale.ROOT, " %11s", Double.isNaN(r.refFlushedFraction()) ? "-"
                            : percent(r.refFlushedFraction())) : "", pow2(r.lossScale()), r.seconds()));
            if (r.error() != null) {
                b.append("                 stopped early: ").append(r.error()).append('\n');
            }
        }
        b.append(String.format(Locale.ROOT, "train loss: mean of the last %d steps; val loss: at the end (vs fp32: "
                + "relative to the fp32 run's); scale: the loss scale at the end%n"
                + "flushed / subnormal: of the nonzero FP32 parameter-gradient values of all steps, what storing them"
                + " in the run's dtype makes zero / subnormal%n", last));
        if (ref) {
            b.append("vs FP32 ref: of the parameter-gradient values an FP32 backward of the same step makes nonzero,"
                    + " the fraction that are zero in the run's (underflow anywhere in backward)\n");
        }
        return b.toString();
    }

    /** A fraction as a percentage with enough digits for small values ("0" for exactly zero). */
    static String percent(double f) {
        if (f == 0) {
            return "0";
        }
        if (f >= 0.01) {
            return String.format(Locale.ROOT, "%.2f%%", 100 * f);
        }
        return String.format(Locale.ROOT, "%.2g%%", 100 * f);
    }

    /** "2^-8" for a power of two (and "1" for 1), else the number with 4 significant digits. */
    public static String pow2(double v) {
        if (v == 1) {
            return "1";
        }
        int e = Math.getExponent(v);
        return v > 0 && Math.scalb(1.0, e) == v ? "2^" + e : String.format(Locale.ROOT, "%.4g", v);
    }

    /** Parses "2^E" (E an integer) or a positive number: the gradient scale option. */
    public static float parseScale(String text) {
        String t = text.trim();
        try {
            float v = t.startsWith("2^") ? Math.scalb(1f, Integer.parseInt(t.substring(2))) : Float.parseFloat(t);
            if (v > 0 && Float.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--grad-scale must be a positive number or 2^E (e.g. 2^-8, 0.00390625), "
                + "got '" + text + "'");
    }

    /** The result as JSON: settings, rows, curves and both histograms. */
    public static String json(Result r) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode settings = r.base().toJson();
        settings.remove(List.of("precision", "loss_scale", "checkpoint_every", "sample_tokens"));
        o.set("settings", settings);
        o.put("grad_scale", r.gradScale());
        ArrayNode rows = o.putArray("runs");
        for (int i = 0; i < r.rows().size(); i++) {
            Row row = r.rows().get(i);
            Curve c = r.curves().get(i);
            ObjectNode n = rows.addObject();
            n.put("name", row.setting().name());
            n.put("precision", row.setting().dtype().name().toLowerCase(Locale.ROOT));
            n.put("loss_scale", row.setting().lossScale());
            if (row.setting().accumulatorBlock() > 0) {
                n.put("accumulator_rounded_every", row.setting().accumulatorBlock());
            }
            n.put("train_loss", row.trainLoss());
            n.put("train_loss_last_steps", row.lastSteps());
            n.put("val_loss", row.valLoss());
            n.put("steps", row.steps());
            n.put("skipped_steps", row.skipped());
            n.put("grad_flushed_frac", row.flushedFraction());
            n.put("grad_subnormal_frac", row.subnormalFraction());
            if (!Double.isNaN(row.refFlushedFraction())) {
                n.put("grad_flushed_frac_fp32_ref", row.refFlushedFraction());
            }
            n.put("grad_overflow", row.overflow());
            n.put("final_loss_scale", row.lossScale());
            n.put("seconds", row.seconds());
            if (row.error() != null) {
                n.put("error", row.error());
            }
            ArrayNode tl = n.putArray("train_losses");
            for (double v : c.train()) {
                tl.add(v);
            }
            ArrayNode vl = n.putArray("val_losses");
            for (int j = 0; j < c.valSteps().length; j++) {
                vl.addArray().add(c.valSteps()[j]).add(c.val()[j]);
            }
        }
        o.set("grad_log2_histogram", histogramJson(r.unscaled(), "fp32 run: FP32 gradients x grad_scale"));
        o.set("grad_log2_histogram_scaled", histogramJson(r.scaled(),
                "fp16-dynamic run: gradients x grad_scale x loss scale"));
        return JSON.writeValueAsString(o);
    }

    private static ObjectNode histogramJson(GradStats g, String what) {
        ObjectNode h = JSON.createObjectNode();
        h.put("what", what);
        h.put("nonzero", g.nonzero());
        h.put("fp16_flushed_frac", g.flushedFraction());
        h.put("fp16_subnormal_frac", g.subnormalFraction());
        ObjectNode bins = h.putObject("bins");
        long[] c = g.histogram();
        for (int i = 0; i < c.length; i++) {
            if (c[i] != 0) {
                bins.put(Integer.toString(GradStats.MIN_LOG2 + i), c[i]);
            }
        }
        return h;
    }

    /** Writes the summary JSON, the two charts and the table (as text) into {@code dir}; returns the files. */
    public static List<Path> write(Result r, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path summary = dir.resolve("summary.json");
        Files.writeString(summary, json(r) + "\n");
        Path table = dir.resolve("table.txt");
        Files.writeString(table, table(r.rows()));
        Path loss = dir.resolve("loss.png");
        PrecisionCharts.writeLossChart(r, loss);
        Path hist = dir.resolve("grad-histogram.png");
        PrecisionCharts.writeHistogramChart(r, hist);
        return List.of(table, summary, loss, hist);
    }
}
