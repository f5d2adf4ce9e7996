package dev.sixpd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch peer of {@code ./sixpd bench step}: runs {@code bench/peers/torch_gpt_step.py} (same GPT-2, shapes
 * and AdamW, FP32 eager mode) as a subprocess and reads the one JSON object it prints.
 *
 * <p>It runs with Debian's {@code /usr/bin/python3} (the {@code python3-torch} package, PyTorch 1.13), not the
 * {@code python3} first on PATH (often a pyenv or venv without torch), and with its thread pools pinned to the
 * thread count ({@code OMP_NUM_THREADS}, {@code OPENBLAS_NUM_THREADS}, {@code MKL_NUM_THREADS}) and
 * {@code OMP_WAIT_POLICY=PASSIVE} (spinning OpenMP workers make PyTorch's plain two-thread run slower than one
 * thread on a 2-core machine). When python or {@code import torch} is missing, {@link #unavailable} says so and
 * what to install; the caller prints it and goes on without the peer. Stateless; thread-safe.
 */
final class TorchPeer {
    /** Debian's interpreter, where {@code python3-torch} installs. */
    static final Path DEFAULT_PYTHON = Path.of("/usr/bin/python3");
    /** The script, relative to the repository root. */
    static final String SCRIPT = "bench/peers/torch_gpt_step.py";
    /** How to get the peer. */
    static final String INSTALL = "install python3-torch (Debian: apt-get install python3-torch)";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the peer printed: tokens/s is the median over its timed steps; blas the library torch loaded. */
    record Result(String preset, int threads, int batch, int context, long params, double stepMs,
            double tokensPerS, String version, String blas) {
        Result(String preset, int threads, int batch, int context, long params, double stepMs, double tokensPerS,
                String version) {
            this(preset, threads, batch, context, params, stepMs, tokensPerS, version, "?");
        }

        /**
         * Whether torch ran on the reference BLAS (Debian's {@code libblas3}, {@code .../blas/libblas.so.3}: plain
         * loops, several times slower than an optimised BLAS; what {@code python3-torch} gets without
         * {@code libopenblas0-pthread}).
         */
        boolean referenceBlas() {
            return blas.contains("/blas/libblas.so");
        }
    }

    /** What to say when the peer ran on the reference BLAS. */
    static final String REFERENCE_BLAS = "warning: PyTorch ran on the reference BLAS (%s), which makes it several"
            + " times slower; apt-get install libopenblas0-pthread and run again";

    private final Path python;
    private final Path script;

    TorchPeer(Path python, Path script) {
        this.python = python;
        this.script = script;
    }

    /** The script next to this build: {@code <root>/bench/peers/...} from {@code <root>/bench/target/classes}. */
    static Path defaultScript() {
        try {
            Path classes = Path.of(TorchPeer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path bench = classes.getParent() == null ? null : classes.getParent().getParent();
            if (bench != null && Files.exists(bench.resolve("peers/torch_gpt_step.py"))) {
                return bench.resolve("peers/torch_gpt_step.py");
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through to the working directory
        }
        return Path.of(SCRIPT);
    }

    /**
     * Why the peer cannot run, or empty if it can: checks that the script and {@code python} exist and that
     * {@code python -c "import torch"} succeeds (within 120 s).
     */
    Optional<String> unavailable() {
        if (!Files.exists(script)) {
            return Optional.of("PyTorch peer skipped: " + script + " not found (run from the sixpd checkout or pass"
                    + " --peer-script)");
        }
        if (!Files.isExecutable(python)) {
            return Optional.of("PyTorch peer skipped: " + python + " not found; " + INSTALL);
        }
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", "import torch").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.of("PyTorch peer skipped: `" + python + " -c 'import torch'` did not finish in"
                        + " 120 s");
            }
            if (p.exitValue() != 0) {
                String last = out.isEmpty() ? "exit " + p.exitValue() : out.substring(out.lastIndexOf('\n') + 1);
                return Optional.of("PyTorch peer skipped: `import torch` fails in " + python + " (" + last + "); "
                        + INSTALL);
            }
        } catch (IOException e) {
            return Optional.of("PyTorch peer skipped: cannot start " + python + " (" + e.getMessage() + "); "
                    + INSTALL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("PyTorch peer skipped: interrupted");
        }
        return Optional.empty();
    }

    /** The peer's command line (FP32). */
    List<String> command(String preset, int threads, int warmup, int steps) {
        return command(preset, threads, warmup, steps, false);
    }

    /** The peer's command line; {@code bf16}: forward under {@code torch.autocast("cpu", bfloat16)}. */
    List<String> command(String preset, int threads, int warmup, int steps, boolean bf16) {
        List<String> c = new ArrayList<>(List.of(python.toString(), script.toString(), "--preset", preset,
                "--threads", Integer.toString(threads), "--warmup", Integer.toString(warmup), "--steps",
                Integer.toString(steps)));
        if (bf16) {
            c.addAll(List.of("--autocast", "bf16"));
        }
        return c;
    }

    /** The environment that pins PyTorch's thread pools to {@code threads} and stops idle workers spinning. */
    static Map<String, String> environment(int threads) {
        String t = Integer.toString(threads);
        return Map.of("OMP_NUM_THREADS", t, "OPENBLAS_NUM_THREADS", t, "MKL_NUM_THREADS", t,
                "OMP_WAIT_POLICY", "PASSIVE");
    }

    /** Runs the peer and parses its output; an error names the command and shows its output. */
    Result run(String preset, int threads, int warmup, int steps, boolean bf16) throws IOException,
            InterruptedException {
        List<String> cmd = command(preset, threads, warmup, steps, bf16);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(environment(threads));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("the PyTorch peer did not finish in 30 min: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException("the PyTorch peer failed (exit " + p.exitValue() + "): " + String.join(" ", cmd)
                    + "\n" + out.strip());
        }
        return parse(out);
    }

    /** The last line of {@code out} that is a JSON object, as a {@link Result}. */
    static Result parse(String out) throws IOException {
        String[] lines = out.strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].strip();
            if (l.startsWith("{")) {
                JsonNode n = JSON.readTree(l);
                for (String k : List.of("preset", "threads", "tokens_per_s", "step_ms")) {
                    if (!n.has(k)) {
                        throw new IOException("the PyTorch peer's JSON lacks '" + k + "': " + l);
                    }
                }
                return new Result(n.get("preset").asText(), n.get("threads").asInt(), n.path("batch").asInt(0),
                        n.path("context").asInt(0), n.path("params").asLong(0), n.get("step_ms").asDouble(),
                        n.get("tokens_per_s").asDouble(), n.path("version").asText("?"), n.path("blas").asText("?"));
            }
        }
        throw new IOException("the PyTorch peer printed no JSON object; its output:\n" + out.strip());
    }
}
