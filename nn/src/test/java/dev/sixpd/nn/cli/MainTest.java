package dev.sixpd.nn.cli;

import dev.sixpd.nn.io.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: help everywhere, and one clear line with exit code 2 for every error a user can fix. */
class MainTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    /** Exit code 2, a single "sixpd: ..." line containing every fragment, no stack trace. */
    private static void userError(CliRun r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        String e = r.err().strip();
        assertTrue(e.startsWith("sixpd: "), e);
        assertFalse(e.contains("\n"), "one line: " + e);
        assertFalse(e.contains("Exception") || e.contains("\tat "), "no stack trace: " + e);
        for (String f : fragments) {
            assertTrue(e.contains(f), "'" + f + "' missing from: " + e);
        }
    }

    @Test
    void architectureSwitchesAreCheckedBeforeAnythingRuns() {
        userError(run("train", "--norm", "batchnorm"), "--norm", "layernorm, rmsnorm", "batchnorm");
        userError(run("train", "--preset", "tiny", "--kv-heads", "3"), "kv-heads (3) must divide heads (4)");
        userError(run("train", "--preset", "tiny", "--pos", "rope", "--heads", "64"), "RoPE", "even");
        userError(run("train", "--attention", "fast"), "--attention", "naive, flash");
        userError(run("train", "--mlp-hidden", "0"), "--mlp-hidden must be positive");
    }

    @Test
    void helpEverywhere() {
        CliRun top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("train") && top.out().contains("sample"), top.out());
        CliRun train = run("train", "--help");
        assertEquals(0, train.code());
        for (String o : new String[]{"--preset", "--data", "--steps", "--batch", "--lr", "--seed", "--threads",
                "--out", "--resume", "--log", "--eval-every", "--checkpoint-every", "--tokenizer", "--vocab",
                "--sample-tokens"}) {
            assertTrue(train.out().contains(o), o);
        }
        CliRun sample = run("sample", "--help");
        assertEquals(0, sample.code());
        for (String o : new String[]{"--checkpoint", "--prompt", "--tokens", "--temperature", "--top-k", "--top-p",
                "--seed"}) {
            assertTrue(sample.out().contains(o), o);
        }
    }

    @Test
    void formatsAndPlanAreWired() {
        assertEquals(0, run("formats", "--help").code());
        assertEquals(0, run("plan", "--help").code());
        userError(run("plan", "--params", "-3"), "--params");
    }

    @Test
    void planMeasuresBytesPerTokenOnTheGivenText() throws Exception {
        // 40 distinct words repeated: a 300-token BPE learns them, so a token covers several bytes
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4000; i++) {
            sb.append("word").append(i % 40).append(' ');
        }
        java.nio.file.Path f = dir.resolve("words.txt");
        java.nio.file.Files.writeString(f, sb);
        CliRun r = run("plan", "--params", "1B", "--tokens", "10B", "--hardware", "a100", "--text", f.toString(),
                "--text-vocab", "300");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("bytes per token"), r.out());
        assertFalse(r.out().contains("n/a"), r.out());
        userError(run("plan", "--params", "1B", "--text", dir.resolve("nope.txt").toString()), "--text", "nope.txt");
    }

    @Test
    void missingDataFile() {
        userError(run("train", "--data", dir.resolve("nope.txt").toString()), "nope.txt", "does not exist", "--data");
    }

    @Test
    void emptyDataFile() throws Exception {
        Path f = Files.writeString(dir.resolve("empty.txt"), "");
        userError(run("train", "--data", f.toString()), "empty.txt", "is empty");
    }

    @Test
    void dataShorterThanTheContext() throws Exception {
        Path f = Files.writeString(dir.resolve("short.txt"), "class A { int x; }\n".repeat(5));
        userError(run("train", "--preset", "tiny", "--data", f.toString(), "--out", dir.resolve("o").toString()),
                "too short", "context");
    }

    @Test
    void unknownPreset() {
        userError(run("train", "--preset", "huge"), "unknown preset 'huge'", "tiny, small, medium");
    }

    @Test
    void headsNotDividingDModel() {
        userError(run("train", "--preset", "tiny", "--heads", "5"), "heads (5) must divide d_model (64)");
        userError(run("train", "--heads", "0"), "--heads must be positive");
    }

    @Test
    void badOptionValues() {
        assertEquals(2, run("train", "--steps", "many").code());
        userError(run("train", "--steps", "0"), "--steps");
        userError(run("train", "--batch", "6", "--micro-batches", "4"), "multiple");
        userError(run("train", "--tokenizer", "words"), "char or bpe");
        userError(run("sample", "--checkpoint", dir.toString(), "--top-p", "2"), "top-p");
    }

    @Test
    void trainSampleAndCorruptCheckpoint() throws Exception {
        Path out = dir.resolve("ck");
        CliRun t = run("train", "--preset", "tiny", "--synthetic", "20000", "--steps", "3", "--batch", "2",
                "--threads", "1", "--out", out.toString(), "--sample-tokens", "5");
        assertEquals(0, t.code(), t.err());
        CliRun s = run("sample", "--checkpoint", out.toString(), "--prompt", "ab", "--tokens", "10");
        assertEquals(0, s.code(), s.err());
        // resuming a finished run says so; changing a fixed setting is refused
        assertEquals(0, run("train", "--resume", out.toString()).code());
        userError(run("train", "--resume", out.toString(), "--batch", "4"), "--batch cannot change");
        // a prompt with characters the tokenizer never saw
        userError(run("sample", "--checkpoint", out.toString(), "--prompt", "Z€"), "prompt");
        // not a checkpoint
        userError(run("sample", "--checkpoint", dir.toString()), "not a checkpoint");
        userError(run("sample", "--checkpoint", dir.resolve("nothing").toString()), "no checkpoint directory");
        // truncated weights
        Path m = Checkpoint.latestDir(out).resolve(Checkpoint.MODEL);
        byte[] b = Files.readAllBytes(m);
        Files.write(m, Arrays.copyOf(b, b.length / 2));
        userError(run("sample", "--checkpoint", out.toString()), "model.safetensors", "truncated");
        userError(run("train", "--resume", out.toString(), "--steps", "5"), "model.safetensors", "truncated");
    }
}
