package dev.sixpd.tensor;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Elapsed time per kernel, beside the {@link Ledger}'s FLOPs and bytes ({@code ./sixpd bench step --profile}).
 *
 * <p>Method: while on, every ledger entry ({@link Ledger#add}) opens an interval and closes the one before, so a
 * kernel is charged the wall time from its entry to the next kernel's entry (or to {@link #pause}, which the
 * caller puts at the end of each timed region). Consecutive entries of one kernel (attention charges its matmuls
 * and its softmax at the start of one call) stay one interval. Glue between kernels that the ledger does not see
 * (an {@code Arrays.fill} of a gradient buffer, a 16-bit rounding pass) is charged to the kernel before it, so the
 * intervals add up to the profiled region and never to more. The kernel is the outermost method of the class that
 * called {@link Ledger#add} ({@code Gemm.gemm}, not its private {@code record}); its site is the model layer that
 * called it (for a {@code Linear}, the layer that owns that Linear: {@code GeluMlp/Linear}). Both are found with a
 * {@link StackWalker}, some microseconds per kernel call, paid only while profiling and charged to no kernel.
 *
 * <p>Off (the default), {@link Ledger#add} pays one static boolean check for it. Not thread-safe, like the ledger:
 * kernels account from the calling thread before they fan out.
 */
public final class KernelProfile {
    /** Read by {@link Ledger#add}: whether entries are timed. */
    static boolean on;

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();
    private static final StackWalker WALKER = StackWalker.getInstance();
    private static Entry open;
    private static long openedAt;

    private KernelProfile() {
    }

    /** Clears the entries and starts timing (the ledger must be enabled for kernels to report). */
    public static void start() {
        ENTRIES.clear();
        open = null;
        on = true;
    }

    /** Whether timing is on. */
    public static boolean running() {
        return on;
    }

    /** Closes the open interval at the end of a timed region (e.g. after each step); the next entry opens one. */
    public static void pause() {
        if (open != null) {
            open.nanos += System.nanoTime() - openedAt;
            open = null;
        }
    }

    /** Closes the open interval, stops timing and returns the entries in order of first appearance. */
    public static List<Entry> stop() {
        pause();
        on = false;
        List<Entry> out = new ArrayList<>();
        for (Entry e : ENTRIES.values()) {
            out.add(e.copy());
        }
        return out;
    }

    /**
     * One ledger entry: close the open interval, find the kernel on the stack, open (or continue) its interval. The
     * stack walk itself lies between the two and is charged to no kernel (it shows as time outside the kernels).
     */
    static void charge(Ledger.Phase phase, Ledger.Kind kind, long flops, long bytes) {
        long closedAt = System.nanoTime();
        Entry last = open;
        if (last != null) {
            last.nanos += closedAt - openedAt;
        }
        String[] site = site();
        Entry e = ENTRIES.computeIfAbsent(phase + "|" + site[0] + "|" + site[1],
                k -> new Entry(phase, site[0], site[1]));
        e.kinds.add(kind);
        e.flops += flops;
        e.bytes += bytes;
        if (e != last) {
            e.intervals++;
        }
        open = e;
        openedAt = System.nanoTime();
    }

    /** {@code {kernel, site}} of the current ledger entry, from the stack. */
    private static String[] site() {
        return WALKER.walk(frames -> {
            Iterator<StackWalker.StackFrame> it = frames.limit(40).iterator();
            String kernelClass = null;
            String kernel = "?";
            String linear = null;
            boolean inKernel = true;
            while (it.hasNext()) {
                StackWalker.StackFrame f = it.next();
                String cls = f.getClassName();
                if (cls.equals(Ledger.class.getName()) || cls.equals(KernelProfile.class.getName())) {
                    continue;
                }
                if (inKernel && (kernelClass == null || cls.equals(kernelClass))) {
                    // the kernel: the outermost of the consecutive frames of the class that charged the ledger
                    kernelClass = cls;
                    kernel = simpleName(cls) + "." + f.getMethodName();
                    continue;
                }
                inKernel = false;
                if (cls.startsWith("dev.sixpd.tensor.") || cls.startsWith("dev.sixpd.nn.Accumulator")
                        || cls.equals("dev.sixpd.nn.layers.StepContext") || cls.contains("$$Lambda")) {
                    continue; // plumbing between a kernel and its caller
                }
                String name = simpleName(cls);
                if (cls.equals("dev.sixpd.nn.layers.Linear")) {
                    linear = name;
                    continue; // a Linear is named by the layer that owns it
                }
                return new String[] {kernel, linear == null ? name : name + "/" + linear};
            }
            return new String[] {kernel, linear == null ? "" : linear};
        });
    }

    private static String simpleName(String cls) {
        String s = cls.substring(cls.lastIndexOf('.') + 1);
        int inner = s.indexOf('$');
        return inner < 0 ? s : s.substring(0, inner);
    }

    /**
     * One kernel at one site in one phase: its ledger FLOPs and bytes, the kinds it charged, the wall time of its
     * intervals (ns) and how many intervals were opened (consecutive calls of one kernel at one site count once).
     */
    public static final class Entry {
        public final Ledger.Phase phase;
        public final String kernel;
        public final String site;
        final Set<Ledger.Kind> kinds = EnumSet.noneOf(Ledger.Kind.class);
        long flops;
        long bytes;
        long nanos;
        long intervals;

        Entry(Ledger.Phase phase, String kernel, String site) {
            this.phase = phase;
            this.kernel = kernel;
            this.site = site;
        }

        Entry copy() {
            Entry c = new Entry(phase, kernel, site);
            c.kinds.addAll(kinds);
            c.flops = flops;
            c.bytes = bytes;
            c.nanos = nanos;
            c.intervals = intervals;
            return c;
        }

        /** The ledger kinds this kernel charged, e.g. {@code [ATTENTION_MATMUL, SOFTMAX]}. */
        public Set<Ledger.Kind> kinds() {
            Set<Ledger.Kind> c = EnumSet.noneOf(Ledger.Kind.class);
            c.addAll(kinds);
            return c;
        }

        public long flops() {
            return flops;
        }

        public long bytes() {
            return bytes;
        }

        /** Wall time charged to this kernel, ns. */
        public long nanos() {
            return nanos;
        }

        public long intervals() {
            return intervals;
        }
    }
}
