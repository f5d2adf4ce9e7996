package dev.sixpd.nn;

import dev.sixpd.nn.layers.StepContext;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV-cache generation against the cache-free {@link Generator}: the same tokens, contiguous and paged. */
class CachedGeneratorTest {
    static Stream<Arguments> configs() {
        GptConfig gpt2 = GptConfig.gpt2(37, 24, 2, 24, 3);
        GptConfig llama = GptConfig.llama(37, 24, 2, 32, 4, 2);
        return Stream.of(
                Arguments.of("gpt2 naive", gpt2),
                Arguments.of("gpt2 flash", gpt2.withAttention(GptConfig.Attn.FLASH)),
                Arguments.of("llama naive", llama),
                Arguments.of("llama flash", llama.withAttention(GptConfig.Attn.FLASH)),
                Arguments.of("gpt2 parallel block, rope", gpt2.withBlock(GptConfig.Block.PARALLEL)
                        .withPos(GptConfig.Pos.ROPE)),
                Arguments.of("llama multi-query, learned positions, flash", llama.withKvHeads(1)
                        .withPos(GptConfig.Pos.LEARNED).withAttention(GptConfig.Attn.FLASH)));
    }

    private static int[] prompt(int n, int V, long seed) {
        Rng r = new Rng(seed);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = (int) (r.nextDouble() * V);
        }
        return p;
    }

    /** Greedy: prompt + n < context, every token equal to the cache-free path's. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void greedyMatchesCacheFree(String name, GptConfig c) {
        Gpt model = new Gpt(c, 1, 7);
        Sampler greedy = new Sampler(0, 0, 1);
        int[] p = prompt(5, c.vocab(), 3);
        int[] expected = Generator.generate(model, p, 15, greedy, new Rng(1));
        int[] got = CachedGenerator.generate(model, StepContext.FP32, p, 15, greedy, new Rng(1));
        assertArrayEquals(expected, got, name);
    }

    /** Past the context the cached path slides the window as the cache-free one does. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void greedyPastTheContextMatches(String name, GptConfig c) {
        Gpt model = new Gpt(c, 1, 11);
        Sampler greedy = new Sampler(0, 0, 1);
        int[] p = prompt(3, c.vocab(), 5);
        int n = c.context() + 6;
        assertArrayEquals(Generator.generate(model, p, n, greedy, new Rng(1)),
                CachedGenerator.generate(model, StepContext.FP32, p, n, greedy, new Rng(1)), name);
    }

    /** Sampling with a seed draws the same tokens as the cache-free path. */
    @Test
    void sampledMatchesCacheFree() {
        GptConfig c = GptConfig.llama(37, 24, 2, 32, 4, 2);
        Gpt model = new Gpt(c, 1, 9);
        Sampler s = new Sampler(1.0, 0, 1);
        int[] p = prompt(4, c.vocab(), 8);
        assertArrayEquals(Generator.generate(model, p, 12, s, new Rng(42)),
                CachedGenerator.generate(model, StepContext.FP32, p, 12, s, new Rng(42)));
    }

    /** Paged (page size 5, not dividing the lengths) gives the contiguous cache's tokens for each seed/prompt. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void pagedMatchesContiguous(String name, GptConfig c) {
        Gpt model = new Gpt(c, 1, 13);
        Sampler s = new Sampler(0.9, 0, 1);
        int[][] prompts = {prompt(3, c.vocab(), 1), prompt(7, c.vocab(), 2), prompt(1, c.vocab(), 3)};
        int n = 10;
        Rng[] rngs = {new Rng(1), new Rng(2), new Rng(3)};
        PagedKvCache paged = new PagedKvCache(c, prompts.length, 5);
        int[][] got = CachedGenerator.generateBatch(model, StepContext.FP32, paged, prompts, n, s, rngs);
        for (int i = 0; i < prompts.length; i++) {
            int[] expected = CachedGenerator.generate(model, StepContext.FP32, prompts[i], n, s, new Rng(i + 1));
            assertArrayEquals(expected, got[i], name + " sequence " + i);
            assertEquals(0, paged.pagesOf(i), "a finished sequence releases its pages");
        }
        // a sequence writes K/V for prompt + n - 1 positions (the last token is drawn, never decoded): 12, 16, 10
        // positions in pages of 5 = 3 + 4 + 2 pages, all live until the last step (the sequences end together)
        assertEquals(9, paged.peakPages());
    }

    /** A decode step charges the ledger 2·N weight-matmul FLOPs and 4·L·len·NH·HS attention FLOPs. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void decodeFlopsInTheLedger(String name, GptConfig c) {
        Gpt model = new Gpt(c, 1, 5);
        KvCache cache = new KvCache(c);
        boolean on = Ledger.enabled();
        Ledger.setEnabled(true);
        try {
            for (int pos = 0; pos < 9; pos++) {
                Ledger.Snapshot before = Ledger.snapshot();
                model.decode(StepContext.FP32, cache, pos % c.vocab(), pos);
                Ledger.Snapshot d = Ledger.snapshot().minus(before);
                long mm = d.flops(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL);
                long att = d.flops(Ledger.Phase.FORWARD, Ledger.Kind.ATTENTION_MATMUL);
                assertEquals(2L * model.spec().matmulParameters(), mm, name);
                assertEquals(4L * c.layers() * (pos + 1) * c.heads() * c.headSize(), att, name);
                assertEquals(CachedGenerator.decodeMatmulFlops(model.spec(), pos + 1), mm + att, name);
            }
        } finally {
            Ledger.setEnabled(on);
        }
    }

    /** Sequences of different lengths: the one that ends first frees its pages and a longer one reuses them. */
    @Test
    void finishedSequenceFreesPagesForOthers() {
        GptConfig c = GptConfig.gpt2(37, 24, 2, 24, 3);
        Gpt model = new Gpt(c, 1, 13);
        Sampler s = new Sampler(0.9, 0, 1);
        // prompt lengths 20 and 2, 10 new tokens: sequence 0 stops when its cache is full (24 positions written, 5
        // tokens: the last drawn from the full cache) after 5 steps; sequence 1 goes on to 11 positions
        int[][] prompts = {prompt(20, c.vocab(), 1), prompt(2, c.vocab(), 2)};
        PagedKvCache paged = new PagedKvCache(c, 2, 4);
        int[][] got = CachedGenerator.generateBatch(model, StepContext.FP32, paged, prompts, 10, s,
                new Rng[]{new Rng(1), new Rng(2)});
        assertEquals(5, got[0].length);
        assertEquals(10, got[1].length);
        // sequence 0 held 6 pages (24 positions), sequence 1 had 2 (positions 0..6) when 0 released them: peak 8,
        // not 6 + 3
        assertEquals(6, paged.peakPagesOf(0));
        assertEquals(3, paged.peakPagesOf(1));
        assertEquals(8, paged.peakPages());
        assertArrayEquals(CachedGenerator.generate(model, StepContext.FP32, prompts[1], 10, s, new Rng(2)), got[1]);
    }

    /** The contiguous cache holds 2·L·T·KVH·HS·4 bytes. */
    @Test
    void cacheBytes() {
        GptConfig c = GptConfig.llama(37, 24, 3, 32, 4, 2);
        KvCache cache = new KvCache(c);
        assertEquals(2L * 3 * 24 * 2 * 8 * 4, cache.bytes());
        assertEquals(cache.bytes(), KvCache.bytes(c, 24, 4));
        PagedKvCache paged = new PagedKvCache(c, 2, 16);
        assertEquals(2L * 3 * 16 * 2 * 8 * 4, paged.pageBytes());
        assertTrue(paged.pages >= 2 * 2);
    }
}
