package dev.sixpd.nn.cli;

import dev.sixpd.nn.Generator;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.Limits;
import dev.sixpd.nn.Sampler;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code sixpd sample}: generate text from a checkpoint. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate text from a trained checkpoint.",
                "Each step: logits / temperature, keep the top-k tokens, keep the smallest set whose probability "
                        + "reaches top-p, renormalise, draw."},
        footer = {"", "Example:", "  sixpd sample --checkpoint out/train --prompt 'public static' --tokens 300"})
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, description = "a train run's --out directory")
    Path checkpoint;
    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "\n",
            description = "text to continue (default: a newline)")
    String prompt;
    @Option(names = "--tokens", paramLabel = "N", defaultValue = "300", description = "tokens to generate "
            + "(default: ${DEFAULT-VALUE})")
    int tokens;
    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8", description = "softmax temperature, "
            + "0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;
    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "keep the K most probable "
            + "tokens, 0 = all (default: ${DEFAULT-VALUE})")
    int topK;
    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "keep the smallest set "
            + "reaching probability P, 1 = all (default: ${DEFAULT-VALUE})")
    double topP;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "sampling seed "
            + "(default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores)")
    Integer threads;

    @Override
    public Integer call() {
        if (tokens < 0) {
            throw new UserException("--tokens must be >= 0, got " + tokens);
        }
        Sampler sampler = new Sampler(temperature, topK, topP);
        if (threads != null) {
            Parallel.setThreads(Limits.threads(threads));
        }
        Checkpoint.State st = Checkpoint.readState(checkpoint);
        Limits.checkInference(st.config(), 1, Parallel.threads());
        Gpt model = new Gpt(st.config(), 1);
        Checkpoint.loadModel(st, model);
        int[] p;
        try {
            p = st.tokenizer().encode(prompt);
        } catch (IllegalArgumentException e) {
            throw new UserException("the prompt cannot be encoded with the checkpoint's " + st.tokenizer().type()
                    + " tokenizer (" + e.getMessage() + "): use characters from the training text");
        }
        if (p.length == 0) {
            throw new UserException("the prompt is empty: give --prompt at least one character");
        }
        Limits.checkGenerate(tokens, p.length, "--tokens");
        int[] gen = Generator.generate(model, p, tokens, sampler, new Rng(seed));
        System.out.print(prompt);
        System.out.println(st.tokenizer().decode(gen));
        return 0;
    }
}
