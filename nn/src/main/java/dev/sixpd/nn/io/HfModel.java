package dev.sixpd.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.optim.Param;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Weights from outside: a Hugging Face model directory, {@code config.json} + {@code model.safetensors}, of a
 * GPT-2 ({@code GPT2LMHeadModel}) or a LLaMA ({@code LlamaForCausalLM}).
 *
 * <p><b>Config.</b> {@link #config} maps {@code config.json} onto {@link GptConfig}:
 * <pre>
 *   GPT-2  vocab_size n_positions n_layer n_embd n_head n_inner(null = 4C)   → gpt2(...): LayerNorm, learned positions,
 *          tie_word_embeddings (default true)                                  GELU MLP, biases, fused c_attn
 *   LLaMA  vocab_size max_position_embeddings num_hidden_layers hidden_size  → llama(...): RMSNorm, RoPE, SwiGLU,
 *          num_attention_heads num_key_value_heads(default = heads)            no biases
 *          intermediate_size tie_word_embeddings attention_bias mlp_bias
 * </pre>
 * sixpd's fixed numerics must match, or the file is refused: LayerNorm/RMSNorm ε 1e-5 ({@code layer_norm_epsilon},
 * {@code rms_norm_eps}), RoPE θ 10000 ({@code rope_theta}) without {@code rope_scaling}, GPT-2's activation the
 * tanh GELU ({@code gelu_new}, {@code gelu_pytorch_tanh}, {@code gelu_fast}: sixpd's
 * {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}; the erf {@code gelu} differs by up to 2e-4 and is refused),
 * LLaMA's {@code silu}, one bias switch for attention and MLP.
 *
 * <p><b>Weights.</b> {@link #load} reads {@code model.safetensors} (F32, BF16 or F16, widened exactly; see
 * {@link SafeTensors} for the checks made before anything is allocated) and copies each tensor into the parameter
 * of the same meaning. LLaMA's names are sixpd's own ({@code model.layers.{i}.self_attn.q_proj.weight}, ...,
 * {@code [out, in]}). GPT-2's are sixpd's with or without a {@code transformer.} prefix
 * ({@code transformer.h.{i}.attn.c_attn.weight}); GPT-2's attention and MLP weights are {@code Conv1D}, stored
 * {@code [in, out]}, and are transposed into sixpd's {@code [out, in]}. {@code lm_head.weight} may be absent when
 * the head is tied (it is then the token embedding, and ignored if present). Buffers some files carry are skipped:
 * GPT-2's causal masks {@code h.{i}.attn.bias} and {@code h.{i}.attn.masked_bias}, LLaMA's
 * {@code rotary_emb.inv_freq}. A missing tensor, a wrong shape or an unexpected tensor is refused with a
 * {@link CheckpointException} naming the tensor and what was expected.
 *
 * <p>Not read: sharded files ({@code model.safetensors.index.json}), {@code pytorch_model.bin}. Stateless,
 * thread-safe.
 */
public final class HfModel {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    /** The tanh GELU under Hugging Face's names (ACT2FN): the function sixpd's Gelu computes. */
    private static final List<String> TANH_GELU = List.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast");
    /** Buffers, not parameters: GPT-2's causal masks, LLaMA's RoPE frequencies. */
    private static final Pattern BUFFER = Pattern.compile(
            "(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)|model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");
    private static final ObjectMapper JSON = new ObjectMapper();

    private HfModel() {
    }

    /** Whether {@code dir} holds {@code config.json} (and is not a sixpd checkpoint, which has state.json). */
    public static boolean isHfDir(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG)) && !Files.exists(dir.resolve(Checkpoint.STATE))
                && !Files.exists(dir.resolve(Checkpoint.LATEST));
    }

    // ------------------------------------------------------------------------------------------------ config

    /** The model of {@code dir/config.json}; throws {@link CheckpointException} naming the field and what it needs. */
    public static GptConfig config(Path dir) {
        Path f = dir.resolve(CONFIG);
        JsonNode c;
        try {
            c = JSON.readTree(Files.readString(f));
        } catch (NoSuchFileException e) {
            throw new CheckpointException(dir + " has no " + CONFIG + ": a Hugging Face model directory holds "
                    + CONFIG + " + " + WEIGHTS);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(f + " does not parse as JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + f + ": " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new CheckpointException(f + " is not a JSON object");
        }
        return configOf(c, f.toString());
    }

    /** {@link #config} on a parsed {@code config.json}; {@code where} names it in messages. */
    static GptConfig configOf(JsonNode c, String where) {
        String type = c.path("model_type").asText("");
        String arch = c.path("architectures").path(0).asText("");
        try {
            if (type.equals("gpt2") || (type.isEmpty() && arch.startsWith("GPT2"))) {
                return gpt2(c, where);
            }
            if (type.equals("llama") || (type.isEmpty() && arch.startsWith("Llama"))) {
                return llama(c, where);
            }
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + ": " + e.getMessage());
        }
        throw new CheckpointException(where + " has model_type '" + type + "'" + (arch.isEmpty() ? "" : " ("
                + arch + ")") + "; sixpd reads \"gpt2\" (GPT2LMHeadModel) and \"llama\" (LlamaForCausalLM)");
    }

    private static GptConfig gpt2(JsonNode c, String where) {
        int C = intField(c, "n_embd", where);
        String act = c.path("activation_function").asText("gelu_new");
        if (!TANH_GELU.contains(act)) {
            throw new CheckpointException(where + ": activation_function is '" + act + "'; sixpd's GELU is the tanh"
                    + " form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), Hugging Face's " + String.join(", ",
                    TANH_GELU) + (act.equals("gelu") ? " (the erf GELU differs by up to 2e-4: refused rather than"
                    + " give other logits)" : ""));
        }
        checkEps(c, "layer_norm_epsilon", 1e-5, where);
        refuseIf(c, "scale_attn_by_inverse_layer_idx", true, where, "sixpd scales scores by 1/√HS only");
        refuseIf(c, "scale_attn_weights", false, where, "sixpd scales scores by 1/√HS");
        refuseIf(c, "add_cross_attention", true, where, "sixpd is decoder-only");
        int inner = c.hasNonNull("n_inner") ? intField(c, "n_inner", where) : 0;
        return GptConfig.gpt2(intField(c, "vocab_size", where), intField(c, "n_positions", where),
                        intField(c, "n_layer", where), C, intField(c, "n_head", where))
                .withMlpHidden(inner).withTieHead(boolField(c, "tie_word_embeddings", true, where));
    }

    private static GptConfig llama(JsonNode c, String where) {
        int C = intField(c, "hidden_size", where);
        int heads = intField(c, "num_attention_heads", where);
        int kv = c.hasNonNull("num_key_value_heads") ? intField(c, "num_key_value_heads", where) : heads;
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new CheckpointException(where + ": hidden_act is '" + act + "'; sixpd's SwiGLU gates with silu");
        }
        if (!c.has("rms_norm_eps")) {
            throw new CheckpointException(where + " lacks rms_norm_eps (sixpd's RMSNorm uses 1e-5; Hugging Face's"
                    + " default would be 1e-6)");
        }
        checkEps(c, "rms_norm_eps", 1e-5, where);
        double theta = c.has("rope_theta") ? numField(c, "rope_theta", where) : 10000.0;
        if (theta != GptConfig.ROPE_THETA) {
            throw new CheckpointException(where + ": rope_theta is " + c.get("rope_theta") + "; sixpd's RoPE uses θ "
                    + GptConfig.ROPE_THETA);
        }
        if (c.hasNonNull("rope_scaling")) {
            throw new CheckpointException(where + ": rope_scaling is " + c.get("rope_scaling") + "; sixpd's RoPE has"
                    + " no scaling (rope_scaling must be null)");
        }
        if (c.hasNonNull("head_dim") && intField(c, "head_dim", where) * heads != C) {
            throw new CheckpointException(where + ": head_dim is " + c.get("head_dim") + " but hidden_size / "
                    + "num_attention_heads is " + C / heads + "; sixpd's heads are hidden_size / num_attention_heads");
        }
        boolean attnBias = boolField(c, "attention_bias", false, where);
        boolean mlpBias = boolField(c, "mlp_bias", false, where);
        if (attnBias != mlpBias) {
            throw new CheckpointException(where + ": attention_bias is " + attnBias + " but mlp_bias is " + mlpBias
                    + "; sixpd has one bias switch for every linear layer");
        }
        return GptConfig.llama(intField(c, "vocab_size", where), intField(c, "max_position_embeddings", where),
                        intField(c, "num_hidden_layers", where), C, heads, kv)
                .withMlpHidden(intField(c, "intermediate_size", where)).withBias(attnBias)
                .withTieHead(boolField(c, "tie_word_embeddings", false, where));
    }

    private static int intField(JsonNode c, String k, String where) {
        JsonNode v = c.get(k);
        if (v == null || v.isNull()) {
            throw new CheckpointException(where + " lacks the field " + k + " (a positive integer)");
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
            throw new CheckpointException(where + ": " + k + " is " + v + "; it must be a positive integer below 2^31");
        }
        return v.intValue();
    }

    private static double numField(JsonNode c, String k, String where) {
        JsonNode v = c.get(k);
        if (v == null || !v.isNumber()) {
            throw new CheckpointException(where + ": " + k + " is " + v + "; it must be a number");
        }
        return v.doubleValue();
    }

    private static boolean boolField(JsonNode c, String k, boolean dflt, String where) {
        JsonNode v = c.get(k);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new CheckpointException(where + ": " + k + " is " + v + "; it must be true or false");
        }
        return v.booleanValue();
    }

    private static void checkEps(JsonNode c, String k, double want, String where) {
        double eps = c.has(k) ? numField(c, k, where) : want;
        if (Math.abs(eps - want) > 1e-12) {
            throw new CheckpointException(where + ": " + k + " is " + c.get(k) + "; sixpd's norms use ε " + want);
        }
    }

    private static void refuseIf(JsonNode c, String k, boolean bad, String where, String why) {
        if (c.has(k) && boolField(c, k, !bad, where) == bad) {
            throw new CheckpointException(where + ": " + k + " is " + bad + "; " + why);
        }
    }

    // ------------------------------------------------------------------------------------------------ weights

    /**
     * Copies {@code dir/model.safetensors} into {@code model} (whose config is {@link #config} of {@code dir}):
     * every parameter present once with its shape, nothing else but known buffers; throws
     * {@link CheckpointException} naming the first mismatch.
     */
    public static void load(Path dir, Gpt model) {
        load(dir, model.config, model.params());
    }

    /**
     * As {@link #load(Path, Gpt)} into {@code params}, the tensors of a model of {@code cfg} (a fine-tuning's base
     * tensors: its LoRA adapters are not in the directory).
     */
    public static void load(Path dir, GptConfig cfg, List<Param> params) {
        Path f = weightsFile(dir);
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>(SafeTensors.read(f).tensors());
        boolean gpt2 = cfg.family() == Family.GPT2;
        String prefix = gpt2 && t.containsKey("transformer.wte.weight") ? "transformer." : "";
        for (Param p : params) {
            String name = p.name.equals("lm_head.weight") ? p.name : prefix + p.name;
            SafeTensors.Entry e = t.remove(name);
            if (e == null) {
                throw new CheckpointException(f + " lacks the tensor '" + name + "' of the model in " + CONFIG + " ("
                        + cfg + ")" + (name.equals("lm_head.weight") ? ": the head is untied"
                        + " (tie_word_embeddings false), so lm_head.weight must be there" : ""));
            }
            boolean conv1d = gpt2 && isConv1d(p.name);
            int[] want = p.shape();
            int[] stored = conv1d ? new int[] {want[1], want[0]} : want;
            if (!Arrays.equals(e.shape(), stored)) {
                throw new CheckpointException(f + ": tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                        + " but " + CONFIG + " (" + cfg + ") needs " + Arrays.toString(stored)
                        + (conv1d ? " (GPT-2's Conv1D stores [in, out])" : ""));
            }
            if (conv1d) {
                transpose(e.data(), want[1], want[0], p.data);
            } else {
                System.arraycopy(e.data(), 0, p.data, 0, p.data.length);
            }
            p.syncWorking();
        }
        if (cfg.tieHead()) {
            t.remove("lm_head.weight"); // tied: the head is the token embedding (Hugging Face drops the copy)
        }
        List<String> extra = new ArrayList<>();
        for (String k : t.keySet()) {
            if (!BUFFER.matcher(k).matches()) {
                extra.add(k);
            }
        }
        if (!extra.isEmpty()) {
            throw new CheckpointException(f + " has tensors the model in " + CONFIG + " (" + cfg + ") does not: "
                    + extra + (prefix.isEmpty() && gpt2 && extra.get(0).startsWith("transformer.")
                    ? " (names with and without 'transformer.' are mixed)" : ""));
        }
    }

    /** {@code dir/model.safetensors}; throws saying what the directory holds instead when it is missing. */
    static Path weightsFile(Path dir) {
        Path f = dir.resolve(WEIGHTS);
        if (!Files.exists(f)) {
            String why = Files.exists(dir.resolve(WEIGHTS + ".index.json")) ? "it is sharded (" + WEIGHTS
                    + ".index.json), which sixpd does not read: merge the shards into one " + WEIGHTS
                    : Files.exists(dir.resolve("pytorch_model.bin")) ? "it has only pytorch_model.bin, which sixpd"
                    + " does not read: save the model with safe_serialization=True"
                    : "a Hugging Face model directory holds " + CONFIG + " + " + WEIGHTS;
            throw new CheckpointException(dir + " has no " + WEIGHTS + ": " + why);
        }
        return f;
    }

    /** GPT-2's Conv1D layers: the attention's c_attn and c_proj, the MLP's c_fc and c_proj. */
    static boolean isConv1d(String sixpdName) {
        return sixpdName.endsWith(".weight") && (sixpdName.contains(".attn.c_") || sixpdName.contains(".mlp.c_"));
    }

    /** {@code out[j, i] = in[i, j]}: {@code in} is {@code [rows, cols]}, {@code out} {@code [cols, rows]}. */
    static void transpose(float[] in, int rows, int cols, float[] out) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = in[i * cols + j];
            }
        }
    }

    /** "GPT-2" or "LLaMA", for messages. */
    static String familyName(GptConfig c) {
        return c.family() == Family.GPT2 ? "GPT-2" : "LLaMA";
    }
}
