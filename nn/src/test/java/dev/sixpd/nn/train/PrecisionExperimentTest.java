package dev.sixpd.nn.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrecisionExperimentTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    @TempDir
    Path dir;

    /** The tiny preset on the Markov source, batch 4, 4 steps: about a second per run. */
    private TrainSettings tiny(int steps) {
        return TrainSettings.builder().preset("tiny").data(TrainSettings.DataSpec.markov(20_000, 5)).steps(steps)
                .batch(4).lr(3e-3).warmup(1).seed(42).threads(2).out(dir.resolve("unused")).evalEvery(2)
                .evalWindows(4).checkpointEvery(0).sampleTokens(0).build();
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    @Test
    void fourRunsWithSaneFieldsChartsAndSummary() throws Exception {
        Path out = dir.resolve("prec");
        PrecisionExperiment.Result r = new PrecisionExperiment(tiny(4), 0x1p-10f, out, quiet()).run();
        assertEquals(4, r.rows().size());
        assertEquals(4, r.curves().size());
        for (int i = 0; i < 4; i++) {
            PrecisionExperiment.Row row = r.rows().get(i);
            assertEquals(PrecisionExperiment.SETTINGS.get(i), row.setting());
            assertNull(row.error(), row.setting().name());
            assertEquals(4, row.steps(), row.setting().name());
            assertTrue(row.trainLoss() > 0 && row.trainLoss() < 4, row.setting().name() + " " + row.trainLoss());
            assertTrue(row.valLoss() > 0 && row.valLoss() < 4, row.setting().name() + " " + row.valLoss());
            assertTrue(row.flushedFraction() >= 0 && row.flushedFraction() <= 1);
            assertTrue(row.subnormalFraction() >= 0 && row.subnormalFraction() <= 1);
            assertTrue(row.skipped() >= 0 && row.skipped() <= 4);
            assertTrue(row.seconds() > 0);
            assertEquals(4, r.curves().get(i).train().length);
            // validation every 2 steps: at 2 and 4
            assertArrayEquals(new long[]{2, 4}, r.curves().get(i).valSteps());
            assertTrue(Files.size(out.resolve(row.setting().name() + ".jsonl")) > 0);
        }
        // FP32 flushes nothing; without scaling the loss scale stays 1, dynamic starts at 2^16
        assertEquals(0, r.rows().get(0).flushedFraction());
        assertEquals(1, r.rows().get(2).lossScale());
        assertTrue(r.rows().get(3).lossScale() > 1);
        assertTrue(r.unscaled().nonzero() > 0 && r.scaled().nonzero() > 0);

        List<Path> files = PrecisionExperiment.write(r, out);
        for (Path p : files) {
            assertTrue(Files.size(p) > 0, p.toString());
            if (p.toString().endsWith(".png")) {
                byte[] head = new byte[8];
                System.arraycopy(Files.readAllBytes(p), 0, head, 0, 8);
                assertArrayEquals(PNG_MAGIC, head, p + " is a PNG");
            }
        }
        JsonNode s = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(4, s.get("runs").size());
        assertEquals("fp16-dynamic", s.get("runs").get(3).get("name").asText());
        assertEquals(4, s.get("runs").get(1).get("train_losses").size());
        assertEquals(0x1p-10, s.get("grad_scale").asDouble());
        assertTrue(s.get("grad_log2_histogram").get("bins").size() > 0);
        assertTrue(Files.readString(out.resolve("table.txt")).startsWith("run "));
    }

    @Test
    void fp16WithoutScalingFlushesTinyGradientsAndDynamicScalingFlushesFewer() throws Exception {
        // k = 2^-16 puts most gradients near or below FP16's smallest subnormal 2^-24
        PrecisionExperiment.Result r = new PrecisionExperiment(tiny(3), 0x1p-16f, 0, true, dir.resolve("p"), quiet())
                .run();
        PrecisionExperiment.Row fp16 = r.rows().get(2);
        PrecisionExperiment.Row dyn = r.rows().get(3);
        assertEquals("fp16", fp16.setting().name());
        assertTrue(fp16.flushedFraction() > 0.05, "fp16 without scaling flushes: " + fp16.flushedFraction());
        assertTrue(dyn.flushedFraction() < fp16.flushedFraction() / 10, "dynamic scaling flushes far fewer: "
                + dyn.flushedFraction() + " vs " + fp16.flushedFraction());
        // BF16 has FP32's exponent range: nothing flushes
        assertEquals(0, r.rows().get(1).flushedFraction());
        // against the FP32 reference backward, FP16 without scaling also loses what underflowed inside backward
        assertTrue(Double.isNaN(r.rows().get(0).refFlushedFraction()), "no reference for the fp32 run");
        assertTrue(fp16.refFlushedFraction() > fp16.flushedFraction(), fp16.refFlushedFraction() + " vs "
                + fp16.flushedFraction());
        assertTrue(dyn.refFlushedFraction() < fp16.refFlushedFraction() / 10, dyn.refFlushedFraction() + " vs "
                + fp16.refFlushedFraction());
        assertTrue(r.rows().get(1).refFlushedFraction() < 0.01, "bf16: " + r.rows().get(1).refFlushedFraction());
        String t = PrecisionExperiment.table(r.rows());
        assertTrue(t.contains("vs FP32 ref"), t);
    }

    @Test
    void aPowerOfTwoGradientScaleLeavesAnFp32RunUnchanged() throws Exception {
        TrainSettings s = tiny(3);
        double[][] losses = new double[2][];
        float[] ks = {1f, 0x1p-12f};
        for (int i = 0; i < 2; i++) {
            double[] l = new double[3];
            losses[i] = l;
            Trainer t = new Trainer(PrecisionExperiment.variant(s, DType.FP32, "none", dir.resolve("k" + i), null),
                    null, quiet());
            t.gradScale(ks[i]);
            t.observe(new Trainer.Observer() {
                @Override
                public void step(long step, double loss, double valLoss, boolean skipped, float lossScale) {
                    l[(int) step - 1] = loss;
                }
            });
            t.run();
        }
        // k scales every FP32 gradient by a power of two and back: exact, so the runs agree to the bit (the kernels
        // give the same bits before and after JIT compilation: Vectors.sum, Vectors.exp)
        for (int i = 0; i < 3; i++) {
            assertEquals(losses[0][i], losses[1][i], 0.0, "step " + (i + 1));
        }
    }

    @Test
    void aSixteenBitAccumulatorAddsTwoRunsThatDifferFromTheFp32AccumulatorOnes() throws Exception {
        PrecisionExperiment.Result r = new PrecisionExperiment(tiny(2), 1f, 1, false, dir.resolve("acc"), quiet())
                .run();
        assertEquals(6, r.rows().size());
        PrecisionExperiment.Row bf16 = r.rows().get(1);
        PrecisionExperiment.Row bf16acc = r.rows().get(4);
        assertEquals("bf16-acc", bf16acc.setting().name());
        assertEquals("fp16-dynamic-acc", r.rows().get(5).setting().name());
        for (PrecisionExperiment.Row row : r.rows()) {
            assertNull(row.error(), row.setting().name());
            assertTrue(Double.isFinite(row.valLoss()), row.setting().name());
        }
        // the first step's loss (a forward with the same weights) already differs: BF16 keeps 8 bits of the sum
        double first = r.curves().get(1).train()[0];
        double firstAcc = r.curves().get(4).train()[0];
        assertTrue(first != firstAcc, first + " vs " + firstAcc);
        assertTrue(Math.abs(first - firstAcc) < 0.1 * first, first + " vs " + firstAcc);
        assertTrue(bf16.valLoss() > 0);
    }

    @Test
    void tableHasOneLinePerRunWithRelativeValLossPercentagesAndScale() {
        List<PrecisionExperiment.Row> rows = List.of(
                row(0, 1.5, 1.6, 0, 0, 0, 1),
                row(1, 1.51, 1.616, 0, 0, 0, 1),
                row(2, 2.0, 2.4, 3, 0.0123, 0.00004, 1),
                row(3, 1.5, 1.6, 2, 0, 0.02, 16384));
        String t = PrecisionExperiment.table(rows);
        String[] lines = t.split("\n");
        assertEquals(7, lines.length, t);
        assertTrue(lines[0].startsWith("run ") && lines[0].contains("flushed") && lines[0].contains("vs fp32"), t);
        assertTrue(lines[1].startsWith("fp32 ") && lines[1].contains("+0.0%"), lines[1]);
        assertTrue(lines[2].contains("+1.0%"), lines[2]);
        assertTrue(lines[3].contains("+50.0%") && lines[3].contains("1.23%") && lines[3].contains("0.0040%"),
                lines[3]);
        assertTrue(lines[4].contains("2^14") && lines[4].contains("2.00%"), lines[4]);
        assertTrue(lines[5].contains("last 2 steps"), lines[5]);
        assertEquals("0", PrecisionExperiment.percent(0));
    }

    @Test
    void gradScaleParsesPowersOfTwoAndNumbersAndNamesBadValues() {
        assertEquals(0x1p-8f, PrecisionExperiment.parseScale("2^-8"));
        assertEquals(0.5f, PrecisionExperiment.parseScale(" 0.5 "));
        assertEquals("2^-8", PrecisionExperiment.pow2(0x1p-8));
        assertEquals("1", PrecisionExperiment.pow2(1));
        assertEquals("0.3000", PrecisionExperiment.pow2(0.3));
        for (String bad : new String[]{"0", "-1", "2^x", "abc", "2^200"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PrecisionExperiment.parseScale(bad));
            assertTrue(e.getMessage().contains("--grad-scale") && e.getMessage().contains(bad), e.getMessage());
        }
    }

    private static PrecisionExperiment.Row row(int i, double train, double val, long skipped, double flushed,
                                               double subnormal, double scale) {
        return new PrecisionExperiment.Row(PrecisionExperiment.SETTINGS.get(i), train, 2, val, 20, skipped, flushed,
                subnormal, Double.NaN, 0, scale, 1.25, null);
    }
}
