package dev.sixpd.nn.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.Lora;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.nn.ParamSpec;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.nn.io.Adapters;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.HfModel;
import dev.sixpd.nn.io.ModelDir;
import dev.sixpd.nn.io.CheckpointException;
import dev.sixpd.optim.Param;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a fine-tuning run starts from: a base model (its config, tokenizer and weights) and either LoRA's settings
 * (adapters trained, the base frozen) or full fine-tuning (every tensor trained). The base is read in one place,
 * {@link #loadBase}: a sixpd checkpoint directory today; another source (a Hugging Face directory) plugs in there.
 * A LoRA run's checkpoints hold the adapters alone and name their base ({@link #toJson}); {@link #restore} rebuilds
 * the adapted model from such a checkpoint.
 */
public final class FineTune {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A base model: where it came from, its shape and tokenizer, and its weights ({@link #loadInto}).
     *
     * @param dir   the directory given ({@code --from}): a sixpd checkpoint or a Hugging Face directory
     * @param step  the checkpoint's step (0 for a Hugging Face directory)
     * @param state the sixpd checkpoint's state, or null for a Hugging Face directory
     */
    public record Base(Path dir, long step, GptConfig config, Tokenizer tokenizer, Checkpoint.State state) {
        /** The base of an opened model directory. */
        public static Base of(ModelDir md) {
            return new Base(md.dir(), md.isHuggingFace() ? 0 : md.state().step(), md.config(), md.tokenizer(),
                    md.state());
        }

        /** Copies the base weights into {@code model}'s base tensors (every tensor but the adapters). */
        public void loadInto(Gpt model) {
            if (state != null) {
                Checkpoint.loadParams(state, baseParams(model));
            } else {
                HfModel.load(dir, config, baseParams(model));
            }
        }

        public String describe() {
            return state == null ? "Hugging Face directory " + dir + " (" + config + ")"
                    : dir + " (step " + step + ", " + config + ")";
        }
    }

    public final Base base;
    /** LoRA's settings, or null for full fine-tuning. */
    public final Lora lora;
    /** A PEFT adapter directory to start from ({@code --load-adapters}), or null. */
    public final Path adapters;

    public FineTune(Base base, Lora lora, Path adapters) {
        if (lora == null && adapters != null) {
            throw new IllegalArgumentException("adapters to load need LoRA settings");
        }
        this.base = base;
        this.lora = lora;
        this.adapters = adapters;
    }

    /**
     * Reads the base model of {@code --from DIR}: a sixpd checkpoint directory (its latest checkpoint). Refuses a
     * LoRA checkpoint (adapters alone are no base: export it with {@code --merge} first).
     */
    public static Base loadBase(Path from) {
        ModelDir md = ModelDir.open(from);
        if (md.isHuggingFace()) {
            return Base.of(md);
        }
        Checkpoint.State st = md.state();
        if (Checkpoint.lora(st) != null) {
            throw new CheckpointException(from + " holds LoRA adapters, not a base model: merge them first with"
                    + " sixpd export --from " + from + " --merge --out DIR, then fine-tune DIR");
        }
        return new Base(from, st.step(), st.config(), st.tokenizer(), st);
    }

    /**
     * {@code text} in the base's tokens. A character tokenizer knows only its training corpus's characters: the
     * others are dropped, with a note saying how many (a fine-tuning text need not be the base's).
     */
    public static int[] encode(Tokenizer tok, String text, java.io.PrintStream out) {
        try {
            return tok.encode(text);
        } catch (IllegalArgumentException e) {
            java.util.Map<Integer, Boolean> known = new java.util.HashMap<>();
            StringBuilder kept = new StringBuilder(text.length());
            long dropped = 0;
            java.util.Set<String> examples = new java.util.TreeSet<>();
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                i += Character.charCount(cp);
                boolean ok = known.computeIfAbsent(cp, c -> {
                    try {
                        tok.encode(new String(Character.toChars(c)));
                        return true;
                    } catch (IllegalArgumentException x) {
                        return false;
                    }
                });
                if (ok) {
                    kept.appendCodePoint(cp);
                } else {
                    dropped++;
                    if (examples.size() < 8) {
                        examples.add(cp <= ' ' ? String.format(java.util.Locale.ROOT, "U+%04X", cp)
                                : new String(Character.toChars(cp)));
                    }
                }
            }
            out.printf(java.util.Locale.ROOT, "note:      dropped %,d characters the base's %s tokenizer does not know"
                    + " (e.g. %s)%n", dropped, tok.type(), String.join(" ", examples));
            return tok.encode(kept.toString());
        }
    }

    /** The model's tensors that are not adapters, in model order. */
    public static List<Param> baseParams(Gpt model) {
        List<Param> out = new ArrayList<>();
        List<ParamSpec> specs = model.spec().params();
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).role() != ParamSpec.Role.ADAPTER) {
                out.add(model.params().get(i));
            }
        }
        return out;
    }

    /** The tensors the run trains: LoRA's adapters, or (full fine-tuning) every tensor of the base. */
    public ModelSpec spec() {
        return ModelSpec.of(base.config, lora);
    }

    /**
     * The model to train, for batches of {@code maxBatch}: adapters initialised from {@code seed} (A Kaiming-uniform,
     * B zero), the base weights loaded, then the adapters of {@link #adapters} if given.
     */
    public Gpt build(int maxBatch, long seed, boolean recompute) {
        Gpt m = new Gpt(spec(), maxBatch, recompute);
        m.init(seed);
        base.loadInto(m);
        if (adapters != null) {
            Adapters.read(adapters, m);
        }
        return m;
    }

    /** What a fine-tuning checkpoint records under {@code train.finetune}: the base's directory and step, the mode. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("base", base.dir.toAbsolutePath().normalize().toString());
        o.put("base_step", base.step);
        o.put("mode", lora == null ? "full" : "lora");
        return o;
    }

    /** The fine-tuning a checkpoint was made by, or null for a checkpoint of {@code train}. */
    public static FineTune of(Checkpoint.State st) {
        JsonNode ft = st.train().get("finetune");
        if (ft == null) {
            return null;
        }
        Path dir = Path.of(ft.path("base").asText());
        Base b;
        try {
            b = loadBase(dir);
        } catch (CheckpointException e) {
            throw new CheckpointException(st.dir() + " was fine-tuned from " + dir + ", which cannot be read: "
                    + e.getMessage());
        }
        if (b.step != ft.path("base_step").asLong(-1) || !b.config.equals(st.config())) {
            throw new CheckpointException(st.dir() + " was fine-tuned from step " + ft.path("base_step") + " of "
                    + dir + ", which now holds step " + b.step + " (" + b.config + "): the base changed; restore it");
        }
        return new FineTune(b, Checkpoint.lora(st), null);
    }

    /**
     * The base model of the plain checkpoint or Hugging Face directory {@code md} with the adapters of the PEFT directory {@code dir} on it
     * (their shapes checked against this base, tensor by tensor).
     */
    public static Gpt withAdapters(ModelDir md, Path dir, int maxBatch) {
        if (!md.isHuggingFace() && Checkpoint.lora(md.state()) != null) {
            throw new CheckpointException(md.dir() + " holds adapters itself: load adapters onto a plain (base or"
                    + " merged) checkpoint");
        }
        Base b = Base.of(md);
        FineTune ft = new FineTune(b, Adapters.readConfig(dir), dir);
        Gpt m = new Gpt(ft.spec(), maxBatch, false);
        b.loadInto(m);
        Adapters.read(dir, m);
        return m;
    }

    /**
     * Folds each adapter into its weight, {@code W ← W + (α/r)·B·A} (each element's sum in double, rounded once), and
     * returns a plain model (no adapters) of the same config with the merged weights: its logits equal the adapted
     * model's up to FP32 rounding.
     */
    public static Gpt merge(Gpt adapted, int maxBatch) {
        Gpt plain = new Gpt(adapted.config, maxBatch);
        float scale = adapted.lora() == null ? 0f : adapted.lora().scale();
        for (Param p : plain.params()) {
            float[] w = adapted.param(p.name).data;
            System.arraycopy(w, 0, p.data, 0, p.size());
            Param a = adapted.param(ModelSpec.loraA(p.name));
            if (a != null) {
                Param bm = adapted.param(ModelSpec.loraB(p.name));
                int r = a.shape()[0];
                int in = a.shape()[1];
                int out = bm.shape()[0];
                // W[o, i] += s · Σ_j B[o, j] · A[j, i]
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        double acc = 0;
                        for (int j = 0; j < r; j++) {
                            acc += (double) bm.data[o * r + j] * a.data[j * in + i];
                        }
                        p.data[o * in + i] = (float) (w[o * in + i] + scale * acc);
                    }
                }
            }
            p.syncWorking();
        }
        return plain;
    }

    /**
     * The model a checkpoint holds, for batches of {@code maxBatch}: a LoRA checkpoint's adapters on their base, or
     * a plain checkpoint's tensors.
     */
    public static Gpt restore(Checkpoint.State st, int maxBatch) {
        // a plain checkpoint (train, finetune --full, a merged export) is whole: its base is not needed
        FineTune ft = Checkpoint.lora(st) == null ? null : of(st);
        if (ft == null || ft.lora == null) {
            Gpt m = new Gpt(st.config(), maxBatch);
            Checkpoint.loadModel(st, m);
            return m;
        }
        Gpt m = new Gpt(ft.spec(), maxBatch, false);
        ft.base.loadInto(m);
        Checkpoint.loadParams(st, Param.trainable(m.params()));
        return m;
    }
}
