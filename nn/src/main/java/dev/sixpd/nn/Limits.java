package dev.sixpd.nn;

import dev.sixpd.nn.ledger.ActivationLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Checks that run before anything large is allocated: sizes from the command line or a checkpoint must not overflow
 * an {@code int} or a Java array, and must fit in the JVM's heap ({@link Runtime#maxMemory()}). A failed check is a
 * {@link UserException} that says how much is needed, how much the JVM may use, and what to change (a smaller
 * batch or model, {@code --micro-batches}, {@code --recompute}, or more heap via {@code SIXPD_JAVA_OPTS=-Xmx…}).
 *
 * <p>The memory figures are estimates from the buffers {@link Gpt} allocates (parameters with gradients and two Adam
 * slots, the activations it keeps for backward, its backward scratch) plus the GEMM packing buffers of each
 * thread; they err on the high side by a few percent. Stateless and thread-safe.
 */
public final class Limits {
    /** The largest Java array the JVM allocates reliably (a few words below {@code Integer.MAX_VALUE}). */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 16;
    /** GEMM packing buffers per thread, bytes: B panel 1024 × 3072 + A block 144 × 1024 floats (see tensor/Gemm). */
    public static final long GEMM_BUFFERS_PER_THREAD = 4L * (1024 * 3072 + 144 * 1024);

    private Limits() {
    }

    /** Heap the JVM may still allocate, bytes: its maximum less what is in use now. */
    public static long heapAvailable() {
        Runtime r = Runtime.getRuntime();
        return r.maxMemory() - (r.totalMemory() - r.freeMemory());
    }

    /**
     * Throws unless {@code bytes} fit in the heap still available; {@code what} says what needs them and
     * {@code smaller} what option makes them smaller.
     */
    public static void fitsInHeap(double bytes, String what, String smaller) {
        long avail = heapAvailable();
        if (bytes > avail) {
            long max = Runtime.getRuntime().maxMemory();
            long needGiB = (long) Math.ceil((bytes + (max - avail)) * 1.25 / (1L << 30));
            throw new UserException(String.format(Locale.ROOT, "%s needs about %s of memory but the JVM may use %s"
                            + " (%s free): %s, or give Java more heap, e.g. SIXPD_JAVA_OPTS=-Xmx%dg%s", what,
                    bytes(bytes), bytes(max), bytes(avail), smaller, Math.max(1, needGiB),
                    needGiB * (1L << 30) > physicalMemory() ? " (more than this machine's memory: choose smaller)"
                            : ""));
        }
    }

    /** Throws unless an array of {@code n} elements can exist; {@code what} names it. */
    public static void fitsInArray(double n, String what, String smaller) {
        if (n > MAX_ARRAY) {
            throw new UserException(String.format(Locale.ROOT, "%s would hold %,.0f values, more than a Java array"
                    + " can (2^31 - 1): %s", what, n, smaller));
        }
    }

    /**
     * Before {@code new Gpt(config, batch, …)} for training: every buffer fits in a Java array, and parameters,
     * gradients, AdamW's two slots, activations and scratch for {@code batch} sequences, and {@code threads} GEMM
     * buffers, fit in the heap.
     */
    public static void checkTraining(GptConfig c, int batch, boolean recompute, int threads) {
        checkTraining(c, null, batch, recompute, threads);
    }

    /**
     * As {@link #checkTraining(GptConfig, int, boolean, int)} for a fine-tuning: with {@code lora} (null: full) the
     * base is frozen, so its tensors hold their values alone, and only the adapters have gradients and AdamW state.
     */
    public static void checkTraining(GptConfig c, Lora lora, int batch, boolean recompute, int threads) {
        checkModel(c, lora, batch, recompute, threads, 4, "training " + c + (lora != null ? " with LoRA r = "
                        + lora.rank() : "") + " with batches of " + batch + " sequences",
                "use a smaller --batch, --micro-batches K, --recompute, or a smaller model");
    }

    /** Before {@code new Gpt(config, batch)} for sampling (parameters only, no gradients or optimizer state). */
    public static void checkInference(GptConfig c, int batch, int threads) {
        checkModel(c, null, batch, false, threads, 2, "the model " + c, "it was trained with more memory than this JVM"
                + " has; use a machine with more memory");
    }

    /** {@code copies}: float arrays per parameter (data, grad, working copy; + 2 Adam slots when training). */
    private static void checkModel(GptConfig c, Lora lora, int batch, boolean recompute, int threads, int copies,
                                   String what, String smaller) {
        double B = batch;
        double T = c.context();
        double C = c.dModel();
        double V = c.vocab();
        double H = c.mlpHidden();
        double BT = B * T;
        // each buffer must fit in one Java array before anything is sized from the layers
        fitsInArray(BT * Math.max(H, c.qkvWidth()), "an activation buffer [B, T, " + Math.max(c.mlpHidden(),
                c.qkvWidth()) + "] of " + what, smaller);
        if (c.attention() == GptConfig.Attn.NAIVE) {
            fitsInArray(B * c.heads() * T * T, "the attention buffer [B, NH, T, T] of " + what, smaller
                    + " (or --attention flash, which keeps no T × T buffer)");
        }
        fitsInArray(BT * V, "the logits [B, T, V] of " + what, smaller);
        fitsInArray(H * C, "a weight matrix [H, C] of " + what, smaller);
        fitsInArray(V * C, "the token embedding [V, C] of " + what, smaller);
        // the sizes from the model's own spec and its layers' buffer requests (Gpt.layout: nothing allocated), at
        // one and two layers: every per-layer term is linear in L, so a config claiming 10^6 layers costs nothing
        GptConfig one = c.withSizes(0, 1, 0, 0);
        ModelSpec s1 = ModelSpec.of(one, lora);
        ModelSpec s2 = ModelSpec.of(c.withSizes(0, 2, 0, 0), lora);
        double params = s1.parameters() + (c.layers() - 1.0) * (s2.parameters() - s1.parameters());
        double trainable = s1.trainableParameters() + (c.layers() - 1.0)
                * (s2.trainableParameters() - s1.trainableParameters());
        ActivationLayout lay = Gpt.layout(one, batch, recompute);
        double acts = lay.savedForBackwardBytes() + (c.layers() - 1.0) * lay.perLayerBytes() + lay.workspaceBytes();
        int t = Math.min(threads, Runtime.getRuntime().availableProcessors()); // see threads(int)
        // copies float arrays per trainable parameter, 1 per frozen one (+1: the optimizer's or the loader's
        // transient copy)
        double bytes = 4.0 * ((copies + 1) * trainable + 2 * (params - trainable)) + acts
                + t * (double) GEMM_BUFFERS_PER_THREAD;
        fitsInHeap(bytes, what, c.attention() == GptConfig.Attn.NAIVE && copies == 4
                ? smaller + ", --attention flash (no [B, NH, T, T] probabilities kept)" : smaller);
    }

    /** Before a data file is read: it must be a regular file (not a device such as /dev/zero) that fits in memory. */
    public static void checkDataFile(Path file) {
        if (Files.exists(file) && !Files.isDirectory(file) && !Files.isRegularFile(file)) {
            throw new UserException("data file " + file + " is not a regular file (a device, pipe or socket has no"
                    + " end to read to): pass --data with a text file");
        }
        try {
            if (Files.isRegularFile(file)) {
                checkCorpus(Files.size(file), "data file " + file + " (" + bytes(Files.size(file)) + ")");
            }
        } catch (java.io.IOException e) {
            // the read that follows reports it
        }
    }

    /** Before a corpus of {@code bytes} UTF-8 bytes is read and tokenized (text, String, tokens: ~7 bytes each). */
    public static void checkCorpus(double bytes, String what) {
        fitsInArray(bytes, what, "use a smaller text");
        fitsInHeap(7 * bytes, what, "use a smaller text");
    }

    /** Validation windows of {@code T} tokens, held as inputs and targets: {@code 8·windows·T} bytes. */
    public static void checkEvalWindows(int windows, int T) {
        fitsInHeap(8.0 * windows * T, "--eval-windows " + windows + " (" + windows + " windows of " + T
                + " tokens, held in memory)", "use fewer --eval-windows (32 give a stable validation loss)");
    }

    /** Tokens to generate after a prompt of {@code promptTokens}: the sequence must fit in an array. */
    public static void checkGenerate(long tokens, int promptTokens, String option) {
        if (tokens + promptTokens > MAX_ARRAY) {
            throw new UserException(String.format(Locale.ROOT, "%s %d: with the prompt that is more than 2^31 - 1"
                    + " tokens, which sixpd cannot hold (and would take years to generate); use at most %,d",
                    option, tokens, MAX_ARRAY - promptTokens));
        }
    }

    /**
     * The thread count to use for {@code requested}: at most the cores, since more threads than cores only add
     * switching and each needs its own GEMM buffers ({@value #GEMM_BUFFERS_PER_THREAD} bytes). A capped request
     * prints a one-line note; below 1 is an error.
     */
    public static int threads(int requested) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (requested < 1) {
            throw new UserException("--threads must be >= 1, got " + requested);
        }
        if (requested > cores) {
            System.err.println("sixpd: note: --threads " + requested + " capped to " + cores + ", the cores of this"
                    + " machine (more threads than cores only slow the kernels down)");
            return cores;
        }
        return requested;
    }

    /** Throws unless {@code file} (null: none) can be written, before a run that writes it at its end. */
    public static void checkWritable(Path file, String option) {
        if (file == null) {
            return;
        }
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        while (dir != null && !Files.exists(dir)) {
            dir = dir.getParent();
        }
        boolean ok = Files.exists(abs) ? Files.isRegularFile(abs) && Files.isWritable(abs)
                : dir != null && Files.isDirectory(dir) && Files.isWritable(dir);
        if (!ok) {
            throw new UserException(option + " " + file + " cannot be written (" + (Files.isDirectory(abs)
                    ? "it is a directory" : dir == null || !Files.isDirectory(dir) ? "its directory is a file"
                    : "no permission") + "): choose another path");
        }
    }

    /** Throws unless the option's value is at least {@code min}. */
    public static void atLeast(String option, long value, long min) {
        if (value < min) {
            throw new UserException(option + " must be >= " + min + ", got " + value);
        }
    }

    /**
     * Before a GEMM benchmark of {@code [M, K] × [K, N]}: each operand fits in a Java array, and the operands with
     * the baselines' copies (about three of each) fit in the heap.
     */
    public static void checkGemm(int m, int n, int k) {
        atLeast("M", m, 1);
        atLeast("N", n, 1);
        atLeast("K", k, 1);
        String smaller = "use a smaller --size (or --m, --n, --k)";
        String what = "a GEMM of M=" + m + ", N=" + n + ", K=" + k;
        fitsInArray((double) m * k, "A [M, K] of " + what, smaller);
        fitsInArray((double) k * n, "B [K, N] of " + what, smaller);
        fitsInArray((double) m * n, "C [M, N] of " + what, smaller);
        fitsInHeap(3 * 4.0 * ((double) m * k + (double) k * n + (double) m * n), what + " (operands and the"
                + " baselines' copies)", smaller);
    }

    /** Training values the settings' own validation lets through: {@code --clip} NaN, an LR beyond float range. */
    public static void checkTrainValues(double clip, double lr) {
        if (Double.isNaN(clip) || Double.isInfinite(clip)) {
            throw new UserException("--clip must be a finite number (0 = off), got " + clip);
        }
        if (!Float.isFinite((float) lr)) {
            throw new UserException("--lr " + lr + " does not fit in a float (the weights' precision): use a learning"
                    + " rate such as 1e-3");
        }
    }

    /** A resumed run must end at or after the checkpoint's step. */
    public static void checkResume(long checkpointStep, long end, int steps) {
        if (end < checkpointStep) {
            throw new UserException("the checkpoint is already at step " + checkpointStep + ", beyond --steps "
                    + steps + (end < steps ? " (or --stop-after " + end + ")" : "") + ": pass --steps above "
                    + checkpointStep + " to continue it");
        }
    }

    private static long physicalMemory() {
        try {
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.OperatingSystemMXBean os) {
                return os.getTotalMemorySize();
            }
        } catch (RuntimeException | LinkageError ignored) {
            // not a HotSpot JVM: no hint
        }
        return Long.MAX_VALUE;
    }

    /** {@code bytes} in B, KiB, MiB, GiB or TiB with one decimal. */
    public static String bytes(double bytes) {
        String[] u = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int i = 0;
        while (bytes >= 1024 && i < u.length - 1) {
            bytes /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, i == 0 ? "%.0f %s" : "%.1f %s", bytes, u[i]);
    }
}
