package dev.sixpd.nn.cli;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.CharTokenizer;
import dev.sixpd.nn.CachedGenerator;
import dev.sixpd.nn.Sampler;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.HfFixture;
import dev.sixpd.nn.io.ModelDir;
import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sample}'s KV-cache options on a random tiny checkpoint: what they print and their errors. */
class SampleCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void checkpoint() throws Exception {
        CharTokenizer tok = CharTokenizer.fromCorpus("public static void main(String[] args) {}\n");
        Gpt model = new Gpt(GptConfig.gpt2(tok.vocabSize(), 24, 2, 16, 2), 1, 3);
        Checkpoint.save(dir.resolve("ck"), 0, model, tok, null, null, null);
    }

    /** Runs sixpd with System.out captured (the commands print there). */
    private static CliRun run(String... args) {
        return CliRun.withStdout(args);
    }

    private String ck() {
        return dir.resolve("ck").toString();
    }

    @Test
    void statsReportFlopsAndCacheBytes() {
        CliRun r = run("sample", "--checkpoint", ck(), "--prompt", "pub", "--tokens", "30", "--stats");
        assertEquals(0, r.code(), r.err());
        // L = 2, T = 24, KVH = 2, HS = 8: 2·2·24·2·8·4 = 6,144 bytes
        assertTrue(r.out().contains("2 × 2 × 24 × 2 × 8 × 4 = 6,144 bytes (allocated: 6,144)"), r.out());
        assertTrue(r.out().contains("FLOPs per decode step (ledger, 24 steps"), r.out());
        assertTrue(r.out().contains("length   24 (= T)"), r.out());
    }

    @Test
    void cachedAndCacheFreeGreedyTextAgree() {
        CliRun a = run("sample", "--checkpoint", ck(), "--prompt", "pub", "--tokens", "15", "--temperature", "0");
        CliRun b = run("sample", "--checkpoint", ck(), "--prompt", "pub", "--tokens", "15", "--temperature", "0",
                "--no-kv-cache");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
    }

    @Test
    void batchReportsPagedAgainstContiguous() throws Exception {
        Path prompts = Files.writeString(dir.resolve("p.txt"), "pub\nstatic void\n");
        CliRun r = run("sample", "--checkpoint", ck(), "--prompts", prompts.toString(), "--tokens", "10",
                "--page-size", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--- sequence 2 (seed 2) ---\nstatic void"), r.out());
        // positions written: 3 + 10 - 1 = 12 (3 pages, no waste) and 11 + 10 - 1 = 20 (5 pages)
        assertTrue(r.out().contains("peak 8 pages in use"), r.out());
        assertTrue(r.out().contains("32 positions written, waste in each sequence's last page 0 positions"),
                r.out());
        assertTrue(r.out().contains("contiguous KV cache reserving T = 24 for each: 2 × "), r.out());
    }

    @Test
    void badOptionsSayWhatToDo() throws Exception {
        CliRun r = run("sample", "--checkpoint", ck(), "--batch", "0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--batch must be >= 1"), r.err());
        r = run("sample", "--checkpoint", ck(), "--batch", "2", "--page-size", "0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--page-size must be >= 1"), r.err());
        Path prompts = Files.writeString(dir.resolve("p.txt"), "pub\nstatic\n");
        r = run("sample", "--checkpoint", ck(), "--prompts", prompts.toString(), "--batch", "3");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--prompts holds 2 prompts"), r.err());
        r = run("sample", "--checkpoint", ck(), "--prompts", dir.resolve("none.txt").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("cannot read --prompts"), r.err());
    }

    @Test
    void samplesFromAHuggingFaceDirectoryInItsVocabulary() throws Exception {
        GptConfig cfg = GptConfig.gpt2(272, 24, 2, 16, 2);
        Gpt ref = HfFixture.randomModel(cfg, 5, "BF16");
        Path hf = HfFixture.writeDir(dir.resolve("hf-gpt2"), HfFixture.gpt2Config(cfg),
                HfFixture.gpt2Tensors(ref, "BF16", true));
        CliRun r = run("sample", "--checkpoint", hf.toString(), "--prompt", "the café", "--tokens", "12",
                "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        // the same greedy tokens from the model that wrote the directory, decoded by its tokenizer
        Tokenizer tok = ModelDir.open(hf).tokenizer();
        int[] gen = CachedGenerator.generate(ref, StepContext.FP32, tok.encode("the café"), 12,
                new Sampler(0, 40, 0.95), new Rng(1));
        assertEquals("the café" + tok.decode(gen) + System.lineSeparator(), r.out());
        // a malformed directory: one line naming the field, exit code 2
        Files.writeString(hf.resolve("config.json"), HfFixture.gpt2Config(cfg).put("n_layer", 3).toString());
        r = run("sample", "--checkpoint", hf.toString(), "--prompt", "the", "--tokens", "2");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("lacks the tensor 'transformer.h.2.ln_1.weight'"), r.err());
    }
}
