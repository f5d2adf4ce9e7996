package dev.sixpd.nn.cli;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.CheckpointException;
import dev.sixpd.nn.train.DataParallel;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.nn.train.Trainer;
import dev.sixpd.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sixpd train}: train a GPT on a text corpus. Options left out take the defaults below, or, with
 * {@code --resume}, the values the checkpoint was trained with.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a GPT-2- or LLaMA-style model on the CPU.",
                "Default: the 'small' preset, character tokens, on the Java sources of java.base from the JDK's "
                        + "lib/src.zip; a few minutes on 2 cores."},
        footer = {"", "Examples:", "  sixpd train", "  sixpd train --preset tiny --steps 200 --data input.txt",
                "  sixpd train --resume out/train --steps 800"})
public final class TrainCommand implements Callable<Integer> {
    // defaults: chosen so that `sixpd train` on the default corpus with 2 cores takes about 3-4 minutes
    static final String PRESET = TrainSettings.DEFAULT_PRESET;
    static final int STEPS = TrainSettings.DEFAULT_STEPS;
    static final int BATCH = TrainSettings.DEFAULT_BATCH;
    static final double LR = TrainSettings.DEFAULT_LR;
    static final long SEED = TrainSettings.DEFAULT_SEED;
    static final String OUT = TrainSettings.DEFAULT_OUT;

    @Mixin
    ModelOptions model;
    @Mixin
    DataOptions text;
    @Mixin
    RunOptions run;

    @Option(names = "--ranks", paramLabel = "N", description = "data parallelism on this machine: run this command "
            + "in N processes with Open MPI's mpirun, each taking batch/N sequences of every step (for several "
            + "machines run mpirun --hostfile FILE -np N sixpd train ... instead)")
    Integer ranks;
    @Option(names = "--zero", paramLabel = "0|1|2|3", description = "with several ranks, the ZeRO stage: 0 = plain"
            + " data parallelism, 1 = AdamW state sharded over the ranks, 2 = gradients too (reduce-scattered layer by"
            + " layer in backward), 3 = weights too (all-gathered layer by layer in forward and backward)"
            + " (default: 0)")
    Integer zero;
    @Option(names = "--overlap", description = "with several ranks and --zero 0: start each layer's gradient"
            + " all-reduce (non-blocking) as soon as its backward ends, so it runs while backward computes the"
            + " earlier layers, as PyTorch DDP does; the same losses bit for bit on 2 ranks (default: off)")
    Boolean overlap;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (ranks != null && !run.dryRun) {
            return DataParallel.launch(ranks, spec.commandLine().getParseResult().originalArgs());
        }
        if (!Mpi.launchedByMpirun()) {
            return train();
        }
        // one rank of mpirun: finalize MPI on the way out; a user error was thrown on every rank alike, rank 0
        // reports it; anything else may have left the other ranks in a collective: abort them all
        boolean root = "0".equals(System.getenv("OMPI_COMM_WORLD_RANK"));
        try {
            int code = train();
            DataParallel.finish();
            return code;
        } catch (UserException | CheckpointException | IllegalArgumentException e) {
            DataParallel.finish();
            if (!root) {
                return Main.USAGE;
            }
            throw e;
        } catch (Throwable t) {
            t.printStackTrace();
            Mpi.init().abort(1);
            throw t;
        }
    }

    private int train() throws Exception {
        TrainSettings s;
        Checkpoint.State st = null;
        if (run.resume != null) {
            st = Checkpoint.readState(run.resume);
            s = resumed(Trainer.settingsFromCheckpoint(st));
        } else {
            s = fresh();
        }
        PrintStream stdout = System.out;
        if (run.dryRun) {
            Trainer.dryRun(s, stdout);
            return 0;
        }
        Trainer trainer = new Trainer(s, st, stdout);
        if (dev.sixpd.mpi.Mpi.launchedRank() == 0) {
            // rank 0 alone writes checkpoints (and holds the directory's lock); the other ranks only train
            Checkpoint.prepare(s.out(), run.keepOr(Checkpoint.KEEP));
        }
        trainer.run();
        return 0;
    }

    private TrainSettings fresh() {
        TrainSettings.Builder b = TrainSettings.builder().model(model.choice(PRESET))
                .data(text.spec(run.seedOr(SEED)));
        text.apply(b);
        run.apply(b);
        if (zero != null) {
            b.zero(zero);
        }
        if (overlap != null) {
            b.overlap(overlap);
        }
        return b.build();
    }

    /** The checkpoint's settings with the options that may change on resume applied; others must not be given. */
    private TrainSettings resumed(TrainSettings c) {
        String m = model.anyGiven();
        if (m != null) {
            RunOptions.fixed(m, m);
        }
        RunOptions.fixed("--tokenizer", text.tokenizer);
        RunOptions.fixed("--vocab", text.vocab);
        RunOptions.fixed("--synthetic", text.synthetic);
        return run.resumed(c).data(text.data != null ? TrainSettings.DataSpec.file(text.data) : c.data())
                .zero(zero != null ? zero : c.zero()).overlap(overlap != null ? overlap : c.overlap()).build();
    }
}
