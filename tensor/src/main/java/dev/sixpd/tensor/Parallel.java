package dev.sixpd.tensor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The shared fixed thread pool that multi-threaded kernels split their work over.
 *
 * <p>{@link #forRange} cuts {@code [0, n)} into {@code threads()} contiguous chunks, one task each; which rows a
 * chunk holds depends only on {@code n} and the thread count, and each output element is computed by exactly one
 * task in a fixed order, so results are bit-identical from run to run for a given thread count. The calling thread
 * runs the first chunk itself. Not re-entrant: a task must not call {@link #forRange} again (nested calls run
 * serially on the caller).
 */
public final class Parallel {
    /** A body that processes the half-open range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private static int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static ExecutorService pool;
    private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private Parallel() {
    }

    /** The number of threads kernels use (default: the number of cores). */
    public static int threads() {
        return threads;
    }

    /** Sets the number of threads kernels use; {@code n >= 1}. */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + n);
        }
        if (n != threads && pool != null) {
            pool.shutdown();
            pool = null;
        }
        threads = n;
    }

    private static synchronized ExecutorService pool() {
        if (pool == null) {
            AtomicInteger id = new AtomicInteger();
            pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
                Thread t = new Thread(r, "sixpd-worker-" + id.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into at most {@code threads()} contiguous chunks whose sizes are
     * multiples of {@code grain} (except the last); returns when all are done.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        int g = Math.max(1, grain);
        int blocks = (n + g - 1) / g;
        int t = Math.min(threads, blocks);
        if (t <= 1 || IN_TASK.get()) {
            if (n > 0) {
                body.run(0, n);
            }
            return;
        }
        Future<?>[] fs = new Future<?>[t - 1];
        for (int i = 1; i < t; i++) {
            int from = (int) ((long) blocks * i / t) * g;
            int to = Math.min(n, (int) ((long) blocks * (i + 1) / t) * g);
            fs[i - 1] = pool().submit(() -> {
                IN_TASK.set(Boolean.TRUE);
                try {
                    body.run(from, to);
                } finally {
                    IN_TASK.set(Boolean.FALSE);
                }
            });
        }
        body.run(0, Math.min(n, (int) ((long) blocks / t) * g));
        for (Future<?> f : fs) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a kernel's worker", e);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }
    }
}
