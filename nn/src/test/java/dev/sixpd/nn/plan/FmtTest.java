package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class FmtTest {
    @Test
    void inputsAsPeopleWriteThem() {
        assertEquals("1e9", Fmt.num(1e9));
        assertEquals("7e9", Fmt.num(7e9));
        assertEquals("1.5e12", Fmt.num(1.5e12));
        assertEquals("3.12e14", Fmt.num(312e12));
        assertEquals("124,439,808", Fmt.num(124_439_808));
        assertEquals("50,257", Fmt.num(50257));
        assertEquals("1,024", Fmt.num(1024));
        assertEquals("768", Fmt.num(768));
        assertEquals("0.4", Fmt.num(0.4));
        assertEquals("1.2", Fmt.num(1.2));
        assertEquals("2.445", Fmt.num(2.445));
        assertEquals("0.5", Fmt.num(0.5));
        assertEquals("n/a", Fmt.num(Double.NaN));
    }

    @Test
    void resultsWithThreeSignificantFigures() {
        assertEquals("6.00e19", Fmt.res(6e19));
        assertEquals("0.694", Fmt.res(6e19 / 8.64e19));
        assertEquals("134", Fmt.res(133.547));
        assertEquals("4.81e5", Fmt.res(480769.2));
        assertEquals("16.0", Fmt.res(16));
        assertEquals("0", Fmt.res(0));
    }

    @Test
    void humanUnits() {
        assertEquals("14.0 GB", Fmt.bytes(14e9));
        assertEquals("1.08 GB", Fmt.bytes(1_075_838_976));
        assertEquals("512 B", Fmt.bytes(512));
        assertEquals("5.56 days", Fmt.duration(480769.2));
        assertEquals("16.7 h", Fmt.duration(60096));
        assertEquals("30.0 s", Fmt.duration(30));
        assertEquals("$267", Fmt.usd(267.09));
        assertEquals("$80.13", Fmt.usd(80.128));
        assertEquals("$1,234,567", Fmt.usd(1234567));
        assertEquals("989 TFLOP/s", Fmt.flops(989e12));
        assertEquals("152 GFLOP/s", Fmt.flops(1.519e11));
        assertEquals("1.25 PFLOP/s", Fmt.flops(1.25e15));
    }

    @Test
    void bytesShowEnoughDigitsAndBothPrefixes() {
        // 2 × 7e9 + 14 × 7e9 / 8 = 26.25e9: four digits, because three would round it
        assertEquals("26.25 GB", Fmt.bytes(26.25e9));
        assertEquals("12.25 GB", Fmt.bytes(12.25e9));
        assertEquals("38.5 GB", Fmt.bytes(38.5e9));
        assertEquals("6.5625 GB", Fmt.bytes(6.5625e9));
        // 26.25e9 / 2^30 = 24.447 GiB
        assertEquals("24.4 GiB", Fmt.bytesBinary(26.25e9));
        assertEquals("26.25 GB = 24.4 GiB", Fmt.bytesBoth(26.25e9));
        // 28.5 GiB = 28.5 × 2^30 = 30,601,641,984 B = 30.6 GB
        assertEquals("30.6 GB = 28.5 GiB", Fmt.bytesBoth(28.5 * 0x1p30));
        // below 1 kB the two agree: one is enough
        assertEquals("512 B", Fmt.bytesBoth(512));
        assertEquals("n/a", Fmt.bytesBoth(Double.NaN));
    }

    @Test
    void ceilingArgumentsNeverLookWhole() {
        assertEquals("1,669.3", Fmt.ceilArg(1669.3)); // not "1669", whose ceiling 1,670 would look wrong
        assertEquals("5.73", Fmt.ceilArg(5.7306));
        assertEquals("0.9999", Fmt.ceilArg(0.99993));
        assertEquals("6.4", Fmt.ceilArg(6.4));
        assertEquals("7", Fmt.ceilArg(7));
        assertEquals("1.652e14", Fmt.num(165.2e12));
    }

    @Test
    void exactResultsKeepTheirDigits() {
        assertEquals("2.625e10", Fmt.resExact(26.25e9)); // 2 × 7e9 + 14 × 7e9 / 8
        assertEquals("1.40e10", Fmt.resExact(14e9));
        assertEquals("1.08e9", Fmt.resExact(1_075_838_976)); // not exact at 5 figures: 3 as res
        assertEquals("0.694", Fmt.resExact(6e19 / 8.64e19));
    }
}
