package dev.sixpd.nn.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Accumulator;
import dev.sixpd.nn.Generator;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.Limits;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.nn.Sampler;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.data.Corpus;
import dev.sixpd.nn.data.Dataset;
import dev.sixpd.nn.data.MarkovSource;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.CheckpointException;
import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.nn.ledger.Analytic;
import dev.sixpd.nn.ledger.LedgerReport;
import dev.sixpd.nn.ledger.LedgerRun;
import dev.sixpd.nn.ledger.MemoryByCategory;
import dev.sixpd.nn.ledger.ParallelReport;
import dev.sixpd.nn.layers.LoraAdapter;
import dev.sixpd.optim.AdamW;
import dev.sixpd.optim.Grads;
import dev.sixpd.optim.LrSchedule;
import dev.sixpd.optim.Param;
import dev.sixpd.optim.LossScaler;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.GradStats;
import dev.sixpd.tensor.Half;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongPredicate;

/**
 * The training loop: AdamW with warm-up and cosine decay, gradient clipping, micro-batch accumulation, validation
 * at intervals, JSONL log, checkpoints, a sample at the end.
 *
 * <p>One step {@code s} (0-based; logged as {@code step = s + 1}, the number of updates done):
 * <ol>
 *   <li>draw {@code batch} windows from the training split with {@code Rng(mix(seed, s))} (a pure function of
 *   seed and step, so a resumed run draws the same batches as an uninterrupted one);</li>
 *   <li>zero the gradients; for each of the {@code microBatches} slices: forward, backward with loss scale
 *   {@code 1/microBatches} (so the gradient is the mean over the whole batch);</li>
 *   <li>a non-finite loss or gradient norm stops the run, naming the step; the last checkpoint is kept;</li>
 *   <li>clip the global gradient norm, AdamW update with {@code lr(s)}.</li>
 * </ol>
 * In a 16-bit run the gradients are stored in the working dtype after backward, then unscaled into FP32 (loss
 * scale, and the gradient scale of {@link #gradScale}) before the optimizer; a step with Inf/NaN gradients is
 * skipped when a loss scaler is on.
 * Same settings, seed and thread count give bit-identical losses; so does stopping and resuming from a checkpoint.
 * Under {@code mpirun} each rank runs this loop on its share of every batch, with the few changes of
 * {@link DataParallel} (gradient reduction, sharded AdamW, rank 0 alone printing and saving).
 */
public final class Trainer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long VAL_NOTHING = 0;

    /** What a run ended with. */
    public record Result(long step, double loss, double valLoss, double initialValLoss, String sample,
                         double seconds, double tokensPerSecond, GptConfig config) {
    }

    private final TrainSettings s;
    private final Checkpoint.State resume;
    /** The fine-tuning this run does, or null (train from scratch). */
    private final FineTune ft;
    private PrintStream out;
    private LongPredicate poison = step -> false;
    private Observer observer = new Observer() { };
    private float gradScale = 1f;
    private int accumulatorBlock = 0;
    private boolean fp32Reference = false;
    /** With {@link #sumMicroBatchesWhole}: the gradients of the micro-batches before the current one, else null. */
    private float[][] earlier;

    /**
     * What a caller ({@link PrecisionExperiment}, tests) may see of a run, step by step. Both methods run on the
     * training thread; the default methods do nothing.
     */
    interface Observer {
        /**
         * The gradients of step {@code step} (1-based) as backward left them: accumulated in FP32 (from activations
         * and activation gradients stored in the working dtype), multiplied by {@code multiplier} = loss scale ×
         * gradient scale, not yet stored in the working dtype. Called only for steps with a finite loss. Do not
         * modify them.
         */
        default void gradients(long step, List<Param> params, float multiplier) {
        }

        /**
         * After step {@code step} (1-based): its train loss, the validation loss (NaN if none at this step), whether
         * it was skipped, and the loss scale the next step uses.
         */
        default void step(long step, double loss, double valLoss, boolean skipped, float lossScale) {
        }

        /**
         * With {@link #fp32Reference}: of the parameter-gradient values of step {@code step} that the FP32
         * reference backward makes nonzero ({@code nonzero}), how many are zero in the working dtype's gradients
         * ({@code flushed}).
         */
        default void reference(long step, long nonzero, long flushed) {
        }
    }

    /**
     * In a 16-bit run, also runs each step's forward and backward a second time with FP32 activations, activation
     * gradients and accumulator (the same working weights, batch and loss multiplier), and counts the gradient
     * values that are nonzero there but zero in the 16-bit run's gradients: underflow anywhere in backward, not
     * only in the final store. Costs a second forward and backward per step (off by default; not in the ledger).
     */
    void fp32Reference(boolean on) {
        fp32Reference = on;
    }

    /**
     * Rounds the running sum of the weight matmuls to the working dtype after every {@code block} products
     * ({@link Accumulator}; ignored in FP32); {@code 0}, the default, accumulates in FP32.
     */
    void roundAccumulator(int block) {
        if (block < 0) {
            throw new IllegalArgumentException("--round-accumulator must be >= 0 products (0: FP32), got " + block);
        }
        accumulatorBlock = block;
    }

    /** Lets {@code o} watch the run (replaces any earlier observer). */
    void observe(Observer o) {
        observer = o;
    }

    /**
     * Multiplies the loss by {@code k} before backward and divides the gradients by {@code k} again in FP32 before
     * the optimizer (after they were stored in the working dtype): the update is that of the unmultiplied loss,
     * but the 16-bit activation and parameter gradients are {@code k} times smaller, as in a larger model whose
     * gradients are that small. A power of two keeps the FP32 arithmetic exact. Default 1.
     */
    void gradScale(float k) {
        if (!(k > 0) || !Float.isFinite(k)) {
            throw new IllegalArgumentException("gradient scale must be a positive finite number, got " + k);
        }
        gradScale = k;
    }

    /**
     * @param settings the run's settings (for a resumed run: as merged with the checkpoint's, see
     *                 {@link #settingsFromCheckpoint})
     * @param resume   the checkpoint to continue from, or null
     * @param out      where the report goes (the progress bar goes to stderr when it is a terminal)
     */
    public Trainer(TrainSettings settings, Checkpoint.State resume, PrintStream out) {
        this(settings, resume, null, out);
    }

    /**
     * A fine-tuning run: the model is {@code fineTune}'s (its base, LoRA adapters or every tensor trained), the
     * tokenizer its base's; a resumed run's checkpoint holds what trains (the adapters under LoRA).
     */
    public Trainer(TrainSettings settings, Checkpoint.State resume, FineTune fineTune, PrintStream out) {
        this.ft = fineTune;
        settings.validate();
        Limits.checkTrainValues(settings.clip(), settings.lr());
        Limits.checkWritable(settings.ledgerJson(), "--ledger-json");
        Limits.checkGenerate(settings.sampleTokens(), 1, "--sample-tokens");
        this.s = settings;
        this.resume = resume;
        this.out = out;
    }

    /**
     * Test hook: each micro-batch's backward starts from zeroed gradients and the finished gradient is added to the
     * sum of the earlier ones as a whole ({@code g = g_earlier + g_m}), instead of backward accumulating into it
     * element by element. This is the association a data-parallel run uses across ranks, so one process with
     * {@code --micro-batches 2} gives 2 ranks' bits ({@code DataParallelTest}); costs 4·P bytes more.
     */
    void sumMicroBatchesWhole(boolean on) {
        earlier = on ? new float[0][] : null;
    }

    /** Test hook: the loss of every step for which {@code p} holds is replaced by NaN. */
    void poisonLossAt(LongPredicate p) {
        poison = p;
    }

    // ------------------------------------------------------------------------------------------------------------

    /** Runs the training and returns how it ended; throws {@link UserException} if the loss diverged. */
    public Result run() throws IOException {
        Parallel.setThreads(Limits.threads(s.threads()));
        long t0 = System.nanoTime();
        // under mpirun: this rank's part of a data-parallel run (null in one process); only rank 0 prints
        DataParallel dp = DataParallel.join(s);
        if (dp != null && !dp.isRoot()) {
            out = DataParallel.SILENT;
        }
        Corpus corpus = loadCorpus(s.data());
        Tokenizer tok;
        if (ft != null) {
            tok = ft.base.tokenizer();
        } else if (resume != null) {
            tok = resume.tokenizer();
        } else {
            tok = Tokenizer.train(s.tokenizer(), corpus.text(), s.vocab());
        }
        int[] tokens = ft != null ? FineTune.encode(tok, corpus.text(), out) : tok.encode(corpus.text());
        GptConfig cfg = ft != null ? ft.base.config() : resume != null ? resume.config()
                : s.modelConfig(tok.vocabSize());
        if (resume != null) {
            long saved = resume.train().path("data_tokens").asLong(-1);
            if (saved != tokens.length) {
                throw new CheckpointException("the data differs from the checkpoint's: " + corpus.description()
                        + " gives " + tokens.length + " tokens, the checkpoint was trained on " + saved
                        + "; pass the same --data as the original run");
            }
        }
        Dataset data = new Dataset(tokens, s.valFraction(), cfg.context());
        int T = cfg.context();
        int microB = dp != null ? dp.microBatchSize() : s.microBatchSize();
        Limits.checkTraining(cfg, ft != null ? ft.lora : null, microB, s.recompute(), s.threads());
        // fine-tuning: the base's weights, adapters initialised (A Kaiming-uniform, B zero) or loaded
        Gpt model = ft != null ? ft.build(microB, s.seed(), s.recompute()) : new Gpt(cfg, microB, s.seed(),
                s.recompute());
        List<Param> params = model.params();
        AdamW opt = new AdamW(0.9f, 0.95f, 1e-8f, (float) s.weightDecay());
        LrSchedule schedule = new LrSchedule(s.lr(), s.lr() * s.minLrRatio(), s.warmup(), s.steps());
        long start = 0;
        if (resume != null) {
            // what the checkpoint holds: every tensor, or (LoRA) the adapters on the base just loaded
            Checkpoint.loadParams(resume, Checkpoint.savedParams(model));
            Checkpoint.loadOptimizer(resume, model, opt);
            start = resume.step();
        } else if (dp == null) {
            opt.init(params);
        }
        // mixed precision: FP32 masters and Adam state; weights, activations and gradients in the working dtype
        DType dtype = s.precision();
        for (Param p : params) {
            p.setWorkingDtype(dtype);
        }
        GradStats gradStats = new GradStats(dtype);
        if (dp != null) {
            // ZeRO-2/3: each layer's gradient is finished here, then reduce-scattered, as soon as its backward ends
            opt = dp.attach(model, opt, group -> finishGradients(group, dtype, gradStats));
        }
        // ZeRO-2/3: the gradients exist only layer by layer inside backward, so the whole-gradient steps below are
        // done by the layer hook (finishing) or not at all (the observer and the FP32 reference, single-process aids)
        boolean layered = dp != null && dp.layered();
        // the step's numerics, passed to every forward and backward: activations stored in the working dtype, the
        // weight matmuls accumulated in FP32 (or rounded to the working dtype with --round-accumulator)
        StepContext ctx = new StepContext(dtype, accumulatorBlock > 0 && dtype != DType.FP32
                ? new Accumulator(dtype, accumulatorBlock) : Accumulator.FP32);
        LossScaler scaler = LossScaler.parse(s.lossScale());
        if (resume != null && resume.train().has("loss_scaler")) {
            JsonNode ls = resume.train().get("loss_scaler");
            scaler.restore((float) ls.path("scale").asDouble(), ls.path("clean_steps").asInt(),
                    ls.path("skipped_steps").asLong());
        }
        long end = s.stopAfter() > 0 ? Math.min(s.steps(), s.stopAfter()) : s.steps();
        Limits.checkResume(start, end, s.steps());

        printHeader(corpus, tok, cfg, model, data, schedule, start, end, (System.nanoTime() - t0) / 1e9);
        if (dp != null) {
            out.println(dp.describe());
        }

        // fixed validation windows, evenly spaced over the validation split
        Limits.checkEvalWindows(s.evalWindows(), T);
        int evalBatches = (s.evalWindows() + microB - 1) / microB;
        List<Dataset.Batch> valBatches = new ArrayList<>();
        for (int i = 0; i < evalBatches; i++) {
            valBatches.add(data.sequentialBatch(Dataset.Split.VALIDATION, microB, i, s.evalWindows()));
        }
        double initialVal = Double.NaN;
        if (start == 0) {
            initialVal = evaluate(model, ctx, valBatches, T);
            out.printf(Locale.ROOT, "step %5d  val loss %.4f  (ln V = %.4f: a model that knows nothing)%n", 0,
                    initialVal, Math.log(cfg.vocab()));
        }

        BufferedWriter log = dp == null || dp.isRoot() ? openLog(s.log(), resume != null) : null;
        Progress progress = Progress.create(start, end, out);
        long tokensPerStep = (long) s.batch() * T;
        double loss = Double.NaN;
        double val = Double.NaN;
        long lastCheckpoint = resume != null ? start : -1;
        Divergence divergence = new Divergence(cfg.vocab());
        double trainSeconds = 0;
        long stepsDone = 0;
        // the ledger counts training steps only: evaluation and sampling switch it off
        Ledger.Snapshot ledgerStart = Ledger.snapshot();
        try {
            for (long step = start; step < end; step++) {
                long ts = System.nanoTime();
                // 1. this step's windows: a pure function of (seed, step)
                Dataset.Batch batch = data.randomBatch(Dataset.Split.TRAIN, s.batch(), new Rng(mix(s.seed(), step)));
                // 2. gradients of the mean loss over the batch, micro-batch by micro-batch
                Grads.zero(params);
                if (dp != null) {
                    dp.beginStep();
                }
                if (layered) {
                    gradStats.reset();
                }
                loss = 0;
                int[] x = new int[microB * T];
                int[] y = new int[microB * T];
                int first = dp != null ? dp.firstSequence() : 0;
                for (int m = 0; m < s.microBatches(); m++) {
                    System.arraycopy(batch.inputs(), (first + m * microB) * T, x, 0, microB * T);
                    System.arraycopy(batch.targets(), (first + m * microB) * T, y, 0, microB * T);
                    // LoRA dropout: a mask per (step, micro-batch), recomputed by the same seed in backward
                    model.setDropoutSeed(mix(s.seed() ^ 0x10AAL, step) + m);
                    double l = model.forward(ctx, x, y, microB, T);
                    loss += l / s.microBatches();
                    if (!Double.isFinite(l) || poison.test(step + 1)) {
                        loss = Double.NaN;
                        if (!layered) {
                            break;
                        }
                        // ZeRO-2/3: backward communicates layer by layer, so every rank runs it; the mean loss
                        // below is NaN on every rank and stops the run everywhere
                    }
                    if (earlier != null && m > 0) {
                        earlier = DataParallel.stash(params, earlier);
                    }
                    model.backward(ctx, scaler.scale() * gradScale / s.microBatches());
                    if (earlier != null && m > 0) {
                        DataParallel.addStashed(params, earlier);
                    }
                }
                model.setDropoutSeed(LoraAdapter.NO_DROPOUT);
                if (dp != null) {
                    loss = dp.meanLoss(loss);
                }
                if (Double.isFinite(loss) && !layered) {
                    observer.gradients(step + 1, params, scaler.scale() * gradScale);
                }
                // 3. 16-bit gradients: what storing them in the working dtype flushes, then store them so;
                //    unscale into FP32 and check for Inf/NaN (a scaled run skips such a step, shrinking the scale)
                boolean skipped = false;
                if (Double.isFinite(loss) && dtype != DType.FP32 && !layered) {
                    gradStats.reset();
                    for (Param p : params) {
                        gradStats.add(p.grad, 0, p.grad.length);
                        Half.roundTo(dtype, p.grad, 0, p.grad.length, false);
                    }
                }
                double refFlushed = Double.NaN;
                if (fp32Reference && Double.isFinite(loss) && dtype != DType.FP32 && !layered) {
                    long[] c = referenceFlushes(model, params, batch, microB, T,
                            scaler.scale() * gradScale / s.microBatches());
                    refFlushed = c[0] == 0 ? 0 : (double) c[1] / c[0];
                    observer.reference(step + 1, c[0], c[1]);
                }
                if (Double.isFinite(loss) && gradScale != 1f && !layered) {
                    Grads.scale(params, 1f / gradScale);
                }
                if (dp != null && Double.isFinite(loss)) {
                    dp.reduceGradients();
                }
                if (Double.isFinite(loss) && (dtype != DType.FP32 || scaler.mode() != LossScaler.Mode.NONE)) {
                    skipped = !(dp != null ? dp.unscaleAndCheck(scaler) : scaler.unscaleAndCheck(params))
                            && scaler.mode() != LossScaler.Mode.NONE;
                }
                // 4. stop on divergence, keeping the last good checkpoint
                double norm = Double.NaN;
                if (Double.isFinite(loss) && !skipped) {
                    norm = dp != null ? dp.clipGlobalNorm(s.clip()) : Grads.clipGlobalNorm(params, s.clip());
                }
                String bad = divergence.verdict(loss, skipped ? 0 : norm);
                if (bad != null) {
                    progress.close();
                    throw divergence.stop(step + 1, bad, s.out(), s.lr());
                }
                // 5. update (not on a skipped step: the gradients overflowed)
                double lr = schedule.lr(step);
                if (!skipped && dp != null) {
                    dp.step((float) lr);
                } else if (!skipped) {
                    opt.stepAndSync(params, (float) lr);
                }
                long done = step + 1;
                double secs = (System.nanoTime() - ts) / 1e9;
                trainSeconds += secs;
                stepsDone++;
                double tps = tokensPerStep / secs;

                // validation at the schedule's last step and every evalEvery; a checkpoint also where --stop-after
                // stops, so that a stopped-and-resumed run logs exactly what an uninterrupted one does
                boolean last = done == end;
                boolean evalNow = done == s.steps() || (s.evalEvery() > 0 && done % s.evalEvery() == 0);
                double valNow = Double.NaN;
                if (evalNow) {
                    valNow = evaluate(model, ctx, valBatches, T);
                    val = valNow;
                    if (dp != null) {
                        dp.checkWeights(done);
                    }
                }
                writeLog(log, done, loss, valNow, tps, lr, norm, dtype, scaler, skipped, gradStats, refFlushed);
                observer.step(done, loss, valNow, skipped, scaler.scale());
                progress.step(done, loss, val, stepsDone * tokensPerStep / trainSeconds);
                if (evalNow) {
                    progress.line(String.format(Locale.ROOT, "step %5d  train loss %.4f  val loss %.4f  lr %.3g"
                            + "  %,.0f tokens/s", done, loss, valNow, lr, stepsDone * tokensPerStep / trainSeconds));
                }
                if (last || (s.checkpointEvery() > 0 && done % s.checkpointEvery() == 0)) {
                    AdamW state = dp != null ? dp.gatheredOptimizer(opt, params) : opt;
                    if (dp != null) {
                        dp.gatherAllWeights(); // ZeRO-3: one whole checkpoint, as from any other run
                    }
                    if (dp == null || dp.isRoot()) {
                        save(model, tok, state, done, corpus, tokens.length, loss, val, scaler);
                    }
                    if (dp != null) {
                        dp.releaseAllWeights();
                    }
                    lastCheckpoint = done;
                }
            }
        } finally {
            progress.close();
            if (log != null) {
                log.close();
            }
        }
        Ledger.Snapshot ledgerRun = Ledger.snapshot().minus(ledgerStart);
        if (layered) {
            // the weights whole on every rank again (ZeRO-3), no more layer hook: rank 0 samples alone
            dp.gatherAllWeights();
            model.setLayerHook(dev.sixpd.nn.LayerHook.NONE);
        }
        if (start == end) {
            out.println("nothing to do: the checkpoint is already at step " + start + " of " + s.steps()
                    + " (pass a larger --steps to continue)");
        } else {
            out.printf(Locale.ROOT, "checkpoint: %s (step %d)%n", s.out(), end);
        }
        String sample = "";
        if (s.sampleTokens() > 0 && (dp == null || dp.isRoot())) {
            sample = sample(model, ctx, tok, data, s.sampleTokens(), s.seed());
            out.println("sample (temperature 0.8, top-k 40, " + s.sampleTokens() + " tokens):");
            out.println("----------------------------------------");
            out.println(sample);
            out.println("----------------------------------------");
        }
        if (stepsDone > 0) {
            if (dp == null || dp.isRoot()) {
                ledgerReport(cfg, model, opt, microB, T, stepsDone, ledgerRun);
            }
            if (dp != null && s.ledger()) {
                ParallelReport.of(dp, dtype != DType.FP32).print(out);
            }
        }
        if (dp != null) {
            out.println(dp.timeSummary(trainSeconds));
            dp.close();
        }
        double tps = trainSeconds > 0 ? stepsDone * tokensPerStep / trainSeconds : Double.NaN;
        double total = (System.nanoTime() - t0) / 1e9;
        if (stepsDone > 0) {
            out.printf(Locale.ROOT, "done: %d steps in %.1f s (%.1f s training, %,.0f tokens/s)%n", stepsDone,
                    total, trainSeconds, tps);
        }
        return new Result(end, loss, val, initialVal, sample, total, tps, cfg);
    }

    // ------------------------------------------------------------------------------------------------------------

    /** The run header's line for a fine-tuning: its base, LoRA's settings (or full), trainable of all parameters. */
    private static String fineTuneLine(FineTune ft, ModelSpec spec) {
        return String.format(Locale.ROOT, "fine-tune: from %s; %s; %,d of %,d parameters trainable (%.2f%%)",
                ft.base.describe(), ft.lora == null ? "full (every tensor trains)" : "LoRA r = " + ft.lora.rank()
                        + ", alpha = " + ft.lora.alpha() + " (scale " + ft.lora.scale() + "), targets "
                        + String.join(",", ft.lora.targets()) + ", dropout " + ft.lora.dropout() + "; the base"
                        + " frozen", spec.trainableParameters(), spec.parameters(),
                100.0 * spec.trainableParameters() / spec.parameters());
    }

    /**
     * {@code train --dry-run}: reads the data and builds the tokenizer, then prints the model, its FLOPs per token
     * and the memory a training step would hold — the layers' own buffer requests, recorded by a dry
     * {@code Activations} that allocates nothing — and stops. Answers "does this fit?" for shapes that would not.
     */
    public static void dryRun(TrainSettings s, PrintStream out) {
        dryRun(s, null, out);
    }

    /**
     * As {@link #dryRun(TrainSettings, PrintStream)} for {@code finetune --dry-run} when {@code ft} is given: the
     * base's model and tokenizer, with its LoRA adapters and frozen tensors ({@link FineTune#spec}).
     */
    public static void dryRun(TrainSettings s, FineTune ft, PrintStream out) {
        s.validate();
        Corpus corpus = loadCorpus(s.data());
        Tokenizer tok = ft != null ? ft.base.tokenizer() : Tokenizer.train(s.tokenizer(), corpus.text(), s.vocab());
        GptConfig cfg = ft != null ? ft.base.config() : s.modelConfig(tok.vocabSize());
        ModelSpec spec = ft != null ? ft.spec() : ModelSpec.of(cfg);
        int T = cfg.context();
        out.printf(Locale.ROOT, "model:     %s %s, %,d parameters = %s with %s%n", ft != null ? "base" : s.preset(),
                cfg, spec.parameters(), spec.parametersFormula(), spec.symbolValues());
        if (ft != null) {
            out.println(fineTuneLine(ft, spec));
        }
        LedgerRun run = new LedgerRun(cfg, s.microBatchSize(), T, 1, s.microBatches(),
                s.recompute() ? cfg.layers() : 0, s.weightDecay() > 0, s.precision(), spec);
        LedgerReport r = LedgerReport.of(run, Ledger.snapshot().minus(Ledger.snapshot()), null);
        Analytic an = r.analytic();
        long att = an.forwardAttentionFlopsPerToken();
        long fwd = an.forwardMatmulFlopsPerToken() + att;
        if (an.adapterParameters() == 0 && an.trainableMatmulParameters() == an.matmulParameters()) {
            out.printf(Locale.ROOT, "FLOPs:     %,d per token forward (2·N + 2·L·C·(T+1), N = %s = %,d), %,d backward;"
                            + " 6·P = %,d%n", fwd, spec.matmulParametersFormula(), spec.matmulParameters(), 2 * fwd,
                    6 * spec.parameters());
        } else {
            // frozen weights get no dW: backward is 2·N + 2·Nt + 4·Na (+ attention's 2 × forward)
            out.printf(Locale.ROOT, "FLOPs:     %,d per token forward (2·(N + Na) + 2·L·C·(T+1), N = %,d, Na = %,d"
                            + " adapters), %,d backward (2·N + 2·Nt + 4·Na + 4·L·C·(T+1), Nt = %,d trainable); 6·P ="
                            + " %,d%n", fwd, an.matmulParameters(), an.adapterParameters(),
                    an.backwardMatmulFlopsPerToken() + 2 * att, an.trainableMatmulParameters(),
                    6 * spec.parameters());
        }
        out.printf(Locale.ROOT, "batch:     %d × %d tokens per pass%s, %s, %s attention%n", s.microBatchSize(), T,
                s.microBatches() > 1 ? " (" + s.microBatches() + " micro-batches per step)" : "",
                s.recompute() ? "per-block recomputation" : "no recomputation",
                cfg.attention().name().toLowerCase(Locale.ROOT));
        out.println();
        out.print(r.memoryText());
        long need = r.memoryLines().stream().filter(l -> l.key().equals("total")).findFirst().orElseThrow()
                .formula();
        out.printf(Locale.ROOT, "dry run: nothing allocated; a step needs %,d bytes (%.2f GiB) of this JVM's %.2f GiB"
                + " heap%n", need, need / (double) (1L << 30), Runtime.getRuntime().maxMemory() / (double) (1L << 30));
    }

    /**
     * The FP32 reference of one step (see {@link #fp32Reference}): keeps the 16-bit gradients, reruns the step's
     * micro-batches with FP32 activations and accumulator, backward with {@code multiplier}, counts, and puts the
     * 16-bit gradients back. Returns {values nonzero in the reference, of those zero in the 16-bit gradients}.
     */
    private static long[] referenceFlushes(Gpt model, List<Param> params, Dataset.Batch batch, int microB, int T,
                                           float multiplier) {
        float[][] kept = new float[params.size()][];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = params.get(i).grad.clone();
        }
        boolean ledger = Ledger.enabled();
        Ledger.setEnabled(false);
        try {
            Grads.zero(params);
            int[] x = new int[microB * T];
            int[] y = new int[microB * T];
            for (int m = 0; m < batch.batch() / microB; m++) {
                System.arraycopy(batch.inputs(), m * microB * T, x, 0, microB * T);
                System.arraycopy(batch.targets(), m * microB * T, y, 0, microB * T);
                model.forward(StepContext.FP32, x, y, microB, T);
                model.backward(StepContext.FP32, multiplier);
            }
        } finally {
            Ledger.setEnabled(ledger);
        }
        long nonzero = 0;
        long flushed = 0;
        for (int i = 0; i < kept.length; i++) {
            float[] ref = params.get(i).grad;
            float[] g = kept[i];
            for (int j = 0; j < g.length; j++) {
                // nonzero (and finite) in FP32, zero in the 16-bit gradients
                if (ref[j] != 0f && Float.isFinite(ref[j])) {
                    nonzero++;
                    if (g[j] == 0f) {
                        flushed++;
                    }
                }
            }
            System.arraycopy(g, 0, ref, 0, g.length);
        }
        return new long[]{nonzero, flushed};
    }

    /**
     * Prints the FLOP/byte ledger of the training steps just run: its summary, or with {@code --ledger} the whole
     * report; {@code --ledger-json} also writes it as JSON.
     */
    private void ledgerReport(GptConfig cfg, Gpt model, AdamW opt, int microB, int T, long steps,
                              Ledger.Snapshot snap) throws IOException {
        LedgerRun run = new LedgerRun(cfg, microB, T, steps, s.microBatches(), s.recompute() ? cfg.layers() : 0,
                s.weightDecay() > 0, model.params().get(0).workingDtype(), model.spec());
        LedgerReport r = LedgerReport.of(run, snap, MemoryByCategory.measure(model, opt));
        out.println();
        out.print(s.ledger() ? r.text() : r.summary());
        if (s.ledgerJson() != null) {
            Path f = s.ledgerJson().toAbsolutePath();
            if (f.getParent() != null) {
                Files.createDirectories(f.getParent());
            }
            Files.writeString(f, r.json() + "\n");
            out.println("ledger JSON: " + s.ledgerJson());
        }
    }

    /**
     * What happens to a step's gradients between backward and the reduction, per tensor: in a 16-bit run their
     * statistics are taken and they are stored in the working dtype; with a gradient scale they are divided by it
     * again. One process and ZeRO-0/1 do it for all parameters after backward; ZeRO-2/3 for each layer right after
     * its backward (the same operations on each element, so the same bits).
     */
    private void finishGradients(List<Param> group, DType dtype, GradStats gradStats) {
        if (dtype != DType.FP32) {
            for (Param p : group) {
                gradStats.add(p.grad, 0, p.size());
                Half.roundTo(dtype, p.grad, 0, p.size(), false);
            }
        }
        if (gradScale != 1f) {
            Grads.scale(group, 1f / gradScale);
        }
    }

    /** Loads the text named by {@code d}. */
    public static Corpus loadCorpus(TrainSettings.DataSpec d) {
        return switch (d.kind()) {
            case "file" -> Corpus.fromFile(Path.of(d.path()));
            case "java.base" -> Corpus.javaBase();
            case "markov" -> Corpus.markov(MarkovSource.standard(), d.length(), d.seed());
            default -> throw new IllegalArgumentException("unknown data kind '" + d.kind() + "'");
        };
    }

    /** SplitMix-style mix of seed and step into the seed of that step's batch generator. */
    static long mix(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step * 0xD1B54A32D192ED03L + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        return z ^ (z >>> 32);
    }

    /** Mean loss over the fixed validation batches (forward only, charged to the ledger's OTHER phase). */
    static double evaluate(Gpt model, StepContext ctx, List<Dataset.Batch> batches, int T) {
        boolean ledger = Ledger.enabled();
        Ledger.setEnabled(false);
        try {
            double sum = 0;
            for (Dataset.Batch b : batches) {
                sum += model.forward(ctx, b.inputs(), b.targets(), b.batch(), T);
            }
            return sum / batches.size();
        } finally {
            Ledger.setEnabled(ledger);
        }
    }

    /** Generates {@code n} tokens after a newline (or the first validation token if newline is not a token). */
    static String sample(Gpt model, StepContext ctx, Tokenizer tok, Dataset data, int n, long seed) {
        int[] prompt;
        try {
            prompt = tok.encode("\n");
        } catch (IllegalArgumentException e) {
            prompt = new int[0];
        }
        if (prompt.length == 0) {
            prompt = new int[]{data.validation()[0]};
        }
        int[] gen = Generator.generate(model, ctx, prompt, n, new Sampler(0.8, 40, 1.0), new Rng(seed ^ 0x5A5A5A5AL));
        return tok.decode(gen);
    }

    private void printHeader(Corpus corpus, Tokenizer tok, GptConfig cfg, Gpt model, Dataset data,
                             LrSchedule schedule, long start, long end, double setupSeconds) {
        out.println("data:      " + corpus.description());
        out.printf(Locale.ROOT, "tokens:    %s tokenizer, vocab %d; %,d train / %,d validation tokens%n", tok.type(),
                tok.vocabSize(), data.train().length, data.validation().length);
        ModelSpec spec = model.spec();
        out.printf(Locale.ROOT, "model:     %s%s, %,d parameters = %s with %s%n",
                ft != null ? "base " : resume != null ? "resumed " : s.preset() + " ", cfg, model.parameterCount(),
                spec.parametersFormula(), spec.symbolValues());
        if (ft != null) {
            out.println(fineTuneLine(ft, spec));
        }
        out.printf(Locale.ROOT, "training:  steps %d..%d of %d, batch %d × %d tokens%s, AdamW(0.9, 0.95, wd %s), "
                        + "clip %s, lr %s, seed %d, %d threads%n", start + 1, end, s.steps(), s.batch(),
                cfg.context(), s.microBatches() > 1 ? " in " + s.microBatches() + " micro-batches" : "",
                s.weightDecay(), s.clip(), schedule, s.seed(), s.threads());
        if (s.precision() != DType.FP32 || !s.lossScale().equals("none")) {
            out.printf(Locale.ROOT, "precision: %s weights, activations and gradients; FP32 master weights and AdamW"
                    + " state; loss scale %s%n", s.precision(), LossScaler.parse(s.lossScale()));
        }
        out.printf(Locale.ROOT, "setup:     %.1f s%n", setupSeconds);
    }

    private static BufferedWriter openLog(Path log, boolean append) throws IOException {
        if (log == null) {
            return null;
        }
        Path parent = log.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static void writeLog(BufferedWriter log, long step, double loss, double val, double tps, double lr,
                                 double norm, DType dtype, LossScaler scaler, boolean skipped, GradStats gs,
                                 double refFlushed) throws IOException {
        if (log == null) {
            return;
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("step", step);
        o.put("loss", loss);
        if (!Double.isNaN(val)) {
            o.put("val_loss", val);
        }
        o.put("tokens_per_s", Math.round(tps * 10) / 10.0);
        o.put("lr", lr);
        o.put("grad_norm", norm);
        if (dtype != DType.FP32 || scaler.mode() != LossScaler.Mode.NONE) {
            o.put("precision", dtype.name().toLowerCase(Locale.ROOT));
            o.put("loss_scale", scaler.scale());
            o.put("skipped", skipped);
            o.put("skipped_steps", scaler.skippedSteps());
        }
        if (dtype != DType.FP32) {
            // gradients of this step's backward (run in the working dtype), classified before storing them in it
            o.put("grad_flushed_frac", gs.flushedFraction());
            o.put("grad_subnormal", gs.subnormal());
            o.put("grad_overflow", gs.overflow());
            if (!Double.isNaN(refFlushed)) {
                // against an FP32 reference backward of the same step (--fp32-reference)
                o.put("grad_flushed_frac_fp32_ref", refFlushed);
            }
        }
        log.write(JSON.writeValueAsString(o));
        log.newLine();
        log.flush();
    }

    private void save(Gpt model, Tokenizer tok, AdamW opt, long step, Corpus corpus, int nTokens, double loss,
                      double val, LossScaler scaler) {
        ObjectNode optInfo = JSON.createObjectNode();
        optInfo.put("name", "AdamW");
        optInfo.put("beta1", opt.beta1());
        optInfo.put("beta2", opt.beta2());
        optInfo.put("eps", opt.eps());
        optInfo.put("weight_decay", opt.weightDecay());
        ObjectNode train = s.toJson();
        train.put("data_description", corpus.description());
        train.put("data_tokens", nTokens);
        if (ft != null) {
            train.set("finetune", ft.toJson());
        }
        ObjectNode ls = train.putObject("loss_scaler");
        ls.put("scale", scaler.scale());
        ls.put("clean_steps", scaler.cleanSteps());
        ls.put("skipped_steps", scaler.skippedSteps());
        train.put("loss", loss);
        if (!Double.isNaN(val)) {
            train.put("val_loss", val);
        }
        try {
            Checkpoint.save(s.out(), step, model, tok, opt, optInfo, train);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint to " + s.out() + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // settings <-> checkpoint JSON

    /**
     * The settings a checkpoint was trained with (its {@code "train"} object), to continue it; the output directory
     * defaults to the checkpoint's and there is no log unless the caller sets one.
     */
    public static TrainSettings settingsFromCheckpoint(Checkpoint.State st) {
        JsonNode o = st.train();
        String[] need = {"data", "steps", "batch", "micro_batches", "lr", "seed", "threads", "eval_windows"};
        for (String k : need) {
            if (!o.has(k)) {
                throw new CheckpointException(st.dir().resolve(Checkpoint.STATE) + " lacks train." + k
                        + ": it cannot be resumed (it can still be sampled from)");
            }
        }
        try {
            return TrainSettings.fromJson(o, st.config(), st.dir()).toBuilder().tokenizer(st.tokenizer().type())
                    .vocab(o.path("vocab").asInt(st.tokenizer().vocabSize())).build();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(st.dir().resolve(Checkpoint.STATE) + ": " + e.getMessage());
        }
    }
}
