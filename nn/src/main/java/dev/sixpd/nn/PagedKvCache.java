package dev.sixpd.nn;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * A paged KV cache shared by several sequences, as PagedAttention (vLLM) keeps one: per layer one pool of pages
 * {@code [pages, pageSize, KVH, HS]} for K and one for V; each sequence owns a block table whose entry {@code i}
 * is the page holding its positions {@code [i·pageSize, (i+1)·pageSize)}. A page is taken from the free list when
 * a sequence writes the first position of a new page, and all of a sequence's pages return to the free list when
 * it {@link #release}s them, for the other sequences to reuse.
 *
 * <p>Memory: the pool is sized for the worst case ({@code sequences · ⌈maxT/pageSize⌉} pages) so a run never
 * fails; {@link #peakPages()} records how many were ever in use at once, which is what a pool grown on demand
 * (or shared with more sequences) would need. Not thread-safe.
 */
public final class PagedKvCache {
    /** Per layer, {@code [pages, pageSize, KVH, HS]}. */
    final float[][] k;
    final float[][] v;
    public final int pageSize;
    public final int pages;
    private final int pageFloats;
    private final int layers;
    private final int[][] tables;
    private final int[] used;   // pages held by each sequence
    private final int[] most;   // most pages each sequence ever held
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private int inUse;
    private int peak;

    /** A pool for {@code sequences} sequences of up to {@code config.context()} positions each. */
    public PagedKvCache(GptConfig config, int sequences, int pageSize) {
        if (pageSize < 1) {
            throw new IllegalArgumentException("page size must be >= 1 position, got " + pageSize);
        }
        if (sequences < 1) {
            throw new IllegalArgumentException("need at least one sequence, got " + sequences);
        }
        this.pageSize = pageSize;
        this.layers = config.layers();
        int perSeq = (config.context() + pageSize - 1) / pageSize;
        pages = Math.multiplyExact(sequences, perSeq);
        pageFloats = pageSize * config.kvHeads() * config.headSize();
        int size = Math.multiplyExact(pages, pageFloats);
        k = new float[layers][size];
        v = new float[layers][size];
        tables = new int[sequences][perSeq];
        used = new int[sequences];
        most = new int[sequences];
        // a stack: the most recently released page is reused first (its lines may still be in cache)
        for (int p = pages - 1; p >= 0; p--) {
            free.push(p);
        }
    }

    /** Makes sure sequence {@code s} has a page for position {@code pos} (positions are written in order). */
    void ensure(int s, int pos) {
        int page = pos / pageSize;
        while (used[s] <= page) {
            Integer p = free.poll();  // the top of the stack
            if (p == null) {
                throw new IllegalStateException("the KV page pool (" + pages + " pages) is exhausted");
            }
            tables[s][used[s]++] = p;
            most[s] = Math.max(most[s], used[s]);
            peak = Math.max(peak, ++inUse);
        }
    }

    /** Returns sequence {@code s}'s pages to the free list. */
    public void release(int s) {
        for (int i = 0; i < used[s]; i++) {
            free.push(tables[s][i]);
        }
        inUse -= used[s];
        used[s] = 0;
        Arrays.fill(tables[s], -1);
    }

    int[] table(int s) {
        return tables[s];
    }

    /** Pages held now by sequence {@code s}. */
    public int pagesOf(int s) {
        return used[s];
    }

    /** Most pages sequence {@code s} ever held. */
    public int peakPagesOf(int s) {
        return most[s];
    }

    /** Most pages in use at once. */
    public int peakPages() {
        return peak;
    }

    /** Bytes of one page, K and V of every layer: {@code 2·L·pageSize·KVH·HS·4}. */
    public long pageBytes() {
        return 2L * layers * pageFloats * 4;
    }
}
