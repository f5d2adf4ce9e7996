package dev.sixpd.nn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.mpi.Mpi;
import dev.sixpd.mpi.MpiRun;
import dev.sixpd.nn.cli.Main;
import dev.sixpd.nn.io.Checkpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sixpd train} on 2 ranks of {@code mpirun} (the command line run by {@link Main} in each rank) against one
 * process: the same losses as {@code --micro-batches 2} up to rounding (why not to the bit: {@link DataParallel}),
 * ZeRO-1, 2 and 3 to the bit the losses of ZeRO-0 (also in BF16 with recomputation), a ZeRO-3 checkpoint (one
 * gathered checkpoint) resumed on 2 ranks to the bit and in one process, the per-rank memory and traffic the
 * ledger reports for ZeRO-2 and 3, and the errors. The multi-rank tests are skipped, with a message, when Open MPI is not installed (CI installs it).
 * The tiny preset on the synthetic Markov source, 6 steps: a few seconds per run.
 */
class DataParallelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> RANK_FLAGS = List.of("-XX:+UseSerialGC", "-Xmx512m", "-Xss8m");
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    private static void assumeMpi() {
        Assumptions.assumeTrue(MpiRun.mpirun().isPresent() && Mpi.findLibrary().isPresent(),
                "Open MPI is not installed (no mpirun or libmpi.so.40): skipping the data-parallel training tests;"
                        + " install it with apt-get install " + Mpi.PACKAGES + " (.ci/run does)");
    }

    /** The options every run shares: 6 steps of 8 sequences, one thread per process. */
    private List<String> common(String name) {
        return common(name, 6);
    }

    private List<String> common(String name, int steps) {
        return List.of("--preset", "tiny", "--synthetic", "60000", "--steps", Integer.toString(steps), "--batch", "8",
                "--lr", "3e-3",
                "--seed", "42", "--threads", "1", "--eval-every", "3", "--eval-windows", "16", "--sample-tokens", "0",
                "--out", dir.resolve(name).toString(), "--log", dir.resolve(name + ".jsonl").toString());
    }

    private MpiRun.Result ranks(int n, String name, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(common(name));
        args.addAll(List.of(extra));
        MpiRun.Result r = MpiRun.run(n, RANK_FLAGS, Main.class.getName(), args, TIMEOUT);
        assertFalse(r.timedOut(), "mpirun did not finish within " + TIMEOUT + ":\n" + r.output());
        return r;
    }

    /** {@link #common} in one process, the global batch in 2 micro-batches of 4. */
    private Trainer single(String name) {
        TrainSettings s = TrainSettings.builder().preset("tiny").data(TrainSettings.DataSpec.markov(60_000, 42))
                .steps(6).batch(8).microBatches(2).lr(3e-3).seed(42).threads(1).evalEvery(3).evalWindows(16)
                .sampleTokens(0).out(dir.resolve(name)).log(dir.resolve(name + ".jsonl")).build();
        return new Trainer(s, null, quiet());
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    /** Per logged step: {step, loss, val_loss (NaN if none)}. */
    private List<double[]> log(String name) throws Exception {
        List<double[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(name + ".jsonl"))) {
            JsonNode o = JSON.readTree(line);
            out.add(new double[] {o.get("step").asDouble(), o.get("loss").asDouble(),
                    o.has("val_loss") ? o.get("val_loss").asDouble() : Double.NaN});
        }
        return out;
    }

    private static void assertSameBits(List<double[]> a, List<double[]> b, int steps, String what) {
        for (int i = 0; i < steps; i++) {
            for (int k = 0; k < 3; k++) {
                assertEquals(Double.doubleToLongBits(a.get(i)[k]), Double.doubleToLongBits(b.get(i)[k]),
                        what + ": step " + (i + 1) + " field " + k + ": " + a.get(i)[k] + " vs " + b.get(i)[k]);
            }
        }
    }

    private static void assertClose(List<double[]> a, List<double[]> b, int from, int to, double rel, String what) {
        for (int i = from; i < to; i++) {
            for (int k = 1; k < 3; k++) {
                double x = a.get(i)[k];
                double y = b.get(i)[k];
                assertEquals(Double.isNaN(x), Double.isNaN(y), what + ": step " + (i + 1));
                if (!Double.isNaN(x)) {
                    assertEquals(x, y, rel * Math.abs(x), what + ": step " + (i + 1) + " field " + k);
                }
            }
        }
    }

    @Test
    void twoRanksTrainAsOneProcessAndZero123AsZero0() throws Exception {
        assumeMpi();
        // one process, the global batch of 8 in 2 micro-batches of 4: what each rank computes, in one place;
        // once as the trainer does it (backward accumulates micro-batch 2 into micro-batch 1's gradient), once
        // summing the two whole gradients, as the ranks do
        single("one").run();
        Trainer whole = single("whole");
        whole.sumMicroBatchesWhole(true);
        whole.run();
        MpiRun.Result z0 = ranks(2, "z0", "--zero", "0", "--ledger");
        assertEquals(0, z0.exitCode(), z0.output());
        // ZeRO-1 stops after step 3 (a checkpoint with the gathered AdamW state), ZeRO-2 runs through
        MpiRun.Result z1 = ranks(2, "z1", "--zero", "1", "--stop-after", "3");
        assertEquals(0, z1.exitCode(), z1.output());
        MpiRun.Result z2 = ranks(2, "z2", "--zero", "2", "--ledger");
        assertEquals(0, z2.exitCode(), z2.output());
        // ZeRO-3 stops after step 3 (a gathered checkpoint), then resumes on 2 ranks, still ZeRO-3
        MpiRun.Result z3 = ranks(2, "z3", "--zero", "3", "--stop-after", "3");
        assertEquals(0, z3.exitCode(), z3.output());
        MpiRun.Result z3b = MpiRun.run(2, RANK_FLAGS, Main.class.getName(), List.of("train", "--resume",
                dir.resolve("z3").toString(), "--log", dir.resolve("z3.jsonl").toString(), "--ledger"), TIMEOUT);
        assertEquals(0, z3b.exitCode(), z3b.output());

        List<double[]> one = log("one");
        List<double[]> r0 = log("z0");
        assertEquals(6, one.size());
        assertEquals(6, r0.size());
        // step 1's loss is computed before any update: the same forward on the same weights, to the bit
        assertEquals(Double.doubleToLongBits(one.get(0)[1]), Double.doubleToLongBits(r0.get(0)[1]));
        // later steps: the same gradient summed in another association (see DataParallel), so rounding apart
        assertClose(one, r0, 0, 6, 1e-6, "2 ranks vs 1 process with --micro-batches 2");
        // ... and that association is the only difference: summed as whole gradients, the same bits
        assertSameBits(log("whole"), r0, 6, "2 ranks vs 1 process summing whole micro-batch gradients");
        // ZeRO-1 and ZeRO-2: the same mean gradient (one addition) and an elementwise update: the same bits
        assertSameBits(r0, log("z1"), 3, "ZeRO-1 vs ZeRO-0");
        assertSameBits(r0, log("z2"), 6, "ZeRO-2 vs ZeRO-0");
        // ZeRO-3: each layer's weights all-gathered from the masters' shards (the same values), the same bits; also
        // across its checkpoint, resumed on 2 ranks
        assertSameBits(r0, log("z3"), 6, "ZeRO-3 (stopped at 3, resumed) vs ZeRO-0");

        // the ledger: ZeRO-2 releases the model's whole gradient (only the layers in flight remain), ZeRO-3 the
        // weights too; each sends its formula's bytes plus a few (the loss, the norm)
        long psi = 105_216; // the tiny preset on the synthetic source
        long[] row2 = rankRow(z2.output(), "ZeRO-2");
        long[] row3 = rankRow(z3b.output(), "ZeRO-3");
        assertEquals(4 * psi, row2[0], "ZeRO-2 keeps the whole FP32 weights");
        assertTrue(row2[1] < 4 * psi * 3 / 5, "ZeRO-2's layer gradients in flight " + row2[1] + " vs 4Ψ " + 4 * psi);
        assertTrue(row3[0] < 4 * psi * 3 / 5, "ZeRO-3's gathered layers " + row3[0] + " vs 4Ψ " + 4 * psi);
        for (long[] row : List.of(row2, row3)) {
            assertEquals(4 * psi / 2, row[3] / 2, "AdamW m, v: 8Ψ/N");
            assertEquals(4 * psi / 2, row[4], "masters: 4Ψ/N");
        }
        assertTrue(z2.output().contains("4·S = 210,432 (4Ψ/N = 210,432"), z2.output());
        assertEquals(2 * psi * 4 / 2, row2[5] - 16, "ZeRO-2 sent 2·(N−1)/N·4Ψ + 16");
        assertEquals(3 * psi * 4 / 2, row3[5] - 16, "ZeRO-3 sent 3·(N−1)/N·4Ψ + 16");
        assertTrue(z3b.output().contains("measured sharded 16·S = 841,728") && z3b.output().contains("16Ψ/N = 841,728"),
                z3b.output());

        // rank 0 alone prints: one header, one val line per eval; and the ledger's per-rank table
        String out = z0.output();
        assertEquals(1, out.split("parallel:  2 ranks", -1).length - 1, out);
        assertEquals(1, out.split("step     3  train loss", -1).length - 1, out);
        assertTrue(out.contains("data parallel: 2 ranks, ZeRO-0"), out);
        assertTrue(out.lines().anyMatch(l -> l.trim().startsWith("1 ")), "a row for rank 1:\n" + out);

        // the 2-rank ZeRO-1 checkpoint resumes in one process (the whole AdamW state is in it)
        Checkpoint.State st = Checkpoint.readState(dir.resolve("z1"));
        assertEquals(3, st.step());
        TrainSettings again = Trainer.settingsFromCheckpoint(st).toBuilder().log(dir.resolve("z1.jsonl")).build();
        new Trainer(again, st, quiet()).run();
        List<double[]> resumed = log("z1");
        assertEquals(6, resumed.size());
        // steps 4..6 in one process (the checkpoint's 1 micro-batch of 8) against 2 ranks: rounding apart
        assertClose(r0, resumed, 3, 6, 1e-6, "2 ranks, resumed in 1 process");

        // the ZeRO-3 checkpoint is whole too: it loads in one process and continues there
        Checkpoint.State st3 = Checkpoint.readState(dir.resolve("z3"));
        assertEquals(6, st3.step());
        TrainSettings more = Trainer.settingsFromCheckpoint(st3).toBuilder().steps(8).out(dir.resolve("z3one"))
                .log(dir.resolve("z3one.jsonl")).build();
        Trainer.Result r = new Trainer(more, st3, quiet()).run();
        assertEquals(8, r.step());
        assertTrue(Double.isFinite(r.loss()) && r.loss() < log("z3").get(0)[1], "loss " + r.loss());
    }

    /** The ledger's row of rank 0: weights, model grads, grad buffers, m v, masters, sent last step. */
    private static long[] rankRow(String out, String stage) {
        int at = out.indexOf("data parallel: 2 ranks, " + stage);
        assertTrue(at >= 0, out);
        String row = out.substring(at).lines().filter(l -> l.trim().startsWith("0 ")).findFirst().orElseThrow();
        String[] f = row.trim().split("\\s+");
        long[] v = new long[6];
        for (int i = 0; i < 6; i++) {
            v[i] = Long.parseLong(f[i + 1].replace(",", ""));
        }
        return v;
    }

    @Test
    void zero3InBf16WithRecomputationGivesZero0sBits() throws Exception {
        assumeMpi();
        MpiRun.Result a = ranks(2, "b0", "--zero", "0", "--precision", "bf16", "--loss-scale", "dynamic");
        assertEquals(0, a.exitCode(), a.output());
        MpiRun.Result b = ranks(2, "b3", "--zero", "3", "--precision", "bf16", "--loss-scale", "dynamic",
                "--recompute");
        assertEquals(0, b.exitCode(), b.output());
        // the gathered weights are the masters rounded to BF16 as every rank's working copy is; each layer's
        // gradient is rounded to BF16 before its reduce-scatter as the whole gradient is after backward
        assertSameBits(log("b0"), log("b3"), 6, "ZeRO-3 BF16 with recomputation vs ZeRO-0 BF16");
    }

    @Test
    void overlappedAllReducesGiveTheBlockingAllReducesBits() throws Exception {
        assumeMpi();
        // BF16 with dynamic loss scaling and 2 micro-batches per rank: the hook must finish (round, unscale-ready)
        // each layer's gradient once, after the last micro-batch, as the trainer does for the whole gradient
        List<String> opts = List.of("--zero", "0", "--precision", "bf16", "--loss-scale", "dynamic",
                "--micro-batches", "2");
        MpiRun.Result a = ranks(2, "ob", opts.toArray(String[]::new));
        assertEquals(0, a.exitCode(), a.output());
        List<String> withOverlap = new ArrayList<>(opts);
        withOverlap.add("--overlap");
        MpiRun.Result b = ranks(2, "oo", withOverlap.toArray(String[]::new));
        assertEquals(0, b.exitCode(), b.output());
        assertTrue(b.output().contains("each layer's all-reduce overlaps the backward"), b.output());
        assertTrue(b.output().contains("overlapped:"), b.output());
        assertSameBits(log("ob"), log("oo"), 6, "ZeRO-0 with --overlap vs without");
    }

    @Test
    void overlapIsRefusedWithZeroStagesAboveZero() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainSettings.builder().zero(2).overlap(true).build().validate());
        assertTrue(e.getMessage().contains("--overlap") && e.getMessage().contains("--zero 0"), e.getMessage());
        TrainSettings s = TrainSettings.builder().overlap(true).build();
        s.validate();
        assertTrue(TrainSettings.fromJson(s.toJson(), s.modelConfig(16), dir).overlap());
        assertFalse(TrainSettings.fromJson(TrainSettings.builder().build().toJson(), s.modelConfig(16), dir)
                .overlap());
    }

    @Test
    void ranksOptionStartsMpirunWithTheSameCommandLine() throws Exception {
        assumeMpi();
        List<String> args = new ArrayList<>(List.of("train", "--ranks", "2"));
        args.addAll(common("launched", 2));
        args.addAll(List.of("--zero", "1"));
        assertEquals(0, Main.execute(args.toArray(String[]::new), new java.io.PrintWriter(System.out, true),
                new java.io.PrintWriter(System.err, true)));
        List<double[]> l = log("launched");
        assertEquals(2, l.size());
        assertTrue(Double.isFinite(l.get(1)[1]), "step 2's loss");
        assertEquals(2, Checkpoint.readState(dir.resolve("launched")).step());
    }

    @Test
    void aBatchThatDoesNotSplitOverTheRanksIsRefusedWithAMessage() throws Exception {
        assumeMpi();
        MpiRun.Result r = ranks(2, "odd", "--micro-batches", "8");
        assertEquals(Main.USAGE, r.exitCode(), r.output());
        assertTrue(r.output().contains("--batch 8 must be a multiple of ranks × --micro-batches = 2 × 8 = 16"),
                r.output());
        // rank 0 alone reports it
        assertEquals(1, r.output().split("must be a multiple", -1).length - 1, r.output());
    }

    @Test
    void unknownZeroStagesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainSettings.builder().zero(4).build().validate());
        assertTrue(e.getMessage().contains("--zero") && e.getMessage().contains("0, 1, 2 or 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainSettings.builder().zero(-1).build().validate());
        // the stage round-trips through the checkpoint JSON
        TrainSettings s = TrainSettings.builder().zero(3).build();
        assertEquals(3, TrainSettings.fromJson(s.toJson(), s.modelConfig(16), dir).zero());
    }
}
