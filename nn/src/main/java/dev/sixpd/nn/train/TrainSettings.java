package dev.sixpd.nn.train;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.optim.LossScaler;
import dev.sixpd.tensor.DType;

import java.nio.file.Path;

/**
 * Everything a training run is set up with. Built by the CLI (defaults there) or by tests; a resumed run takes
 * most of these from the checkpoint instead (see {@link Trainer}).
 *
 * @param preset          model preset name ({@code tiny}, {@code small}, {@code medium})
 * @param context         overrides the preset's context length T when {@code > 0}
 * @param layers          overrides L when {@code > 0}
 * @param dModel          overrides C when {@code > 0}
 * @param heads           overrides NH when {@code > 0}
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
 */
public record TrainSettings(String preset, int context, int layers, int dModel, int heads, DataSpec data,
                            String tokenizer, int vocab, double valFraction, int steps, int stopAfter, int batch,
                            int microBatches, double lr, double minLrRatio, int warmup, double weightDecay,
                            double clip, long seed, int threads, Path out, Path log, int evalEvery, int evalWindows,
                            int checkpointEvery, int sampleTokens, boolean recompute, boolean ledger,
                            Path ledgerJson, DType precision, String lossScale) {

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

    /** Builder-style copy with a different value, for tests and resume. */
    public TrainSettings withSteps(int s, int stop) {
        return new TrainSettings(preset, context, layers, dModel, heads, data, tokenizer, vocab, valFraction, s, stop,
                batch, microBatches, lr, minLrRatio, warmup, weightDecay, clip, seed, threads, out, log, evalEvery,
                evalWindows, checkpointEvery, sampleTokens, recompute, ledger, ledgerJson, precision,
                lossScale);
    }

    public TrainSettings withOut(Path o, Path l) {
        return new TrainSettings(preset, context, layers, dModel, heads, data, tokenizer, vocab, valFraction, steps,
                stopAfter, batch, microBatches, lr, minLrRatio, warmup, weightDecay, clip, seed, threads, o, l,
                evalEvery, evalWindows, checkpointEvery, sampleTokens, recompute, ledger, ledgerJson, precision,
                lossScale);
    }

    /** Sequences per micro-batch. */
    public int microBatchSize() {
        return batch / microBatches;
    }

    /** The preset with vocabulary {@code vocab} and any overrides applied; errors name the problem. */
    public GptConfig modelConfig(int vocab) {
        return GptConfig.preset(preset, vocab).withSizes(context, layers, dModel, heads);
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
