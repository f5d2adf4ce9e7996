package dev.sixpd.nn.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelChoice;
import dev.sixpd.optim.LossScaler;
import dev.sixpd.tensor.DType;

import java.nio.file.Path;

/**
 * Everything a training run is set up with. Defaults live in one place, {@link Builder}; the JSON a checkpoint
 * keeps (to resume bit-identically) is written and read in one place, {@link #toJson()} and {@link #fromJson}.
 * Immutable.
 *
 * @param model           the model: a preset and its overrides
 * @param data            {@link DataSpec} of the corpus
 * @param tokenizer       {@code char} or {@code bpe}
 * @param vocab           BPE vocabulary size (ignored for char)
 * @param valFraction     fraction of the tokens (the tail) held out for validation
 * @param steps           total optimizer steps; the cosine schedule ends here
 * @param stopAfter       stop (with a checkpoint) after this many steps in total, {@code <= 0}: run to {@code steps};
 *                        simulates an interruption, the schedule still ends at {@code steps}
 * @param batch           sequences per optimizer step
 * @param microBatches    the batch is processed in this many equal micro-batches, gradients accumulated
 * @param lr              peak learning rate
 * @param minLrRatio      the cosine decays to {@code lr · minLrRatio}
 * @param warmup          linear warm-up steps
 * @param weightDecay     AdamW decoupled weight decay (matrices only)
 * @param clip            global gradient-norm clip ({@code <= 0}: off)
 * @param seed            seeds init, batches and sampling
 * @param threads         kernel threads
 * @param out             checkpoint directory
 * @param log             JSONL log file or null
 * @param evalEvery       validation loss every this many steps (and at the end); {@code <= 0}: only at the end
 * @param evalWindows     validation windows of T tokens (fixed, evenly spaced over the validation split)
 * @param checkpointEvery checkpoint every this many steps (and at the end); {@code <= 0}: only at the end
 * @param sampleTokens    tokens to generate at the end ({@code 0}: none)
 * @param recompute       per-block activation recomputation (less activation memory, one more forward)
 * @param ledger          print the FLOP/byte ledger report of the run at the end
 * @param ledgerJson      also write the ledger report as JSON to this file (null: no)
 * @param precision       working dtype of weights, activations and gradients (FP32 masters and Adam state always)
 * @param lossScale       {@code none}, {@code dynamic} or a fixed number (see {@code LossScaler.parse})
 * @param zero            ZeRO stage of a data-parallel run (under mpirun; see {@link DataParallel}): 0 plain data
 *                        parallelism, 1 optimizer state sharded, 2 gradients too, 3 weights too; ignored in one
 *                        process
 * @param overlap         ZeRO-0 of a data-parallel run: start each layer's gradient all-reduce (non-blocking) as
 *                        soon as its backward ends, overlapping backward of the earlier layers; same bits
 */
public record TrainSettings(ModelChoice model, DataSpec data, String tokenizer, int vocab, double valFraction,
                            int steps, int stopAfter, int batch, int microBatches, double lr, double minLrRatio,
                            int warmup, double weightDecay, double clip, long seed, int threads, Path out, Path log,
                            int evalEvery, int evalWindows, int checkpointEvery, int sampleTokens, boolean recompute,
                            boolean ledger, Path ledgerJson, DType precision, String lossScale,
                            int zero, boolean overlap) {

    /** Where the text comes from: a file, the JDK's java.base sources, or the synthetic Markov source. */
    public record DataSpec(String kind, String path, int length, long seed) {
        public static DataSpec file(Path p) {
            return new DataSpec("file", p.toAbsolutePath().normalize().toString(), 0, 0);
        }

        public static DataSpec javaBase() {
            return new DataSpec("java.base", null, 0, 0);
        }

        /** {@code length} characters of the standard Markov source drawn with {@code seed}. */
        public static DataSpec markov(int length, long seed) {
            return new DataSpec("markov", null, length, seed);
        }
    }

    /** Defaults that help texts quote (compile-time constants); the rest are in {@link Builder}. */
    public static final String DEFAULT_PRESET = "small";
    public static final int DEFAULT_STEPS = 1800;
    public static final int DEFAULT_BATCH = 16;
    public static final double DEFAULT_LR = 2e-3;
    public static final long DEFAULT_SEED = 1337;
    public static final String DEFAULT_OUT = "out/train";

    /** The settings with every default; set what differs. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to change some. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.model = model;
        b.data = data;
        b.tokenizer = tokenizer;
        b.vocab = vocab;
        b.valFraction = valFraction;
        b.steps = steps;
        b.stopAfter = stopAfter;
        b.batch = batch;
        b.microBatches = microBatches;
        b.lr = lr;
        b.minLrRatio = minLrRatio;
        b.warmup = warmup;
        b.weightDecay = weightDecay;
        b.clip = clip;
        b.seed = seed;
        b.threads = threads;
        b.out = out;
        b.log = log;
        b.evalEvery = evalEvery;
        b.evalWindows = evalWindows;
        b.checkpointEvery = checkpointEvery;
        b.sampleTokens = sampleTokens;
        b.recompute = recompute;
        b.ledger = ledger;
        b.ledgerJson = ledgerJson;
        b.precision = precision;
        b.lossScale = lossScale;
        b.zero = zero;
        b.overlap = overlap;
        return b;
    }

    /**
     * The defaults of {@code sixpd train}, in one place. Defaults that depend on the step count (warm-up, evaluation
     * and checkpoint intervals) are computed in {@link #build()} from the steps unless set.
     */
    public static final class Builder {
        private ModelChoice model = ModelChoice.preset(DEFAULT_PRESET);
        private DataSpec data = DataSpec.javaBase();
        private String tokenizer = "char";
        private int vocab = 512;
        private double valFraction = 0.1;
        private int steps = DEFAULT_STEPS;
        private int stopAfter = 0;
        private int batch = DEFAULT_BATCH;
        private int microBatches = 1;
        private double lr = DEFAULT_LR;
        private double minLrRatio = 0.1;
        private Integer warmup;          // steps/10, at most 100
        private double weightDecay = 0.1;
        private double clip = 1.0;
        private long seed = DEFAULT_SEED;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Path out = Path.of(DEFAULT_OUT);
        private Path log;
        private Integer evalEvery;       // steps/10, at least 1
        private int evalWindows = 32;
        private Integer checkpointEvery; // steps/4, at least 1
        private int sampleTokens = 400;
        private boolean recompute;
        private boolean ledger;
        private Path ledgerJson;
        private DType precision = DType.FP32;
        private String lossScale = "none";
        private int zero = 0;
        private boolean overlap = false;

        private Builder() {
        }

        public Builder model(ModelChoice v) { model = v; return this; }
        public Builder preset(String v) { model = ModelChoice.preset(v); return this; }
        public Builder data(DataSpec v) { data = v; return this; }
        public Builder tokenizer(String v) { tokenizer = v; return this; }
        public Builder vocab(int v) { vocab = v; return this; }
        public Builder valFraction(double v) { valFraction = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder stopAfter(int v) { stopAfter = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder microBatches(int v) { microBatches = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder minLrRatio(double v) { minLrRatio = v; return this; }
        public Builder warmup(int v) { warmup = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder clip(double v) { clip = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder log(Path v) { log = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalWindows(int v) { evalWindows = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder sampleTokens(int v) { sampleTokens = v; return this; }
        public Builder recompute(boolean v) { recompute = v; return this; }
        public Builder ledger(boolean v) { ledger = v; return this; }
        public Builder ledgerJson(Path v) { ledgerJson = v; return this; }
        public Builder precision(DType v) { precision = v; return this; }
        public Builder lossScale(String v) { lossScale = v; return this; }
        public Builder zero(int v) { zero = v; return this; }
        public Builder overlap(boolean v) { overlap = v; return this; }

        public TrainSettings build() {
            return new TrainSettings(model, data, tokenizer, vocab, valFraction, steps, stopAfter, batch,
                    microBatches, lr, minLrRatio, warmup != null ? warmup : Math.min(100, steps / 10), weightDecay,
                    clip, seed, threads, out, log, evalEvery != null ? evalEvery : Math.max(1, steps / 10),
                    evalWindows, checkpointEvery != null ? checkpointEvery : Math.max(1, steps / 4), sampleTokens,
                    recompute, ledger, ledgerJson, precision, lossScale, zero, overlap);
        }
    }

    // ------------------------------------------------------------------------------------------------ JSON

    /** Checkpoint JSON: snake_case keys, no nulls; enums and paths as strings. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /**
     * The settings as the checkpoint's {@code "train"} object: every field by its snake_case name, the model as
     * {@code "model"} ({@code preset} and overrides); the run-local {@code out}, {@code log}, {@code ledger},
     * {@code ledger_json} and {@code stop_after} are left out (a resumed run sets its own).
     */
    public ObjectNode toJson() {
        ObjectNode o = JSON.valueToTree(this);
        o.remove(java.util.List.of("out", "log", "ledger", "ledger_json", "stop_after"));
        o.put("preset", model.preset());
        o.put("precision", precision.name().toLowerCase(java.util.Locale.ROOT));
        return o;
    }

    /**
     * The inverse of {@link #toJson()}: the defaults of {@link Builder} overlaid with the keys {@code o} has;
     * {@code config} (the checkpoint's model) fixes the model exactly; {@code out} is where the run continues.
     * Checkpoints of sixpd's first version (no {@code "model"} key, the same flat keys otherwise) read the same way.
     */
    public static TrainSettings fromJson(JsonNode o, GptConfig config, Path out) {
        ObjectNode merged = JSON.valueToTree(builder().out(out).build());
        merged.setAll((ObjectNode) o.deepCopy());
        String preset = o.path("preset").asText(o.path("model").path("preset").asText("small"));
        merged.set("model", JSON.valueToTree(ModelChoice.of(
                GptConfig.PRESETS.containsKey(preset) ? preset : "small", config)));
        merged.put("out", out.toString());
        merged.remove(java.util.List.of("log", "ledger_json"));
        merged.put("stop_after", 0);
        merged.put("ledger", false);
        try {
            TrainSettings s = JSON.treeToValue(merged, TrainSettings.class);
            return s.toBuilder().out(out).build();
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the checkpoint's training settings do not read: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    // ------------------------------------------------------------------------------------------------ derived

    /** The preset name. */
    public String preset() {
        return model.preset();
    }

    /** Sequences per micro-batch. */
    public int microBatchSize() {
        return batch / microBatches;
    }

    /** The model with vocabulary {@code vocab}; errors name the problem. */
    public GptConfig modelConfig(int vocab) {
        return model.config(vocab);
    }

    /** Checks the values (including the model shape, before any data is read); errors name the option. */
    public void validate() {
        modelConfig(1);
        LossScaler.parse(lossScale);
        positive(steps, "--steps");
        positive(batch, "--batch");
        positive(microBatches, "--micro-batches");
        positive(threads, "--threads");
        positive(evalWindows, "--eval-windows");
        if (batch % microBatches != 0) {
            throw new IllegalArgumentException("--batch " + batch + " must be a multiple of --micro-batches "
                    + microBatches);
        }
        if (zero < 0 || zero > 3) {
            throw new IllegalArgumentException("--zero must be 0, 1, 2 or 3 (the ZeRO stage), got " + zero);
        }
        if (overlap && zero != 0) {
            throw new IllegalArgumentException("--overlap is implemented for --zero 0 (all-reduce) only, got --zero "
                    + zero + ": ZeRO-2 and 3 already reduce-scatter each layer right after its backward (blocking);"
                    + " leave out --overlap or use --zero 0");
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("--lr must be a positive number, got " + lr);
        }
        if (warmup < 0 || warmup > steps) {
            throw new IllegalArgumentException("--warmup must be in [0, --steps " + steps + "], got " + warmup);
        }
        if (sampleTokens < 0) {
            throw new IllegalArgumentException("--sample-tokens must be >= 0, got " + sampleTokens);
        }
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in (0, 1), got " + valFraction);
        }
        if (!tokenizer.equals("char") && !tokenizer.equals("bpe")) {
            throw new IllegalArgumentException("--tokenizer must be char or bpe, got '" + tokenizer + "'");
        }
        if (tokenizer.equals("bpe") && (vocab < 257 || vocab > 65536)) {
            throw new IllegalArgumentException("--vocab for bpe must be in [257, 65536] (256 bytes + merges), got "
                    + vocab);
        }
    }

    private static void positive(int v, String what) {
        if (v < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, got " + v);
        }
    }
}
