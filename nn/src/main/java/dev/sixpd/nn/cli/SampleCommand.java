package dev.sixpd.nn.cli;

import dev.sixpd.nn.CachedGenerator;
import dev.sixpd.nn.Generator;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.KvCache;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.nn.PagedKvCache;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.Limits;
import dev.sixpd.nn.Sampler;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.nn.io.ModelDir;
import dev.sixpd.nn.train.FineTune;
import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Rng;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code sixpd sample}: generate text from a checkpoint. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate text from a trained checkpoint, or from a Hugging Face model directory.",
                "Each step: logits / temperature, keep the top-k tokens, keep the smallest set whose probability "
                        + "reaches top-p, renormalise, draw."},
        footer = {"", "Example:", "  sixpd sample --checkpoint out/train --prompt 'public static' --tokens 300"})
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, description = "a train run's --out "
            + "directory, or a Hugging Face GPT-2 or LLaMA directory (config.json, model.safetensors, tokenizer.json "
            + "or vocab.json + merges.txt)")
    Path checkpoint;
    @Option(names = "--adapters", paramLabel = "DIR", description = "LoRA adapters (sixpd export --adapters, PEFT's"
            + " layout) to load onto the --checkpoint model, their base")
    Path adapters;
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
    @Option(names = "--no-kv-cache", description = "re-run the whole forward for every new token (the old path)")
    boolean noKvCache;
    @Option(names = "--stats", description = "print tokens/s, FLOPs per token (ledger and formula), KV-cache bytes "
            + "and the time per token by position")
    boolean stats;
    @Option(names = "--batch", paramLabel = "N", description = "generate N continuations at once (seeds seed, "
            + "seed+1, ...) in a paged KV cache")
    Integer batch;
    @Option(names = "--prompts", paramLabel = "FILE", description = "one prompt per line, generated at once in a "
            + "paged KV cache (seeds seed, seed+1, ...)")
    Path prompts;
    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16", description = "positions per KV page "
            + "with --batch/--prompts (default: ${DEFAULT-VALUE})")
    int pageSize;
    @Option(names = "--compare-cache", description = "benchmark: time the KV-cache path and the cache-free path "
            + "for --tokens tokens in one run")
    boolean compareCache;

    @Override
    public Integer call() {
        if (tokens < 0) {
            throw new UserException("--tokens must be >= 0, got " + tokens);
        }
        Sampler sampler = new Sampler(temperature, topK, topP);
        if (threads != null) {
            Parallel.setThreads(Limits.threads(threads));
        }
        ModelDir md = ModelDir.open(checkpoint);
        Limits.checkInference(md.config(), 1, Parallel.threads());
        // a checkpoint of train or finetune (LoRA adapters on their base) or a Hugging Face directory, and
        // adapters from --adapters on top
        Gpt model;
        if (adapters != null) {
            model = FineTune.withAdapters(md, adapters, 1);
        } else if (md.isHuggingFace()) {
            model = new Gpt(md.config(), 1);
            md.load(model);
        } else {
            model = FineTune.restore(md.state(), 1);
        }
        Tokenizer tok = md.tokenizer();
        int[] p;
        try {
            p = tok.encode(prompt);
        } catch (IllegalArgumentException e) {
            throw new UserException("the prompt cannot be encoded with the checkpoint's " + tok.type()
                    + " tokenizer (" + e.getMessage() + ")" + (md.isHuggingFace() ? "" : ": use characters from the"
                    + " training text"));
        }
        if (p.length == 0) {
            throw new UserException("the prompt is empty: give --prompt at least one character");
        }
        Limits.checkGenerate(tokens, p.length, "--tokens");
        if (batch != null || prompts != null) {
            return sampleBatch(tok, model, sampler);
        }
        if (compareCache) {
            return compare(model, p, sampler);
        }
        if (stats && !noKvCache) {
            // warm-up with the ledger off, so the timings by position are not the JIT compiling the first ones
            boolean on = Ledger.enabled();
            Ledger.setEnabled(false);
            CachedGenerator.generate(model, StepContext.FP32, p, Math.min(tokens, 64), sampler, new Rng(seed));
            Ledger.setEnabled(on);
        }
        long t0 = System.nanoTime();
        Ledger.Snapshot before = Ledger.snapshot();
        long[] nanos = new long[tokens];
        int[] gen = noKvCache ? Generator.generate(model, p, tokens, sampler, new Rng(seed))
                : CachedGenerator.generate(model, StepContext.FP32, new KvCache(model.config), p, tokens, sampler,
                new Rng(seed), nanos);
        long elapsed = System.nanoTime() - t0;
        System.out.print(prompt);
        System.out.println(tok.decode(gen));
        if (stats) {
            printStats(model, p.length, gen.length, elapsed, Ledger.snapshot().minus(before), noKvCache ? null : nanos);
        }
        return 0;
    }

    private void printStats(Gpt model, int promptLen, int n, long nanos, Ledger.Snapshot work, long[] perToken) {
        GptConfig c = model.config;
        ModelSpec spec = model.spec();
        System.out.println();
        System.out.printf(Locale.ROOT, "generated %d tokens after a %d-token prompt in %.3f s: %.1f tokens/s (%s)%n",
                n, promptLen, nanos / 1e9, n / (nanos / 1e9), noKvCache ? "no KV cache" : "KV cache");
        if (noKvCache) {
            System.out.println("FLOPs: the cache-free path runs with the ledger off (use the KV cache to measure)");
            return;
        }
        // every position written to the cache: prompt + n - 1 decode steps (the last token is drawn, not decoded)
        int T = c.context();
        int steps = Math.min(promptLen + n - 1, T);
        long formula = 0;
        for (int len = 1; len <= steps; len++) {
            formula += CachedGenerator.decodeMatmulFlops(spec, len);
        }
        long measured = work.flops(Ledger.Phase.FORWARD);
        long mm = work.flops(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL);
        long att = work.flops(Ledger.Phase.FORWARD, Ledger.Kind.ATTENTION_MATMUL);
        long N = spec.matmulParameters();
        long P = spec.parameters();
        int C = c.heads() * c.headSize();
        System.out.printf(Locale.ROOT, "FLOPs per decode step (ledger, %d steps incl. the prompt's): %,d "
                        + "(weight matmuls %,d, attention q·k and p·v %,d, softmax/norm/RoPE/elementwise %,d)%n",
                steps, measured / steps, mm / steps, att / steps, (measured - mm - att) / steps);
        System.out.printf(Locale.ROOT, "  formula 2·N + 4·L·len·C, len = 1..%d: 2 × %,d + 4 × %d × %.1f × %d = %,d "
                        + "(matmuls only)%n", steps, N, c.layers(), (steps + 1) / 2.0, C, formula / steps);
        System.out.printf(Locale.ROOT, "  training: 6·P = 6 × %,d = %,d per token (+ attention), %.1f× a decode step%n",
                P, 6 * P, 6.0 * P / (measured / (double) steps));
        if (promptLen + n - 1 > T) {
            System.out.printf(Locale.ROOT, "  past the context (%d) the %d later tokens re-ran the whole window (no "
                    + "cache, not in the ledger)%n", T, promptLen + n - 1 - T);
        }
        System.out.printf(Locale.ROOT, "KV cache: 2·L·T·KVH·HS·4 bytes = 2 × %d × %d × %d × %d × 4 = %,d bytes "
                        + "(allocated: %,d)%n", c.layers(), T, c.kvHeads(), c.headSize(),
                KvCache.bytes(c, T, 4), new KvCache(c).bytes());
        // time per token by position: new token i is drawn from a cache of len = promptLen + i positions;
        // mean over the 8 tokens up to that length
        System.out.println("time per token by cache length (mean of the 8 tokens up to it):");
        // 16 and 64 inside the context, T, and T + 16 where the window slides
        java.util.TreeSet<Integer> at = new java.util.TreeSet<>(List.of(T, T + 16));
        for (int len : new int[]{16, 64}) {
            if (len < T) {
                at.add(len);
            }
        }
        for (int pos : at) {
            int last = pos - promptLen;
            if (last < 7) {
                System.out.printf(Locale.ROOT, "  length %4d: within the prompt's %d tokens + 8 (prefill)%n", pos,
                        promptLen);
                continue;
            }
            if (last >= n) {
                System.out.printf(Locale.ROOT, "  length %4d: not reached (generate %d+ tokens from this prompt)%n",
                        pos, last + 1);
                continue;
            }
            long sum = 0;
            for (int i = last - 7; i <= last; i++) {
                sum += perToken[i];
            }
            double ms = sum / 8.0 / 1e6;
            System.out.printf(Locale.ROOT, "  length %4d%s: %.3f ms/token, %.0f tokens/s%n", pos,
                    pos == T ? " (= T)" : pos > T ? " (past T: sliding window, no cache)" : "", ms, 1000 / ms);
        }
    }

    private int compare(Gpt model, int[] p, Sampler sampler) {
        GptConfig c = model.config;
        // warm-up: compile both paths before timing
        Generator.generate(model, p, 8, sampler, new Rng(seed));
        CachedGenerator.generate(model, StepContext.FP32, p, 8, sampler, new Rng(seed));
        boolean on = Ledger.enabled();
        Ledger.setEnabled(false);
        try {
            long t0 = System.nanoTime();
            int[] cached = CachedGenerator.generate(model, StepContext.FP32, p, tokens, sampler, new Rng(seed));
            long tc = System.nanoTime() - t0;
            t0 = System.nanoTime();
            int[] plain = Generator.generate(model, p, tokens, sampler, new Rng(seed));
            long tp = System.nanoTime() - t0;
            System.out.printf(Locale.ROOT, "%s, %d-token prompt, %d new tokens, %d thread(s)%n", c, p.length, tokens,
                    Parallel.threads());
            System.out.printf(Locale.ROOT, "  KV cache:    %8.3f s  %8.1f tokens/s%n", tc / 1e9, tokens / (tc / 1e9));
            System.out.printf(Locale.ROOT, "  no KV cache: %8.3f s  %8.1f tokens/s%n", tp / 1e9, tokens / (tp / 1e9));
            System.out.printf(Locale.ROOT, "  speed-up %.1f×; same tokens: %s%n", (double) tp / tc,
                    Arrays.equals(cached, plain));
        } finally {
            Ledger.setEnabled(on);
        }
        return 0;
    }

    private int sampleBatch(Tokenizer tok, Gpt model, Sampler sampler) {
        List<String> texts;
        if (prompts != null) {
            try {
                texts = Files.readAllLines(prompts).stream().filter(l -> !l.isEmpty()).toList();
            } catch (IOException e) {
                throw new UserException("cannot read --prompts " + prompts + ": " + e.getMessage());
            }
            if (texts.isEmpty()) {
                throw new UserException("--prompts " + prompts + " holds no non-empty line: give one prompt per line");
            }
            if (batch != null && batch != texts.size()) {
                throw new UserException("--batch " + batch + " but --prompts holds " + texts.size()
                        + " prompts: drop --batch (one continuation per prompt)");
            }
        } else {
            if (batch < 1) {
                throw new UserException("--batch must be >= 1, got " + batch);
            }
            texts = Collections.nCopies(batch, prompt);
        }
        if (pageSize < 1) {
            throw new UserException("--page-size must be >= 1 position, got " + pageSize);
        }
        GptConfig c = model.config;
        int S = texts.size();
        int[][] ps = new int[S][];
        Rng[] rngs = new Rng[S];
        for (int s = 0; s < S; s++) {
            try {
                ps[s] = tok.encode(texts.get(s));
            } catch (IllegalArgumentException e) {
                throw new UserException("prompt " + (s + 1) + " cannot be encoded with the checkpoint's "
                        + tok.type() + " tokenizer (" + e.getMessage() + ")");
            }
            if (ps[s].length == 0 || ps[s].length > c.context()) {
                throw new UserException("prompt " + (s + 1) + " has " + ps[s].length + " tokens: give 1 to "
                        + c.context() + " (the context)");
            }
            rngs[s] = new Rng(seed + s);
        }
        PagedKvCache cache = new PagedKvCache(c, S, pageSize);
        long t0 = System.nanoTime();
        int[][] gen = CachedGenerator.generateBatch(model, StepContext.FP32, cache, ps, tokens, sampler, rngs);
        long elapsed = System.nanoTime() - t0;
        long generated = 0;
        long written = 0;
        long slack = 0;
        for (int s = 0; s < S; s++) {
            System.out.printf(Locale.ROOT, "--- sequence %d (seed %d) ---%n", s + 1, seed + s);
            System.out.print(texts.get(s));
            System.out.println(tok.decode(gen[s]));
            generated += gen[s].length;
            // positions written to the cache: prompt + generated - 1 (the last token is drawn, never decoded)
            long w = Math.max(0, ps[s].length + gen[s].length - 1);
            written += w;
            slack += (long) cache.peakPagesOf(s) * pageSize - w;
        }
        long perPos = KvCache.bytes(c, 1, 4);
        long paged = cache.peakPages() * cache.pageBytes();
        long contiguous = S * KvCache.bytes(c, c.context(), 4);
        System.out.println();
        System.out.printf(Locale.ROOT, "%d sequences, %d tokens in %.3f s: %.1f tokens/s; KV per position 2·L·KVH·HS·4"
                + " = %,d bytes%n", S, generated, elapsed / 1e9, generated / (elapsed / 1e9), perPos);
        System.out.printf(Locale.ROOT, "paged KV cache (pages of %d positions, %,d bytes each): peak %d pages in use = "
                        + "%,d bytes; %,d positions written, waste in each sequence's last page %,d positions = %,d "
                        + "bytes (%.1f%%)%n", pageSize, cache.pageBytes(), cache.peakPages(), paged, written, slack,
                slack * perPos, 100.0 * slack * perPos / Math.max(1, paged));
        System.out.printf(Locale.ROOT, "contiguous KV cache reserving T = %d for each: %d × %,d = %,d bytes; waste "
                        + "%,d positions = %,d bytes (%.1f%%); paged / contiguous = %.2f%n", c.context(), S,
                KvCache.bytes(c, c.context(), 4), contiguous, (long) S * c.context() - written,
                ((long) S * c.context() - written) * perPos,
                100.0 * ((long) S * c.context() - written) / ((long) S * c.context()), (double) paged / contiguous);
        return 0;
    }
}
