package dev.sixpd.nn.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.data.MarkovSource;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.CheckpointException;
import dev.sixpd.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** The tiny preset on the standard Markov source (16 symbols), small batches: a few seconds per run. */
    private TrainSettings tiny(int steps, int evalEvery, int checkpointEvery, String name) {
        return TrainSettings.builder().preset("tiny").data(TrainSettings.DataSpec.markov(60_000, 5)).steps(steps)
                .batch(8).lr(3e-3).warmup(Math.max(1, steps / 10)).seed(42).threads(2).out(dir.resolve(name))
                .log(dir.resolve(name + ".jsonl")).evalEvery(evalEvery).evalWindows(16)
                .checkpointEvery(checkpointEvery).sampleTokens(0).build();
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    /** The log's lines without the timing field. */
    private static List<String> losses(Path log) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            JsonNode o = JSON.readTree(line);
            out.add(o.get("step") + " " + o.get("loss") + " " + o.path("val_loss") + " " + o.get("lr") + " "
                    + o.get("grad_norm"));
        }
        return out;
    }

    @Test
    void tinyReachesTheMarkovEntropyRate() throws Exception {
        double h = MarkovSource.standard().entropyRate();
        Trainer.Result r = new Trainer(tiny(80, 0, 0, "markov"), null, quiet()).run();
        assertTrue(r.valLoss() < 1.10 * h, "val loss " + r.valLoss() + " not within 10% of the entropy rate " + h);
        assertTrue(r.initialValLoss() > 1.4 * h, "started from about ln 16: " + r.initialValLoss());
    }

    @Test
    void sameSeedAndThreadsGiveBitIdenticalLosses() throws Exception {
        new Trainer(tiny(6, 3, 0, "a"), null, quiet()).run();
        new Trainer(tiny(6, 3, 0, "b"), null, quiet()).run();
        List<String> a = losses(dir.resolve("a.jsonl"));
        assertEquals(6, a.size());
        assertEquals(a, losses(dir.resolve("b.jsonl")));
        assertTrue(a.get(2).contains(" 3 ") || JSON.readTree(Files.readAllLines(dir.resolve("a.jsonl")).get(2))
                .has("val_loss"), "val_loss at step 3");
    }

    @Test
    void resumeContinuesExactlyAsAnUninterruptedRun() throws Exception {
        new Trainer(tiny(8, 2, 3, "full"), null, quiet()).run();
        // stop after step 5 (a checkpoint at 3, and one at the stop), then resume into the same log
        TrainSettings first = tiny(8, 2, 3, "part").toBuilder().steps(8).stopAfter(5).build();
        new Trainer(first, null, quiet()).run();
        Checkpoint.State st = Checkpoint.readState(dir.resolve("part"));
        assertEquals(5, st.step());
        TrainSettings again = Trainer.settingsFromCheckpoint(st).toBuilder().out(dir.resolve("part")).log(dir.resolve("part.jsonl")).build();
        assertEquals(8, again.steps());
        assertEquals(0, again.stopAfter());
        new Trainer(again, st, quiet()).run();
        assertEquals(losses(dir.resolve("full.jsonl")), losses(dir.resolve("part.jsonl")));
        // and the final weights agree bit for bit
        Path full = Checkpoint.latestDir(dir.resolve("full")).resolve(Checkpoint.MODEL);
        Path part = Checkpoint.latestDir(dir.resolve("part")).resolve(Checkpoint.MODEL);
        assertTrue(Arrays.equals(Files.readAllBytes(full), Files.readAllBytes(part)));
    }

    @Test
    void microBatchesGiveTheSameLossUpToRounding() throws Exception {
        TrainSettings one = tiny(3, 0, 0, "mb1");
        TrainSettings four = one.toBuilder().steps(3).microBatches(4).warmup(1).out(dir.resolve("mb4"))
                .log(dir.resolve("mb4.jsonl")).evalEvery(0).checkpointEvery(0).build();
        new Trainer(one, null, quiet()).run();
        new Trainer(four, null, quiet()).run();
        List<String> a = Files.readAllLines(dir.resolve("mb1.jsonl"));
        List<String> b = Files.readAllLines(dir.resolve("mb4.jsonl"));
        for (int i = 0; i < 3; i++) {
            double la = JSON.readTree(a.get(i)).get("loss").asDouble();
            double lb = JSON.readTree(b.get(i)).get("loss").asDouble();
            assertEquals(la, lb, 1e-4 * la, "step " + (i + 1));
        }
    }

    @Test
    void nanLossStopsNamesTheStepAndKeepsTheLastCheckpoint() throws Exception {
        Trainer t = new Trainer(tiny(10, 0, 2, "nan"), null, quiet());
        t.poisonLossAt(step -> step == 5);
        UserException e = assertThrows(UserException.class, t::run);
        // the checkpoint at step 4 holds the weights that gave step 5's loss: the last good one is step 2
        assertTrue(e.getMessage().contains("diverged at step 5") && e.getMessage().contains("step 2"),
                e.getMessage());
        Checkpoint.State st = Checkpoint.readState(dir.resolve("nan"));
        assertEquals(2, st.step());
        assertEquals(4, Files.readAllLines(dir.resolve("nan.jsonl")).size());
    }

    @Test
    void corruptOrMismatchedCheckpointIsRefused() throws Exception {
        new Trainer(tiny(2, 0, 0, "c"), null, quiet()).run();
        Path c = Checkpoint.latestDir(dir.resolve("c"));
        Checkpoint.State st = Checkpoint.readState(c);
        TrainSettings s = Trainer.settingsFromCheckpoint(st);

        // an edited state.json is caught by its checksum; without the checksum (older checkpoints) the checks below
        String original = Files.readString(c.resolve(Checkpoint.STATE));
        Files.writeString(c.resolve(Checkpoint.STATE), original.replace("\"step\" : 2,", "\"step\" : 3,"));
        var crc = assertThrows(CheckpointException.class, () -> Checkpoint.readState(c));
        assertTrue(crc.getMessage().contains("state.json") && crc.getMessage().contains("CRC32C"), crc.getMessage());
        Files.writeString(c.resolve(Checkpoint.STATE), original);
        Files.delete(c.resolve(Checkpoint.STATE_CRC));

        // truncated weights
        byte[] model = Files.readAllBytes(c.resolve(Checkpoint.MODEL));
        Files.write(c.resolve(Checkpoint.MODEL), Arrays.copyOf(model, model.length - 10));
        var e = assertThrows(CheckpointException.class, () -> new Trainer(s, st, quiet()).run());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Files.write(c.resolve(Checkpoint.MODEL), model);

        // a model file from another step (an interrupted save)
        String state = Files.readString(c.resolve(Checkpoint.STATE));
        Files.writeString(c.resolve(Checkpoint.STATE), state.replace("\"step\" : 2,", "\"step\" : 3,"));
        e = assertThrows(CheckpointException.class, () -> {
            Checkpoint.State s3 = Checkpoint.readState(c);
            new Trainer(s, s3, quiet()).run();
        });
        assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("interrupted"), e.getMessage());

        // a config that does not match the weights
        Files.writeString(c.resolve(Checkpoint.STATE), state.replace("\"d_model\" : 64", "\"d_model\" : 32"));
        e = assertThrows(CheckpointException.class, () -> {
            Checkpoint.State s3 = Checkpoint.readState(c);
            new Trainer(Trainer.settingsFromCheckpoint(s3), s3, quiet()).run();
        });
        assertTrue(e.getMessage().contains("shape"), e.getMessage());

        // not JSON at all
        Files.writeString(c.resolve(Checkpoint.STATE), "{ not json");
        e = assertThrows(CheckpointException.class, () -> Checkpoint.readState(c));
        assertTrue(e.getMessage().contains("does not parse"), e.getMessage());

        // optimizer state missing
        Files.writeString(c.resolve(Checkpoint.STATE), state);
        Files.delete(c.resolve(Checkpoint.OPTIMIZER));
        e = assertThrows(CheckpointException.class, () -> new Trainer(s, Checkpoint.readState(c), quiet()).run());
        assertTrue(e.getMessage().contains("optimizer.safetensors"), e.getMessage());
        assertFalse(Files.exists(c.resolve(Checkpoint.OPTIMIZER)));
    }

    /** Mixed precision: FP16 with dynamic loss scaling logs its statistics and resumes exactly (scaler state saved). */
    @Test
    void fp16WithDynamicScalingLogsStatsAndResumesExactly() throws Exception {
        TrainSettings t = tiny(6, 3, 0, "h");
        TrainSettings full = t.toBuilder().steps(6).warmup(1).out(dir.resolve("hf")).log(dir.resolve("hf.jsonl"))
                .evalEvery(3).checkpointEvery(0).precision(DType.FP16).lossScale("dynamic").build();
        new Trainer(full, null, quiet()).run();
        JsonNode first = JSON.readTree(Files.readAllLines(dir.resolve("hf.jsonl")).get(0));
        assertEquals("fp16", first.get("precision").asText());
        assertEquals(65536.0, first.get("loss_scale").asDouble());
        assertTrue(first.has("grad_flushed_frac") && first.has("grad_subnormal"));
        new Trainer(full.toBuilder().steps(6).stopAfter(4).out(dir.resolve("hp")).log(dir.resolve("hp.jsonl")).build(), null, quiet()).run();
        Checkpoint.State st = Checkpoint.readState(dir.resolve("hp"));
        TrainSettings again = Trainer.settingsFromCheckpoint(st).toBuilder().out(dir.resolve("hp")).log(dir.resolve("hp.jsonl")).build();
        assertEquals(DType.FP16, again.precision());
        new Trainer(again, st, quiet()).run();
        assertEquals(losses(dir.resolve("hf.jsonl")), losses(dir.resolve("hp.jsonl")));
    }
}
