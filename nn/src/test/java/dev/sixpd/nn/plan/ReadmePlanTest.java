package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's planner section against the program: every {@code $ ./sixpd plan ...} block is rerun and its pasted
 * lines must be in the output, in order (as {@link LessonsTest} does for docs/LESSONS.md), so the README cannot show
 * an output the planner no longer prints.
 */
class ReadmePlanTest {

    @Test
    void everyPlanBlockOfTheReadmeIsCurrentOutput() throws IOException {
        List<String> readme = Files.readAllLines(LessonsTest.repoRoot().resolve("README.md"));
        int plans = 0;
        for (List<String> block : LessonsTest.textBlocks(readme)) {
            if (block.get(0).startsWith("$ ./sixpd plan ")) {
                plans++;
                LessonsTest.assertRerunMatches("README.md", block);
            }
        }
        // the 7B examples, the deadline, LLaMA-7B, LLaMA-2-70B and LoRA
        assertTrue(plans >= 6, "found only " + plans + " plan blocks in README.md");
    }
}
