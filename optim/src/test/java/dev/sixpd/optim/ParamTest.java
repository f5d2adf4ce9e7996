package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParamTest {
    @Test
    void fp32WorkingCopyIsTheMaster() {
        Param p = new Param("h.0.attn.c_attn.weight", new int[] {6, 2});
        assertEquals(12, p.size());
        assertSame(p.data, p.working());
        assertTrue(p.decay);
    }

    @Test
    void defaultDecaySkipsBiasesNormsAndEmbeddings() {
        assertTrue(Param.defaultDecay("h.3.mlp.c_proj.weight", new int[] {4, 4}));
        assertFalse(Param.defaultDecay("h.3.mlp.c_proj.bias", new int[] {4}));
        assertFalse(Param.defaultDecay("h.0.ln_1.weight", new int[] {4}));
        assertFalse(Param.defaultDecay("ln_f.weight", new int[] {4}));
        assertFalse(Param.defaultDecay("wte.weight", new int[] {50, 4}));
        assertFalse(Param.defaultDecay("wpe.weight", new int[] {8, 4}));
    }

    @Test
    void bf16AndFp16WorkingCopiesAreRoundedMastersRefreshedBySync() {
        Param p = new Param("w.weight", new int[] {3}, true);
        p.data[0] = 1.00390625f; // 1 + 2^-8: halfway between bf16 neighbours 1 and 1+2^-7 -> ties to even: 1
        p.data[1] = 1e-8f; // below fp16's smallest subnormal 2^-24 ≈ 5.96e-8 -> 0 in fp16, kept in bf16
        p.data[2] = 70000f; // above fp16's largest 65504 -> +Inf in fp16
        p.setWorkingDtype(DType.BF16);
        assertNotSame(p.data, p.working());
        assertEquals(1f, p.working()[0]);
        assertTrue(p.working()[1] > 0);
        assertEquals(70144f, p.working()[2]); // nearest bf16 (8 significant bits)
        p.setWorkingDtype(DType.FP16);
        assertEquals(1.00390625f, p.working()[0]); // fp16 has 10 fraction bits: exact
        assertEquals(0f, p.working()[1]);
        assertEquals(Float.POSITIVE_INFINITY, p.working()[2]);
        // the optimizer moves the master; sync refreshes the copy
        p.grad[0] = 1f;
        new Sgd().stepAndSync(List.of(p), 1f);
        assertEquals(0.00390625f, p.data[0]);
        assertEquals(0.00390625f, p.working()[0]);
        p.setWorkingDtype(DType.FP32);
        assertSame(p.data, p.working());
    }

    /** The bulk (vector) sync equals the scalar rounding of every element, vector tail included. */
    @Test
    void syncWorkingEqualsScalarRoundingOnAnOddSize() {
        Param p = new Param("w.weight", new int[] {7, 149}, true);
        dev.sixpd.tensor.Rng rng = new dev.sixpd.tensor.Rng(11);
        for (int i = 0; i < p.data.length; i++) {
            // magnitudes from fp16's subnormals to beyond its largest finite value
            p.data[i] = (float) (rng.nextGaussian() * Math.pow(2, rng.nextInt(48) - 30));
        }
        for (DType d : new DType[] {DType.BF16, DType.FP16}) {
            p.setWorkingDtype(d);
            for (int i = 0; i < p.data.length; i++) {
                float ref = d == DType.BF16 ? dev.sixpd.tensor.Half.bf16ToFloat(dev.sixpd.tensor.Half.floatToBf16(p.data[i]))
                        : dev.sixpd.tensor.Half.fp16ToFloat(dev.sixpd.tensor.Half.floatToFp16(p.data[i]));
                assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(p.working()[i]), d + " at " + i);
            }
        }
    }

    @Test
    void zeroGradAndBadShapes() {
        Param p = new Param("b.bias", new int[] {2});
        p.grad[1] = 3f;
        p.zeroGrad();
        assertEquals(0f, p.grad[1]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Param("x.weight", new int[] {2, -1}));
        assertTrue(e.getMessage().contains("x.weight"));
        assertEquals(0, new Param("e.bias", new int[] {0}).size());
    }
}
