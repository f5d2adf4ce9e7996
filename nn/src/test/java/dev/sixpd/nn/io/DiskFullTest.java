package dev.sixpd.nn.io;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.cli.Main;
import dev.sixpd.optim.AdamW;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full disk: {@code --out} on a 2 MiB tmpfs, which holds one checkpoint of the tiny preset (about 1.3 MB) but
 * not two. The second save fails; the run must stop with one clear line, and the first checkpoint must still
 * load completely with no temporary files left. Needs root (mount); skipped with a message otherwise.
 */
class DiskFullTest {
    @TempDir
    Path dir;

    private static int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    @Test
    void aFullDiskKeepsThePreviousCheckpointAndSaysSo() throws Exception {
        Path mnt = dir.resolve("tmpfs");
        Files.createDirectories(mnt);
        boolean mounted;
        try {
            mounted = System.getProperty("os.name").startsWith("Linux")
                    && sh("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt.toString()) == 0;
        } catch (java.io.IOException e) {
            mounted = false;
        }
        Assumptions.assumeTrue(mounted, "skipped: cannot mount a 2 MiB tmpfs here (needs root on Linux)");
        Path out = mnt.resolve("out");
        try {
            StringWriter err = new StringWriter();
            int code = Main.execute(new String[]{"train", "--preset", "tiny", "--synthetic", "20000", "--steps", "20",
                    "--checkpoint-every", "5", "--batch", "2", "--threads", "1", "--sample-tokens", "0", "--out",
                    out.toString()}, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
            String e = err.toString().strip();
            assertEquals(2, code, e);
            assertFalse(e.contains("\n") || e.contains("\tat "), "one line, no stack trace: " + e);
            assertTrue(e.contains("No space left on device") && e.contains("step 10")
                    && e.contains("step-00000005") && e.contains("still the latest"), e);
            Checkpoint.State st = Checkpoint.readState(out);
            assertEquals(5, st.step());
            Gpt model = new Gpt(st.config(), 1);
            Checkpoint.loadModel(st, model);
            Checkpoint.loadOptimizer(st, model, new AdamW(0.9f, 0.95f, 1e-8f, 0.1f));
            try (var s = Files.list(out)) {
                assertEquals(List.of(".lock", "LATEST", "step-00000005"),
                        s.map(p -> p.getFileName().toString()).sorted().toList());
            }
        } finally {
            Checkpoint.release(out);
            if (sh("umount", mnt.toString()) != 0) {
                sh("umount", "-l", mnt.toString());
            }
        }
    }
}
