package dev.sixpd.nn.cli;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.train.TrainSettings;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The training text's command-line options, shared by {@code train} and {@code precision} (a picocli mixin). */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text to train on (default: java.base "
            + "sources from $JAVA_HOME/lib/src.zip)")
    Path data;
    @Option(names = "--synthetic", paramLabel = "CHARS", description = "train on CHARS characters of the built-in "
            + "Markov source, whose entropy rate (the best loss possible) is known exactly")
    Integer synthetic;
    @Option(names = "--tokenizer", paramLabel = "char|bpe", description = "tokenizer (default: char)")
    String tokenizer;
    @Option(names = "--vocab", paramLabel = "N", description = "BPE vocabulary size (default: 512)")
    Integer vocab;

    /** The text chosen; the Markov source is drawn with {@code seed}. */
    TrainSettings.DataSpec spec(long seed) {
        if (data != null && synthetic != null) {
            throw new UserException("--data and --synthetic both given: choose one");
        }
        if (synthetic != null && synthetic < 1) {
            throw new UserException("--synthetic must be >= 1 characters, got " + synthetic);
        }
        return data != null ? TrainSettings.DataSpec.file(data)
                : synthetic != null ? TrainSettings.DataSpec.markov(synthetic, seed)
                : TrainSettings.DataSpec.javaBase();
    }

    /** Applies the tokenizer options that were given. */
    TrainSettings.Builder apply(TrainSettings.Builder b) {
        if (tokenizer != null) {
            b.tokenizer(tokenizer);
        }
        if (vocab != null) {
            b.vocab(vocab);
        }
        return b;
    }
}
