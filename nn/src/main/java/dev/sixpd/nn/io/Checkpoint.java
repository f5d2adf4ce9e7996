package dev.sixpd.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.data.Tokenizer;
import dev.sixpd.optim.Optimizer;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Training checkpoints: crash-safe, checksummed, the last K kept.
 *
 * <h2>Layout</h2>
 * A checkpoint directory ({@code --out}) holds
 * <pre>
 *   LATEST                 the commit pointer: {"dir": "step-00000010", "state_crc32c": "…",
 *                            "history": ["step-00000005", "step-00000010"]}
 *   step-00000010/         one complete checkpoint (the one LATEST names)
 *     model.safetensors      every parameter, FP32, under its GPT-2 name, CRC32C per tensor in the metadata
 *     optimizer.safetensors  the optimizer state, FP32, keyed {@code <param>.<slot>} (AdamW: m and v), CRC32C too
 *     state.json             format version, step, model config, tokenizer, optimizer and trainer settings
 *     state.json.crc32c      the CRC32C of state.json's bytes (8 hex digits): state.json's checksum lives beside it
 *     config.json            LLaMA family only: Hugging Face's LlamaConfig fields (sixpd reads state.json, not this)
 *   step-00000005/         the previous one (--keep 2)
 *   .lock                  held (FileChannel.tryLock) by the run writing here
 * </pre>
 * A directory written by an older sixpd ({@code model.safetensors}, {@code optimizer.safetensors} and
 * {@code state.json} directly inside, no {@code LATEST}) still loads, as does a step directory given directly.
 *
 * <h2>How a save commits</h2>
 * {@link #save} writes all files into a fresh {@code .tmp-step-…} directory, forces each to disk ({@code fsync}),
 * forces that directory, renames it to {@code step-…} and forces the parent. Nothing refers to it yet. The
 * <b>one atomic step</b> that commits it is replacing {@code LATEST}: written as {@code LATEST.tmp}, forced,
 * renamed over {@code LATEST} (rename is atomic on POSIX file systems), parent forced. A crash at any moment
 * leaves {@code LATEST} naming either the previous complete checkpoint or the new complete one, never a mixture:
 * a loader reads {@code LATEST} once and then only files inside the directory it names, which no later save
 * modifies. Only after the commit are checkpoints beyond the last K (in commit order, {@code history}) deleted.
 *
 * <p>{@link #prepare} (called once per run before training, and by the first save otherwise) takes the lock,
 * refusing with a clear message when another run holds it, checks the directory is writable, and removes what
 * an interrupted run left: {@code .tmp-*} directories, {@code *.tmp} files, and {@code step-*} directories that
 * were renamed but never committed. A shutdown hook (SIGINT, SIGTERM, {@code System.exit}) waits up to
 * {@value #SHUTDOWN_WAIT_S} s for a save in progress to commit and then lets the JVM exit; if that save does not
 * finish in time it is abandoned (its temporary directory deleted), which leaves the previous commit in force.
 * A failed save (disk full, …) deletes its temporary directory and throws an {@link IOException} saying which
 * checkpoint is still the latest.
 *
 * <h2>Integrity</h2>
 * Every tensor has a CRC32C in its file's metadata (see {@link SafeTensors}); {@code state.json} has its CRC32C in
 * the sidecar {@code state.json.crc32c}, and again in {@code LATEST} (so a damaged pointer that names another
 * existing step directory is refused too). Loading checks them and names the file and tensor on a mismatch. Older
 * checkpoints without checksums load with a one-line note on stderr.
 *
 * <h2>Parameter names</h2>
 * {@link #LEGACY_NAMES} maps the embeddings' old names to PyTorch's ({@code wte} ↔ {@code wte.weight},
 * {@code wpe} ↔ {@code wpe.weight}): a file with either spelling loads into a model with either, and so do their
 * optimizer slots ({@code wte.m} ↔ {@code wte.weight.m}).
 *
 * <p>Thread-safety: saves are serialised by a process-wide lock; loading is stateless.
 */
public final class Checkpoint {
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    /**
     * Hugging Face's {@code LlamaConfig} fields ({@link GptConfig#llamaConfig()}), written beside a LLaMA-family
     * model so that {@code model.safetensors} under its {@code LlamaForCausalLM} names loads there as it is.
     */
    public static final String HF_CONFIG = "config.json";
    /** state.json's checksum sidecar: 8 lower-case hex digits of CRC32C over state.json's bytes. */
    public static final String STATE_CRC = "state.json.crc32c";
    /** The commit pointer. */
    public static final String LATEST = "LATEST";
    public static final String LOCK = ".lock";
    public static final String FORMAT = "sixpd-checkpoint";
    public static final int VERSION = 1;
    /** Checkpoints kept by default ({@code --keep}). */
    public static final int KEEP = 2;
    static final int SHUTDOWN_WAIT_S = 30;
    private static final String TMP_PREFIX = ".tmp-";
    private static final Pattern STEP_DIR = Pattern.compile("step-\\d{8,19}(-\\d{1,9})?");

    /**
     * Old parameter name → new (PyTorch) name, and back: a file may use either. Add a pair when a parameter is
     * renamed; loading then accepts both spellings, for the parameter and its optimizer slots.
     */
    public static final Map<String, String> LEGACY_NAMES = Map.of("wte", "wte.weight", "wpe", "wpe.weight");

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Serialises saves in this JVM; the shutdown hook takes it to let a save in progress finish. */
    private static final ReentrantLock SAVING = new ReentrantLock();
    /** Directories this JVM has prepared: their lock and how many checkpoints to keep. */
    private static final Map<Path, Prepared> PREPARED = new ConcurrentHashMap<>();
    /** The temporary directory of the save in progress, for the shutdown hook to delete if it must abandon it. */
    private static volatile Path inProgress;
    private static volatile boolean hookInstalled;

    private record Prepared(FileChannel channel, FileLock lock, int keep) {
    }

    private Checkpoint() {
    }

    /**
     * The parsed {@code state.json} of a checkpoint.
     *
     * @param dir   the directory the user named (a run's {@code --out}, or a step directory)
     * @param files the directory holding this checkpoint's files (the step directory {@code LATEST} names, or
     *              {@code dir} itself for the old layout)
     */
    public record State(Path dir, long step, GptConfig config, Tokenizer tokenizer, ObjectNode json, Path files) {
        /** A state whose files are in {@code dir} itself (the old layout). */
        public State(Path dir, long step, GptConfig config, Tokenizer tokenizer, ObjectNode json) {
            this(dir, step, config, tokenizer, json, dir);
        }

        /** The {@code "train"} object the trainer stored (empty if none). */
        public ObjectNode train() {
            JsonNode t = json.get("train");
            return t instanceof ObjectNode o ? o : JSON.createObjectNode();
        }

        /** The {@code "optimizer"} object (name, step, hyperparameters). */
        public ObjectNode optimizer() {
            JsonNode t = json.get("optimizer");
            return t instanceof ObjectNode o ? o : JSON.createObjectNode();
        }
    }

    /** A fresh JSON object to fill with trainer settings for {@link #save}. */
    public static ObjectNode newObject() {
        return JSON.createObjectNode();
    }

    // ------------------------------------------------------------------------------------------------------------
    // writing

    /**
     * Gets {@code dir} ready for saves by this process: creates it, checks it is writable, takes its lock (held until
     * the JVM exits), removes leftovers of interrupted runs, and remembers to keep the last {@code keep}
     * checkpoints. Idempotent within a JVM (a second call only updates {@code keep}). Throws {@link UserException}
     * when another process holds the lock or the directory cannot be written.
     */
    public static void prepare(Path dir, int keep) {
        if (keep < 1) {
            throw new UserException("--keep must be >= 1 (checkpoints kept), got " + keep);
        }
        Path key = dir.toAbsolutePath().normalize();
        Prepared p = PREPARED.get(key);
        if (p != null) {
            PREPARED.put(key, new Prepared(p.channel(), p.lock(), keep));
            return;
        }
        try {
            Files.createDirectories(key);
        } catch (IOException e) {
            throw new UserException("cannot create the checkpoint directory " + dir + " (" + reason(e)
                    + "): choose another --out");
        }
        if (!Files.isWritable(key)) {
            throw new UserException("the checkpoint directory " + dir + " is not writable: choose another --out or"
                    + " fix its permissions");
        }
        FileChannel ch;
        FileLock lock;
        try {
            ch = FileChannel.open(key.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UserException("cannot write to the checkpoint directory " + dir + " (" + reason(e)
                    + "): choose another --out");
        }
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException | IOException e) {
            lock = null;
        }
        if (lock == null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to release
            }
            throw new UserException("another sixpd run is writing checkpoints to " + dir + " (it holds "
                    + key.resolve(LOCK) + "): wait for it to finish, or choose another --out");
        }
        PREPARED.put(key, new Prepared(ch, lock, keep));
        installShutdownHook();
        try {
            removeLeftovers(key);
        } catch (IOException e) {
            throw new UserException("cannot clean up the checkpoint directory " + dir + " (" + reason(e)
                    + "): choose another --out");
        }
    }

    /** What went wrong, without the exception's class name: "Not a directory", "Permission denied", … */
    static String reason(IOException e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException f) {
            return f.getFile() + " exists and is not a directory";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Releases the lock {@link #prepare} took on {@code dir} (tests, and programs that save into many directories). */
    public static void release(Path dir) {
        Prepared p = PREPARED.remove(dir.toAbsolutePath().normalize());
        if (p != null) {
            try {
                p.channel().close();
            } catch (IOException ignored) {
                // closing releases the lock; nothing else to do
            }
        }
    }

    /** Deletes temporary files and uncommitted step directories an interrupted run left in {@code dir}. */
    private static void removeLeftovers(Path dir) throws IOException {
        List<String> committed = history(dir);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                boolean stale = n.startsWith(TMP_PREFIX) || n.endsWith(".tmp")
                        || (STEP_DIR.matcher(n).matches() && !committed.contains(n));
                if (stale) {
                    AtomicFiles.deleteRecursively(p);
                }
            }
        }
    }

    /**
     * Saves {@code model} (and {@code optimizer} when not null) at {@code step} into {@code dir} (see the class
     * comment for how it commits). {@code train} holds whatever the trainer needs to resume; {@code optimizerInfo}
     * the optimizer's settings. On failure the previous checkpoint is still the latest and the message says so.
     */
    public static void save(Path dir, long step, Gpt model, Tokenizer tokenizer, Optimizer optimizer,
                            ObjectNode optimizerInfo, ObjectNode train) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        if (!PREPARED.containsKey(root)) {
            prepare(dir, KEEP);
        }
        ObjectNode state = stateJson(step, model, tokenizer, optimizer, optimizerInfo, train);
        SAVING.lock();
        try {
            saveLocked(root, step, model, optimizer, state);
        } finally {
            SAVING.unlock();
        }
    }

    private static void saveLocked(Path root, long step, Gpt model, Optimizer optimizer, ObjectNode state)
            throws IOException {
        List<String> history = history(root);
        String name = String.format(Locale.ROOT, "step-%08d", step);
        for (int k = 2; history.contains(name) || Files.exists(root.resolve(name)); k++) {
            name = String.format(Locale.ROOT, "step-%08d-%d", step, k);
        }
        Path tmp = root.resolve(TMP_PREFIX + name);
        Path fin = root.resolve(name);
        List<String> committed;
        inProgress = tmp;
        try {
            // 1. the complete checkpoint, in a directory nothing refers to, every file and the directory forced
            Files.createDirectory(tmp);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("sixpd.step", Long.toString(step));
            List<SafeTensors.Entry> ps = new ArrayList<>();
            for (Param p : savedParams(model)) {
                ps.add(new SafeTensors.Entry(p.name, DType.FP32, p.shape(), p.data));
            }
            SafeTensors.writeDurably(tmp.resolve(MODEL), ps, meta);
            if (optimizer != null) {
                List<SafeTensors.Entry> os = new ArrayList<>();
                for (Map.Entry<String, float[]> e : optimizer.state().entrySet()) {
                    os.add(new SafeTensors.Entry(e.getKey(), DType.FP32, new int[]{e.getValue().length},
                            e.getValue()));
                }
                Map<String, String> ometa = new LinkedHashMap<>(meta);
                ometa.put("sixpd.optimizer_step", Long.toString(optimizer.stepCount()));
                SafeTensors.writeDurably(tmp.resolve(OPTIMIZER), os, ometa);
            }
            if (model.config.family() == GptConfig.Family.LLAMA) {
                AtomicFiles.writeDurably(tmp.resolve(HF_CONFIG),
                        (JSON.writeValueAsString(model.config.llamaConfig()) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            byte[] text = (JSON.writeValueAsString(state) + "\n").getBytes(StandardCharsets.UTF_8);
            AtomicFiles.writeDurably(tmp.resolve(STATE), text);
            AtomicFiles.writeDurably(tmp.resolve(STATE_CRC), (crc32c(text) + "\n").getBytes(StandardCharsets.UTF_8));
            AtomicFiles.fsyncDirectory(tmp);
            // 2. renamed into place, still uncommitted (a crash now leaves a step directory the next run removes)
            AtomicFiles.move(tmp, fin);
            inProgress = fin;
            AtomicFiles.fsyncDirectory(root);
            // 3. the commit: LATEST replaced atomically
            List<String> next = new ArrayList<>(history);
            next.add(name);
            Prepared prep = PREPARED.get(root);
            int keep = prep == null ? KEEP : prep.keep();
            next = new ArrayList<>(next.subList(Math.max(0, next.size() - keep), next.size()));
            ObjectNode ptr = JSON.createObjectNode();
            ptr.put("format", FORMAT + "-pointer");
            ptr.put("dir", name);
            ptr.put("state_crc32c", crc32c(text));
            ArrayNode h = ptr.putArray("history");
            next.forEach(h::add);
            AtomicFiles.writeString(root.resolve(LATEST), JSON.writeValueAsString(ptr) + "\n");
            inProgress = null;
            committed = next;
        } catch (IOException | RuntimeException e) {
            Path left = inProgress;
            inProgress = null;
            try {
                if (left != null) {
                    AtomicFiles.deleteRecursively(left);
                }
            } catch (IOException ignored) {
                // the next run's prepare removes it
            }
            String kept = history.isEmpty() ? (Files.exists(root.resolve(STATE)) ? "the checkpoint in " + root
                    + " (older layout) is unchanged" : "no earlier checkpoint exists")
                    : "the previous checkpoint (" + history.getLast() + ") is still the latest";
            throw new IOException("cannot write the checkpoint of step " + step + " to " + root + ": "
                    + (e.getMessage() == null ? e.toString() : e.getMessage())
                    + "; " + kept
                    + " (free some space or choose another --out)", e);
        }
        prune(root, history, committed);
    }

    /** The step a step directory's name records ({@code step-00000012-2} → 12). */
    static long stepOf(String stepDir) {
        String digits = stepDir.substring("step-".length());
        int dash = digits.indexOf('-');
        return Long.parseLong(dash < 0 ? digits : digits.substring(0, dash));
    }

    /**
     * Makes the newest committed checkpoint of {@code dir} at a step {@code <= maxStep} the latest again and deletes
     * the newer ones (they are known bad, see {@code train.Divergence}); with none left, deletes {@code LATEST} and
     * every step directory. Returns the step now latest, or -1 when none is left.
     */
    public static long rollBack(Path dir, long maxStep) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        SAVING.lock();
        try {
            List<String> history = history(root);
            List<String> good = new ArrayList<>();
            for (String h : history) {
                if (stepOf(h) <= maxStep) {
                    good.add(h);
                }
            }
            if (good.size() == history.size()) {
                return history.isEmpty() ? -1 : stepOf(history.getLast());
            }
            if (good.isEmpty()) {
                Files.deleteIfExists(root.resolve(LATEST));
                AtomicFiles.fsyncDirectory(root);
            } else {
                byte[] state = Files.readAllBytes(root.resolve(good.getLast()).resolve(STATE));
                ObjectNode ptr = JSON.createObjectNode();
                ptr.put("format", FORMAT + "-pointer");
                ptr.put("dir", good.getLast());
                ptr.put("state_crc32c", crc32c(state));
                ArrayNode h = ptr.putArray("history");
                good.forEach(h::add);
                AtomicFiles.writeString(root.resolve(LATEST), JSON.writeValueAsString(ptr) + "\n");
            }
            prune(root, history, good);
            return good.isEmpty() ? -1 : stepOf(good.getLast());
        } finally {
            SAVING.unlock();
        }
    }

    /** After a commit: deletes the step directories {@code LATEST} no longer lists, and the flat layout's files. */
    private static void prune(Path root, List<String> before, List<String> now) {
        try {
            for (String old : before) {
                if (!now.contains(old)) {
                    AtomicFiles.deleteRecursively(root.resolve(old));
                }
            }
            for (String f : List.of(MODEL, OPTIMIZER, STATE)) {
                Files.deleteIfExists(root.resolve(f));
            }
        } catch (IOException e) {
            System.err.println("sixpd: note: could not delete an old checkpoint in " + root + " (" + e + ");"
                    + " the new one is committed");
        }
    }

    private static ObjectNode stateJson(long step, Gpt model, Tokenizer tokenizer, Optimizer optimizer,
                                        ObjectNode optimizerInfo, ObjectNode train) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("step", step);
        root.set("config", JSON.valueToTree(model.config.toMap()));
        try {
            root.set("tokenizer", JSON.readTree(tokenizer.toJson()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("tokenizer produced invalid JSON", e);
        }
        if (model.lora() != null) {
            // a LoRA run's checkpoint holds the adapters alone; state.json says how to rebuild them on their base
            root.set("lora", loraJson(model.lora()));
        }
        ObjectNode opt = optimizerInfo == null ? JSON.createObjectNode() : optimizerInfo.deepCopy();
        if (optimizer != null) {
            opt.put("step", optimizer.stepCount());
            opt.put("describe", optimizer.describe());
        }
        root.set("optimizer", opt);
        root.set("train", train == null ? JSON.createObjectNode() : train);
        return root;
    }

    private static void installShutdownHook() {
        synchronized (Checkpoint.class) {
            if (hookInstalled) {
                return;
            }
            hookInstalled = true;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                // a save in progress commits or fails within the wait; holding the lock, no new save starts
                if (!SAVING.tryLock(SHUTDOWN_WAIT_S, TimeUnit.SECONDS)) {
                    Path p = inProgress;
                    if (p != null) {
                        AtomicFiles.deleteRecursively(p);
                        System.err.println("sixpd: interrupted during a save: abandoned it; the previous checkpoint"
                                + " is the latest");
                    }
                }
            } catch (InterruptedException | IOException ignored) {
                // exiting anyway; the next run's prepare removes leftovers
            }
        }, "sixpd-checkpoint-shutdown"));
    }

    static String crc32c(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return String.format(Locale.ROOT, "%08x", c.getValue());
    }

    // ------------------------------------------------------------------------------------------------------------
    // reading

    /** The committed step directories of {@code dir}, oldest first (empty when there is no LATEST). */
    private static List<String> history(Path dir) throws IOException {
        Path f = dir.resolve(LATEST);
        if (!Files.exists(f)) {
            return new ArrayList<>();
        }
        JsonNode ptr = pointer(dir);
        List<String> h = new ArrayList<>();
        ptr.path("history").forEach(n -> h.add(n.asText()));
        if (!h.contains(ptr.get("dir").asText())) {
            h.add(ptr.get("dir").asText());
        }
        return h;
    }

    /** Parses and checks {@code dir/LATEST}. */
    private static JsonNode pointer(Path dir) {
        Path f = dir.resolve(LATEST);
        JsonNode ptr;
        try {
            ptr = JSON.readTree(Files.readString(f));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(f + " is corrupt: it does not parse as JSON (" + e.getOriginalMessage()
                    + ")");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + f + ": " + e.getMessage(), e);
        }
        if (ptr == null || !ptr.path("dir").isTextual() || !STEP_DIR.matcher(ptr.get("dir").asText()).matches()
                || !ptr.path("history").isArray()) {
            throw new CheckpointException(f + " is corrupt: it must name a step directory (\"dir\": \"step-…\")"
                    + " and list \"history\"");
        }
        for (JsonNode n : ptr.get("history")) {
            if (!n.isTextual() || !STEP_DIR.matcher(n.asText()).matches()) {
                throw new CheckpointException(f + " is corrupt: its history lists " + n + ", not a step directory");
            }
        }
        return ptr;
    }

    /**
     * The directory holding the files of the checkpoint in {@code dir}: the step directory {@code LATEST} names,
     * or {@code dir} itself (older layout, or a step directory passed directly).
     */
    public static Path latestDir(Path dir) {
        if (Files.exists(dir.resolve(LATEST))) {
            Path d = dir.resolve(pointer(dir).get("dir").asText());
            if (!Files.isDirectory(d)) {
                throw new CheckpointException(dir.resolve(LATEST) + " names " + d.getFileName() + ", which is missing:"
                        + " the checkpoint directory was altered; restore it or train again");
            }
            return d;
        }
        return dir;
    }

    /**
     * Reads and checks the latest checkpoint's {@code state.json} in {@code dir}: checksums, format, version, config,
     * tokenizer.
     */
    public static State readState(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("no checkpoint directory " + dir + ": pass the --out directory of a"
                    + " train run");
        }
        Path files = latestDir(dir);
        Path f = files.resolve(STATE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(dir + " is not a checkpoint: it has no " + STATE
                    + " (pass the --out directory of a train run)");
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + f + ": " + e.getMessage(), e);
        }
        checkStateCrc(f, bytes);
        if (!files.equals(dir)) {
            String want = pointer(dir).path("state_crc32c").asText();
            if (!want.equals(crc32c(bytes))) {
                throw new CheckpointException(dir.resolve(LATEST) + " is corrupt: it expects " + files.getFileName()
                        + "/" + STATE + " with CRC32C " + want + ", found " + crc32c(bytes));
            }
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(f + " is corrupt: it does not parse as JSON (" + e.getOriginalMessage()
                    + ")");
        }
        if (!(root instanceof ObjectNode o) || !FORMAT.equals(root.path("format").asText())) {
            throw new CheckpointException(f + " is not a sixpd checkpoint (no \"format\": \"" + FORMAT + "\")");
        }
        if (root.path("version").asInt(-1) != VERSION) {
            throw new CheckpointException(f + " has checkpoint version " + root.path("version")
                    + "; this sixpd reads version " + VERSION);
        }
        if (!root.path("step").isIntegralNumber() || !root.path("step").canConvertToLong()
                || root.path("step").longValue() < 0) {
            throw new CheckpointException(f + " is corrupt: no non-negative integer \"step\"");
        }
        for (Map.Entry<String, JsonNode> e : root.path("config").properties()) {
            // sizes are JSON integers below 2^31 (d_model 2^32 + 64 is not 64, 64.0 is not 64); names pass through
            if (e.getValue().isNumber() && (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt())) {
                throw new CheckpointException(f + " is corrupt: config." + e.getKey() + " is " + e.getValue()
                        + ", not an integer below 2^31");
            }
        }
        GptConfig cfg;
        Tokenizer tok;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> cm = JSON.convertValue(root.path("config"), Map.class);
            cfg = GptConfig.fromMap(cm == null ? Map.of() : cm);
            tok = Tokenizer.fromJson(root.path("tokenizer").toString());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(f + " is corrupt: " + e.getMessage());
        }
        if (tok.vocabSize() != cfg.vocab()) {
            throw new CheckpointException(f + " is inconsistent: the tokenizer has " + tok.vocabSize()
                    + " tokens but the model config says vocab " + cfg.vocab());
        }
        return new State(dir, root.get("step").asLong(), cfg, tok, o, files);
    }

    private static void checkStateCrc(Path f, byte[] bytes) {
        Path c = f.resolveSibling(STATE_CRC);
        String want;
        try {
            want = Files.readString(c, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            System.err.println("sixpd: note: " + f + " has no checksum (" + STATE_CRC + "; written by an older"
                    + " sixpd): loaded without an integrity check");
            return;
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + c + ": " + e.getMessage(), e);
        }
        String got = crc32c(bytes);
        if (!got.equals(want)) {
            throw new CheckpointException(f + " is corrupt: its CRC32C is " + got + " but " + STATE_CRC + " says "
                    + want + " (the file was altered after it was written)");
        }
    }

    /**
     * The tensors a checkpoint of {@code model} holds: all of them, or with LoRA adapters the adapters alone (the
     * frozen base is the base checkpoint's, which {@code state.json}'s {@code train.finetune} names).
     */
    public static List<Param> savedParams(Gpt model) {
        return model.lora() == null ? model.params() : Param.trainable(model.params());
    }

    /** LoRA's settings as {@code state.json} keeps them: {@code {"r", "lora_alpha", "target_modules", "lora_dropout"}}. */
    public static ObjectNode loraJson(dev.sixpd.nn.Lora lora) {
        ObjectNode o = JSON.createObjectNode();
        o.put("r", lora.rank());
        o.put("lora_alpha", lora.alpha());
        ArrayNode t = o.putArray("target_modules");
        lora.targets().forEach(t::add);
        o.put("lora_dropout", lora.dropout());
        return o;
    }

    /** The LoRA settings of a checkpoint's {@code state.json} (null when it has none). */
    public static dev.sixpd.nn.Lora lora(State state) {
        JsonNode o = state.json().get("lora");
        if (o == null) {
            return null;
        }
        List<String> targets = new ArrayList<>();
        o.path("target_modules").forEach(n -> targets.add(n.asText()));
        try {
            return new dev.sixpd.nn.Lora(o.path("r").asInt(), o.path("lora_alpha").asDouble(), targets,
                    o.path("lora_dropout").asDouble());
        } catch (dev.sixpd.nn.UserException e) {
            throw new CheckpointException(state.files().resolve(STATE) + " is corrupt: lora: " + e.getMessage());
        }
    }

    /** The name a file may use for {@code param} besides its own (see {@link #LEGACY_NAMES}), or null. */
    static String alias(String param) {
        String a = LEGACY_NAMES.get(param);
        if (a != null) {
            return a;
        }
        for (Map.Entry<String, String> e : LEGACY_NAMES.entrySet()) {
            if (e.getValue().equals(param)) {
                return e.getKey();
            }
        }
        return null;
    }

    /**
     * Loads the parameters of {@code model.safetensors} into {@code model}: every parameter must be present (under
     * its name or its {@link #LEGACY_NAMES} alias) with its exact shape and an F32/BF16/F16 dtype, no extra tensors,
     * and the file's step must equal {@code state.step()}; otherwise throws {@link CheckpointException} naming the
     * first mismatch.
     */
    public static void loadModel(State state, Gpt model) {
        loadParams(state, model.params());
    }

    /**
     * As {@link #loadModel} for the tensors {@code params} alone: the file must hold exactly these (a base model's
     * tensors into a LoRA model's frozen ones, a LoRA checkpoint's adapters into its trainable ones).
     */
    public static void loadParams(State state, List<Param> params) {
        Path f = state.files().resolve(MODEL);
        if (!Files.exists(f)) {
            throw new CheckpointException(state.files() + " has no " + MODEL + ": the checkpoint is incomplete");
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        checkStep(f, c, state.step());
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>(c.tensors());
        for (Param p : params) {
            SafeTensors.Entry e = t.remove(p.name);
            String a = alias(p.name);
            if (e == null && a != null) {
                e = t.remove(a);
            }
            if (e == null) {
                throw new CheckpointException(f + " lacks the parameter '" + p.name + "' of the model ("
                        + state.config() + ")");
            }
            if (!Arrays.equals(e.shape(), p.shape())) {
                throw new CheckpointException(f + ": parameter '" + p.name + "' has shape "
                        + Arrays.toString(e.shape()) + " but the model needs " + Arrays.toString(p.shape()));
            }
            System.arraycopy(e.data(), 0, p.data, 0, p.data.length);
            p.syncWorking();
        }
        if (!t.isEmpty()) {
            throw new CheckpointException(f + " has tensors the model does not: " + t.keySet());
        }
    }

    /** Loads {@code optimizer.safetensors} into {@code optimizer} (names, sizes and step checked). */
    public static void loadOptimizer(State state, Gpt model, Optimizer optimizer) {
        Path f = state.files().resolve(OPTIMIZER);
        if (!Files.exists(f)) {
            throw new CheckpointException(state.files() + " has no " + OPTIMIZER
                    + ": it cannot be resumed (it can still be sampled from)");
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        checkStep(f, c, state.step());
        long optStep;
        try {
            optStep = Long.parseLong(c.metadata().getOrDefault("sixpd.optimizer_step", ""));
        } catch (NumberFormatException e) {
            throw new CheckpointException(f + " is corrupt: no sixpd.optimizer_step in its metadata");
        }
        Map<String, String> rename = new HashMap<>();
        for (Param p : model.params()) {
            String a = alias(p.name);
            if (a != null) {
                rename.put(a, p.name);
            }
        }
        Map<String, float[]> m = new LinkedHashMap<>();
        for (SafeTensors.Entry e : c.tensors().values()) {
            if (e.dtype() != DType.FP32) {
                throw new CheckpointException(f + ": optimizer state '" + e.name() + "' is " + e.dtype()
                        + "; it must be F32");
            }
            m.put(slotName(e.name(), rename, c.tensors().keySet()), e.data());
        }
        try {
            optimizer.load(model.params(), m, optStep);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(f + " does not match the model: " + e.getMessage());
        }
    }

    /**
     * An optimizer key {@code <param>.<slot>} with the parameter's legacy name replaced by the model's
     * ({@code wte.m} → {@code wte.weight.m} when the model has {@code wte.weight}); other keys unchanged, and a key
     * whose renamed form is also in the file is left alone (so nothing is silently overwritten).
     */
    static String slotName(String key, Map<String, String> rename, java.util.Set<String> keys) {
        int dot = key.lastIndexOf('.');
        if (dot <= 0) {
            return key;
        }
        String to = rename.get(key.substring(0, dot));
        if (to == null) {
            return key;
        }
        String renamed = to + key.substring(dot);
        return keys.contains(renamed) ? key : renamed;
    }

    private static void checkStep(Path f, SafeTensors.Contents c, long step) {
        String s = c.metadata().get("sixpd.step");
        if (s == null || !s.equals(Long.toString(step))) {
            throw new CheckpointException(f + " is from step " + s + " but " + STATE + " says step " + step
                    + ": a save was interrupted; train again or use another checkpoint");
        }
    }
}
