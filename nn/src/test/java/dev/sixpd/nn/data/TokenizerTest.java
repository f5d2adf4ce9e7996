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
