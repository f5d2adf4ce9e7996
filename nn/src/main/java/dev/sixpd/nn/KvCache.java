package dev.sixpd.nn;

/**
 * A contiguous KV cache for one sequence: per layer, K and V {@code [maxT, KVH, HS]} (position {@code p} of head
 * {@code g} at {@code (p·KVH + g)·HS}), filled by {@link Gpt#decode} one position at a time. FP32 values, so
 * {@link #bytes()} = {@code 2·L·maxT·KVH·HS·4}. Not thread-safe.
 */
public final class KvCache {
    /** Per layer, {@code [maxT, KVH, HS]}. */
    final float[][] k;
    final float[][] v;
    public final int maxT;

    /** A cache of {@code config.context()} positions for a model of {@code config}. */
    public KvCache(GptConfig config) {
        int L = config.layers();
        maxT = config.context();
        int size = Math.multiplyExact(maxT, config.kvHeads() * config.headSize());
        k = new float[L][size];
        v = new float[L][size];
    }

    /** Bytes of a cache for {@code T} positions: {@code 2·L·T·KVH·HS·bytesPerValue} (K and V). */
    public static long bytes(GptConfig c, int T, int bytesPerValue) {
        return 2L * c.layers() * T * c.kvHeads() * c.headSize() * bytesPerValue;
    }

    /** Bytes this cache holds: its arrays' lengths × 4. */
    public long bytes() {
        long n = 0;
        for (int l = 0; l < k.length; l++) {
            n += 4L * (k[l].length + v[l].length);
        }
        return n;
    }
}
