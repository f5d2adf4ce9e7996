package dev.sixpd.nn.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.Lora;
import dev.sixpd.nn.UserException;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA adapters alone, as Hugging Face PEFT saves them: {@code adapter_model.safetensors} with tensors
 * {@code base_model.model.<module>.lora_A.weight} {@code [r, in]} and {@code …lora_B.weight} {@code [out, r]}, and
 * {@code adapter_config.json} ({@code peft_type}, {@code r}, {@code lora_alpha}, {@code target_modules},
 * {@code lora_dropout}, ...). {@code <module>} is sixpd's name of the adapted layer: for the LLaMA family that is
 * Hugging Face's ({@code model.layers.0.self_attn.q_proj}); GPT-2's get Hugging Face's {@code transformer.} prefix
 * ({@code transformer.h.0.attn.c_attn}, read with or without it) and {@code fan_in_fan_out} true, as PEFT writes
 * for GPT-2's Conv1D layers (the adapters' shapes are the same either way). sixpd also records its own target names ({@code sixpd_targets}) so a directory
 * reloads exactly.
 */
public final class Adapters {
    public static final String MODEL = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";
    /** PEFT's prefix of every tensor name. */
    public static final String PREFIX = "base_model.model.";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Adapters() {
    }

    private static boolean gpt2(Gpt model) {
        return model.config.family() == GptConfig.Family.GPT2;
    }

    /** PEFT's name of an adapter tensor: {@code base_model.model.[transformer.]<module>.lora_{A,B}.weight}. */
    public static String peftName(Gpt model, Param p) {
        return PREFIX + (gpt2(model) ? "transformer." : "") + p.name;
    }

    /** Writes {@code model}'s adapters into {@code dir} (created if needed); each file atomically. */
    public static void write(Path dir, Gpt model) throws IOException {
        Lora lora = model.lora();
        if (lora == null) {
            throw new UserException("the model has no LoRA adapters to export");
        }
        Files.createDirectories(dir);
        List<SafeTensors.Entry> es = new ArrayList<>();
        Set<String> leaves = new LinkedHashSet<>();
        for (Param p : Param.trainable(model.params())) {
            es.add(new SafeTensors.Entry(peftName(model, p), DType.FP32, p.shape(), p.data));
            // h.0.attn.c_attn.lora_A.weight → c_attn
            String module = p.name.substring(0, p.name.indexOf(".lora_"));
            leaves.add(module.substring(module.lastIndexOf('.') + 1));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        SafeTensors.write(dir.resolve(MODEL), es, meta);
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        c.put("r", lora.rank());
        c.put("lora_alpha", lora.alpha());
        ArrayNode t = c.putArray("target_modules");
        leaves.forEach(t::add);
        c.put("lora_dropout", lora.dropout());
        c.put("bias", "none");
        c.put("fan_in_fan_out", gpt2(model));
        ArrayNode s = c.putArray("sixpd_targets");
        lora.targets().forEach(s::add);
        AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writeValueAsString(c) + "\n");
    }

    /**
     * The LoRA settings of an adapter directory: r, lora_alpha, lora_dropout, and the targets (sixpd's own names
     * when recorded, else PEFT's module names mapped: {@code c_attn} → qkv, {@code q_proj} → q, ..., GPT-2's
     * {@code c_proj} → o and proj).
     */
    public static Lora readConfig(Path dir) {
        Path f = dir.resolve(CONFIG);
        JsonNode c;
        try {
            c = JSON.readTree(Files.readString(f));
        } catch (NoSuchFileException e) {
            throw new CheckpointException(dir + " is not an adapter directory: it has no " + CONFIG);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + f + ": " + e.getMessage());
        }
        if (!c.path("r").isIntegralNumber() || !c.path("lora_alpha").isNumber()) {
            throw new CheckpointException(f + " lacks an integer \"r\" and a number \"lora_alpha\"");
        }
        List<String> targets = new ArrayList<>();
        if (c.has("sixpd_targets")) {
            c.path("sixpd_targets").forEach(n -> targets.add(n.asText()));
        } else {
            Map<String, List<String>> peft = Map.of("c_attn", List.of("qkv"), "q_proj", List.of("q"), "k_proj",
                    List.of("k"), "v_proj", List.of("v"), "o_proj", List.of("o"), "c_fc", List.of("fc"), "c_proj",
                    List.of("o", "proj"), "gate_proj", List.of("gate"), "up_proj", List.of("up"), "down_proj",
                    List.of("down"));
            for (JsonNode n : c.path("target_modules")) {
                List<String> m = peft.get(n.asText());
                if (m == null) {
                    throw new CheckpointException(f + ": target module '" + n.asText() + "' is none of sixpd's"
                            + " linear layers " + peft.keySet());
                }
                targets.addAll(m);
            }
        }
        try {
            return new Lora(c.path("r").asInt(), c.path("lora_alpha").asDouble(), targets,
                    c.path("lora_dropout").asDouble(0));
        } catch (UserException e) {
            throw new CheckpointException(f + ": " + e.getMessage());
        }
    }

    /**
     * Loads the adapters of {@code dir} into {@code model}'s (whose LoRA settings must match the directory's): every
     * adapter tensor present with its shape, no others; refuses a mismatch naming the tensor.
     */
    public static void read(Path dir, Gpt model) {
        Path f = dir.resolve(MODEL);
        if (!Files.exists(f)) {
            throw new CheckpointException(dir + " is not an adapter directory: it has no " + MODEL);
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>(c.tensors());
        for (Param p : Param.trainable(model.params())) {
            SafeTensors.Entry e = t.remove(peftName(model, p));
            if (e == null && gpt2(model)) {
                e = t.remove(PREFIX + p.name); // without transformer. (sixpd's first exports)
            }
            if (e == null) {
                throw new CheckpointException(f + " lacks the adapter tensor '" + peftName(model, p) + "' "
                        + Arrays.toString(p.shape()) + " (the base is " + model.config + ", LoRA r = "
                        + model.lora().rank() + " on " + String.join(",", model.lora().targets()) + ")");
            }
            if (!Arrays.equals(e.shape(), p.shape())) {
                throw new CheckpointException(f + ": adapter tensor '" + e.name() + "' has shape "
                        + Arrays.toString(e.shape()) + " but this base needs " + Arrays.toString(p.shape())
                        + ": the adapters were trained on another model");
            }
            System.arraycopy(e.data(), 0, p.data, 0, p.data.length);
            p.syncWorking();
        }
        if (!t.isEmpty()) {
            throw new CheckpointException(f + " has tensors this model has no place for: " + t.keySet()
                    + " (the base is " + model.config + ")");
        }
    }
}
