package dev.sixpd.nn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    private static final String UNICODE = "Grüße, 世界! naïve café — 𝄞 music 😀 done.\n\tTabs & \"quotes\" \\ ok";

    @Test
    void charTokenizerRoundTripsNonAsciiAndAssignsIdsByCodePoint() {
        CharTokenizer t = CharTokenizer.fromCorpus(UNICODE);
        assertEquals(UNICODE.codePoints().distinct().count(), t.vocabSize());
        int[] ids = t.encode(UNICODE);
        assertEquals(UNICODE.codePointCount(0, UNICODE.length()), ids.length); // 𝄞 and 😀 are one token each
        assertEquals(UNICODE, t.decode(ids));
        // ids ascend with code points
        for (int i = 1; i < t.vocabSize(); i++) {
            assertTrue(t.codePoint(i) > t.codePoint(i - 1));
        }
        assertEquals('\t', t.codePoint(0));
        CharTokenizer abc = CharTokenizer.fromCorpus("cabbage");
        assertArrayEquals(new int[] {2, 0, 1, 1, 0, 4, 3}, abc.encode("cabbage"));
    }

    @Test
    void charTokenizerRefusesUnknownCharactersAndIds() {
        CharTokenizer t = CharTokenizer.fromCorpus("hello");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encode("help"));
        assertTrue(e.getMessage().contains("'p'") && e.getMessage().contains("U+0070")
                && e.getMessage().contains("index 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {0, 9}));
        assertTrue(e.getMessage().contains("9"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CharTokenizer.fromCorpus(""));
    }

    @Test
    void charTokenizerJsonRoundTrip() {
        CharTokenizer t = CharTokenizer.fromCorpus(UNICODE);
        Tokenizer back = Tokenizer.fromJson(t.toJson());
        assertEquals(t, back);
        assertEquals("char", back.type());
        assertEquals(UNICODE, back.decode(back.encode(UNICODE)));
    }

    /**
     * Tokenizer JSON as sixpd wrote it before the tokenizers used Jackson: the {@code "tokenizer"} objects of two
     * checkpoints' state.json, from {@code train --preset tiny --tokenizer char|bpe --vocab 280} on a text of the
     * words héllo wörld naïve café 😀 tab\there quote"s back\slash the cat sat on mat θ ∑x².
     */
    private static final String CHAR_JSON_V1 = "{\"type\":\"char\",\"code_points\":[9,10,32,34,92,97,98,99,100,"
            + "101,102,104,107,108,109,110,111,113,114,115,116,117,118,119,120,178,233,239,246,952,8721,128512]}";
    private static final String BPE_JSON_V1 = "{\"type\":\"bpe\",\"pretokenizer\":\"gpt2\",\"merges\":["
            + "[97,116],[104,101],[32,116],[195,169],[32,99],[152,128],[159,261],[240,262],[258,257],[97,98],[114,101],"
            + "[206,184],[257,266],[111,116],[113,117],[269,101],[270,271],[109,256],[97,102],[97,195],[110,275],"
            + "[118,101],[175,277],[274,259]]}";

    @Test
    void tokenizerJsonOfEarlierCheckpointsStillLoadsAndIsWrittenTheSame() {
        String text = "héllo wörld 😀 ∑x² θ\tnaïve \"quote\" back\\slash\n";
        Tokenizer c = Tokenizer.fromJson(CHAR_JSON_V1);
        assertEquals("char", c.type());
        assertEquals(32, c.vocabSize());
        assertEquals(128512, ((CharTokenizer) c).codePoint(31)); // 😀, the highest code point, has the last id
        assertEquals(text, c.decode(c.encode(text)));
        assertEquals(CHAR_JSON_V1, c.toJson()); // the same bytes as before: old and new checkpoints agree

        Tokenizer b = Tokenizer.fromJson(BPE_JSON_V1);
        assertEquals("bpe", b.type());
        assertEquals(256 + 24, b.vocabSize());
        assertArrayEquals(new int[] {274, 259}, ((BpeTokenizer) b).merge(23));
        // " the": merge 1 (h,e) -> 257, merge 2 (' ',t) -> 258, merge 8 (258,257) -> 264; " cat": (a,t) -> 256,
        // (' ',c) -> 260, and no merge joins 260 and 256
        assertArrayEquals(new int[] {264, 260, 256}, b.encode(" the cat"));
        assertEquals(text, b.decode(b.encode(text)));
        assertEquals(BPE_JSON_V1, b.toJson());

        // Checkpoint hands over the object as Jackson read it from the pretty-printed state.json
        String pretty = "{\n  \"type\" : \"char\",\n  \"code_points\" : [ 9, 10, 32, 34, 92, 97, 98, 99, 100, "
                + "101, 102, 104, 107, 108, 109, 110, 111, 113, 114, 115, 116, 117, 118, 119, 120, 178, 233, 239, 246, "
                + "952, 8721, 128512 ]\n}";
        assertEquals(c, Tokenizer.fromJson(pretty));
    }

    @Test
    void malformedTokenizerJsonNamesTheProblem() {
        String[][] cases = {
            {"{\"type\":\"char\",\"code_points\":[97,98]} trailing", "bad JSON"},
            {"", "JSON object"},
            {"[1,2]", "JSON object"},
            {"{\"code_points\":[97]}", "\"type\""},
            {"{\"type\":7}", "\"type\""},
            {"{\"type\":\"char\"}", "\"code_points\""},
            {"{\"type\":\"char\",\"code_points\":[97,98.5]}", "code_points[1]"},
            {"{\"type\":\"char\",\"code_points\":[97,\"b\"]}", "code_points[1]"},
            {"{\"type\":\"char\",\"code_points\":[98,97]}", "ascending"},
            {"{\"type\":\"bpe\",\"merges\":[[97,98,99]]}", "merges[0]"},
            {"{\"type\":\"bpe\",\"merges\":[[97,1e2]]}", "merges[0][1]"},
            {"{\"type\":\"bpe\",\"merges\":[[97,4294967296]]}", "merges[0][1]"},
            {"{\"type\":\"bpe\",\"pretokenizer\":\"llama\",\"merges\":[]}", "pretokenizer"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson(c[0]),
                    c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
        // a BPE tokenizer without merges is the plain byte tokenizer; an explicit null pretokenizer means gpt2
        assertEquals(256, Tokenizer.fromJson("{\"type\":\"bpe\",\"pretokenizer\":null,\"merges\":[]}").vocabSize());
    }

    @Test
    void bpeLearnsTheTextbookMergesWithSmallestPairTieBreak() {
        // "aaabdaaabac": (a,a) occurs 4 times -> 256; then (a,b) and (256,a) tie at 2: the smaller pair (97,98)
        // wins -> 257; then (256,257) occurs twice -> 258; every remaining pair occurs once: training stops.
        BpeTokenizer t = BpeTokenizer.train("aaabdaaabac", 1000);
        assertEquals(3, t.mergeCount());
        assertArrayEquals(new int[] {97, 97}, t.merge(0));
        assertArrayEquals(new int[] {97, 98}, t.merge(1));
        assertArrayEquals(new int[] {256, 257}, t.merge(2));
        assertEquals(259, t.vocabSize());
        assertArrayEquals(new int[] {258, 'd', 258, 'a', 'c'}, t.encode("aaabdaaabac"));
        assertEquals("aaab", new String(t.tokenBytes(258), StandardCharsets.US_ASCII));
        // vocab size caps the merges
        assertEquals(257, BpeTokenizer.train("aaabdaaabac", 257).vocabSize());
    }

    @Test
    void bpeMergesDoNotCrossPieces() {
        // "ab ab ab": pieces "ab", " ab", " ab"; the space-letter pair (32, 97) counts 2, (a,b) counts 3
        BpeTokenizer t = BpeTokenizer.train("ab ab ab", 1000);
        assertArrayEquals(new int[] {'a', 'b'}, t.merge(0));
        assertArrayEquals(new int[] {' ', 256}, t.merge(1));
        assertEquals(2, t.mergeCount()); // "b " never forms: b and the next space are in different pieces
        assertArrayEquals(new int[] {256, 257, 257}, t.encode("ab ab ab"));
    }

    @Test
    void bpeOverlappingRunsMergeLeftToRight() {
        BpeTokenizer t = BpeTokenizer.train("aaaa aaaa aaa", 258);
        assertArrayEquals(new int[] {'a', 'a'}, t.merge(0));
        assertArrayEquals(new int[] {256, 256}, t.encode("aaaa"));
        assertArrayEquals(new int[] {256, 'a'}, t.encode("aaa"));
    }

    private static String sampleText(int n) {
        StringBuilder b = new StringBuilder();
        String[] words = {"public", "static", "final", "int", "return", "for", "(int i = 0; i < n; i++)", "{", "}",
            "ArrayList", "HashMap", "größe", "日本語", "émigré", "😀", "\n    ", "// comment", "x += y;", "don't"};
        dev.sixpd.tensor.Rng r = new dev.sixpd.tensor.Rng(3);
        while (b.length() < n) {
            if (r.nextInt(3) == 0) {
                // a random lower-case word, so there is always more to merge
                for (int k = 1 + r.nextInt(7); k > 0; k--) {
                    b.append((char) ('a' + r.nextInt(26)));
                }
            } else {
                b.append(words[r.nextInt(words.length)]);
            }
            b.append(r.nextInt(4) == 0 ? "\n" : " ");
        }
        return b.toString();
    }

    @Test
    void bpeRoundTripsAnyTextAndIsDeterministic() {
        String corpus = sampleText(20_000);
        BpeTokenizer t = BpeTokenizer.train(corpus, 400);
        assertEquals(400, t.vocabSize());
        assertEquals(t, BpeTokenizer.train(corpus, 400));
        int[] ids = t.encode(corpus);
        assertTrue(ids.length < corpus.getBytes(StandardCharsets.UTF_8).length / 2, "BPE should compress: " + ids.length);
        assertEquals(corpus, t.decode(ids));
        // text never seen in training still round-trips (it is bytes underneath)
        assertEquals(UNICODE, t.decode(t.encode(UNICODE)));
        assertEquals("", t.decode(t.encode("")));
        // the segmentation of the training text equals the training-time one: re-encoding is stable
        assertArrayEquals(ids, t.encode(t.decode(ids)));
    }

    /** Training with every pair count recomputed from scratch each merge: the incremental counts must agree. */
    private static int[][] naiveMerges(String text, int vocab) {
        java.util.List<java.util.List<Integer>> words = new java.util.ArrayList<>();
        for (String p : BpeTokenizer.pieces(text)) {
            java.util.List<Integer> w = new java.util.ArrayList<>();
            for (byte b : p.getBytes(StandardCharsets.UTF_8)) {
                w.add(b & 0xFF);
            }
            words.add(w);
        }
        java.util.List<int[]> merges = new java.util.ArrayList<>();
        while (256 + merges.size() < vocab) {
            java.util.TreeMap<Long, Long> counts = new java.util.TreeMap<>();
            for (java.util.List<Integer> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) {
                    counts.merge(((long) w.get(i) << 32) | w.get(i + 1), 1L, Long::sum);
                }
            }
            long best = -1;
            long bestCount = 1;
            for (var e : counts.entrySet()) { // ascending pair: the first of the highest count wins
                if (e.getValue() > bestCount) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best < 0) {
                break;
            }
            int a = (int) (best >>> 32);
            int b = (int) best;
            int c = 256 + merges.size();
            merges.add(new int[] {a, b});
            for (java.util.List<Integer> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) {
                    if (w.get(i) == a && w.get(i + 1) == b) {
                        w.set(i, c);
                        w.remove(i + 1);
                    }
                }
            }
        }
        return merges.toArray(new int[0][]);
    }

    @Test
    void bpeIncrementalCountsMatchANaiveRecount() {
        String corpus = sampleText(6_000) + " aaaaaaa bbbbbb aaaa abababab";
        BpeTokenizer t = BpeTokenizer.train(corpus, 380);
        int[][] want = naiveMerges(corpus, 380);
        assertEquals(want.length, t.mergeCount());
        for (int k = 0; k < want.length; k++) {
            assertArrayEquals(want[k], t.merge(k), "merge " + k);
        }
    }

    @Test
    void bpeJsonRoundTripAndBadMerges() {
        BpeTokenizer t = BpeTokenizer.train(sampleText(5_000), 300);
        Tokenizer back = Tokenizer.fromJson(t.toJson());
        assertEquals(t, back);
        assertEquals("bpe", back.type());
        String s = "return größe; // 😀";
        assertArrayEquals(t.encode(s), back.encode(s));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.fromJson("{\"type\":\"bpe\",\"merges\":[[97,98],[300,1]]}"));
        assertTrue(e.getMessage().contains("merge 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson("{\"type\":\"wordpiece\"}"));
        assertTrue(e.getMessage().contains("wordpiece"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson("{\"type\":\"bpe\",\"merges\":[[1,"));
        assertTrue(e.getMessage().contains("bad JSON"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {300}));
        assertTrue(e.getMessage().contains("300"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BpeTokenizer.train("abc", 255));
    }

    @Test
    void bpeBytesTokenizerIsUtf8() {
        BpeTokenizer t = BpeTokenizer.bytes();
        assertEquals(256, t.vocabSize());
        assertArrayEquals(new int[] {0xC3, 0xBC}, t.encode("ü"));
        assertEquals("\uFFFD", t.decode(new int[] {0xC3})); // a cut multi-byte character decodes to U+FFFD
    }

    @Test
    void trainByTypeName() {
        assertEquals("char", Tokenizer.train("char", "abc", 0).type());
        assertEquals(260, Tokenizer.train("bpe", "ab ab ab cd cd cd", 260).vocabSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.train("word", "abc", 10));
        assertTrue(e.getMessage().contains("word"), e.getMessage());
    }

    @Test
    void piecesConcatenateBackToTheText() {
        String s = "Hello,  world!\n\n  x=1;  it's 42 ümlaut\u00a0nbsp ";
        assertEquals(s, String.join("", BpeTokenizer.pieces(s)));
    }
}
