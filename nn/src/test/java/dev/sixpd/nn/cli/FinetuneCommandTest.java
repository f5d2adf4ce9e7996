package dev.sixpd.nn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.nn.io.Adapters;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.HfFixture;
import dev.sixpd.nn.io.ModelDir;
import dev.sixpd.nn.io.SafeTensors;
import dev.sixpd.nn.train.FineTune;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code finetune} and {@code export} end to end on a tiny trained base: LoRA lowers the loss on a new text, its
 * checkpoint holds the adapters alone, merging gives the adapted logits within FP32 rounding, PEFT-layout adapters
 * round-trip exactly, mismatched adapters are refused naming the tensor, and a LoRA run resumes.
 */
class FinetuneCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Path base;
    static Path data;
    static Path lora;

    @BeforeAll
    static void trainBaseAndFineTune() throws Exception {
        base = dir.resolve("base");
        CliRun t = CliRun.of("train", "--preset", "tiny", "--synthetic", "20000", "--steps", "20", "--batch", "4",
                "--threads", "1", "--sample-tokens", "0", "--out", base.toString());
        assertEquals(0, t.code(), t.err());
        // the new text: a short repeating pattern of the base's own characters (easy to learn, unlike the base's)
        Tokenizer tok = Checkpoint.readState(base).tokenizer();
        StringBuilder sb = new StringBuilder();
        int[] cycle = {1, 5, 2, 7, 3};
        for (int i = 0; i < 12_000; i++) {
            sb.append(tok.decode(new int[]{cycle[i % cycle.length] % tok.vocabSize()}));
        }
        data = dir.resolve("pattern.txt");
        Files.writeString(data, sb.toString());
        lora = dir.resolve("lora");
        CliRun f = CliRun.of("finetune", "--from", base.toString(), "--data", data.toString(), "--lora-rank", "4",
                "--lora-targets", "all", "--lora-dropout", "0.05", "--steps", "30", "--batch", "4", "--threads", "1",
                "--sample-tokens", "0", "--out", lora.toString());
        assertEquals(0, f.code(), f.err());
    }

    /** Mean loss of {@code m} on the first windows of the pattern. */
    private static double loss(Gpt m) throws Exception {
        Tokenizer tok = Checkpoint.readState(base).tokenizer();
        int[] ids = tok.encode(Files.readString(data));
        int T = m.config.context();
        int[] x = java.util.Arrays.copyOfRange(ids, 0, T);
        int[] y = java.util.Arrays.copyOfRange(ids, 1, T + 1);
        return m.forward(x, y, 1, T);
    }

    @Test
    void loraLowersTheLossAndItsCheckpointHoldsTheAdaptersAlone() throws Exception {
        Checkpoint.State st = Checkpoint.readState(lora);
        Gpt adapted = FineTune.restore(st, 1);
        Gpt before = FineTune.restore(Checkpoint.readState(base), 1);
        double l0 = loss(before);
        double l1 = loss(adapted);
        assertTrue(l1 < l0 - 0.1, "loss on the new text: base " + l0 + ", after LoRA " + l1);
        SafeTensors.Contents c = SafeTensors.read(st.files().resolve(Checkpoint.MODEL));
        assertEquals(adapted.spec().params().stream().filter(p -> p.trainable()).count(), c.tensors().size());
        for (String n : c.tensors().keySet()) {
            assertTrue(n.contains(".lora_A.") || n.contains(".lora_B."), n);
        }
        SafeTensors.Contents o = SafeTensors.read(st.files().resolve(Checkpoint.OPTIMIZER));
        assertEquals(2 * c.tensors().size(), o.tensors().size(), "AdamW m and v of each adapter, nothing else");
        assertEquals(base.toAbsolutePath().normalize().toString(), st.train().path("finetune").path("base").asText());
        assertEquals(4, st.json().path("lora").path("r").asInt());
    }

    @Test
    void mergedCheckpointGivesTheAdaptedLogitsWithinFp32Rounding() throws Exception {
        Path merged = dir.resolve("merged");
        CliRun e = CliRun.of("export", "--from", lora.toString(), "--merge", "--out", merged.toString());
        assertEquals(0, e.code(), e.err());
        Gpt adapted = FineTune.restore(Checkpoint.readState(lora), 1);
        Checkpoint.State ms = Checkpoint.readState(merged);
        assertEquals(null, Checkpoint.lora(ms), "a plain checkpoint");
        Gpt plain = FineTune.restore(ms, 1);
        assertEquals(0, plain.spec().adapterParameters());
        loss(adapted);
        loss(plain);
        // W + s·B·A rounded once per weight against x·Wᵀ + s·(x·Aᵀ)·Bᵀ: the two differ by FP32 rounding only.
        // Tolerance: 1e-5 relative to the largest logit (FP32 ε = 6e-8, times sums over C = 64 and 4 layers' growth)
        float max = 0;
        double diff = 0;
        for (int i = 0; i < adapted.config.context() * adapted.config.vocab(); i++) {
            max = Math.max(max, Math.abs(adapted.logits()[i]));
            diff = Math.max(diff, Math.abs(adapted.logits()[i] - plain.logits()[i]));
        }
        assertTrue(diff <= 1e-5 * max, "max |Δlogit| " + diff + " for logits up to " + max);
        // and the merge did change the weights (the adapters were not zero)
        Gpt base0 = FineTune.restore(Checkpoint.readState(base), 1);
        loss(base0);
        double moved = 0;
        for (int i = 0; i < 100; i++) {
            moved = Math.max(moved, Math.abs(base0.logits()[i] - plain.logits()[i]));
        }
        assertTrue(moved > 1e-3, "merged logits differ from the base's: " + moved);
    }

    @Test
    void adaptersExportInPeftsLayoutAndLoadBackExactly() throws Exception {
        Path ad = dir.resolve("adapters");
        CliRun e = CliRun.of("export", "--from", lora.toString(), "--adapters", "--out", ad.toString());
        assertEquals(0, e.code(), e.err());
        JsonNode cfg = JSON.readTree(Files.readString(ad.resolve(Adapters.CONFIG)));
        assertEquals(4, cfg.path("r").asInt());
        assertEquals(8.0, cfg.path("lora_alpha").asDouble());
        assertEquals(0.05, cfg.path("lora_dropout").asDouble(), 1e-12);
        assertEquals("[\"c_attn\",\"c_proj\",\"c_fc\"]", cfg.path("target_modules").toString());
        assertTrue(cfg.path("fan_in_fan_out").asBoolean(), "GPT-2's Conv1D layers: PEFT's fan_in_fan_out");
        SafeTensors.Contents c = SafeTensors.read(ad.resolve(Adapters.MODEL));
        assertTrue(c.tensors().containsKey("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"), c.tensors().keySet()
                .toString());
        assertTrue(c.tensors().containsKey("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight"));
        Gpt adapted = FineTune.restore(Checkpoint.readState(lora), 1);
        Gpt loaded = FineTune.withAdapters(ModelDir.open(base), ad, 1);
        double a = loss(adapted);
        double b = loss(loaded);
        assertEquals(a, b, 0.0, "the same weights, the same arithmetic");
        // sample --adapters runs; finetune --load-adapters starts from them
        assertEquals(0, CliRun.of("sample", "--checkpoint", base.toString(), "--adapters", ad.toString(), "--tokens",
                "5", "--prompt", Checkpoint.readState(base).tokenizer().decode(new int[]{1})).code());
        Path again = dir.resolve("again");
        CliRun f = CliRun.of("finetune", "--from", base.toString(), "--data", data.toString(), "--load-adapters",
                ad.toString(), "--steps", "1", "--batch", "2", "--threads", "1", "--sample-tokens", "0", "--out",
                again.toString());
        assertEquals(0, f.code(), f.err());
        // mismatched shapes: the same tensors claimed for rank 8
        Files.writeString(ad.resolve(Adapters.CONFIG), Files.readString(ad.resolve(Adapters.CONFIG))
                .replace("\"r\" : 4", "\"r\" : 8"));
        CliRun bad = CliRun.of("sample", "--checkpoint", base.toString(), "--adapters", ad.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight' has shape [4, 64] but this"
                + " base needs [8, 64]"), bad.err());
    }

    @Test
    void resumesFullFineTuningAndRefusesMissingChoices() throws Exception {
        CliRun r = CliRun.of("finetune", "--resume", lora.toString(), "--steps", "32", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(32, Checkpoint.readState(lora).step());
        Path full = dir.resolve("full");
        CliRun f = CliRun.of("finetune", "--from", base.toString(), "--data", data.toString(), "--full", "--steps",
                "2", "--batch", "2", "--threads", "1", "--sample-tokens", "0", "--out", full.toString());
        assertEquals(0, f.code(), f.err());
        Checkpoint.State fs = Checkpoint.readState(full);
        assertEquals(FineTune.restore(fs, 1).spec().params().size(),
                SafeTensors.read(fs.files().resolve(Checkpoint.MODEL)).tensors().size(), "every tensor");
        CliRun none = CliRun.of("finetune", "--from", base.toString(), "--data", data.toString());
        assertEquals(2, none.code());
        assertTrue(none.err().contains("--lora-rank R"), none.err());
        CliRun both = CliRun.of("finetune", "--from", base.toString(), "--data", data.toString(), "--full",
                "--lora-rank", "2");
        assertEquals(2, both.code());
        CliRun noAdapters = CliRun.of("export", "--from", base.toString(), "--merge", "--out",
                dir.resolve("x").toString());
        assertEquals(2, noAdapters.code());
        assertTrue(noAdapters.err().contains("has no LoRA adapters"), noAdapters.err());
    }

    @Test
    void loraFineTunesAHuggingFaceDirectoryAndSamplesFromIt() throws Exception {
        // a LLaMA-layout directory as Hugging Face writes it (config.json, BF16 model.safetensors, vocab.json +
        // merges.txt): finetune --from reads it through ModelDir, its base weights load into the frozen tensors
        dev.sixpd.nn.GptConfig cfg = dev.sixpd.nn.GptConfig.llama(HfFixture.TOKENIZER_IDS, 16, 2, 16, 4, 2);
        Gpt ref = HfFixture.randomModel(cfg, 5, "BF16");
        Path hf = HfFixture.writeDir(dir.resolve("hf-llama"), JSON.valueToTree(cfg.llamaConfig()),
                HfFixture.llamaTensors(ref, "BF16"));
        Path text = dir.resolve("hf-text.txt");
        Files.writeString(text, "the cat sat on the mat. ".repeat(200));
        Path out = dir.resolve("hf-lora");
        CliRun f = CliRun.of("finetune", "--from", hf.toString(), "--data", text.toString(), "--lora-rank", "2",
                "--steps", "4", "--batch", "2", "--threads", "1", "--sample-tokens", "0", "--out", out.toString());
        assertEquals(0, f.code(), f.err());
        JsonNode ft = Checkpoint.readState(out).train().get("finetune");
        assertEquals(hf.toString(), ft.path("base").asText(), ft.toString());
        assertEquals("lora", ft.path("mode").asText(), ft.toString());
        // the checkpoint holds the adapters; sample puts them back on the Hugging Face base
        CliRun s = CliRun.of("sample", "--checkpoint", out.toString(), "--prompt", "the", "--tokens", "5",
                "--threads", "1");
        assertEquals(0, s.code(), s.err());
    }

    @Test
    void dryRunCountsTheFrozenBaseAndAllocatesNothing() {
        CliRun d = CliRun.withStdout("finetune", "--from", base.toString(), "--data", data.toString(), "--lora-rank",
                "4", "--batch", "4", "--dry-run", "--out", dir.resolve("never").toString());
        assertEquals(0, d.code(), d.err());
        assertTrue(d.out().contains("the base frozen") && d.out().contains("Na = ")
                && d.out().contains("dry run: nothing allocated"), d.out());
        // model states of LoRA in FP32: 4·P + 12·Pt (the frozen weights alone, the adapters with grads and m, v)
        assertTrue(d.out().contains("4·P + 12·Pt"), d.out());
        assertTrue(!Files.exists(dir.resolve("never")), "a dry run writes nothing");
    }
}
