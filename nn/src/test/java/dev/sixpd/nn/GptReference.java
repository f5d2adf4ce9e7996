package dev.sixpd.nn;

import java.util.Map;

/**
 * An independent forward pass of every model {@link GptConfig} describes, in double precision, written position by
 * position the way the math reads (no kernels, no buffers shared with {@link Gpt}; only the parameter names come
 * from {@link ModelSpec.Names}). The gradient checks differentiate it by central finite differences and compare
 * against {@link Gpt}'s hand-written backward.
 */
final class GptReference {
    private GptReference() {
    }

    /** Mean cross-entropy of {@code targets} given {@code tokens} ([B, T] row-major) under parameters {@code p}. */
    static double loss(GptConfig cfg, Map<String, double[]> p, int[] tokens, int[] targets, int B, int T) {
        ModelSpec.Names n = new ModelSpec.Names(cfg);
        int C = cfg.dModel();
        int V = cfg.vocab();
        double total = 0;
        for (int b = 0; b < B; b++) {
            // x[t] = wte[token] (+ wpe[t])
            double[][] x = new double[T][C];
            for (int t = 0; t < T; t++) {
                int tok = tokens[b * T + t];
                for (int c = 0; c < C; c++) {
                    x[t][c] = p.get(n.tokenEmbedding())[tok * C + c];
                    if (cfg.pos() == GptConfig.Pos.LEARNED) {
                        x[t][c] += p.get(n.positionEmbedding())[t * C + c];
                    }
                }
            }
            for (int l = 0; l < cfg.layers(); l++) {
                double[][] a = new double[T][];
                for (int t = 0; t < T; t++) {
                    a[t] = norm(cfg, p, n.norm1(l), n.normBiasOf(n.norm1(l)), x[t]);
                }
                double[][] att = attention(cfg, p, n, l, a);
                if (cfg.block() == GptConfig.Block.PARALLEL) {
                    // x = x + attn(norm(x)) + mlp(norm(x))
                    for (int t = 0; t < T; t++) {
                        double[] m = mlp(cfg, p, n, l, a[t]);
                        for (int c = 0; c < C; c++) {
                            x[t][c] += att[t][c] + m[c];
                        }
                    }
                } else {
                    // x = x + attn(norm1(x)); x = x + mlp(norm2(x))
                    for (int t = 0; t < T; t++) {
                        for (int c = 0; c < C; c++) {
                            x[t][c] += att[t][c];
                        }
                        double[] m = mlp(cfg, p, n, l, norm(cfg, p, n.norm2(l), n.normBiasOf(n.norm2(l)), x[t]));
                        for (int c = 0; c < C; c++) {
                            x[t][c] += m[c];
                        }
                    }
                }
            }
            String head = cfg.tieHead() ? n.tokenEmbedding() : n.head();
            for (int t = 0; t < T; t++) {
                double[] nf = norm(cfg, p, n.normF(), n.normBiasOf(n.normF()), x[t]);
                double[] logits = linear(nf, p.get(head), null, V);
                double max = Double.NEGATIVE_INFINITY;
                for (double v : logits) {
                    max = Math.max(max, v);
                }
                double z = 0;
                for (double v : logits) {
                    z += Math.exp(v - max);
                }
                total += Math.log(z) + max - logits[targets[b * T + t]];
            }
        }
        return total / (B * T);
    }

    /** Causal self-attention of one sequence {@code a [T][C]}: projections, RoPE, heads, output projection. */
    private static double[][] attention(GptConfig cfg, Map<String, double[]> p, ModelSpec.Names n, int l,
                                        double[][] a) {
        int T = a.length;
        int C = cfg.dModel();
        int NH = cfg.heads();
        int KVH = cfg.kvHeads();
        int hs = cfg.headSize();
        int kv = KVH * hs;
        double[][] q = new double[T][];
        double[][] k = new double[T][];
        double[][] v = new double[T][];
        for (int t = 0; t < T; t++) {
            if (n.qkv(l).size() == 1) {
                String w = n.qkv(l).get(0);
                double[] qkv = linear(a[t], p.get(w), bias(p, n, w), C + 2 * kv);
                q[t] = java.util.Arrays.copyOfRange(qkv, 0, C);
                k[t] = java.util.Arrays.copyOfRange(qkv, C, C + kv);
                v[t] = java.util.Arrays.copyOfRange(qkv, C + kv, C + 2 * kv);
            } else {
                String wq = n.qkv(l).get(0), wk = n.qkv(l).get(1), wv = n.qkv(l).get(2);
                q[t] = linear(a[t], p.get(wq), bias(p, n, wq), C);
                k[t] = linear(a[t], p.get(wk), bias(p, n, wk), kv);
                v[t] = linear(a[t], p.get(wv), bias(p, n, wv), kv);
            }
            if (cfg.pos() == GptConfig.Pos.ROPE) {
                rope(q[t], NH, hs, t);
                rope(k[t], KVH, hs, t);
            }
        }
        double[][] y = new double[T][C];
        for (int h = 0; h < NH; h++) {
            int g = h / (NH / KVH);  // the K/V head this query head reads
            for (int t = 0; t < T; t++) {
                double[] s = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int u = 0; u <= t; u++) {
                    double dot = 0;
                    for (int i = 0; i < hs; i++) {
                        dot += q[t][h * hs + i] * k[u][g * hs + i];
                    }
                    s[u] = dot / Math.sqrt(hs);
                    max = Math.max(max, s[u]);
                }
                double z = 0;
                for (int u = 0; u <= t; u++) {
                    s[u] = Math.exp(s[u] - max);
                    z += s[u];
                }
                for (int u = 0; u <= t; u++) {
                    for (int i = 0; i < hs; i++) {
                        y[t][h * hs + i] += s[u] / z * v[u][g * hs + i];
                    }
                }
            }
        }
        double[][] out = new double[T][];
        String wo = n.attnProj(l);
        for (int t = 0; t < T; t++) {
            out[t] = linear(y[t], p.get(wo), bias(p, n, wo), C);
        }
        return out;
    }

    /**
     * RoPE as Hugging Face's LLaMA writes it ({@code rotate_half}): in each head channel i pairs with i + hs/2,
     * rotated by the angle {@code pos · 10000^(−2i/hs)}.
     */
    private static void rope(double[] x, int heads, int hs, int pos) {
        int half = hs / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double angle = pos * Math.pow(GptConfig.ROPE_THETA, -2.0 * i / hs);
                double a = x[h * hs + i];
                double b = x[h * hs + i + half];
                x[h * hs + i] = a * Math.cos(angle) - b * Math.sin(angle);
                x[h * hs + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
            }
        }
    }

    private static double[] mlp(GptConfig cfg, Map<String, double[]> p, ModelSpec.Names n, int l, double[] x) {
        int C = cfg.dModel();
        int H = cfg.mlpHidden();
        String up = n.mlpUp(l), down = n.mlpDown(l);
        double[] f = linear(x, p.get(up), bias(p, n, up), H);
        if (cfg.mlp() == GptConfig.Mlp.GELU) {
            // proj(gelu(fc(x)))
            for (int i = 0; i < H; i++) {
                f[i] = gelu(f[i]);
            }
        } else {
            // down(silu(gate(x)) · up(x))
            String gate = n.mlpGate(l);
            double[] g = linear(x, p.get(gate), bias(p, n, gate), H);
            for (int i = 0; i < H; i++) {
                f[i] *= g[i] / (1 + Math.exp(-g[i]));
            }
        }
        return linear(f, p.get(down), bias(p, n, down), C);
    }

    private static double[] bias(Map<String, double[]> p, ModelSpec.Names n, String weight) {
        String b = n.biasOf(weight);
        return b == null ? null : p.get(b);
    }

    private static double[] norm(GptConfig cfg, Map<String, double[]> p, String gain, String bias, double[] x) {
        return cfg.norm() == GptConfig.Norm.LAYERNORM ? layerNorm(x, p.get(gain), bias == null ? null : p.get(bias))
                : rmsNorm(x, p.get(gain));
    }

    /** y = W x + b with W [out, in]. */
    static double[] linear(double[] x, double[] w, double[] bias, int out) {
        int in = x.length;
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = bias == null ? 0 : bias[o];
            for (int i = 0; i < in; i++) {
                s += w[o * in + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    static double[] layerNorm(double[] x, double[] w, double[] b) {
        int C = x.length;
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= C;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= C;
        double rstd = 1 / Math.sqrt(var + 1e-5);
        double[] y = new double[C];
        for (int c = 0; c < C; c++) {
            y[c] = (x[c] - mean) * rstd * w[c] + (b == null ? 0 : b[c]);
        }
        return y;
    }

    /** RMSNorm: x / sqrt(mean(x²) + 1e-5) · w. */
    static double[] rmsNorm(double[] x, double[] w) {
        int C = x.length;
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double rstd = 1 / Math.sqrt(ms / C + 1e-5);
        double[] y = new double[C];
        for (int c = 0; c < C; c++) {
            y[c] = x[c] * rstd * w[c];
        }
        return y;
    }

    /** GELU, tanh form as in GPT-2. */
    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
