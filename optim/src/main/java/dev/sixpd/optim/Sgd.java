package dev.sixpd.optim;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Vectors;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Stochastic gradient descent with optional momentum and Nesterov momentum, PyTorch's {@code torch.optim.SGD}
 * semantics without dampening. Weight decay is an L2 term added to the gradient, only for params whose
 * {@link Param#decay} is set. State: one FP32 momentum buffer per parameter (slot {@code momentum_buffer}), none
 * when momentum is 0.
 *
 * <p>Per element:
 * <pre>
 *   g' = g + λ·p                   (decayed params)
 *   b  = μ·b + g'                  (momentum; b starts at 0, so the first step gives b = g' as in PyTorch)
 *   d  = nesterov ? g' + μ·b : b   (plain SGD: d = g')
 *   p -= lr·d
 * </pre>
 * Ledger per element: 2 FLOPs for the final multiply-add, +2 for momentum, +2 for Nesterov, +2 for weight decay;
 * bytes: p and g read, p written (12), plus the buffer read and written (8) with momentum.
 *
 * <p>Vector path and scalar twin are bit-identical (the same fused multiply-adds in the same order).
 */
public final class Sgd extends SlotOptimizer {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private final float momentum;
    private final boolean nesterov;
    private final float weightDecay;

    /** Plain SGD: no momentum, no weight decay. */
    public Sgd() {
        this(0f, false, 0f);
    }

    /**
     * @param momentum μ in [0, 1); 0 keeps no state
     * @param nesterov use Nesterov momentum (needs μ &gt; 0)
     * @param weightDecay L2 coefficient λ &ge; 0, applied to params with {@link Param#decay}
     */
    public Sgd(float momentum, boolean nesterov, float weightDecay) {
        super(momentum == 0f ? new String[0] : new String[] {"momentum_buffer"});
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("SGD momentum must be in [0, 1), got " + momentum);
        }
        if (nesterov && momentum == 0f) {
            throw new IllegalArgumentException("Nesterov momentum needs momentum > 0");
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("SGD weight decay must be >= 0, got " + weightDecay);
        }
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.weightDecay = weightDecay;
    }

    public float momentum() {
        return momentum;
    }

    public boolean nesterov() {
        return nesterov;
    }

    public float weightDecay() {
        return weightDecay;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "SGD(momentum=%s, nesterov=%s, weight_decay=%s)", momentum, nesterov,
                weightDecay);
    }

    @Override
    void update(Param p, float[][] state, float lr, long t) {
        float l2 = p.decay ? weightDecay : 0f;
        int n = p.size();
        if (Ledger.enabled()) {
            long flops = 2 + (momentum != 0f ? 2 : 0) + (nesterov ? 2 : 0) + (l2 != 0f ? 2 : 0);
            Ledger.add(Ledger.Kind.ELEMENTWISE, flops * n, (momentum != 0f ? 20L : 12L) * n);
        }
        float[] w = p.data;
        float[] g = p.grad;
        float[] b = state.length > 0 ? state[0] : null;
        if (n >= PARALLEL_MIN) {
            Parallel.forRange(n, GRAIN, (from, to) -> update(w, g, b, from, to, lr, momentum, nesterov, l2));
        } else {
            update(w, g, b, 0, n, lr, momentum, nesterov, l2);
        }
    }

    /**
     * The update kernel (Vector API body + scalar tail) over {@code [from, to)}: {@code p} weights (updated),
     * {@code g} gradient, {@code b} momentum buffer (updated; may be null when {@code momentum == 0}).
     */
    public static void update(float[] p, float[] g, float[] b, int from, int to, float lr, float momentum,
            boolean nesterov, float l2) {
        int upper = from + S.loopBound(to - from);
        FloatVector mu = FloatVector.broadcast(S, momentum);
        FloatVector l2v = FloatVector.broadcast(S, l2);
        FloatVector nlr = FloatVector.broadcast(S, -lr);
        boolean hasL2 = l2 != 0f;
        boolean hasMomentum = momentum != 0f;
        for (int i = from; i < upper; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, i);
            FloatVector gv = FloatVector.fromArray(S, g, i);
            // g' = g + λ·p
            if (hasL2) {
                gv = pv.fma(l2v, gv);
            }
            FloatVector d = gv;
            if (hasMomentum) {
                // b = μ·b + g'
                FloatVector bv = FloatVector.fromArray(S, b, i).fma(mu, gv);
                bv.intoArray(b, i);
                // d = g' + μ·b (Nesterov) or b
                d = nesterov ? bv.fma(mu, gv) : bv;
            }
            // p = p - lr·d
            d.fma(nlr, pv).intoArray(p, i);
        }
        updateScalar(p, g, b, upper, to, lr, momentum, nesterov, l2);
    }

    /** Scalar twin of {@link #update}, bit-identical. */
    public static void updateScalar(float[] p, float[] g, float[] b, int from, int to, float lr, float momentum,
            boolean nesterov, float l2) {
        float nlr = -lr;
        boolean hasL2 = l2 != 0f;
        boolean hasMomentum = momentum != 0f;
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float gi = hasL2 ? Math.fma(pi, l2, g[i]) : g[i];
            float d = gi;
            if (hasMomentum) {
                float bi = Math.fma(b[i], momentum, gi);
                b[i] = bi;
                d = nesterov ? Math.fma(bi, momentum, gi) : bi;
            }
            p[i] = Math.fma(d, nlr, pi);
        }
    }
}
