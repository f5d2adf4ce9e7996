package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/LESSONS.md against the program: every {@code $ ./sixpd plan ...} block is run through the same parser and
 * planner as the command line, and every pasted output line must appear in the output, in order ({@code ...} marks
 * lines left out; runs of spaces are compared as one, since the table's column widths depend on the lines shown).
 * Blocks quoting {@code ./sixpd train} are checked against the README's run they cite.
 */
class LessonsTest {

    @Test
    void everyPastedLineIsWhatTheProgramPrints() throws IOException {
        Path root = repoRoot();
        List<List<String>> blocks = textBlocks(Files.readAllLines(root.resolve("docs/LESSONS.md")));
        String readme = normalize(Files.readString(root.resolve("README.md")));
        int plans = 0;
        int trains = 0;
        for (List<String> block : blocks) {
            String head = block.get(0);
            List<String> expected = block.subList(1, block.size()).stream().filter(l -> !l.strip().equals("..."))
                    .filter(l -> !l.isBlank()).toList();
            if (head.startsWith("$ ./sixpd plan ")) {
                plans++;
                assertRerunMatches("docs/LESSONS.md", block);
            } else if (head.startsWith("$ ./sixpd train")) {
                trains++;
                for (String e : expected) {
                    assertTrue(readme.contains(normalize(e)), "docs/LESSONS.md quotes a train line the README's run"
                            + " does not have: " + e);
                }
            }
        }
        // the document has 12 lessons, some with several commands: a parser that finds none must fail
        assertTrue(plans >= 15, "found only " + plans + " plan blocks in docs/LESSONS.md");
        assertTrue(trains >= 1, "the 6 = 2 + 4 lesson quotes the README's ledger run");
    }

    /**
     * Runs the block's {@code $ ./sixpd plan ...} line through the same parser and planner as the command line and
     * fails unless every pasted line (but {@code ...} and blank ones) appears in the output, in order.
     */
    static void assertRerunMatches(String where, List<String> block) {
        String head = block.get(0);
        List<String> expected = block.subList(1, block.size()).stream().filter(l -> !l.strip().equals("..."))
                .filter(l -> !l.isBlank()).toList();
        assertFalse(expected.isEmpty(), "a block with no output in " + where + ": " + head);
        String[] args = shellWords(head.substring("$ ./sixpd plan ".length()));
        PlanArgs pa = PlanArgs.parse(args, () -> {
            throw new AssertionError(where + " must not measure this-cpu");
        });
        PlanReport r = Planner.plan(pa.input());
        List<String> actual = (pa.json() ? r.json() : r.text()).lines().map(LessonsTest::normalize).toList();
        int at = 0;
        for (String e : expected) {
            String want = normalize(e);
            int found = -1;
            for (int i = at; i < actual.size(); i++) {
                if (actual.get(i).equals(want)) {
                    found = i;
                    break;
                }
            }
            if (found < 0) {
                fail(where + ", " + head + "\n  pasted:  " + want + "\n  not in the program's output"
                        + " (after the previous pasted line); rerun the command and paste its real output");
            }
            at = found + 1;
        }
    }

    @Test
    void shellWordsKeepQuotedNames() {
        String[] w = shellWords("--hardware \"RTX 4090\" --devices 7");
        assertTrue(w.length == 4 && w[1].equals("RTX 4090") && w[3].equals("7"), String.join("|", w));
    }

    /** The lines of each ```text fence. */
    static List<List<String>> textBlocks(List<String> lines) {
        List<List<String>> out = new ArrayList<>();
        List<String> cur = null;
        for (String l : lines) {
            if (cur == null && l.strip().equals("```text")) {
                cur = new ArrayList<>();
            } else if (cur != null && l.strip().equals("```")) {
                if (!cur.isEmpty()) {
                    out.add(cur);
                }
                cur = null;
            } else if (cur != null) {
                cur.add(l);
            }
        }
        return out;
    }

    /** Splits a command line at spaces, keeping double-quoted words whole (without the quotes). */
    static String[] shellWords(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (char c : s.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (c == ' ' && !quoted) {
                if (any) {
                    words.add(w.toString());
                }
                w.setLength(0);
                any = false;
            } else {
                w.append(c);
                any = true;
            }
        }
        if (any) {
            words.add(w.toString());
        }
        return words.toArray(String[]::new);
    }

    static String normalize(String s) {
        return s.strip().replaceAll("[ \\t]+", " ");
    }

    /** The repository root: the first directory upwards from the working directory holding docs/LESSONS.md. */
    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("docs/LESSONS.md")) && Files.isRegularFile(p.resolve("README.md"))) {
                return p;
            }
        }
        throw new AssertionError("docs/LESSONS.md not found above " + Path.of("").toAbsolutePath());
    }
}
