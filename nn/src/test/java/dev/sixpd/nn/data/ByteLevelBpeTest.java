package dev.sixpd.nn.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small GPT-2-format vocab/merges pair written here, encodings worked out by hand.
 *
 * <p>Byte ids follow GPT-2's vocab.json: bytes_to_unicode's printable bytes first ({@code !} 0 .. {@code ~} 93,
 * {@code ¡}.., {@code ®}..{@code ÿ}: 188 of them), then the others in byte order (byte 0 is 188, the space is 220
 * {@code Ġ}, the newline 198 {@code Ċ}). So {@code a} = 64, {@code c} = 66, {@code e} = 68, {@code f} = 69,
 * {@code h} = 71, {@code t} = 83. Merges (rank: result = id): 0 {@code Ġ t} = 256, 1 {@code h e} = 257,
 * 2 {@code Ġt he} = 258, 3 {@code a t} = 259, 4 {@code c at} = 260, 5 {@code Ã ©} (é's UTF-8 C3 A9) = 261,
 * 6 {@code Ġ c} = 262, 7 (NBSP's second byte A0, {@code !}) = 263; then {@code <|endoftext|>} = 264.
 */
public class ByteLevelBpeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String UNICODE = "Grüße, 世界! naïve café — 𝄞 music 😀 done.\n\tTabs & \"quotes\" \\ ok"
            + " it's\u00a0nbsp\u3000ideographic  two  spaces\n\n";

    @TempDir
    Path dir;

    /** GPT-2's id order of the 256 byte characters. */
    static List<Integer> gpt2ByteOrder() {
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
                order.add(b);
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!order.contains(b)) {
                order.add(b);
            }
        }
        return order;
    }

    static String ch(int b) {
        return String.valueOf(ByteLevelBpe.byteChar(b));
    }

    public static List<String> merges() {
        return List.of("Ġ t", "h e", "Ġt he", "a t", "c at", "Ã ©", "Ġ c", ch(0xA0) + " !");
    }

    public static Map<String, Integer> vocab() {
        Map<String, Integer> v = new LinkedHashMap<>();
        for (int b : gpt2ByteOrder()) {
            v.put(ch(b), v.size());
        }
        for (String m : merges()) {
            v.put(m.replace(" ", ""), v.size());
        }
        v.put("<|endoftext|>", v.size());
        return v;
    }

    /** Writes vocab.json and merges.txt (with GPT-2's #version line) into {@code d}. */
    public static void writeVocabMerges(Path d, Map<String, Integer> vocab, List<String> merges) throws IOException {
        Files.writeString(d.resolve("vocab.json"), JSON.writeValueAsString(vocab));
        Files.writeString(d.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges) + "\n");
    }

    /** A tokenizer.json of a GPT-2 ByteLevel BPE with these merges, as tokenizers writes it. */
    public static ObjectNode tokenizerJson(Map<String, Integer> vocab, List<String> merges, boolean mergesAsPairs) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", vocab.get("<|endoftext|>")).put("content", "<|endoftext|>").put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach((k, id) -> {
            if (!k.equals("<|endoftext|>")) {
                v.put(k, id);
            }
        });
        ArrayNode ms = model.putArray("merges");
        for (String m : merges) {
            if (mergesAsPairs) {
                ms.addArray().add(m.split(" ")[0]).add(m.split(" ")[1]);
            } else {
                ms.add(m);
            }
        }
        return root;
    }

    private ByteLevelBpe gpt2Files() throws IOException {
        writeVocabMerges(dir, vocab(), merges());
        return ByteLevelBpe.fromVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
    }

    @Test
    void encodesAsWorkedOutByHand() throws IOException {
        ByteLevelBpe t = gpt2Files();
        assertEquals(265, t.vocabSize());
        // "the" | " cat": t h e → (h e) rank 1 → t he; " cat": Ġ c a t → (a t) 3 → Ġ c at → (c at) 4 beats (Ġ c) 6
        assertArrayEquals(new int[] {83, 257, 220, 260}, t.encode("the cat"));
        // " the": Ġ t h e → (Ġ t) 0 → Ġt h e → (h e) 1 → Ġt he → (Ġt he) 2 → Ġthe
        assertArrayEquals(new int[] {258}, t.encode(" the"));
        // "café": c a f Ã © → only (Ã ©) 5 applies
        assertArrayEquals(new int[] {66, 64, 69, 261}, t.encode("café"));
        // " c" alone: (Ġ c) 6
        assertArrayEquals(new int[] {262}, t.encode(" c"));
        // a newline run is one piece of Ċ bytes; a special token's text is encoded as characters, not as its id
        assertArrayEquals(new int[] {198, 198}, t.encode("\n\n"));
        int[] eot = t.encode("<|endoftext|>");
        assertEquals(13, eot.length);
        assertEquals("<|endoftext|>", t.decode(new int[] {264}));
        assertEquals("<|endoftext|>", t.decode(eot));
    }

    @Test
    void unicodeWhitespaceSplitsPiecesAsGpt2Does() throws IOException {
        ByteLevelBpe t = gpt2Files();
        // NBSP is C2 A0; merge 7 (A0 !) would apply if "\u00a0!" were one piece, as it is under ASCII \s; GPT-2's
        // regex treats NBSP as whitespace: pieces "\u00a0" and "!" (Â = 0xC2, the A0 character, ! = 0)
        assertArrayEquals(new int[] {vocab().get("Â"), vocab().get(ch(0xA0)), 0}, t.encode("\u00a0!"));
        // sixpd's own BPE keeps ASCII \s (its checkpoints tokenize as before): one piece there
        assertEquals(List.of("\u00a0!"), BpeTokenizer.pieces("\u00a0!"));
    }

    @Test
    void roundTripsUnicodeText() throws IOException {
        ByteLevelBpe t = gpt2Files();
        assertEquals(UNICODE, t.decode(t.encode(UNICODE)));
        for (String s : List.of("", " ", "a", "😀😀", "x\r\ny", "tab\there", "\u0000\u007f\u00ad")) {
            assertEquals(s, t.decode(t.encode(s)), s);
        }
        // a sequence cut inside a character decodes to U+FFFD there
        int[] ids = t.encode("😀");
        assertEquals("\uFFFD", t.decode(new int[] {ids[0]}));
    }

    @Test
    void tokenizerJsonReadsTheSameTokenizer() throws IOException {
        ByteLevelBpe a = gpt2Files();
        for (boolean pairs : new boolean[] {false, true}) {
            Path f = dir.resolve("tokenizer" + pairs + ".json");
            Files.writeString(f, tokenizerJson(vocab(), merges(), pairs).toString());
            ByteLevelBpe b = ByteLevelBpe.fromTokenizerJson(f);
            assertEquals(a.vocabSize(), b.vocabSize());
            assertArrayEquals(a.encode(UNICODE), b.encode(UNICODE));
            assertEquals("<|endoftext|>", b.decode(new int[] {264}));
        }
        // open() prefers tokenizer.json, then vocab.json + merges.txt
        assertArrayEquals(a.encode("the cat"), ByteLevelBpe.open(dir).encode("the cat"));
    }

    @Test
    void checkpointJsonRoundTrip() throws IOException {
        ByteLevelBpe t = gpt2Files().withVocabSize(300);
        assertEquals(300, t.vocabSize());
        assertEquals("\uFFFD", t.decode(new int[] {299})); // a padding id names no token
        Tokenizer back = Tokenizer.fromJson(t.toJson());
        assertEquals(t, back);
        assertEquals("bytelevel-bpe", back.type());
        assertEquals(300, back.vocabSize());
        assertArrayEquals(t.encode(UNICODE), back.encode(UNICODE));
        assertNotEquals(t, gpt2Files());
    }

    @Test
    void refusesMalformedFilesNamingTheProblem() throws IOException {
        Map<String, Integer> v = vocab();
        // a merge whose part is no token yet
        assertRefused(v, List.of("Ġ t", "h eX"), "merge 1 'h eX'", "'eX' is neither a byte nor");
        // a merge whose result the vocabulary lacks
        Map<String, Integer> noResult = new LinkedHashMap<>(v);
        noResult.remove("Ġthe");
        assertRefused(noResult, merges(), "merge 2 'Ġt he'", "not in the vocabulary");
        // two merges making the same token
        Map<String, Integer> dup = new LinkedHashMap<>(v);
        dup.put("th", dup.size());
        dup.put("the", dup.size());
        assertRefused(dup, List.of("Ġ t", "h e", "t h", "th e", "t he"), "merge 4 't he'", "merge 3 made already");
        // two tokens with one id
        Map<String, Integer> sameId = new LinkedHashMap<>(v);
        sameId.put("zz", 5);
        assertRefused(sameId, merges(), "both have id 5");
        // a line that is not a pair
        writeVocabMerges(dir, v, merges());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nĠ t\nh e x\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpe.fromVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt")));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("'h e x'"), e.getMessage());
        // a byte the vocabulary lacks: readable, but text with that byte is refused when encoded
        Map<String, Integer> noZ = new LinkedHashMap<>(v);
        noZ.remove("z");
        writeVocabMerges(dir, noZ, merges());
        ByteLevelBpe t = ByteLevelBpe.fromVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
        assertEquals(2, t.encode("ab").length);
        e = assertThrows(IllegalArgumentException.class, () -> t.encode("jazz"));
        assertTrue(e.getMessage().contains("byte 0x7a") && e.getMessage().contains("'z'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {265}));
        assertTrue(e.getMessage().contains("token id 265"), e.getMessage());
    }

    @Test
    void refusesOtherTokenizerJsonKinds() throws IOException {
        ObjectNode unigram = tokenizerJson(vocab(), merges(), false);
        ((ObjectNode) unigram.get("model")).put("type", "Unigram");
        assertJsonRefused(unigram, "holds a Unigram tokenizer; sixpd reads byte-level BPE only");
        ObjectNode sentencePiece = tokenizerJson(vocab(), merges(), false);
        ((ObjectNode) sentencePiece.get("model")).put("byte_fallback", true);
        assertJsonRefused(sentencePiece, "byte_fallback true");
        ObjectNode prefix = tokenizerJson(vocab(), merges(), false);
        ((ObjectNode) prefix.get("pre_tokenizer")).put("add_prefix_space", true);
        assertJsonRefused(prefix, "\"add_prefix_space\": false");
        ObjectNode metaspace = tokenizerJson(vocab(), merges(), false);
        metaspace.putObject("pre_tokenizer").put("type", "Metaspace");
        assertJsonRefused(metaspace, "pre-tokenizer {\"type\":\"Metaspace\"}");
        ObjectNode nfc = tokenizerJson(vocab(), merges(), false);
        nfc.putObject("normalizer").put("type", "NFC");
        assertJsonRefused(nfc, "has a normalizer (NFC)");
        Files.createDirectories(dir.resolve("sp"));
        Files.writeString(dir.resolve("sp/tokenizer.model"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpe.open(dir.resolve("sp")));
        assertTrue(e.getMessage().contains("SentencePiece") && e.getMessage().contains("vocab.json + merges.txt"),
                e.getMessage());
    }

    private void assertRefused(Map<String, Integer> vocab, List<String> merges, String... parts) throws IOException {
        writeVocabMerges(dir, vocab, merges);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpe.fromVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt")));
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
        }
    }

    private void assertJsonRefused(ObjectNode json, String part) throws IOException {
        Path f = dir.resolve("bad-tokenizer.json");
        Files.writeString(f, json.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpe.fromTokenizerJson(f));
        assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
    }
}
