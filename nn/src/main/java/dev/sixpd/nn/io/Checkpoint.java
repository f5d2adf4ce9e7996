package dev.sixpd.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.optim.Optimizer;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: a directory holding
 * <ul>
 *   <li>{@code model.safetensors}: every parameter, FP32, under its GPT-2 name ({@code wte}, {@code h.0.ln_1.weight},
 *   ...), readable by any safetensors tool;</li>
 *   <li>{@code optimizer.safetensors}: the optimizer state, FP32, keyed {@code <param>.<slot>} (AdamW: m and v);</li>
 *   <li>{@code state.json}: format version, step, model config, tokenizer, optimizer step and hyperparameters, and
 *   the trainer's settings (seed, batch, schedule, data source) needed to continue bit-identically.</li>
 * </ul>
 * Each file is written under a temporary name and renamed; {@code state.json} is written last and both safetensors
 * files carry the step in their metadata, so a save interrupted between files is detected on load (the step
 * numbers disagree) instead of silently mixing two checkpoints.
 */
public final class Checkpoint {
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    public static final String FORMAT = "sixpd-checkpoint";
    public static final int VERSION = 1;

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Checkpoint() {
    }

    /** The parsed {@code state.json} of a checkpoint directory. */
    public record State(Path dir, long step, GptConfig config, Tokenizer tokenizer, ObjectNode json) {
        /** The {@code "train"} object the trainer stored (empty if none). */
        public ObjectNode train() {
            JsonNode t = json.get("train");
            return t instanceof ObjectNode o ? o : JSON.createObjectNode();
        }

        /** The {@code "optimizer"} object (name, step, hyperparameters). */
        public ObjectNode optimizer() {
            JsonNode t = json.get("optimizer");
            return t instanceof ObjectNode o ? o : JSON.createObjectNode();
        }
    }

    /** A fresh JSON object to fill with trainer settings for {@link #save}. */
    public static ObjectNode newObject() {
        return JSON.createObjectNode();
    }

    /**
     * Saves {@code model} (and {@code optimizer} when not null) at {@code step} into {@code dir}, creating it.
     * {@code train} holds whatever the trainer needs to resume; {@code optimizerInfo} the optimizer's settings.
     */
    public static void save(Path dir, long step, Gpt model, Tokenizer tokenizer, Optimizer optimizer,
                            ObjectNode optimizerInfo, ObjectNode train) throws IOException {
        Files.createDirectories(dir);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("sixpd.step", Long.toString(step));
        List<SafeTensors.Entry> ps = new ArrayList<>();
        for (Param p : model.params()) {
            ps.add(new SafeTensors.Entry(p.name, DType.FP32, p.shape(), p.data));
        }
        SafeTensors.write(dir.resolve(MODEL), ps, meta);
        if (optimizer != null) {
            List<SafeTensors.Entry> os = new ArrayList<>();
            Map<String, float[]> state = optimizer.state();
            for (Map.Entry<String, float[]> e : state.entrySet()) {
                os.add(new SafeTensors.Entry(e.getKey(), DType.FP32, new int[]{e.getValue().length}, e.getValue()));
            }
            Map<String, String> ometa = new LinkedHashMap<>(meta);
            ometa.put("sixpd.optimizer_step", Long.toString(optimizer.stepCount()));
            SafeTensors.write(dir.resolve(OPTIMIZER), os, ometa);
        } else {
            Files.deleteIfExists(dir.resolve(OPTIMIZER));
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("step", step);
        root.set("config", JSON.valueToTree(model.config.toMap()));
        try {
            root.set("tokenizer", JSON.readTree(tokenizer.toJson()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("tokenizer produced invalid JSON", e);
        }
        ObjectNode opt = optimizerInfo == null ? JSON.createObjectNode() : optimizerInfo.deepCopy();
        if (optimizer != null) {
            opt.put("step", optimizer.stepCount());
            opt.put("describe", optimizer.describe());
        }
        root.set("optimizer", opt);
        root.set("train", train == null ? JSON.createObjectNode() : train);
        AtomicFiles.writeString(dir.resolve(STATE), JSON.writeValueAsString(root) + "\n");
    }

    /** Reads and checks {@code dir/state.json}: format, version, config and tokenizer. */
    public static State readState(Path dir) {
        Path f = dir.resolve(STATE);
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("no checkpoint directory " + dir + ": pass the --out directory of a"
                    + " train run");
        }
        String text;
        try {
            text = Files.readString(f);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(dir + " is not a checkpoint: it has no " + STATE
                    + " (pass the --out directory of a train run)");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + f + ": " + e.getMessage(), e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(f + " is corrupt: it does not parse as JSON (" + e.getOriginalMessage()
                    + ")");
        }
        if (!(root instanceof ObjectNode o) || !FORMAT.equals(root.path("format").asText())) {
            throw new CheckpointException(f + " is not a sixpd checkpoint (no \"format\": \"" + FORMAT + "\")");
        }
        if (root.path("version").asInt(-1) != VERSION) {
            throw new CheckpointException(f + " has checkpoint version " + root.path("version")
                    + "; this sixpd reads version " + VERSION);
        }
        if (!root.path("step").canConvertToLong()) {
            throw new CheckpointException(f + " is corrupt: no integer \"step\"");
        }
        GptConfig cfg;
        Tokenizer tok;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = JSON.convertValue(root.path("config"), Map.class);
            cfg = GptConfig.fromMap(cm == null ? Map.of() : cm);
            tok = Tokenizer.fromJson(root.path("tokenizer").toString());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(f + " is corrupt: " + e.getMessage());
        }
        if (tok.vocabSize() != cfg.vocab()) {
            throw new CheckpointException(f + " is inconsistent: the tokenizer has " + tok.vocabSize()
                    + " tokens but the model config says vocab " + cfg.vocab());
        }
        return new State(dir, root.get("step").asLong(), cfg, tok, o);
    }

    /**
     * Loads the parameters of {@code dir/model.safetensors} into {@code model}: every parameter must be present with
     * its exact shape and an F32/BF16/F16 dtype, no extra tensors, and the file's step must equal
     * {@code state.step()}; otherwise throws {@link CheckpointException} naming the first mismatch.
     */
    public static void loadModel(State state, Gpt model) {
        Path f = state.dir().resolve(MODEL);
        if (!Files.exists(f)) {
            throw new CheckpointException(state.dir() + " has no " + MODEL + ": the checkpoint is incomplete");
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        checkStep(f, c, state.step());
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>(c.tensors());
        for (Param p : model.params()) {
            SafeTensors.Entry e = t.remove(p.name);
            if (e == null) {
                throw new CheckpointException(f + " lacks the parameter '" + p.name + "' of the model ("
                        + state.config() + ")");
            }
            if (!Arrays.equals(e.shape(), p.shape())) {
                throw new CheckpointException(f + ": parameter '" + p.name + "' has shape "
                        + Arrays.toString(e.shape()) + " but the model needs " + Arrays.toString(p.shape()));
            }
            System.arraycopy(e.data(), 0, p.data, 0, p.data.length);
            p.syncWorking();
        }
        if (!t.isEmpty()) {
            throw new CheckpointException(f + " has tensors the model does not: " + t.keySet());
        }
    }

    /** Loads {@code dir/optimizer.safetensors} into {@code optimizer} (names, sizes and step checked). */
    public static void loadOptimizer(State state, Gpt model, Optimizer optimizer) {
        Path f = state.dir().resolve(OPTIMIZER);
        if (!Files.exists(f)) {
            throw new CheckpointException(state.dir() + " has no " + OPTIMIZER
                    + ": it cannot be resumed (it can still be sampled from)");
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        checkStep(f, c, state.step());
        long optStep;
        try {
            optStep = Long.parseLong(c.metadata().getOrDefault("sixpd.optimizer_step", ""));
        } catch (NumberFormatException e) {
            throw new CheckpointException(f + " is corrupt: no sixpd.optimizer_step in its metadata");
        }
        Map<String, float[]> m = new LinkedHashMap<>();
        for (SafeTensors.Entry e : c.tensors().values()) {
            if (e.dtype() != DType.FP32) {
                throw new CheckpointException(f + ": optimizer state '" + e.name() + "' is " + e.dtype()
                        + "; it must be F32");
            }
            m.put(e.name(), e.data());
        }
        try {
            optimizer.load(model.params(), m, optStep);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(f + " does not match the model: " + e.getMessage());
        }
    }

    private static void checkStep(Path f, SafeTensors.Contents c, long step) {
        String s = c.metadata().get("sixpd.step");
        if (s == null || !s.equals(Long.toString(step))) {
            throw new CheckpointException(f + " is from step " + s + " but " + STATE + " says step " + step
                    + ": a save was interrupted; train again or use another checkpoint");
        }
    }
}
