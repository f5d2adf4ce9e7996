package dev.sixpd.nn.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.ByteLevelBpe;
import dev.sixpd.nn.io.HfFixture.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face GPT-2 and LLaMA directories built here ({@link HfFixture}) load into the model whose weights wrote
 * them: the logits are bit-identical to that model's, and to the same model saved and loaded as a sixpd checkpoint.
 * Malformed variants are refused with a message naming the tensor or field and what was expected.
 */
class HfModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** V 272 (the tokenizer's 265 ids padded, as GPT-2's 50257 often is), T 9, L 2, C 16, NH 4. */
    private static final GptConfig GPT2 = GptConfig.gpt2(272, 9, 2, 16, 4);
    private static final GptConfig LLAMA = GptConfig.llama(HfFixture.TOKENIZER_IDS, 9, 2, 16, 4, 2);

    @TempDir
    Path dir;

    /** Logits [B=2, T=7, V] of {@code m} on fixed tokens. */
    private static float[] logits(Gpt m) {
        int B = 2;
        int T = 7;
        int[] tokens = new int[B * T];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 37 + 5) % HfFixture.TOKENIZER_IDS;
        }
        m.forward(tokens, null, B, T);
        return Arrays.copyOf(m.logits(), B * T * m.config.vocab());
    }

    private static Gpt open(Path d) {
        ModelDir md = ModelDir.open(d);
        Gpt m = new Gpt(md.config(), 2);
        md.load(m);
        return m;
    }

    private void assertSameAsSixpd(Gpt ref, Path hf) throws Exception {
        ModelDir md = ModelDir.open(hf);
        assertTrue(md.isHuggingFace());
        assertEquals(ref.config, md.config());
        assertTrue(md.tokenizer() instanceof ByteLevelBpe);
        assertEquals(ref.config.vocab(), md.tokenizer().vocabSize());
        float[] want = logits(ref);
        assertArrayEquals(want, logits(open(hf)), "logits of " + hf);
        // the same weights the sixpd way: saved as a checkpoint, opened through the same door
        Path ck = dir.resolve("sixpd-" + hf.getFileName());
        Checkpoint.save(ck, 3, ref, md.tokenizer(), null, null, null);
        Checkpoint.release(ck);
        ModelDir back = ModelDir.open(ck);
        assertFalse(back.isHuggingFace());
        assertEquals(md.tokenizer(), back.tokenizer());
        assertArrayEquals(want, logits(open(ck)), "logits of the sixpd checkpoint");
    }

    @Test
    void gpt2LayoutLoadsInF32Bf16AndF16() throws Exception {
        for (String dtype : List.of("F32", "BF16", "F16")) {
            Gpt ref = HfFixture.randomModel(GPT2, 11, dtype);
            Path d = HfFixture.writeDir(dir.resolve("gpt2-" + dtype), HfFixture.gpt2Config(GPT2),
                    HfFixture.gpt2Tensors(ref, dtype, true));
            assertSameAsSixpd(ref, d);
        }
    }

    @Test
    void gpt2WithoutPrefixUntiedHeadAndTheBuffersOldFilesCarry() throws Exception {
        GptConfig untied = GPT2.withTieHead(false);
        Gpt ref = HfFixture.randomModel(untied, 12, "F32");
        List<Tensor> ts = new ArrayList<>(HfFixture.gpt2Tensors(ref, "F32", false));
        // GPT-2's causal-mask buffers, as converted pytorch_model.bin files hold them
        ts.add(new Tensor("h.0.attn.bias", "F32", new int[] {1, 1, 9, 9}, new float[81]));
        ts.add(new Tensor("h.1.attn.masked_bias", "F32", new int[0], new float[1]));
        Path d = HfFixture.writeDir(dir.resolve("gpt2-untied"), HfFixture.gpt2Config(untied), ts);
        assertSameAsSixpd(ref, d);
        // a tied model whose file still has lm_head.weight (a copy of wte): ignored, as Hugging Face does
        Gpt tied = HfFixture.randomModel(GPT2, 13, "F32");
        List<Tensor> withHead = new ArrayList<>(HfFixture.gpt2Tensors(tied, "F32", true));
        withHead.add(new Tensor("lm_head.weight", "F32", new int[] {272, 16}, tied.param("wte.weight").data));
        assertSameAsSixpd(tied, HfFixture.writeDir(dir.resolve("gpt2-head-copy"), HfFixture.gpt2Config(GPT2),
                withHead));
    }

    @Test
    void llamaLayoutLoads() throws Exception {
        Gpt ref = HfFixture.randomModel(LLAMA, 21, "BF16");
        Path d = HfFixture.writeDir(dir.resolve("llama"), JSON.valueToTree(LLAMA.llamaConfig()),
                HfFixture.llamaTensors(ref, "BF16"));
        assertSameAsSixpd(ref, d);
        // tied, with biases, multi-head, a non-default MLP width
        GptConfig other = LLAMA.withKvHeads(4).withBias(true).withTieHead(true).withMlpHidden(40);
        Gpt ref2 = HfFixture.randomModel(other, 22, "F32");
        assertSameAsSixpd(ref2, HfFixture.writeDir(dir.resolve("llama2"), JSON.valueToTree(other.llamaConfig()),
                HfFixture.llamaTensors(ref2, "F32")));
    }

    // ------------------------------------------------------------------------------------------------ refusals

    private Path gpt2Dir(String name, Consumer<ObjectNode> config, Consumer<List<Tensor>> tensors) throws Exception {
        Gpt ref = HfFixture.randomModel(GPT2, 31, "F32");
        ObjectNode c = HfFixture.gpt2Config(GPT2);
        config.accept(c);
        List<Tensor> ts = new ArrayList<>(HfFixture.gpt2Tensors(ref, "F32", true));
        tensors.accept(ts);
        return HfFixture.writeDir(dir.resolve(name), c, ts);
    }

    private static void assertRefused(Path d, String... parts) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> open(d));
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        }
    }

    private static int index(List<Tensor> ts, String name) {
        for (int i = 0; i < ts.size(); i++) {
            if (ts.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void refusesMismatchedTensorsNamingThem() throws Exception {
        assertRefused(gpt2Dir("missing", c -> { }, ts -> ts.remove(index(ts, "transformer.h.1.mlp.c_fc.bias"))),
                "lacks the tensor 'transformer.h.1.mlp.c_fc.bias'");
        // c_attn stored [out, in] as a Linear would: GPT-2's Conv1D is [in, out]
        assertRefused(gpt2Dir("untransposed", c -> { }, ts -> {
            int i = index(ts, "transformer.h.0.attn.c_attn.weight");
            Tensor t = ts.get(i);
            ts.set(i, new Tensor(t.name(), "F32", new int[] {48, 16}, t.data()));
        }), "tensor 'transformer.h.0.attn.c_attn.weight' has shape [48, 16]", "needs [16, 48]",
                "GPT-2's Conv1D stores [in, out]");
        assertRefused(gpt2Dir("extra", c -> { }, ts -> ts.add(new Tensor("transformer.h.2.ln_1.weight", "F32",
                new int[] {16}, new float[16]))), "tensors the model in config.json", "transformer.h.2.ln_1.weight");
        assertRefused(gpt2Dir("dtype", c -> { }, ts -> {
            int i = index(ts, "transformer.ln_f.bias");
            ts.set(i, new Tensor("transformer.ln_f.bias", "I16", new int[] {16}, new float[16]));
        }), "tensor 'transformer.ln_f.bias' has dtype 'I16', which sixpd cannot read (F32, BF16, F16");
        assertRefused(gpt2Dir("untied-no-head", c -> c.put("tie_word_embeddings", false), ts -> { }),
                "lacks the tensor 'lm_head.weight'", "untied");
        // the embedding of a different vocabulary
        assertRefused(gpt2Dir("vocab", c -> c.put("vocab_size", 300), ts -> { }),
                "tensor 'transformer.wte.weight' has shape [272, 16]", "needs [300, 16]");
    }

    @Test
    void refusesBadConfigsNamingTheField() throws Exception {
        assertRefused(gpt2Dir("no-heads", c -> c.remove("n_head"), ts -> { }), "lacks the field n_head");
        assertRefused(gpt2Dir("float-layers", c -> c.put("n_layer", 2.5), ts -> { }), "n_layer is 2.5");
        assertRefused(gpt2Dir("heads-5", c -> c.put("n_head", 5), ts -> { }), "config.json",
                "heads (5) must divide d_model (16)");
        assertRefused(gpt2Dir("erf-gelu", c -> c.put("activation_function", "gelu"), ts -> { }),
                "activation_function is 'gelu'", "tanh form", "gelu_new");
        assertRefused(gpt2Dir("relu", c -> c.put("activation_function", "relu"), ts -> { }),
                "activation_function is 'relu'");
        assertRefused(gpt2Dir("eps", c -> c.put("layer_norm_epsilon", 1e-6), ts -> { }),
                "layer_norm_epsilon is 1.0E-6", "1.0E-5");
        assertRefused(gpt2Dir("mistral", c -> c.put("model_type", "mistral"), ts -> { }),
                "model_type 'mistral'", "\"gpt2\"", "\"llama\"");
        // a tokenizer with more ids than the model's vocabulary
        assertRefused(gpt2Dir("small-vocab", c -> c.put("vocab_size", 200), ts -> { }),
                "tokenizer has ids up to 264", "vocab_size 200");

        Gpt ref = HfFixture.randomModel(LLAMA, 41, "F32");
        String[][] bad = {
                {"rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling is", "no scaling"},
                {"rope_theta", "500000.0", "rope_theta is 500000.0"},
                {"rms_norm_eps", "1e-6", "rms_norm_eps is 1.0E-6"},
                {"hidden_act", "\"gelu\"", "hidden_act is 'gelu'"},
                {"mlp_bias", "true", "attention_bias is false but mlp_bias is true"},
                {"head_dim", "8", "head_dim is 8"},
                {"num_key_value_heads", "3", "kv-heads (3) must divide heads (4)"},
                {"intermediate_size", "null", "lacks the field intermediate_size"},
        };
        for (String[] b : bad) {
            ObjectNode c = JSON.valueToTree(LLAMA.llamaConfig());
            c.set(b[0], JSON.readTree(b[1]));
            Path d = HfFixture.writeDir(dir.resolve("llama-" + b[0]), c, HfFixture.llamaTensors(ref, "F32"));
            assertRefused(d, Arrays.copyOfRange(b, 2, b.length));
        }
    }

    @Test
    void refusesDirectoriesWithoutTheFilesNamingWhatIsThere() throws Exception {
        Path d = gpt2Dir("sharded", c -> { }, ts -> { });
        Files.move(d.resolve("model.safetensors"), d.resolve("model-00001-of-00002.safetensors"));
        Files.writeString(d.resolve("model.safetensors.index.json"), "{}");
        assertRefused(d, "has no model.safetensors", "sharded");
        Path bin = gpt2Dir("bin", c -> { }, ts -> { });
        Files.move(bin.resolve("model.safetensors"), bin.resolve("pytorch_model.bin"));
        assertRefused(bin, "only pytorch_model.bin");
        Path noTok = gpt2Dir("no-tokenizer", c -> { }, ts -> { });
        Files.delete(noTok.resolve("merges.txt"));
        assertRefused(noTok, "no byte-level BPE tokenizer", "tokenizer.json, or vocab.json + merges.txt");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertRefused(empty, "is not a checkpoint");
    }

    @Test
    void transposeIsItsOwnInverse() throws IOException {
        float[] a = {1, 2, 3, 4, 5, 6}; // [2, 3]
        float[] t = new float[6];
        HfModel.transpose(a, 2, 3, t);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, t);
        float[] back = new float[6];
        HfModel.transpose(t, 3, 2, back);
        assertArrayEquals(a, back);
    }
}
