package dev.sixpd.nn.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Limits;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Half;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length n, n bytes of JSON header
 * {@code {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}}
 * (offsets relative to the byte after the header; padded with spaces to a multiple of 8), then the raw
 * little-endian tensor data, tensors back to back.
 *
 * <p>Values are held as {@code float[]} in memory; BF16 and F16 tensors are converted with {@link Half} (round to
 * nearest even) on write and exactly on read.
 *
 * <p><b>Integrity.</b> {@link #write} stores a CRC32C of each tensor's bytes (as in the file) in the metadata,
 * {@code "sixpd.crc32c.<name>": "<8 hex digits>"}, and {@code "sixpd.checksum": "crc32c"}; {@link #read} checks
 * them and names the file and tensor on a mismatch. A file with no checksum entry at all (an older sixpd, another
 * tool) is read with a one-line note on stderr; a file with some entries must have one for every tensor. The
 * other metadata entries (the step, …) are covered by one more CRC32C, {@code "sixpd.metadata_crc32c"}.
 *
 * <p><b>Strict reading.</b> {@link #read} checks, before it allocates anything for the data: the file fits in
 * sixpd's 2 GiB limit; the header length fits the file; the header is UTF-8 JSON, one object, no duplicate keys,
 * nothing after it but space padding; every tensor has exactly {@code dtype} (spelled {@code F32}, {@code BF16}
 * or {@code F16}), {@code shape} (non-negative JSON integers, product below 2^31) and {@code data_offsets} (two
 * JSON integers); the byte ranges, sorted, start at 0, follow each other with no gap or overlap and end exactly at
 * the end of the file. It throws {@link CheckpointException} naming the first problem. Stateless, thread-safe.
 */
public final class SafeTensors {
    /** Strict JSON: a repeated key or anything after the object is an error, not silently ignored. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Refuse headers larger than this: a corrupt length field would otherwise make us allocate gigabytes. */
    private static final long MAX_HEADER = 100L << 20;
    /** Largest file read: the bytes are held in one array. */
    static final long MAX_FILE = Integer.MAX_VALUE - 64;
    /** Metadata key marking a file whose every tensor has a checksum. */
    public static final String CHECKSUM = "sixpd.checksum";
    /** Metadata key prefix of a tensor's CRC32C. */
    public static final String CRC_PREFIX = "sixpd.crc32c.";
    /** Metadata key of the CRC32C of the other metadata entries (see {@link #metadataCrc}). */
    public static final String METADATA_CRC = "sixpd.metadata_crc32c";
    private static final List<DType> DTYPES = List.of(DType.FP32, DType.BF16, DType.FP16);

    private SafeTensors() {
    }

    /** One tensor: name, storage dtype in the file, shape, values (row-major, {@code prod(shape)} of them). */
    public record Entry(String name, DType dtype, int[] shape, float[] data) {
        public Entry {
            long n = numel(shape);
            if (n != data.length) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                        + " (" + n + " values) but " + data.length + " values");
            }
        }

        public static Entry fp32(String name, float[] data, int... shape) {
            return new Entry(name, DType.FP32, shape, data);
        }
    }

    /** A file's tensors in header order, and its {@code __metadata__} (checksum entries included). */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        return n;
    }

    /** Writes {@code tensors} (in list order) and {@code metadata} to {@code file}, atomically (temp + rename). */
    public static void write(Path file, List<Entry> tensors, Map<String, String> metadata) throws IOException {
        Path tmp = AtomicFiles.tempFor(file);
        try {
            writeTo(tmp, tensors, metadata, false);
            AtomicFiles.commit(tmp, file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * Writes a new {@code file} (which must not exist) in place and forces it to disk: for files inside a
     * directory that is itself committed atomically (see {@link Checkpoint}).
     */
    static void writeDurably(Path file, List<Entry> tensors, Map<String, String> metadata) throws IOException {
        writeTo(file, tensors, metadata, true);
    }

    private static void writeTo(Path file, List<Entry> tensors, Map<String, String> metadata, boolean createNew)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode md = header.putObject("__metadata__");
        if (metadata != null) {
            metadata.forEach(md::put);
        }
        md.put(CHECKSUM, "crc32c");
        Map<String, String> plain = new LinkedHashMap<>();
        md.properties().forEach(m -> plain.put(m.getKey(), m.getValue().textValue()));
        md.put(METADATA_CRC, metadataCrc(plain));
        for (Entry e : tensors) {
            CRC32C crc = new CRC32C();
            encode(e, crc::update);
            md.put(CRC_PREFIX + e.name(), hex(crc.getValue()));
        }
        long offset = 0;
        for (Entry e : tensors) {
            if (header.has(e.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + e.name() + "'");
            }
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().safetensorsName);
            ArrayNode s = t.putArray("shape");
            for (int d : e.shape()) {
                s.add(d);
            }
            long bytes = (long) e.data().length * e.dtype().bytes;
            ArrayNode o = t.putArray("data_offsets");
            o.add(offset);
            o.add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        byte[] head = Arrays.copyOf(json, padded);
        Arrays.fill(head, json.length, padded, (byte) ' ');

        StandardOpenOption create = createNew ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE;
        try (OutputStream out = Files.newOutputStream(file, create, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(head);
            for (Entry e : tensors) {
                IOException[] failed = new IOException[1];
                encode(e, b -> {
                    if (failed[0] == null) {
                        try {
                            out.write(b.array(), 0, b.limit());
                        } catch (IOException x) {
                            failed[0] = x;
                        }
                    }
                });
                if (failed[0] != null) {
                    throw failed[0];
                }
            }
        }
        AtomicFiles.fsync(file);
    }

    /** Hands {@code e}'s bytes, as stored in the file, to {@code sink} in chunks of up to 64 KiB. */
    private static void encode(Entry e, Consumer<ByteBuffer> sink) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : e.data()) {
            if (buf.remaining() < 4) {
                buf.flip();
                sink.accept(buf);
                buf.clear();
            }
            switch (e.dtype()) {
                case FP32 -> buf.putFloat(v);
                case BF16 -> buf.putShort(Half.floatToBf16(v));
                case FP16 -> buf.putShort(Half.floatToFp16(v));
            }
        }
        buf.flip();
        sink.accept(buf);
    }

    /**
     * CRC32C over the metadata entries other than checksums, sorted by key, each as UTF-8 {@code key NUL value LF}:
     * protects values such as the step, which no tensor checksum covers.
     */
    static String metadataCrc(Map<String, String> metadata) {
        CRC32C crc = new CRC32C();
        metadata.entrySet().stream()
                .filter(e -> !e.getKey().startsWith(CRC_PREFIX) && !e.getKey().equals(METADATA_CRC))
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> crc.update((e.getKey() + "\0" + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8)));
        return hex(crc.getValue());
    }

    private static String hex(long crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }

    /** A tensor's header entry, checked: dtype, shape, and its byte range relative to the data start. */
    private record Spec(String name, DType dtype, int[] shape, long begin, long end) {
    }

    /** Reads and checks {@code file}; throws {@link CheckpointException} naming the first problem found. */
    public static Contents read(Path file) {
        String where = file.toString();
        byte[] all;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new CheckpointException(where + " is " + size + " bytes; sixpd reads safetensors files of at"
                        + " most " + MAX_FILE + " bytes (2 GiB)");
            }
            // the bytes, and the floats decoded from them (twice the bytes for 16-bit tensors)
            Limits.fitsInHeap(3.0 * size, "reading " + where + " (" + Limits.bytes(size) + ")",
                    "load it on a machine with more memory");
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("cannot read " + file + ": no such file", e);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (all.length < 8) {
            throw new CheckpointException(where + " is truncated: " + all.length
                    + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        if (n < 2 || n > MAX_HEADER || n > all.length - 8L) {
            throw new CheckpointException(where + " is corrupt: header length " + n + " does not fit in a file of "
                    + all.length + " bytes (truncated?)");
        }
        int headerEnd = 8 + (int) n;
        while (headerEnd > 8 && all[headerEnd - 1] == ' ') {
            headerEnd--; // the format pads the header with spaces, nothing else
        }
        JsonNode header;
        try {
            CharBuffer text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(all, 8, headerEnd - 8));
            header = JSON.readTree(text.toString());
        } catch (CharacterCodingException e) {
            throw new CheckpointException(where + " is corrupt: its header is not valid UTF-8");
        } catch (JsonProcessingException e) {
            throw new CheckpointException(where + " is corrupt: its JSON header does not parse ("
                    + e.getOriginalMessage() + ")", e);
        }
        if (header == null || !header.isObject() || all[8] != '{') {
            throw new CheckpointException(where + " is corrupt: its header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataLen = all.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Spec> specs = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode t = f.getValue();
            if (name.equals("__metadata__")) {
                if (!t.isObject()) {
                    throw new CheckpointException(where + " is corrupt: __metadata__ is not a JSON object");
                }
                for (Map.Entry<String, JsonNode> m : t.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new CheckpointException(where + " is corrupt: metadata '" + m.getKey()
                                + "' is not a string");
                    }
                    metadata.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            specs.add(spec(where, name, t, dataLen));
        }
        checkTiling(where, specs, dataLen);
        Map<String, String> crcs = checksums(where, metadata, specs);
        // everything checked: now allocate and decode
        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (Spec s : specs) {
            int p = (int) (dataStart + s.begin());
            int bytes = (int) (s.end() - s.begin());
            if (crcs != null) {
                CRC32C crc = new CRC32C();
                crc.update(all, p, bytes);
                String want = crcs.get(s.name());
                if (!hex(crc.getValue()).equals(want)) {
                    throw new CheckpointException(where + " is corrupt: tensor '" + s.name() + "' has CRC32C "
                            + hex(crc.getValue()) + " but the file says " + want
                            + " (the data was altered after it was written)");
                }
            }
            float[] data = new float[bytes / s.dtype().bytes];
            switch (s.dtype()) {
                case FP32 -> {
                    for (int i = 0; i < data.length; i++, p += 4) {
                        data[i] = bb.getFloat(p);
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < data.length; i++, p += 2) {
                        data[i] = Half.bf16ToFloat(bb.getShort(p));
                    }
                }
                case FP16 -> {
                    for (int i = 0; i < data.length; i++, p += 2) {
                        data[i] = Half.fp16ToFloat(bb.getShort(p));
                    }
                }
            }
            tensors.put(s.name(), new Entry(s.name(), s.dtype(), s.shape(), data));
        }
        return new Contents(tensors, metadata);
    }

    /** Checks one tensor's header entry: exact keys, a known dtype spelling, integer shape and offsets. */
    private static Spec spec(String where, String name, JsonNode t, long dataLen) {
        String bad = where + ": tensor '" + name + "' ";
        if (!t.isObject() || t.size() != 3 || !t.path("dtype").isTextual() || !t.path("shape").isArray()
                || !t.path("data_offsets").isArray() || t.path("data_offsets").size() != 2) {
            throw new CheckpointException(bad + "must have exactly dtype, shape and data_offsets [begin, end] in the"
                    + " header: the file is corrupt");
        }
        String dt = t.get("dtype").textValue();
        DType dtype = DTYPES.stream().filter(d -> d.safetensorsName.equals(dt)).findFirst().orElseThrow(
                () -> new CheckpointException(bad + "has dtype '" + dt + "', which sixpd cannot read (F32, BF16, F16,"
                        + " spelled so)"));
        JsonNode sh = t.get("shape");
        int[] shape = new int[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw new CheckpointException(bad + "has an invalid shape " + sh
                        + " (dimensions are non-negative JSON integers)");
            }
            shape[i] = d.intValue();
            numel = numel * shape[i];
            if (numel > Integer.MAX_VALUE - 8) {
                throw new CheckpointException(bad + "has shape " + sh + ", more than 2^31 values, which sixpd cannot"
                        + " hold in one array");
            }
        }
        JsonNode b = t.get("data_offsets").get(0);
        JsonNode e = t.get("data_offsets").get(1);
        if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong()) {
            throw new CheckpointException(bad + "has data_offsets " + t.get("data_offsets")
                    + " that are not two JSON integers: the file is corrupt");
        }
        long begin = b.longValue();
        long end = e.longValue();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new CheckpointException(bad + "has data_offsets [" + begin + ", " + end
                    + "] outside the " + dataLen + " data bytes: the file is truncated or corrupt");
        }
        long want = numel * dtype.bytes;
        if (end - begin != want) {
            throw new CheckpointException(bad + "holds " + (end - begin) + " bytes but its shape "
                    + Arrays.toString(shape) + " of " + dtype.safetensorsName + " needs " + want);
        }
        return new Spec(name, dtype, shape, begin, end);
    }

    /** The byte ranges, sorted, must tile [0, dataLen): start at 0, no gap, no overlap, nothing after the last. */
    private static void checkTiling(String where, List<Spec> specs, long dataLen) {
        List<Spec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparingLong(Spec::begin).thenComparingLong(Spec::end));
        long at = 0;
        for (Spec s : sorted) {
            if (s.begin() < at) {
                throw new CheckpointException(where + " is corrupt: tensor '" + s.name() + "' overlaps another one"
                        + " in the data");
            }
            if (s.begin() > at) {
                throw new CheckpointException(where + " is corrupt: " + (s.begin() - at) + " bytes before tensor '"
                        + s.name() + "' belong to no tensor");
            }
            at = s.end();
        }
        if (at != dataLen) {
            throw new CheckpointException(where + " is corrupt: its tensors cover " + at + " bytes but the file"
                    + " holds " + dataLen + " data bytes (truncated, or extra bytes appended)");
        }
    }

    /**
     * The expected CRC32C of each tensor, or null (with a note on stderr) when the file has no checksum entry at
     * all. Entries for tensors that do not exist, or a tensor without one, make the file corrupt.
     */
    private static Map<String, String> checksums(String where, Map<String, String> metadata, List<Spec> specs) {
        boolean any = metadata.containsKey(CHECKSUM)
                || metadata.keySet().stream().anyMatch(k -> k.startsWith(CRC_PREFIX));
        if (!any) {
            System.err.println("sixpd: note: " + where + " has no checksums (written by an older sixpd or another"
                    + " tool): loaded without an integrity check");
            return null;
        }
        if (!"crc32c".equals(metadata.get(CHECKSUM))) {
            throw new CheckpointException(where + " is corrupt: its metadata " + CHECKSUM + " is "
                    + metadata.get(CHECKSUM) + ", expected \"crc32c\"");
        }
        String mc = metadataCrc(metadata);
        if (metadata.containsKey(METADATA_CRC) && !mc.equals(metadata.get(METADATA_CRC))) {
            throw new CheckpointException(where + " is corrupt: its metadata has CRC32C " + mc + " but the file says "
                    + metadata.get(METADATA_CRC) + " (the header was altered after it was written)");
        }
        Map<String, String> crcs = new LinkedHashMap<>();
        Set<String> names = new HashSet<>();
        for (Spec s : specs) {
            names.add(s.name());
            String c = metadata.get(CRC_PREFIX + s.name());
            if (c == null) {
                throw new CheckpointException(where + " is corrupt: tensor '" + s.name() + "' has no checksum"
                        + " (metadata " + CRC_PREFIX + s.name() + ")");
            }
            crcs.put(s.name(), c);
        }
        for (String k : metadata.keySet()) {
            if (k.startsWith(CRC_PREFIX) && !names.contains(k.substring(CRC_PREFIX.length()))) {
                throw new CheckpointException(where + " is corrupt: it has a checksum for tensor '"
                        + k.substring(CRC_PREFIX.length()) + "', which is not in the file");
            }
        }
        return crcs;
    }
}
