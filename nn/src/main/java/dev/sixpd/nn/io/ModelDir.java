package dev.sixpd.nn.io;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.ByteLevelBpe;
import dev.sixpd.nn.data.Tokenizer;

import java.nio.file.Path;

/**
 * A model directory, whoever wrote it: a sixpd checkpoint ({@code LATEST} / {@code state.json}, see
 * {@link Checkpoint}) or a Hugging Face directory ({@code config.json} + {@code model.safetensors} + a byte-level
 * BPE tokenizer, see {@link HfModel} and {@link ByteLevelBpe}). Anything that takes a model directory opens it
 * with {@link #open}: the config and the tokenizer are read at once (small), the weights by {@link #load} into a
 * model the caller builds from {@link #config} (after its own memory checks). Immutable.
 *
 * @param dir       the directory the user named
 * @param config    the model's shape
 * @param tokenizer its tokenizer ({@link ByteLevelBpe} for a Hugging Face directory, padded to the vocabulary)
 * @param state     the sixpd checkpoint's state (step, trainer and optimizer settings), or null for Hugging Face
 */
public record ModelDir(Path dir, GptConfig config, Tokenizer tokenizer, Checkpoint.State state) {

    /**
     * Opens {@code dir}: a sixpd checkpoint when it has {@code LATEST} or {@code state.json}, else a Hugging Face
     * directory when it has {@code config.json}. Throws {@link CheckpointException} saying what is missing or
     * wrong (field, tensor, tokenizer file).
     */
    public static ModelDir open(Path dir) {
        if (!HfModel.isHfDir(dir)) {
            Checkpoint.State st = Checkpoint.readState(dir);
            return new ModelDir(dir, st.config(), st.tokenizer(), st);
        }
        GptConfig cfg = HfModel.config(dir);
        ByteLevelBpe tok;
        try {
            tok = ByteLevelBpe.open(dir);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage());
        }
        if (tok.vocabSize() > cfg.vocab()) {
            throw new CheckpointException(dir + ": the tokenizer has ids up to " + (tok.vocabSize() - 1) + " but "
                    + HfModel.CONFIG + " says vocab_size " + cfg.vocab() + ": they belong to different models");
        }
        HfModel.weightsFile(dir); // present, or say what the directory holds instead
        return new ModelDir(dir, cfg, tok.withVocabSize(cfg.vocab()), null);
    }

    /** Whether this is a Hugging Face directory (no sixpd state: no step, optimizer or trainer settings). */
    public boolean isHuggingFace() {
        return state == null;
    }

    /** Loads the weights into {@code model}, built from {@link #config}; mismatches throw {@link CheckpointException}. */
    public void load(Gpt model) {
        if (!model.config.withAttention(config.attention()).equals(config)) {
            throw new IllegalArgumentException("ModelDir.load: the model is " + model.config + " but " + dir
                    + " holds " + config);
        }
        if (state != null) {
            Checkpoint.loadModel(state, model);
        } else {
            HfModel.load(dir, model);
        }
    }

    /** One line: where the model comes from and its shape. */
    public String describe() {
        return (state != null ? "sixpd checkpoint " + dir + " (step " + state.step() + ")"
                : "Hugging Face " + HfModel.familyName(config) + " directory " + dir) + ": " + config + ", "
                + tokenizer;
    }
}
