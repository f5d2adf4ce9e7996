package dev.sixpd.nn.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A Hugging Face byte-level BPE tokenizer (GPT-2's): read from {@code vocab.json} + {@code merges.txt}, or from the
 * {@code model} of a {@code tokenizer.json} whose pre-tokenizer is {@code ByteLevel}.
 *
 * <p>Those files spell every token as text through GPT-2's {@code bytes_to_unicode}: each of the 256 byte values is
 * one printable character ({@code !}..{@code ~}, {@code ¡}..{@code ¬}, {@code ®}..{@code ÿ} stand for themselves,
 * the other 68 bytes become U+0100.. in byte order: the space 0x20 is {@code Ġ} U+0120, the newline {@code Ċ}).
 * {@code vocab.json} gives each token string its id; line k of {@code merges.txt} ({@code "Ġ t"}) is merge k, whose
 * result ({@code "Ġt"}) must be in the vocabulary.
 *
 * <p>Encoding is {@link BpeTokenizer}'s, the one merge loop in sixpd: this class builds a {@code BpeTokenizer} over
 * internal ids (byte b is id b, merge k is id 256 + k, as sixpd's own BPE numbers them) and maps its output to the
 * file's ids. Pieces are split with GPT-2's pattern ({@link BpeTokenizer#PRETOKENIZER}) where {@code \s} is Unicode
 * whitespace (as in the {@code regex} module GPT-2 uses, and in {@code tokenizers}), so text with a no-break or
 * ideographic space splits as there. Within a piece the earliest merge present is applied to all its occurrences,
 * left to right, until none applies: GPT-2's {@code bpe()}.
 *
 * <p>Decoding maps each id back to its bytes (a token string whose characters are not all in the byte alphabet,
 * such as an added special token, is its own UTF-8) and decodes UTF-8, with U+FFFD for a sequence cut inside a
 * character. Encoding never produces special tokens ({@code <|endoftext|>} in the text is encoded as its
 * characters) and adds none (no BOS). {@link #vocabSize()} is the largest id + 1, or the model's vocabulary when
 * that is larger ({@link #withVocabSize}); an id that names no token (a padding row of the embedding) decodes to
 * U+FFFD.
 *
 * <p>Refused with a message naming the line or field: a merge whose parts are neither a byte nor an earlier merge's
 * result, whose result is not in the vocabulary, or repeats an earlier merge's result; duplicate ids;
 * {@code tokenizer.json} of another type (WordPiece, Unigram, a SentencePiece BPE with {@code byte_fallback}),
 * another pre-tokenizer or a normalizer. Immutable, thread-safe.
 */
public final class ByteLevelBpe implements Tokenizer {
    /** GPT-2's pre-tokenizer with Unicode whitespace for {@code \s}. */
    private static final Pattern PIECE = Pattern.compile(BpeTokenizer.PRETOKENIZER, Pattern.UNICODE_CHARACTER_CLASS);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** bytes_to_unicode: the character standing for each byte. */
    private static final char[] BYTE_CHAR = byteChars();
    /** The inverse: character → byte, or -1. */
    private static final int[] CHAR_BYTE = charBytes();

    /** Token string → id, as in the file (added tokens included). */
    private final Map<String, Integer> vocab;
    /** The merges, in rank order, as pairs of token strings. */
    private final List<String[]> merges;
    /** The merge loop, over internal ids. */
    private final BpeTokenizer core;
    /** Internal id → file id, -1 for a byte the vocabulary lacks. */
    private final int[] fileId;
    /** File id → bytes, null for an id that names no token. */
    private final byte[][] bytesOf;
    /** Where it was read from, for messages. */
    private final String source;

    private ByteLevelBpe(Map<String, Integer> vocab, List<String[]> merges, int vocabSize, String source) {
        this.vocab = vocab;
        this.merges = merges;
        this.source = source;
        int maxId = -1;
        Map<Integer, String> byId = new HashMap<>();
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0) {
                throw new IllegalArgumentException(source + ": token " + quote(e.getKey()) + " has the negative id "
                        + id);
            }
            String other = byId.put(id, e.getKey());
            if (other != null) {
                throw new IllegalArgumentException(source + ": tokens " + quote(other) + " and " + quote(e.getKey())
                        + " both have id " + id + "; each id must name one token");
            }
            maxId = Math.max(maxId, id);
        }
        bytesOf = new byte[Math.max(maxId + 1, vocabSize)][];
        byId.forEach((id, s) -> bytesOf[id] = bytesOf(s));
        // internal ids: byte b is b, merge k is 256 + k (BpeTokenizer's numbering)
        Map<String, Integer> internal = new HashMap<>();
        int[] ids = new int[256 + merges.size()];
        for (int b = 0; b < 256; b++) {
            String s = String.valueOf(BYTE_CHAR[b]);
            internal.put(s, b);
            ids[b] = vocab.getOrDefault(s, -1);
        }
        int[][] pairs = new int[merges.size()][];
        for (int k = 0; k < pairs.length; k++) {
            String a = merges.get(k)[0];
            String b = merges.get(k)[1];
            String at = source + ": merge " + k + " " + quote(a + " " + b);
            Integer ia = internal.get(a);
            Integer ib = internal.get(b);
            if (ia == null || ib == null) {
                throw new IllegalArgumentException(at + ": " + quote(ia == null ? a : b) + " is neither a byte nor"
                        + " the result of an earlier merge");
            }
            String ab = a + b;
            if (internal.containsKey(ab)) {
                throw new IllegalArgumentException(at + " makes " + quote(ab) + ", which merge "
                        + (internal.get(ab) - 256) + " made already; sixpd's BPE needs one merge per token");
            }
            Integer id = vocab.get(ab);
            if (id == null) {
                throw new IllegalArgumentException(at + " makes " + quote(ab) + ", which is not in the vocabulary");
            }
            internal.put(ab, 256 + k);
            ids[256 + k] = id;
            pairs[k] = new int[] {ia, ib};
        }
        this.fileId = ids;
        this.core = BpeTokenizer.ofMerges(pairs);
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * The tokenizer of a Hugging Face model directory: {@code tokenizer.json} if present, else {@code vocab.json}
     * + {@code merges.txt}; throws {@link IllegalArgumentException} saying which files were looked for.
     */
    public static ByteLevelBpe open(Path dir) {
        Path tj = dir.resolve("tokenizer.json");
        if (Files.exists(tj)) {
            return fromTokenizerJson(tj);
        }
        Path v = dir.resolve("vocab.json");
        Path m = dir.resolve("merges.txt");
        if (Files.exists(v) && Files.exists(m)) {
            return fromVocabMerges(v, m);
        }
        String sp = Files.exists(dir.resolve("tokenizer.model")) ? " (its tokenizer.model is a SentencePiece"
                + " model, which sixpd does not read)" : "";
        throw new IllegalArgumentException(dir + " has no byte-level BPE tokenizer" + sp + ": sixpd reads"
                + " tokenizer.json, or vocab.json + merges.txt (GPT-2's files), beside config.json");
    }

    /** GPT-2's {@code vocab.json} (token → id) and {@code merges.txt} ({@code #version} line, then "a b" per line). */
    public static ByteLevelBpe fromVocabMerges(Path vocabJson, Path mergesTxt) {
        JsonNode v = readJson(vocabJson);
        Map<String, Integer> vocab = vocabOf(v, vocabJson.toString());
        List<String[]> merges = new ArrayList<>();
        String text = readText(mergesTxt);
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] ab = line.split(" ", -1);
            if (ab.length != 2 || ab[0].isEmpty() || ab[1].isEmpty()) {
                throw new IllegalArgumentException(mergesTxt + " line " + (i + 1) + ": " + quote(line) + " is not"
                        + " a merge (two tokens separated by one space)");
            }
            merges.add(ab);
        }
        return new ByteLevelBpe(vocab, merges, 0, mergesTxt.getFileName().toString());
    }

    /** A {@code tokenizer.json} holding a byte-level BPE ({@code model.type} BPE, pre-tokenizer ByteLevel). */
    public static ByteLevelBpe fromTokenizerJson(Path file) {
        JsonNode root = readJson(file);
        String where = file.toString();
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw new IllegalArgumentException(where + " holds a " + (type.isEmpty() ? "tokenizer without a"
                    + " model.type" : type) + " tokenizer; sixpd reads byte-level BPE only (GPT-2's kind)");
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw new IllegalArgumentException(where + " is a SentencePiece-style BPE (model.byte_fallback true);"
                    + " sixpd reads byte-level BPE only (GPT-2's kind)");
        }
        for (String f : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(f).asText("").isEmpty()) {
                throw new IllegalArgumentException(where + ": model." + f + " is " + model.get(f) + "; sixpd's"
                        + " byte-level BPE has none");
            }
        }
        JsonNode norm = root.path("normalizer");
        if (!norm.isMissingNode() && !norm.isNull()) {
            throw new IllegalArgumentException(where + " has a normalizer (" + norm.path("type").asText("?")
                    + "); sixpd's byte-level BPE reads the text as it is (normalizer null)");
        }
        JsonNode pre = root.path("pre_tokenizer");
        if (!pre.path("type").asText("").equals("ByteLevel") || pre.path("add_prefix_space").asBoolean(false)
                || !pre.path("use_regex").asBoolean(true)) {
            throw new IllegalArgumentException(where + " has the pre-tokenizer " + pre + "; sixpd reads GPT-2's:"
                    + " {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}");
        }
        JsonNode dec = root.path("decoder");
        if (!dec.isMissingNode() && !dec.isNull() && !dec.path("type").asText("").equals("ByteLevel")) {
            throw new IllegalArgumentException(where + " has the decoder " + dec.path("type") + "; sixpd decodes"
                    + " as ByteLevel does");
        }
        Map<String, Integer> vocab = vocabOf(model.path("vocab"), where + " model.vocab");
        for (JsonNode t : root.path("added_tokens")) {
            String content = t.path("content").asText(null);
            JsonNode id = t.path("id");
            if (content == null || !id.canConvertToInt()) {
                throw new IllegalArgumentException(where + ": added_tokens entry " + t + " lacks content and id");
            }
            Integer old = vocab.putIfAbsent(content, id.intValue());
            if (old != null && old != id.intValue()) {
                throw new IllegalArgumentException(where + ": added token " + quote(content) + " has id " + id
                        + " but model.vocab gives it " + old);
            }
        }
        JsonNode ms = model.path("merges");
        if (!ms.isArray()) {
            throw new IllegalArgumentException(where + ": model.merges must be an array, got "
                    + (ms.isMissingNode() ? "none" : ms.getNodeType()));
        }
        List<String[]> merges = new ArrayList<>();
        for (int k = 0; k < ms.size(); k++) {
            JsonNode m = ms.get(k);
            // "a b" (tokenizers < 0.20) or ["a", "b"]
            String[] ab = m.isTextual() ? m.textValue().split(" ", -1)
                    : m.isArray() && m.size() == 2 ? new String[] {m.get(0).asText(""), m.get(1).asText("")} : null;
            if (ab == null || ab.length != 2 || ab[0].isEmpty() || ab[1].isEmpty()) {
                throw new IllegalArgumentException(where + ": model.merges[" + k + "] is " + m + ", not a pair of"
                        + " tokens (\"a b\" or [\"a\", \"b\"])");
            }
            merges.add(ab);
        }
        return new ByteLevelBpe(vocab, merges, 0, file.getFileName().toString());
    }

    private static Map<String, Integer> vocabOf(JsonNode v, String where) {
        if (!v.isObject() || v.isEmpty()) {
            throw new IllegalArgumentException(where + " must be a JSON object {token: id, ...}, got "
                    + (v.isMissingNode() ? "none" : v.getNodeType()));
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt()) {
                throw new IllegalArgumentException(where + ": token " + quote(e.getKey()) + " has id " + e.getValue()
                        + ", not an integer");
            }
            vocab.put(e.getKey(), e.getValue().intValue());
        }
        return vocab;
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(readText(f));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(f + " does not parse as JSON (" + e.getOriginalMessage() + ")");
        }
    }

    private static String readText(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("cannot read " + f + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + f + ": " + e.getMessage());
        }
    }

    /** The same tokenizer with {@link #vocabSize()} at least {@code v} (a model's padded vocabulary). */
    public ByteLevelBpe withVocabSize(int v) {
        return v <= bytesOf.length ? this : new ByteLevelBpe(vocab, merges, v, source);
    }

    // ------------------------------------------------------------------------------------------------ bytes_to_unicode

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the rest get U+0100.. */
    private static char[] byteChars() {
        char[] c = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            c[b] = printable ? (char) b : (char) (256 + n++);
        }
        return c;
    }

    private static int[] charBytes() {
        int[] m = new int[512];
        java.util.Arrays.fill(m, -1);
        for (int b = 0; b < 256; b++) {
            m[BYTE_CHAR[b]] = b;
        }
        return m;
    }

    /** The character {@code bytes_to_unicode} gives byte {@code b} (0..255). */
    public static char byteChar(int b) {
        return BYTE_CHAR[b];
    }

    /** A token string's bytes: its characters mapped back through bytes_to_unicode, or its UTF-8 if any is not one. */
    private static byte[] bytesOf(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            int b = ch < CHAR_BYTE.length ? CHAR_BYTE[ch] : -1;
            if (b < 0) {
                return s.getBytes(StandardCharsets.UTF_8); // an added token such as <|im_start|> with other characters
            }
            out[i] = (byte) b;
        }
        return out;
    }

    private static String quote(String s) {
        return "'" + s + "'";
    }

    // ------------------------------------------------------------------------------------------------ Tokenizer

    @Override
    public int[] encode(String text) {
        int[] ids = core.encode(text, PIECE);
        for (int i = 0; i < ids.length; i++) {
            int id = fileId[ids[i]];
            if (id < 0) {
                throw new IllegalArgumentException("byte 0x" + Integer.toHexString(ids[i]) + " (character "
                        + quote(String.valueOf(BYTE_CHAR[ids[i]])) + " in " + source + ") has no token in the"
                        + " vocabulary, so the text cannot be encoded");
            }
            ids[i] = id;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] none = "\uFFFD".getBytes(StandardCharsets.UTF_8);
        for (int id : ids) {
            if (id < 0 || id >= bytesOf.length) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
                        + bytesOf.length + ") of " + source);
            }
            out.writeBytes(bytesOf[id] == null ? none : bytesOf[id]);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return bytesOf.length;
    }

    @Override
    public String type() {
        return "bytelevel-bpe";
    }

    /** {@code {"type":"bytelevel-bpe","vocab_size":n,"vocab":{token: id},"merges":["a b", ...]}}: the file's strings. */
    @Override
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", type());
        o.put("vocab_size", bytesOf.length);
        ObjectNode v = o.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode ms = o.putArray("merges");
        for (String[] m : merges) {
            ms.add(m[0] + " " + m[1]);
        }
        return o.toString();
    }

    /** The inverse of {@link #toJson()}, on its parsed object. */
    static ByteLevelBpe fromJsonObject(JsonNode o) {
        Map<String, Integer> vocab = vocabOf(o.path("vocab"), "bytelevel-bpe tokenizer field \"vocab\"");
        JsonNode ms = o.path("merges");
        if (!ms.isArray()) {
            throw new IllegalArgumentException("bytelevel-bpe tokenizer field \"merges\" must be an array of \"a b\"");
        }
        List<String[]> merges = new ArrayList<>();
        for (JsonNode m : ms) {
            String[] ab = m.asText("").split(" ", -1);
            if (ab.length != 2 || ab[0].isEmpty() || ab[1].isEmpty()) {
                throw new IllegalArgumentException("bytelevel-bpe merge " + m + " is not \"a b\"");
            }
            merges.add(ab);
        }
        return new ByteLevelBpe(vocab, merges, o.path("vocab_size").asInt(0), "the checkpoint's tokenizer");
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ByteLevelBpe t) || t.bytesOf.length != bytesOf.length || !t.vocab.equals(vocab)
                || t.merges.size() != merges.size()) {
            return false;
        }
        for (int k = 0; k < merges.size(); k++) {
            if (!java.util.Arrays.equals(merges.get(k), t.merges.get(k))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return vocab.hashCode() * 31 + merges.size();
    }

    @Override
    public String toString() {
        return "byte-level BPE tokenizer from " + source + ", " + vocabSize() + " ids (" + merges.size() + " merges)";
    }
}
