package dev.sixpd.optim;

import dev.sixpd.tensor.Ledger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Shared bookkeeping of the optimizers: per-parameter FP32 state arrays by slot, the step count, checkpoint
 * save/load with checks, and the Ledger phase around a step. Frozen parameters ({@link Param#trainable} false) are
 * skipped everywhere: no state, no update, no checkpoint entry.
 */
abstract class SlotOptimizer implements Optimizer {
    /** Parameters at least this large are updated by all threads; smaller ones by the caller alone. */
    static final int PARALLEL_MIN = 1 << 16;
    /** Chunk granularity for the threaded update (a multiple of every vector length). */
    static final int GRAIN = 1 << 13;

    private final List<String> slots;
    /** param name -> one array per slot. */
    private final LinkedHashMap<String, float[][]> byParam = new LinkedHashMap<>();
    private long steps;

    SlotOptimizer(String... slots) {
        this.slots = List.of(slots);
    }

    @Override
    public final void step(List<Param> params, float lr) {
        if (!Float.isFinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite, got " + lr);
        }
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.OPTIMIZER);
        try {
            steps++;
            for (Param p : params) {
                if (p.trainable) {
                    update(p, stateFor(p), lr, steps);
                }
            }
        } finally {
            Ledger.setPhase(old);
        }
    }

    /** Updates one parameter in place; {@code t} is the 1-based step number of this update. */
    abstract void update(Param p, float[][] state, float lr, long t);

    float[][] stateFor(Param p) {
        float[][] s = byParam.get(p.name);
        if (s == null) {
            s = new float[slots.size()][];
            for (int i = 0; i < s.length; i++) {
                s[i] = new float[p.size()];
            }
            byParam.put(p.name, s);
        } else if (s.length > 0 && s[0].length != p.size()) {
            throw new IllegalStateException("optimizer state for parameter " + p.name + " has " + s[0].length
                    + " elements but the parameter has " + p.size() + " (shape " + Arrays.toString(p.shape())
                    + "): two parameters share a name, or the model changed; use a fresh optimizer");
        }
        return s;
    }

    @Override
    public final void init(List<Param> params) {
        for (Param p : params) {
            if (p.trainable) {
                stateFor(p);
            }
        }
    }

    @Override
    public final long stepCount() {
        return steps;
    }

    @Override
    public final List<String> slots() {
        return slots;
    }

    @Override
    public final Map<String, float[]> state() {
        LinkedHashMap<String, float[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, float[][]> e : byParam.entrySet()) {
            for (int i = 0; i < slots.size(); i++) {
                m.put(e.getKey() + "." + slots.get(i), e.getValue()[i]);
            }
        }
        return Collections.unmodifiableMap(m);
    }

    @Override
    public final void load(List<Param> params, Map<String, float[]> state, long stepCount) {
        if (stepCount < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + stepCount);
        }
        LinkedHashMap<String, float[][]> loaded = new LinkedHashMap<>();
        if (!(state.isEmpty() && stepCount == 0) && !slots.isEmpty()) {
            Set<String> used = new HashSet<>();
            Set<String> names = new HashSet<>();
            for (Param p : Param.trainable(params)) {
                if (!names.add(p.name)) {
                    throw new IllegalArgumentException("two parameters are named " + p.name + ": names must be unique");
                }
                float[][] s = new float[slots.size()][];
                for (int i = 0; i < s.length; i++) {
                    String key = p.name + "." + slots.get(i);
                    float[] a = state.get(key);
                    if (a == null) {
                        throw new IllegalArgumentException("optimizer state has no entry " + key + " for parameter "
                                + p.name + Arrays.toString(p.shape()) + ": the checkpoint is from a different model"
                                + " or optimizer (" + describe() + ")");
                    }
                    if (a.length != p.size()) {
                        throw new IllegalArgumentException("optimizer state " + key + " has " + a.length
                                + " elements but parameter " + p.name + Arrays.toString(p.shape()) + " has "
                                + p.size() + ": the checkpoint is from a different model configuration");
                    }
                    s[i] = a.clone();
                    used.add(key);
                }
                loaded.put(p.name, s);
            }
            if (used.size() != state.size()) {
                Set<String> extra = new TreeSet<>(state.keySet());
                extra.removeAll(used);
                throw new IllegalArgumentException("optimizer state has entries for no parameter of this model: "
                        + new ArrayList<>(extra).subList(0, Math.min(5, extra.size()))
                        + (extra.size() > 5 ? " and " + (extra.size() - 5) + " more" : "")
                        + ": the checkpoint is from a different model or optimizer (" + describe() + ")");
            }
        } else if (!state.isEmpty()) {
            throw new IllegalArgumentException("optimizer " + describe() + " keeps no state but the checkpoint has "
                    + state.size() + " state entries, e.g. " + state.keySet().iterator().next());
        }
        byParam.clear();
        byParam.putAll(loaded);
        steps = stepCount;
    }

    @Override
    public final long stateBytes() {
        long b = 0;
        for (float[][] s : byParam.values()) {
            for (float[] a : s) {
                b += 4L * a.length;
            }
        }
        return b;
    }
}
