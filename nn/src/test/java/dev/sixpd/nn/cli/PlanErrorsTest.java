package dev.sixpd.nn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Bad planner input is a user error (exit 2, one line naming the problem), never an "internal error". */
class PlanErrorsTest {
    private static void userError(String fragment, String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "plan";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--bytes-per-token";
        all[args.length + 2] = "4";
        CliRun r = CliRun.of(all);
        assertEquals(2, r.code(), r.err());
        String e = r.err().strip();
        assertFalse(e.contains("internal error") || e.contains("Exception"), e);
        assertTrue(e.contains(fragment), "'" + fragment + "' missing from: " + e);
    }

    private static final String[] ARCH = {"--layers", "2", "--hidden", "64", "--heads", "4", "--vocab", "100",
            "--seq", "32"};

    private static String[] arch(String... more) {
        String[] a = java.util.Arrays.copyOf(ARCH, ARCH.length + more.length);
        System.arraycopy(more, 0, a, ARCH.length, more.length);
        return a;
    }

    @Test
    void everyPlannerValidatorSpeaksToTheUser() {
        userError("heads (12) must divide hidden (770)", "--layers", "12", "--hidden", "770", "--heads", "12",
                "--vocab", "100", "--seq", "10");
        userError("--bytes-per-param must be 16", "--params", "7B", "--bytes-per-param", "17");
        userError("--script must be", "--params", "7B", "--data-chars", "1T", "--script", "klingon");
        userError("kv-heads (3) must divide heads (4)", arch("--kv-heads", "3"));
        userError("--mlp must be one of gelu, swiglu", arch("--mlp", "relu"));
        userError("a GELU MLP has no gate", arch("--lora-rank", "4", "--lora-targets", "gate"));
        userError("give the architecture", "--params", "7B", "--lora-rank", "4");
        userError("head size", arch("--hidden", "36", "--heads", "12", "--pos", "rope"));
    }
}
