package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HardwareTest {
    @Test
    void catalogNumbers() {
        Hardware a100 = Hardware.lookup("a100");
        assertEquals(312e12, a100.halfFlops());
        assertEquals(19.5e12, a100.fp32Flops());
        assertEquals(400, a100.watts());
        assertEquals(80e9, a100.memoryBytes());
        assertEquals(a100.halfFlops(), Hardware.lookup("a800").halfFlops());
        assertEquals(125e12, Hardware.lookup("a10").halfFlops());
        assertEquals(31.2e12, Hardware.lookup("a10").fp32Flops());
        assertEquals(989e12, Hardware.lookup("h100").halfFlops());
        assertEquals(141e9, Hardware.lookup("h200").memoryBytes());
        assertEquals(15.7e12, Hardware.lookup("v100").fp32Flops());
        assertEquals("FP16", Hardware.lookup("v100").halfName());
        assertEquals(82.6e12, Hardware.lookup("rtx4090").fp32Flops());
    }

    @Test
    void lookupAcceptsCommonSpellings() {
        assertEquals("a100", Hardware.lookup("A100 80GB").name());
        assertEquals("a100", Hardware.lookup("a100-80gb-sxm").name());
        assertEquals("a100", Hardware.lookup("NVIDIA A100").name());
        assertEquals("a10", Hardware.lookup("A10").name());
        assertEquals("h100", Hardware.lookup("H100 SXM5").name());
        assertEquals("h200", Hardware.lookup("h200-141gb").name());
        assertEquals("v100", Hardware.lookup("Tesla V100 32GB SXM2").name());
        assertEquals("rtx4090", Hardware.lookup("RTX 4090").name());
        assertEquals("rtx4090", Hardware.lookup("4090").name());
        assertEquals("rtx4090", Hardware.lookup("NVIDIA GeForce RTX 4090 24GB").name());
        assertEquals("a100", Hardware.lookup("a100-80gb").name());
        assertEquals("a100", Hardware.lookup("A100 SXM4 80GB").name());
        Hardware pcie = Hardware.lookup("A100 80GB PCIe");
        assertEquals("a100-pcie", pcie.name());
        assertEquals(300, pcie.watts()); // the PCIe card's 300 W, not the SXM part's 400 W
        assertEquals(312e12, pcie.halfFlops());
        assertEquals("a100-40gb", Hardware.lookup("A100 40GB").name());
        assertEquals(40e9, Hardware.lookup("a100-40gb-sxm").memoryBytes());
        Hardware h100pcie = Hardware.lookup("H100 PCIe");
        assertEquals(756e12, h100pcie.halfFlops()); // 1,513 with sparsity, halved
        assertEquals(51e12, h100pcie.fp32Flops());
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Hardware.lookup("b200"));
        assertTrue(e.getMessage().contains("known: a100, a100-pcie, a100-40gb, a800, a10, h100, h100-pcie, h200, v100,"
                + " rtx4090, this-cpu"), e.getMessage());
        // a chip the catalog has, in a variant it lacks: the variants it has
        e = assertThrows(IllegalArgumentException.class, () -> Hardware.lookup("V100 16GB"));
        assertTrue(e.getMessage().contains("no such v100") && e.getMessage().contains("NVIDIA V100 32GB SXM2"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Hardware.lookup("this-cpu"));
    }

    @Test
    void thisCpuWithAGivenPeak() {
        Hardware h = Hardware.thisCpu(1.5e11, 2);
        assertEquals(Hardware.THIS_CPU, h.name());
        assertEquals(1.5e11, h.fp32Flops());
        assertEquals(1.5e11, h.halfFlops());
        assertTrue(Double.isNaN(h.watts()));
        assertTrue(h.memoryBytes() > 0);
    }
}
