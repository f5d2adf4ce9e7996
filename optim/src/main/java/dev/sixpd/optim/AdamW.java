package dev.sixpd.optim;

import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import dev.sixpd.tensor.Vectors;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter), FP32 state {@code m} and {@code v} per parameter; with
 * {@link #adam} it is plain Adam whose weight decay is an L2 term added to the gradient (PyTorch's
 * {@code torch.optim.Adam(weight_decay=...)}). Weight decay only touches parameters whose {@link Param#decay} is
 * set.
 *
 * <p>One step {@code t} (1-based), per element, with {@code c1 = 1/(1-β1^t)}, {@code c2 = 1/(1-β2^t)} computed in
 * double and rounded to float once per step:
 * <pre>
 *   g' = g + λ_L2·p                      (Adam only, decayed params)
 *   m  = β1·m + (1-β1)·g'
 *   v  = β2·v + (1-β2)·g'²
 *   u  = (m·c1) / (sqrt(v·c2) + ε)
 *   u += λ·p                             (AdamW only, decayed params)
 *   p -= lr·u
 * </pre>
 * which is llm.c's {@code param -= lr * (m_hat / (sqrtf(v_hat) + eps) + weight_decay * param)}.
 *
 * <p>Ledger: per element 14 FLOPs — m: 2 mul + 1 add (3), v: 3 mul + 1 add (4), the two bias corrections 1 mul
 * each (2), sqrt 1, + ε 1, division 1, and the final multiply-add with −lr 2 — plus 2 for the weight-decay
 * multiply-add where it applies; kind {@code ELEMENTWISE}, phase {@code OPTIMIZER}. Bytes: p, g, m, v read and
 * p, m, v written, 28 per element.
 *
 * <p>The vector path and the scalar twin execute the same IEEE operations in the same order (fused multiply-adds
 * in both, correctly rounded sqrt and division), so they are bit-identical; the update is elementwise, so the
 * result does not depend on the thread count.
 */
public final class AdamW extends SlotOptimizer {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    /** FLOPs per element of the update without weight decay. */
    public static final int FLOPS_PER_ELEMENT = 14;
    /** Extra FLOPs per element where weight decay applies. */
    public static final int DECAY_FLOPS_PER_ELEMENT = 2;

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final boolean decoupled;

    /** AdamW with decoupled weight decay {@code weightDecay} (applied only to params with {@link Param#decay}). */
    public AdamW(float beta1, float beta2, float eps, float weightDecay) {
        this(beta1, beta2, eps, weightDecay, true);
    }

    private AdamW(float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        super("m", "v");
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam betas must be in [0, 1), got beta1=" + beta1 + " beta2=" + beta2);
        }
        if (!(eps > 0) || !(weightDecay >= 0) || !Float.isFinite(eps) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("Adam needs eps > 0 and weight decay >= 0, got eps=" + eps
                    + " weight_decay=" + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decoupled = decoupled;
    }

    /** Plain Adam: weight decay {@code l2} is added to the gradient ({@code g += l2·p}) of params with decay set. */
    public static AdamW adam(float beta1, float beta2, float eps, float l2) {
        return new AdamW(beta1, beta2, eps, l2, false);
    }

    /** GPT-2 / nanoGPT defaults: β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1. */
    public static AdamW gptDefaults() {
        return new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
    }

    public float beta1() {
        return beta1;
    }

    public float beta2() {
        return beta2;
    }

    public float eps() {
        return eps;
    }

    public float weightDecay() {
        return weightDecay;
    }

    /** True for AdamW (decoupled decay), false for Adam with L2. */
    public boolean decoupled() {
        return decoupled;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "%s(beta1=%s, beta2=%s, eps=%s, weight_decay=%s)",
                decoupled ? "AdamW" : "Adam", beta1, beta2, eps, weightDecay);
    }

    @Override
    void update(Param p, float[][] state, float lr, long t) {
        float c1 = biasCorrection(beta1, t);
        float c2 = biasCorrection(beta2, t);
        boolean decays = p.decay && weightDecay != 0f;
        float l2 = decays && !decoupled ? weightDecay : 0f;
        float wd = decays && decoupled ? weightDecay : 0f;
        int n = p.size();
        if (Ledger.enabled()) {
            Ledger.add(Ledger.Kind.ELEMENTWISE,
                    (long) n * (FLOPS_PER_ELEMENT + (decays ? DECAY_FLOPS_PER_ELEMENT : 0)), 28L * n);
        }
        float[] w = p.data;
        float[] g = p.grad;
        float[] m = state[0];
        float[] v = state[1];
        if (n >= PARALLEL_MIN) {
            Parallel.forRange(n, GRAIN, (from, to) -> update(w, g, m, v, from, to, lr, beta1, beta2, eps, l2, wd, c1, c2));
        } else {
            update(w, g, m, v, 0, n, lr, beta1, beta2, eps, l2, wd, c1, c2);
        }
    }

    /** Adam's bias correction {@code 1/(1-β^t)} for step {@code t} (1-based), computed in double, rounded once. */
    public static float biasCorrection(float beta, long t) {
        return (float) (1.0 / (1.0 - Math.pow(beta, t)));
    }

    /**
     * The update kernel (Vector API body + scalar tail) over elements {@code [from, to)} of the flat arrays
     * {@code p} (weights, updated), {@code g} (gradient, read), {@code m}, {@code v} (moments, updated).
     *
     * @param l2 coupled L2 coefficient (0 for none), @param wd decoupled decay coefficient (0 for none)
     * @param c1 {@code 1/(1-β1^t)}, @param c2 {@code 1/(1-β2^t)}
     */
    public static void update(float[] p, float[] g, float[] m, float[] v, int from, int to, float lr, float beta1,
            float beta2, float eps, float l2, float wd, float c1, float c2) {
        int i = from;
        int upper = from + S.loopBound(to - from);
        if (upper > from) {
            updateBody(p, g, m, v, from, upper, lr, beta1, beta2, eps, l2, wd, c1, c2);
            i = upper;
        }
        updateScalar(p, g, m, v, i, to, lr, beta1, beta2, eps, l2, wd, c1, c2);
    }

    private static void updateBody(float[] p, float[] g, float[] m, float[] v, int from, int upper, float lr,
            float beta1, float beta2, float eps, float l2, float wd, float c1, float c2) {
        // loop-invariant operands broadcast once (the Vector API has no fma(float, Vector) form)
        FloatVector b1 = FloatVector.broadcast(S, beta1);
        FloatVector b2 = FloatVector.broadcast(S, beta2);
        FloatVector l2v = FloatVector.broadcast(S, l2);
        FloatVector wdv = FloatVector.broadcast(S, wd);
        FloatVector nlr = FloatVector.broadcast(S, -lr);
        float omb1 = 1f - beta1;
        float omb2 = 1f - beta2;
        boolean hasL2 = l2 != 0f;
        boolean hasWd = wd != 0f;
        for (int i = from; i < upper; i += S.length()) {
            FloatVector pv = FloatVector.fromArray(S, p, i);
            FloatVector gv = FloatVector.fromArray(S, g, i);
            // g' = g + l2·p (Adam's coupled decay)
            if (hasL2) {
                gv = pv.fma(l2v, gv);
            }
            // m = β1·m + (1-β1)·g'
            FloatVector mv = FloatVector.fromArray(S, m, i).fma(b1, gv.mul(omb1));
            // v = β2·v + ((1-β2)·g')·g'
            FloatVector vv = FloatVector.fromArray(S, v, i).fma(b2, gv.mul(omb2).mul(gv));
            mv.intoArray(m, i);
            vv.intoArray(v, i);
            // u = m̂ / (sqrt(v̂) + ε)
            FloatVector u = mv.mul(c1).div(vv.mul(c2).lanewise(VectorOperators.SQRT).add(eps));
            // u += λ·p (AdamW's decoupled decay)
            if (hasWd) {
                u = pv.fma(wdv, u);
            }
            // p = p - lr·u
            u.fma(nlr, pv).intoArray(p, i);
        }
    }

    /** Scalar twin of {@link #update}: the same operations in the same order, bit-identical results. */
    public static void updateScalar(float[] p, float[] g, float[] m, float[] v, int from, int to, float lr,
            float beta1, float beta2, float eps, float l2, float wd, float c1, float c2) {
        float omb1 = 1f - beta1;
        float omb2 = 1f - beta2;
        float nlr = -lr;
        boolean hasL2 = l2 != 0f;
        boolean hasWd = wd != 0f;
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float gi = g[i];
            if (hasL2) {
                gi = Math.fma(pi, l2, gi);
            }
            float mi = Math.fma(m[i], beta1, gi * omb1);
            float vi = Math.fma(v[i], beta2, (gi * omb2) * gi);
            m[i] = mi;
            v[i] = vi;
            float u = (mi * c1) / ((float) Math.sqrt(vi * c2) + eps);
            if (hasWd) {
                u = Math.fma(pi, wd, u);
            }
            p[i] = Math.fma(u, nlr, pi);
        }
    }
}
