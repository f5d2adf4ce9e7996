package dev.sixpd.nn;

import java.util.Map;

/**
 * An independent GPT-2 forward pass in double precision, written position by position the way the math reads (no
 * kernels, no buffers shared with {@link Gpt}). The gradient check differentiates it by central finite
 * differences and compares against {@link Gpt}'s hand-written backward.
 */
final class GptReference {
    private GptReference() {
    }

    /** Mean cross-entropy of {@code targets} given {@code tokens} ([B, T] row-major) under parameters {@code p}. */
    static double loss(GptConfig cfg, Map<String, double[]> p, int[] tokens, int[] targets, int B, int T) {
        int C = cfg.dModel();
        int V = cfg.vocab();
        int NH = cfg.heads();
        int hs = C / NH;
        double total = 0;
        for (int b = 0; b < B; b++) {
            // x[t] = wte[token] + wpe[t]
            double[][] x = new double[T][C];
            for (int t = 0; t < T; t++) {
                int tok = tokens[b * T + t];
                for (int c = 0; c < C; c++) {
                    x[t][c] = p.get("wte.weight")[tok * C + c] + p.get("wpe.weight")[t * C + c];
                }
            }
            for (int l = 0; l < cfg.layers(); l++) {
                String h = "h." + l + ".";
                // attention
                double[][] qkv = new double[T][];
                for (int t = 0; t < T; t++) {
                    double[] n1 = layerNorm(x[t], p.get(h + "ln_1.weight"), p.get(h + "ln_1.bias"));
                    qkv[t] = linear(n1, p.get(h + "attn.c_attn.weight"), p.get(h + "attn.c_attn.bias"), 3 * C);
                }
                double[][] y = new double[T][C];
                for (int head = 0; head < NH; head++) {
                    for (int t = 0; t < T; t++) {
                        double[] s = new double[t + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int u = 0; u <= t; u++) {
                            double dot = 0;
                            for (int i = 0; i < hs; i++) {
                                dot += qkv[t][head * hs + i] * qkv[u][C + head * hs + i];
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
                                y[t][head * hs + i] += s[u] / z * qkv[u][2 * C + head * hs + i];
                            }
                        }
                    }
                }
                for (int t = 0; t < T; t++) {
                    double[] a = linear(y[t], p.get(h + "attn.c_proj.weight"), p.get(h + "attn.c_proj.bias"), C);
                    for (int c = 0; c < C; c++) {
                        x[t][c] += a[c];
                    }
                    // MLP
                    double[] n2 = layerNorm(x[t], p.get(h + "ln_2.weight"), p.get(h + "ln_2.bias"));
                    double[] f = linear(n2, p.get(h + "mlp.c_fc.weight"), p.get(h + "mlp.c_fc.bias"), 4 * C);
                    for (int i = 0; i < f.length; i++) {
                        f[i] = gelu(f[i]);
                    }
                    double[] m = linear(f, p.get(h + "mlp.c_proj.weight"), p.get(h + "mlp.c_proj.bias"), C);
                    for (int c = 0; c < C; c++) {
                        x[t][c] += m[c];
                    }
                }
            }
            for (int t = 0; t < T; t++) {
                double[] nf = layerNorm(x[t], p.get("ln_f.weight"), p.get("ln_f.bias"));
                double[] logits = linear(nf, p.get("wte.weight"), null, V);
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
            y[c] = (x[c] - mean) * rstd * w[c] + b[c];
        }
        return y;
    }

    /** GELU, tanh form as in GPT-2. */
    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
