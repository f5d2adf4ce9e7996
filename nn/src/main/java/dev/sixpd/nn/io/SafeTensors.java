package dev.sixpd.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Half;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length n, n bytes of JSON header
 * {@code {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}}
 * (offsets relative to the byte after the header; padded with spaces to a multiple of 8), then the raw
 * little-endian tensor data, tensors back to back in header order.
 *
 * <p>Values are held as {@code float[]} in memory; BF16 and F16 tensors are converted with {@link Half} (round to
 * nearest even) on write and exactly on read. Writing goes to a temporary file that is renamed over the target, so
 * a crash never leaves a half-written file under the real name. Reading checks everything it can (lengths, offsets,
 * dtypes, shapes, overlap, trailing bytes) and throws {@link CheckpointException} naming the first problem.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Refuse headers larger than this: a corrupt length field would otherwise make us allocate gigabytes. */
    private static final long MAX_HEADER = 100L << 20;

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

    /** A file's tensors in header order, and its {@code __metadata__}. */
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

    /** Writes {@code tensors} (in list order) and {@code metadata} to {@code file}, atomically. */
    public static void write(Path file, List<Entry> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            metadata.forEach(md::put);
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

        Path tmp = AtomicFiles.tempFor(file);
        try (OutputStream out = Files.newOutputStream(tmp)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(head);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : tensors) {
                for (float v : e.data()) {
                    if (buf.remaining() < 4) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    switch (e.dtype()) {
                        case FP32 -> buf.putFloat(v);
                        case BF16 -> buf.putShort(Half.floatToBf16(v));
                        case FP16 -> buf.putShort(Half.floatToFp16(v));
                    }
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
        AtomicFiles.commit(tmp, file);
    }

    /** Reads and checks {@code file}; throws {@link CheckpointException} naming the first problem found. */
    public static Contents read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String where = file.toString();
        if (all.length < 8) {
            throw new CheckpointException(where + " is truncated: " + all.length
                    + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        if (n < 2 || n > MAX_HEADER || n > all.length - 8L) {
            throw new CheckpointException(where + " is corrupt: header length " + n + " does not fit in a file of "
                    + all.length + " bytes");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(where + " is corrupt: its JSON header does not parse ("
                    + e.getOriginalMessage() + ")", e);
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException(where + " is corrupt: its header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataLen = all.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> tensors = new LinkedHashMap<>();
        long covered = 0;
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode t = f.getValue();
            if (name.equals("__metadata__")) {
                t.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String bad = where + ": tensor '" + name + "' ";
            if (!t.isObject() || !t.path("dtype").isTextual() || !t.path("shape").isArray()
                    || !t.path("data_offsets").isArray() || t.path("data_offsets").size() != 2) {
                throw new CheckpointException(bad + "lacks dtype, shape or data_offsets in the header");
            }
            DType dtype;
            try {
                dtype = DType.parse(t.get("dtype").asText());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(bad + "has dtype '" + t.get("dtype").asText()
                        + "', which sixpd cannot read (F32, BF16, F16)");
            }
            int[] shape = new int[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = t.get("shape").get(i);
                if (!d.canConvertToInt() || d.asInt() < 0) {
                    throw new CheckpointException(bad + "has an invalid shape " + t.get("shape"));
                }
                shape[i] = d.asInt();
            }
            long begin = t.get("data_offsets").get(0).asLong(-1);
            long end = t.get("data_offsets").get(1).asLong(-1);
            long want = numel(shape) * dtype.bytes;
            if (begin < 0 || end < begin || end > dataLen) {
                throw new CheckpointException(bad + "has data_offsets [" + begin + ", " + end
                        + "] outside the " + dataLen + " data bytes: the file is truncated or corrupt");
            }
            if (end - begin != want) {
                throw new CheckpointException(bad + "holds " + (end - begin) + " bytes but its shape "
                        + Arrays.toString(shape) + " of " + dtype.safetensorsName + " needs " + want);
            }
            covered += end - begin;
            float[] data = new float[(int) numel(shape)];
            int p = (int) (dataStart + begin);
            switch (dtype) {
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
            tensors.put(name, new Entry(name, dtype, shape, data));
        }
        // Tensors must tile the data exactly: no gaps, no overlap, no trailing bytes.
        if (covered != dataLen) {
            throw new CheckpointException(where + " is corrupt: its tensors cover " + covered + " bytes but the file"
                    + " holds " + dataLen + " data bytes (truncated, or extra bytes appended)");
        }
        long[][] spans = header.properties().stream().filter(e -> !e.getKey().equals("__metadata__"))
                .map(e -> new long[]{e.getValue().get("data_offsets").get(0).asLong(),
                        e.getValue().get("data_offsets").get(1).asLong()})
                .sorted((a, b) -> Long.compare(a[0], b[0])).toArray(long[][]::new);
        for (int i = 1; i < spans.length; i++) {
            if (spans[i][0] < spans[i - 1][1]) {
                throw new CheckpointException(where + " is corrupt: two tensors overlap in the data");
            }
        }
        return new Contents(tensors, metadata);
    }
}
