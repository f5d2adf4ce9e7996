package dev.sixpd.nn.cli;

import dev.sixpd.nn.data.BpeTokenizer;
import dev.sixpd.nn.data.Corpus;
import dev.sixpd.nn.plan.BytesPerToken;
import dev.sixpd.nn.plan.PlanArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sixpd plan}: the textbook training estimates (6PD, memory, time, cost) for sizes no CPU can train. The
 * options are parsed by {@link PlanArgs}, which the planner owns; this command passes them through, after measuring
 * bytes per token on real text when {@code --bytes-per-token} is not given: a byte-level BPE tokenizer is trained on
 * a sample ({@code --text FILE}, default the java.base sources of the training corpus) and encodes it.
 */
@Command(name = "plan", description = "Estimate FLOPs, time, cost and memory of training a large model.")
public final class PlanCommand implements Callable<Integer> {
    /** Characters of the sample the bytes-per-token measurement trains its tokenizer on and encodes. */
    static final int SAMPLE_CHARS = 256 * 1024;

    @Option(names = {"-h", "--help"}, description = "show the planner's options")
    boolean help;
    @Option(names = "--text", description = "text to measure bytes per token on (default: the java.base sources)")
    Path text;
    @Option(names = "--text-vocab", description = "BPE vocabulary for that measurement (default: 1024)")
    int textVocab = 1024;
    @Unmatched
    List<String> args = new ArrayList<>();
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        java.io.PrintWriter out = spec.commandLine().getOut();
        if (help) {
            out.print(PlanArgs.USAGE);
            out.println("  storage   --text FILE (sample to measure bytes per token on; default: the java.base "
                    + "sources)  --text-vocab 1024 (its BPE vocabulary)");
            return 0;
        }
        List<String> all = new ArrayList<>(args);
        boolean given = all.stream().anyMatch(a -> a.equals("--bytes-per-token") || a.startsWith("--bytes-per-token="));
        boolean wantsHelpOrJson = all.contains("--json");
        String note = null;
        if (!given) {
            Corpus c;
            try {
                c = text != null ? Corpus.fromFile(text) : Corpus.javaBase();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--text: " + e.getMessage().replace("pass --data", "pass --text")
                        .replace("leave --data out", "leave --text out") + " (or give --bytes-per-token)");
            }
            String sample = c.text().length() > SAMPLE_CHARS ? c.text().substring(0, SAMPLE_CHARS) : c.text();
            BpeTokenizer bpe = BpeTokenizer.train(sample, textVocab);
            double bpt = BytesPerToken.measure(sample, bpe::encode);
            all.add("--bytes-per-token");
            all.add(String.format(Locale.ROOT, "%.4f", bpt));
            note = String.format(Locale.ROOT, "bytes per token %.3f: measured on %,d characters of %s with a byte-level "
                    + "BPE of %d tokens trained on them (--text, --text-vocab, or --bytes-per-token to set it)",
                    bpt, sample.length(), c.name(), textVocab);
        }
        out.print(PlanArgs.run(all.toArray(String[]::new)));
        if (note != null && !wantsHelpOrJson) {
            out.println();
            out.println(note);
        }
        out.flush();
        return 0;
    }
}
