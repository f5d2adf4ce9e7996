package dev.sixpd.nn.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.Object2IntHashMap;

/**
 * Byte-level byte-pair encoding, GPT-2 style: ids 0–255 are the 256 byte values, id {@code 256 + k} is the k-th
 * learned merge of two earlier ids. Any text encodes (it is UTF-8 bytes underneath), so there is no unknown token.
 *
 * <p>Text is first split into pieces with GPT-2's pre-tokenizer pattern ({@link #PRETOKENIZER}: contractions,
 * an optional space plus a run of letters, of digits, or of other symbols, and whitespace runs), and merges never
 * cross a piece boundary — so a merge never glues a word to the next one's space, and training counts each
 * distinct piece once, weighted by how often it occurs.
 *
 * <p>Training ({@link #train}): repeatedly merge the most frequent adjacent pair over the corpus; ties go to the
 * pair with the smallest (left id, right id), so the result depends on the text alone. Pair counts are kept
 * incrementally in Agrona primitive maps (pair packed into a long as {@code left << 32 | right}), with a max-heap
 * of (count, pair) entries invalidated lazily, so each merge costs time proportional to the pieces that contain
 * the pair. Stops at the requested vocabulary or when no pair occurs twice (then the vocabulary is smaller).
 *
 * <p>Encoding applies, within each piece, the lowest-ranked (earliest learned) merge present, all its
 * occurrences left to right, until none applies; this reproduces training's segmentation. {@link #decode} joins
 * the tokens' bytes and decodes UTF-8; a sequence of ids that ends inside a multi-byte character (possible when
 * sampling) decodes to U+FFFD there. Immutable, thread-safe.
 */
public final class BpeTokenizer implements Tokenizer {
    /** GPT-2's pre-tokenizer regular expression. */
    public static final String PRETOKENIZER =
            "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final Pattern PIECE = Pattern.compile(PRETOKENIZER);

    /** merges[k] = {left, right} of token 256 + k. */
    private final int[][] merges;
    /** pair (left << 32 | right) -> rank k, missing = -1. */
    private final Long2LongHashMap rank;
    /** The bytes of each token. */
    private final byte[][] bytesOf;

    private BpeTokenizer(int[][] merges) {
        this.merges = merges;
        this.rank = new Long2LongHashMap(Math.max(8, merges.length * 2), 0.65f, -1L);
        this.bytesOf = new byte[256 + merges.length][];
        for (int i = 0; i < 256; i++) {
            bytesOf[i] = new byte[] {(byte) i};
        }
        for (int k = 0; k < merges.length; k++) {
            int a = merges[k][0];
            int b = merges[k][1];
            if (a < 0 || b < 0 || a >= 256 + k || b >= 256 + k) {
                throw new IllegalArgumentException("BPE merge " + k + " (" + a + ", " + b + ") refers to a token that"
                        + " does not exist yet: merge k may only use ids below " + (256 + k));
            }
            long key = pair(a, b);
            if (rank.containsKey(key)) {
                throw new IllegalArgumentException("BPE merge " + k + " (" + a + ", " + b + ") repeats merge "
                        + rank.get(key));
            }
            rank.put(key, k);
            byte[] x = bytesOf[a];
            byte[] y = bytesOf[b];
            byte[] z = Arrays.copyOf(x, x.length + y.length);
            System.arraycopy(y, 0, z, x.length, y.length);
            bytesOf[256 + k] = z;
        }
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFF_FFFFL);
    }

    /** The tokenizer with no merges: one token per byte, vocabulary 256. */
    public static BpeTokenizer bytes() {
        return new BpeTokenizer(new int[0][]);
    }

    /** The tokenizer with these merges ({@code merges[k]} = {left, right} of token 256 + k). */
    public static BpeTokenizer ofMerges(int[][] merges) {
        int[][] copy = new int[merges.length][];
        for (int k = 0; k < merges.length; k++) {
            if (merges[k].length != 2) {
                throw new IllegalArgumentException("BPE merge " + k + " must be a pair of ids, got "
                        + Arrays.toString(merges[k]));
            }
            copy[k] = merges[k].clone();
        }
        return new BpeTokenizer(copy);
    }

    /** The pieces of {@code text} under {@link #PRETOKENIZER}; they concatenate back to {@code text}. */
    static List<String> pieces(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = PIECE.matcher(text);
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                out.add(text.substring(end, m.start())); // cannot happen with this pattern; kept lossless anyway
            }
            out.add(m.group());
            end = m.end();
        }
        if (end != text.length()) {
            out.add(text.substring(end));
        }
        return out;
    }

    /** A max-heap entry: pair and its count when pushed (stale once the count changed). */
    private record Entry(long count, long pair) {
    }

    /**
     * Trains merges on {@code text} until the vocabulary has {@code vocabSize} tokens (256 bytes + merges) or no
     * adjacent pair occurs at least twice.
     */
    public static BpeTokenizer train(String text, int vocabSize) {
        if (vocabSize < 256) {
            throw new IllegalArgumentException("a byte-level BPE vocabulary has at least the 256 byte tokens; asked for "
                    + vocabSize);
        }
        // 1. distinct pieces with their counts, in order of first occurrence
        Object2IntHashMap<String> pieceId = new Object2IntHashMap<>(-1);
        List<String> distinct = new ArrayList<>();
        IntArrayList weightList = new IntArrayList();
        Matcher m = PIECE.matcher(text);
        while (m.find()) {
            String p = m.group();
            int id = pieceId.getValue(p);
            if (id < 0) {
                id = distinct.size();
                pieceId.put(p, id);
                distinct.add(p);
                weightList.addInt(0);
            }
            weightList.setInt(id, weightList.getInt(id) + 1);
        }
        int nw = distinct.size();
        int[][] words = new int[nw][];
        int[] len = new int[nw];
        long[] weight = new long[nw];
        for (int w = 0; w < nw; w++) {
            byte[] b = distinct.get(w).getBytes(StandardCharsets.UTF_8);
            words[w] = new int[b.length];
            for (int i = 0; i < b.length; i++) {
                words[w][i] = b[i] & 0xFF;
            }
            len[w] = b.length;
            weight[w] = weightList.getInt(w);
        }

        // 2. counts of adjacent pairs, weighted by piece count, and which pieces hold each pair
        Long2LongHashMap counts = new Long2LongHashMap(1 << 12, 0.65f, 0L);
        Long2ObjectHashMap<IntArrayList> where = new Long2ObjectHashMap<>();
        for (int w = 0; w < nw; w++) {
            for (int i = 0; i + 1 < len[w]; i++) {
                long key = pair(words[w][i], words[w][i + 1]);
                counts.put(key, counts.get(key) + weight[w]);
                where.computeIfAbsent(key, k -> new IntArrayList()).addInt(w);
            }
        }
        PriorityQueue<Entry> heap = new PriorityQueue<>((x, y) -> x.count != y.count
                ? Long.compare(y.count, x.count) : Long.compare(x.pair, y.pair));
        counts.forEachLong((key, c) -> heap.add(new Entry(c, key)));

        // 3. merge the best pair until the vocabulary is full
        List<int[]> merges = new ArrayList<>();
        int[] seen = new int[nw];
        Arrays.fill(seen, -1);
        Delta delta = new Delta(counts, where, heap);
        while (256 + merges.size() < vocabSize) {
            Entry best = null;
            while (!heap.isEmpty()) {
                Entry e = heap.poll();
                if (e.count == counts.get(e.pair) && e.count > 0) {
                    best = e;
                    break;
                }
            }
            if (best == null || best.count < 2) {
                break;
            }
            int a = (int) (best.pair >>> 32);
            int b = (int) best.pair;
            int c = 256 + merges.size();
            merges.add(new int[] {a, b});
            IntArrayList ws = where.remove(best.pair);
            for (int k = 0; k < ws.size(); k++) {
                int w = ws.getInt(k);
                if (seen[w] == c) {
                    continue; // listed twice
                }
                seen[w] = c;
                len[w] = mergeInWord(words[w], len[w], a, b, c, weight[w], w, delta);
            }
            counts.remove(best.pair);
        }
        return new BpeTokenizer(merges.toArray(new int[0][]));
    }

    /** Applies count changes during training and keeps the heap and the pair -> pieces index current. */
    private record Delta(Long2LongHashMap counts, Long2ObjectHashMap<IntArrayList> where, PriorityQueue<Entry> heap) {
        void add(long key, long d, int word) {
            long c = counts.get(key) + d;
            if (c == 0) {
                counts.remove(key);
                return;
            }
            counts.put(key, c);
            heap.add(new Entry(c, key));
            if (d > 0) {
                where.computeIfAbsent(key, k -> new IntArrayList()).addInt(word);
            }
        }
    }

    /**
     * Replaces every (a, b) in {@code t[0, n)} by c, left to right, updating pair counts by the piece's weight:
     * for each occurrence, (x, a) becomes (x, c) for the token x before it and (b, y) becomes (c, y) for the
     * token y after it. Returns the new length.
     */
    private static int mergeInWord(int[] t, int n, int a, int b, int c, long wgt, int word, Delta delta) {
        int out = 0;
        int i = 0;
        boolean any = false;
        while (i < n) {
            if (i + 1 < n && t[i] == a && t[i + 1] == b) {
                any = true;
                if (out > 0) {
                    int x = t[out - 1];
                    delta.add(pair(x, a), -wgt, word);
                    delta.add(pair(x, c), wgt, word);
                }
                if (i + 2 < n) {
                    int y = t[i + 2];
                    delta.add(pair(b, y), -wgt, word);
                    delta.add(pair(c, y), wgt, word);
                }
                t[out++] = c;
                i += 2;
            } else {
                t[out++] = t[i++];
            }
        }
        return any ? out : n;
    }

    @Override
    public int[] encode(String text) {
        return encode(text, PIECE);
    }

    /**
     * Encodes {@code text} split into pieces by {@code pieces} (sixpd's {@link #PRETOKENIZER}, or the same pattern
     * with Unicode whitespace for Hugging Face's byte-level BPE, {@link ByteLevelBpe}); the merges within each piece
     * are {@link #encodePiece}'s, the one BPE merge loop.
     */
    int[] encode(String text, Pattern pieces) {
        IntArrayList out = new IntArrayList(Math.max(16, text.length() / 3), Integer.MIN_VALUE);
        HashMap<String, int[]> cache = new HashMap<>();
        Matcher m = pieces.matcher(text);
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                appendAll(out, encodePiece(text.substring(end, m.start())));
            }
            String p = m.group();
            int[] ids = cache.get(p);
            if (ids == null) {
                ids = encodePiece(p);
                cache.put(p, ids);
            }
            appendAll(out, ids);
            end = m.end();
        }
        if (end != text.length()) {
            appendAll(out, encodePiece(text.substring(end)));
        }
        return out.toIntArray();
    }

    private static void appendAll(IntArrayList out, int[] ids) {
        for (int id : ids) {
            out.addInt(id);
        }
    }

    /** Encodes one piece: bytes, then the earliest-learned merge present, repeatedly. */
    int[] encodePiece(String piece) {
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        int[] t = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = b[i] & 0xFF;
        }
        int n = t.length;
        while (n >= 2) {
            // find the lowest-ranked pair present
            long bestRank = Long.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                long r = rank.get(pair(t[i], t[i + 1]));
                if (r >= 0 && r < bestRank) {
                    bestRank = r;
                }
            }
            if (bestRank == Long.MAX_VALUE) {
                break;
            }
            int a = merges[(int) bestRank][0];
            int bb = merges[(int) bestRank][1];
            int c = 256 + (int) bestRank;
            // replace all its occurrences, left to right
            int out = 0;
            for (int i = 0; i < n; ) {
                if (i + 1 < n && t[i] == a && t[i + 1] == bb) {
                    t[out++] = c;
                    i += 2;
                } else {
                    t[out++] = t[i++];
                }
            }
            n = out;
        }
        return Arrays.copyOf(t, n);
    }

    /** The raw bytes of {@code ids} concatenated. */
    public byte[] decodeBytes(int[] ids) {
        int total = 0;
        for (int id : ids) {
            if (id < 0 || id >= bytesOf.length) {
                throw new IllegalArgumentException("token id " + id + " is outside the BPE vocabulary [0, "
                        + bytesOf.length + ")");
            }
            total += bytesOf[id].length;
        }
        byte[] out = new byte[total];
        int k = 0;
        for (int id : ids) {
            System.arraycopy(bytesOf[id], 0, out, k, bytesOf[id].length);
            k += bytesOf[id].length;
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /** The bytes of token {@code id}. */
    public byte[] tokenBytes(int id) {
        return bytesOf[id].clone();
    }

    /** Number of learned merges ({@code vocabSize() - 256}). */
    public int mergeCount() {
        return merges.length;
    }

    /** Merge {@code k} as {left, right}: token {@code 256 + k}. */
    public int[] merge(int k) {
        return merges[k].clone();
    }

    @Override
    public int vocabSize() {
        return 256 + merges.length;
    }

    @Override
    public String type() {
        return "bpe";
    }

    /** {@code {"type":"bpe","pretokenizer":"gpt2","merges":[[a,b],...]}}; token 256+k is merges[k]. */
    @Override
    public String toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("type", "bpe");
        o.put("pretokenizer", "gpt2");
        ArrayNode ms = o.putArray("merges");
        for (int[] m : merges) {
            ms.addArray().add(m[0]).add(m[1]);
        }
        return o.toString();
    }

    /** The inverse of {@link #toJson()} on its parsed object; errors name the field. */
    static BpeTokenizer fromJsonObject(JsonNode o) {
        JsonNode pre = o.path("pretokenizer");
        if (!pre.isMissingNode() && !pre.isNull() && !"gpt2".equals(pre.asText(null))) {
            throw new IllegalArgumentException("unknown BPE pretokenizer " + pre + ": this version knows \"gpt2\"");
        }
        JsonNode l = o.path("merges");
        if (!l.isArray()) {
            throw new IllegalArgumentException("BPE tokenizer field \"merges\" must be a JSON array, got "
                    + (l.isMissingNode() ? "none" : l));
        }
        int[][] merges = new int[l.size()][];
        for (int k = 0; k < merges.length; k++) {
            JsonNode p = l.get(k);
            if (!p.isArray() || p.size() != 2) {
                throw new IllegalArgumentException("merges[" + k + "] must be a pair of ids [left, right], got " + p);
            }
            merges[k] = new int[2];
            for (int j = 0; j < 2; j++) {
                JsonNode v = p.get(j);
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw new IllegalArgumentException("merges[" + k + "][" + j + "] must be an integer, got " + v);
                }
                merges[k][j] = v.intValue();
            }
        }
        return new BpeTokenizer(merges);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BpeTokenizer t && Arrays.deepEquals(merges, t.merges);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(merges);
    }

    @Override
    public String toString() {
        return "byte-level BPE tokenizer, " + vocabSize() + " tokens (256 bytes + " + merges.length + " merges)";
    }
}
