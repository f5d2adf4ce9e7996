package dev.sixpd.optim;

import java.util.List;
import java.util.Locale;

/**
 * Bytes of model state by category, measured from the arrays actually allocated, for the memory ledger.
 *
 * <p>sixpd keeps gradients and the working copy as {@code float[]} whatever the working dtype (16-bit values are
 * emulated on the FP32 grid), so the allocated bytes of a BF16 working copy are 4 per element; the
 * {@code nominal} figures give what a real mixed-precision implementation would store (2 per element) — the
 * textbook's (2 + 2 + 12)·P bytes counts working weights and gradients nominally.
 *
 * @param parameters           number of parameter elements P
 * @param trainable            of those, the elements the optimizer updates (P without the frozen ones)
 * @param masterBytes          FP32 master weights, 4·P
 * @param gradBytes            FP32 gradients as allocated, 4·P
 * @param gradBytesNominal     gradients stored in the working dtype: 2·P for BF16/FP16, 4·P for FP32
 * @param optimizerBytes       optimizer state as allocated (AdamW: m and v, 8·P once initialised)
 * @param optimizerBytesNominal optimizer state once every parameter has it ({@code stateBytesPerElement}·P)
 * @param workingBytes         separate working copies as allocated: 0 for FP32 (the master is used), 4 per element else
 * @param workingBytesNominal  working weights in their own dtype: 2·P for BF16/FP16, 0 for FP32 (no copy needed)
 */
public record ModelStateMemory(long parameters, long trainable, long masterBytes, long gradBytes, long gradBytesNominal,
        long optimizerBytes, long optimizerBytesNominal, long workingBytes, long workingBytesNominal) {

    /** Measures {@code params} and {@code optimizer} (which may be null: no optimizer state). */
    public static ModelStateMemory of(List<Param> params, Optimizer optimizer) {
        long n = 0;
        long t = 0;
        long master = 0;
        long grad = 0;
        long gradNominal = 0;
        long working = 0;
        long workingNominal = 0;
        for (Param p : params) {
            n += p.size();
            t += p.trainable ? p.size() : 0;
            master += p.masterBytes();
            grad += p.gradBytes();
            gradNominal += p.trainable ? (long) p.workingDtype().bytes * p.size() : 0;
            working += p.workingBytesAllocated();
            workingNominal += p.workingBytesAllocated() == 0 ? 0 : p.workingBytesNominal();
        }
        long opt = optimizer == null ? 0 : optimizer.stateBytes();
        long optNominal = optimizer == null ? 0 : (long) optimizer.stateBytesPerElement() * t;
        return new ModelStateMemory(n, t, master, grad, gradNominal, opt, optNominal, working, workingNominal);
    }

    /** Frozen parameter elements: weights only, no gradient, no optimizer state. */
    public long frozen() {
        return parameters - trainable;
    }

    /** Everything allocated: masters + grads + optimizer state + working copies. */
    public long totalBytes() {
        return masterBytes + gradBytes + optimizerBytes + workingBytes;
    }

    /** What a real mixed-precision implementation would hold: masters + nominal grads, optimizer state, working copies. */
    public long totalBytesNominal() {
        return masterBytes + gradBytesNominal + optimizerBytesNominal + workingBytesNominal;
    }

    /**
     * Nominal bytes per parameter: 16 for FP32 AdamW (4 master + 4 grad + 8 m,v), and 16 for mixed precision with
     * FP32 AdamW too (2 working + 2 grad + 12 for master, m, v: the textbook's (2+2+12)·P).
     */
    public double bytesPerParameterNominal() {
        return parameters == 0 ? 0 : (double) totalBytesNominal() / parameters;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "P=%,d (trainable %,d): master %,d B, grads %,d B (nominal %,d), optimizer %,d B (nominal %,d), working %,d B"
                        + " (nominal %,d), total %,d B (nominal %,d = %.1f B/param)",
                parameters, trainable, masterBytes, gradBytes, gradBytesNominal, optimizerBytes, optimizerBytesNominal,
                workingBytes, workingBytesNominal, totalBytes(), totalBytesNominal(), bytesPerParameterNominal());
    }
}
