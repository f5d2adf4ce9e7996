package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceForAnyThreadCountAndGrain() {
        int saved = Parallel.threads();
        try {
            for (int threads : new int[] {1, 2, 3, 5}) {
                Parallel.setThreads(threads);
                for (int n : new int[] {0, 1, 7, 64, 1001}) {
                    for (int grain : new int[] {1, 4, 16}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        Parallel.forRange(n, grain, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < n; i++) {
                            assertEquals(1, hits.get(i), "n=" + n + " grain=" + grain + " i=" + i);
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
