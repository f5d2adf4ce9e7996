package dev.sixpd.nn.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.data.ByteLevelBpeTest;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.Half;
import dev.sixpd.tensor.Rng;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tiny Hugging Face model directories, written here as another tool would: {@code config.json}, a
 * {@code model.safetensors} with no sixpd metadata (8-byte length, JSON header, raw little-endian data), and a
 * GPT-2-format {@code vocab.json} + {@code merges.txt} ({@link ByteLevelBpeTest}'s 265 ids).
 */
public final class HfFixture {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Ids of {@link ByteLevelBpeTest}'s tokenizer. */
    public static final int TOKENIZER_IDS = 265;

    private HfFixture() {
    }

    /** One tensor as the file stores it: dtype spelled as safetensors does (F32, BF16, F16, or anything for tests). */
    public record Tensor(String name, String dtype, int[] shape, float[] data) {
    }

    /** A model of {@code cfg} with every value random (gains away from 1, biases away from 0), rounded to dtype. */
    public static Gpt randomModel(GptConfig cfg, long seed, String dtype) {
        Gpt m = new Gpt(cfg, 2, seed);
        Rng rng = new Rng(seed + 1);
        for (Param p : m.params()) {
            for (int k = 0; k < p.data.length; k++) {
                float v = p.data[k] + (float) ((p.shape().length == 1 ? 0.2 : 0.05) * rng.nextGaussian());
                p.data[k] = switch (dtype) {
                    case "BF16" -> Half.bf16ToFloat(Half.floatToBf16(v));
                    case "F16" -> Half.fp16ToFloat(Half.floatToFp16(v));
                    default -> v;
                };
            }
            p.syncWorking();
        }
        return m;
    }

    /** GPT-2's config.json fields for {@code c}. */
    public static ObjectNode gpt2Config(GptConfig c) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("model_type", "gpt2");
        o.put("activation_function", "gelu_new");
        o.put("layer_norm_epsilon", 1e-5);
        o.put("n_ctx", c.context());
        o.put("n_positions", c.context());
        o.put("n_embd", c.dModel());
        o.put("n_head", c.heads());
        o.put("n_layer", c.layers());
        o.putNull("n_inner");
        o.put("vocab_size", c.vocab());
        o.put("tie_word_embeddings", c.tieHead());
        o.put("torch_dtype", "float32");
        return o;
    }

    /**
     * The tensors of {@code m} under GPT-2's Hugging Face names ({@code transformer.} prefix if asked), the Conv1D
     * weights transposed to {@code [in, out]}, stored as {@code dtype}.
     */
    public static List<Tensor> gpt2Tensors(Gpt m, String dtype, boolean prefix) {
        List<Tensor> ts = new ArrayList<>();
        for (Param p : m.params()) {
            String name = p.name.equals("lm_head.weight") || !prefix ? p.name : "transformer." + p.name;
            int[] s = p.shape();
            if (HfModel.isConv1d(p.name)) {
                float[] t = new float[p.data.length];
                HfModel.transpose(p.data, s[0], s[1], t);
                ts.add(new Tensor(name, dtype, new int[] {s[1], s[0]}, t));
            } else {
                ts.add(new Tensor(name, dtype, s, p.data.clone()));
            }
        }
        return ts;
    }

    /** The tensors of a LLaMA-family {@code m}: its names are Hugging Face's, {@code [out, in]}. */
    public static List<Tensor> llamaTensors(Gpt m, String dtype) {
        List<Tensor> ts = new ArrayList<>();
        for (Param p : m.params()) {
            ts.add(new Tensor(p.name, dtype, p.shape(), p.data.clone()));
        }
        return ts;
    }

    /** Writes a whole directory: config, weights, tokenizer. */
    public static Path writeDir(Path dir, ObjectNode config, List<Tensor> tensors) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(HfModel.CONFIG), config.toPrettyString());
        writeSafetensors(dir.resolve(HfModel.WEIGHTS), tensors);
        ByteLevelBpeTest.writeVocabMerges(dir, ByteLevelBpeTest.vocab(), ByteLevelBpeTest.merges());
        return dir;
    }

    /** safetensors as the format defines it, with only {"format": "pt"} in the metadata. */
    public static void writeSafetensors(Path f, List<Tensor> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long off = 0;
        for (Tensor t : tensors) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype());
            ArrayNode s = e.putArray("shape");
            for (int d : t.shape()) {
                s.add(d);
            }
            long bytes = (long) t.data().length * (t.dtype().equals("F32") ? 4 : 2);
            e.putArray("data_offsets").add(off).add(off + bytes);
            off += bytes;
        }
        byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(f)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(h);
            out.write(" ".repeat(padded - h.length).getBytes(StandardCharsets.US_ASCII));
            for (Tensor t : tensors) {
                boolean f32 = t.dtype().equals("F32");
                ByteBuffer b = ByteBuffer.allocate(t.data().length * (f32 ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : t.data()) {
                    if (f32) {
                        b.putFloat(v);
                    } else {
                        b.putShort(t.dtype().equals("F16") ? Half.floatToFp16(v) : Half.floatToBf16(v));
                    }
                }
                out.write(b.array());
            }
        }
    }

    /** {@code c} as a mutable copy of its JSON. */
    public static ObjectNode copy(ObjectNode c) {
        return c.deepCopy();
    }

    static Map<String, Integer> vocab() {
        return ByteLevelBpeTest.vocab();
    }
}
