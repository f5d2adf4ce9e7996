package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void stridesAreRowMajorAndGetSetRoundTrips() {
        Tensor t = Tensor.zeros(2, 3, 5);
        assertArrayEquals(new int[] {15, 5, 1}, t.strides());
        t.set(7f, 1, 2, 4);
        assertEquals(7f, t.f32()[15 + 10 + 4]);
        assertEquals(7f, t.get(1, 2, 4));
    }

    @Test
    void transposeIsAViewAndContiguousCopiesIt() {
        Tensor t = Tensor.randn(DType.FP32, 1, 0, 1, 3, 4);
        Tensor tt = t.transpose();
        assertArrayEquals(new int[] {4, 3}, tt.shape());
        assertFalse(tt.isContiguous());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(t.get(i, j), tt.get(j, i));
            }
        }
        Tensor c = tt.contiguous();
        assertTrue(c.isContiguous());
        assertEquals(t.get(2, 1), c.f32()[1 * 3 + 2]);
        tt.set(42f, 3, 2); // writes through to t
        assertEquals(42f, t.get(2, 3));
    }

    @Test
    void reshapeInfersAndRefusesBadSizesNamingShapes() {
        Tensor t = Tensor.zeros(4, 6);
        assertArrayEquals(new int[] {2, 2, 6}, t.reshape(2, -1, 6).shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 5));
        assertTrue(e.getMessage().contains("[4, 6]") && e.getMessage().contains("[5, 5]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.transpose().reshape(24));
    }

    @Test
    void sliceSharesStorage() {
        Tensor t = Tensor.uniform(DType.FP32, 3, -1, 1, 5, 2);
        Tensor s = t.slice(2, 4);
        assertArrayEquals(new int[] {2, 2}, s.shape());
        assertEquals(t.get(3, 1), s.get(1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> t.slice(3, 6));
    }

    @Test
    void emptyAndSizeOneDims() {
        Tensor e = Tensor.zeros(0, 7);
        assertEquals(0, e.numel());
        assertEquals(0, e.contiguous().numel());
        Tensor one = Tensor.zeros(1, 1, 1);
        assertEquals(1, one.numel());
    }

    @Test
    void sixteenBitStorageRoundsOnWrite() {
        Tensor b = Tensor.zeros(DType.BF16, 3);
        b.setFlat(0, 1.00390625f); // 1 + 2^-8: halfway between two BF16 values, ties to even (1.0)
        assertEquals(1.0f, b.getFlat(0));
        Tensor h = Tensor.zeros(DType.FP16, 2);
        h.setFlat(0, 70000f);
        assertEquals(Float.POSITIVE_INFINITY, h.getFlat(0));
        Tensor back = h.to(DType.FP32);
        assertEquals(Float.POSITIVE_INFINITY, back.f32()[0]);
    }

    @Test
    void seededInitIsReproducible() {
        Tensor a = Tensor.randn(DType.FP32, 42, 0, 0.02, 17, 3);
        Tensor b = Tensor.randn(DType.FP32, 42, 0, 0.02, 17, 3);
        Tensor c = Tensor.randn(DType.FP32, 43, 0, 0.02, 17, 3);
        assertArrayEquals(a.f32(), b.f32());
        assertFalse(java.util.Arrays.equals(a.f32(), c.f32()));
    }
}
